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

    fn label(self) -> &'static str {
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
}

/// One difference between the documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Stable rule name, e.g. `response-enum-value-added`.
    pub rule: &'static str,
    pub direction: Direction,
    pub level: Level,
    /// The first operation found to reach the change.
    pub operation_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// JSON pointer into the new document (the old one for removals).
    pub pointer: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub changes: Vec<Change>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Junit,
}

impl Report {
    pub fn count(&self, level: Level) -> usize {
        self.changes.iter().filter(|c| c.level == level).count()
    }

    /// Whether any change is at `level` or worse.
    pub fn fails(&self, level: Level) -> bool {
        self.changes.iter().any(|c| c.level <= level)
    }

    fn summary(&self) -> String {
        format!(
            "{} errors, {} warnings, {} info",
            self.count(Level::Error),
            self.count(Level::Warning),
            self.count(Level::Info)
        )
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Text => self.text(),
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default() + "\n",
            Format::Markdown => self.markdown(),
            Format::Junit => self.junit(),
        }
    }

    fn place(c: &Change) -> String {
        match (&c.method, &c.path, &c.operation_id) {
            (Some(m), Some(p), Some(id)) => format!("{m} {p} ({id})"),
            (Some(m), Some(p), None) => format!("{m} {p}"),
            _ => "document".to_owned(),
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            let _ = writeln!(
                out,
                "{:<7} {}: {}\n        at {} ({}, rule {})",
                c.level.name(),
                Self::place(c),
                c.reason,
                c.pointer,
                c.direction.label(),
                c.rule
            );
        }
        let _ = writeln!(out, "{}", self.summary());
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
                cell(&Self::place(c)),
                cell(&c.pointer),
                cell(&c.reason),
                c.rule
            );
        }
        let _ = writeln!(out, "\n{}", self.summary());
        out
    }

    fn junit(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
        };
        let failures = self.count(Level::Error);
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuite name=\"openapi-compat\" tests=\"{}\" failures=\"{failures}\">",
            self.changes.len()
        );
        for c in &self.changes {
            let _ = write!(
                out,
                "  <testcase classname=\"{}\" name=\"{} {}\">",
                esc(&Self::place(c)),
                c.rule,
                esc(&c.pointer)
            );
            match c.level {
                Level::Error => {
                    let _ = write!(
                        out,
                        "<failure message=\"{}\">{}</failure>",
                        esc(&c.reason),
                        esc(c.direction.label())
                    );
                }
                Level::Warning | Level::Info => {
                    let _ = write!(
                        out,
                        "<system-out>{}: {}</system-out>",
                        c.level.name(),
                        esc(&c.reason)
                    );
                }
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("</testsuite>\n");
        out
    }
}
