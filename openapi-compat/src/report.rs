//! What the checker finds, and how it is printed.

use serde::Serialize;
use std::fmt::Write as _;

/// Which pairing a change breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Clients built from the old document, talking to the new server.
    BreaksOldClients,
    /// Clients built from the new document, talking to an old server.
    BreaksNewClients,
    Both,
    Neither,
}

impl Direction {
    pub fn level(self) -> Level {
        match self {
            Direction::BreaksOldClients | Direction::Both => Level::Error,
            Direction::BreaksNewClients => Level::Warning,
            Direction::Neither => Level::Info,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Direction::BreaksOldClients => "breaks old clients on the new server",
            Direction::BreaksNewClients => "breaks new clients on an old server",
            Direction::Both => "breaks both",
            Direction::Neither => "breaks neither",
        }
    }
}

/// How much a change matters: an error breaks existing clients; a warning
/// breaks only new clients against servers not yet upgraded (fine where
/// clients negotiate versions); info breaks nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Info,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        }
    }

    pub fn parse(name: &str) -> Option<Level> {
        Some(match name {
            "error" | "ERR" => Level::Error,
            "warning" | "WARN" => Level::Warning,
            "info" | "INFO" => Level::Info,
            _ => return None,
        })
    }
}

/// Whose reading of the documents the changes are judged by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// A progenitor/typify-generated Rust client: closed enums, validated
    /// constrained strings, integer widths, `additionalProperties: false`
    /// enforced; response headers and array sizes not decoded; any
    /// undocumented error status returned as an unexpected response.
    Progenitor,
    /// Any client that conforms to the document, generated or written by
    /// hand in any language: everything the document states may be relied
    /// on, including response headers, array sizes, `null` versus absent,
    /// and the list of error statuses.
    Generic,
}

impl Client {
    pub const ALL: [Client; 2] = [Client::Progenitor, Client::Generic];

    pub fn name(self) -> &'static str {
        match self {
            Client::Progenitor => "progenitor",
            Client::Generic => "generic",
        }
    }

    pub fn parse(name: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Where in the documents a change is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The document as a whole (its paths, its security schemes).
    Document,
    /// An operation: its existence, its security.
    Operation,
    /// What the client sends: parameters and the request body.
    Request,
    /// What the server answers: statuses, headers and bodies.
    Response,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Document => "document",
            Side::Operation => "operation",
            Side::Request => "request",
            Side::Response => "response",
        }
    }
}

/// One difference between the documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Stable rule id, e.g. `response-enum-value-added`; see
    /// [`crate::families::RULES`].
    pub rule: &'static str,
    pub direction: Direction,
    pub level: Level,
    pub side: Side,
    /// The first operation found to reach the change.
    pub operation_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// JSON pointer into the new document (the old one for removals).
    pub pointer: String,
    /// What changed and why it breaks which client.
    pub reason: String,
}

impl Change {
    /// `GET /things/{id} (thing_get)`, or `document`.
    pub fn place(&self) -> String {
        match (&self.method, &self.path, &self.operation_id) {
            (Some(m), Some(p), Some(id)) => format!("{m} {p} ({id})"),
            (Some(m), Some(p), None) => format!("{m} {p}"),
            _ => "document".to_owned(),
        }
    }
}

/// A change an ignore file accepted, with the reason given there.
#[derive(Clone, Debug, Serialize)]
pub struct Ignored {
    #[serde(flatten)]
    pub change: Change,
    pub accepted_because: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub client: Client,
    pub changes: Vec<Change>,
    /// Conditions present in both documents, as they were (two paths that
    /// differ only in parameter names): said once, about the document, and
    /// never counted as changes or by `--fail-on`.
    pub findings: Vec<Change>,
    /// Changes an ignore file accepted (not counted by `--fail-on`).
    pub ignored: Vec<Ignored>,
    /// Ignore entries that matched nothing (`file:line: entry`): the change
    /// they accepted is gone, so the entry should be too.
    pub unused_ignores: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Junit,
    /// GitHub Actions workflow commands (`::error title=…::…`), which the
    /// runner turns into annotations.
    GithubActions,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "text" => Format::Text,
            "json" => Format::Json,
            "markdown" => Format::Markdown,
            "junit" => Format::Junit,
            "githubactions" => Format::GithubActions,
            _ => return None,
        })
    }
}

impl Report {
    pub fn count(&self, level: Level) -> usize {
        self.changes.iter().filter(|c| c.level == level).count()
    }

    /// Whether any change is at `level` or worse.
    pub fn fails(&self, level: Level) -> bool {
        self.changes.iter().any(|c| c.level <= level)
    }

    fn summary_line(&self) -> String {
        let mut line = format!(
            "{} errors, {} warnings, {} info ({} client)",
            self.count(Level::Error),
            self.count(Level::Warning),
            self.count(Level::Info),
            self.client.name()
        );
        if !self.ignored.is_empty() {
            let _ = write!(line, ", {} accepted by the ignore file", self.ignored.len());
        }
        line
    }

    /// The report in `format`; `fail_on` decides what JUnit calls a
    /// failure and what the JSON summary calls failed.
    pub fn render(&self, format: Format, fail_on: Level) -> String {
        match format {
            Format::Text => self.text(),
            Format::Json => self.json(fail_on),
            Format::Markdown => self.markdown(),
            Format::Junit => self.junit(fail_on),
            Format::GithubActions => self.github_actions(),
        }
    }

    fn json(&self, fail_on: Level) -> String {
        #[derive(Serialize)]
        struct Summary {
            client: Client,
            errors: usize,
            warnings: usize,
            info: usize,
            ignored: usize,
            unused_ignores: usize,
            fail_on: Level,
            failed: bool,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            summary: Summary,
            #[serde(flatten)]
            report: &'a Report,
        }
        let summary = Summary {
            client: self.client,
            errors: self.count(Level::Error),
            warnings: self.count(Level::Warning),
            info: self.count(Level::Info),
            ignored: self.ignored.len(),
            unused_ignores: self.unused_ignores.len(),
            fail_on,
            failed: self.fails(fail_on),
        };
        serde_json::to_string_pretty(&Json { summary, report: self }).unwrap_or_default() + "\n"
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let _ = writeln!(
                out,
                "{:<7} {}: {}\n        at {} ({}, {}, rule {})",
                c.level.name(),
                c.place(),
                c.reason,
                c.pointer,
                c.side.name(),
                c.direction.label(),
                c.rule
            );
        }
        for entry in &self.unused_ignores {
            let _ = writeln!(out, "warning: ignore entry matched nothing: {entry}");
        }
        for f in &self.findings {
            let _ = writeln!(
                out,
                "note: in both documents, not a change: {}\n        at {} (rule {})",
                f.reason, f.pointer, f.rule
            );
        }
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }

    fn markdown(&self) -> String {
        let mut out = String::from(
            "| level | direction | where | pointer | reason | rule |\n|---|---|---|---|---|---|\n",
        );
        let cell = |s: &str| s.replace('|', "\\|");
        for c in &self.changes {
            let _ = writeln!(
                out,
                "| {} | {} | {} | `{}` | {} | `{}` |",
                c.level.name(),
                c.direction.label(),
                cell(&c.place()),
                cell(&c.pointer),
                cell(&c.reason),
                c.rule
            );
        }
        for entry in &self.unused_ignores {
            let _ = writeln!(out, "\nIgnore entry matched nothing: `{}`", cell(entry));
        }
        let _ = writeln!(out, "\n{}", self.summary_line());
        out
    }

    fn junit(&self, fail_on: Level) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
        };
        let failures = self.changes.iter().filter(|c| c.level <= fail_on).count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuite name=\"openapi-compat\" tests=\"{}\" failures=\"{failures}\" skipped=\"{}\">",
            self.changes.len() + self.ignored.len(),
            self.ignored.len()
        );
        for c in &self.changes {
            let _ = write!(
                out,
                "  <testcase classname=\"{}\" name=\"{} {}\">",
                esc(&c.place()),
                c.rule,
                esc(&c.pointer)
            );
            if c.level <= fail_on {
                let _ = write!(
                    out,
                    "<failure type=\"{}\" message=\"{}\">{}</failure>",
                    c.level.name(),
                    esc(&c.reason),
                    esc(c.direction.label())
                );
            } else {
                let _ =
                    write!(out, "<system-out>{}: {}</system-out>", c.level.name(), esc(&c.reason));
            }
            out.push_str("</testcase>\n");
        }
        for i in &self.ignored {
            let c = &i.change;
            let _ = writeln!(
                out,
                "  <testcase classname=\"{}\" name=\"{} {}\"><skipped message=\"{}\"/></testcase>",
                esc(&c.place()),
                c.rule,
                esc(&c.pointer),
                esc(&format!("accepted: {}", i.accepted_because))
            );
        }
        out.push_str("</testsuite>\n");
        out
    }

    /// Workflow commands: data escapes `%`, CR and LF; property values
    /// also `:` and `,` (GitHub's toolkit escaping rules).
    fn github_actions(&self) -> String {
        fn data(s: &str) -> String {
            s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
        }
        fn property(s: &str) -> String {
            data(s).replace(':', "%3A").replace(',', "%2C")
        }
        let mut out = String::new();
        for c in &self.changes {
            let command = match c.level {
                Level::Error => "error",
                Level::Warning => "warning",
                Level::Info => "notice",
            };
            let _ = writeln!(
                out,
                "::{command} title={}::{}",
                property(&format!("{} ({})", c.rule, c.direction.label())),
                data(&format!("{}: {} (at {})", c.place(), c.reason, c.pointer))
            );
        }
        for entry in &self.unused_ignores {
            let _ = writeln!(
                out,
                "::warning title=unused ignore entry::{}",
                data(&format!("matched nothing: {entry}"))
            );
        }
        let _ = writeln!(out, "{}", data(&self.summary_line()));
        out
    }
}
