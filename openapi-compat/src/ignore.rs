//! Accepted changes: a text file, one entry per line,
//!
//! ```text
//! # why each change is fine, for the reviewer who reads this later
//! POST /deployments  constraint-tightened  names were already refused by the server (issue 21)
//! deployment_get     response-status-added  clients retry on any 5xx (ADR 7)
//! *                  security-scheme-type-changed  every client moved to OAuth in 2026-09
//! ```
//!
//! An entry is an operation (`METHOD /path`, path parameters matching by
//! position, or an operationId, or `*` for any), a rule id and a reason, which
//! is required. Blank lines and lines starting with `#` are skipped. An entry
//! that matches no change is reported back (`Report::unused_ignores`): the
//! change it accepted is gone, and an entry left behind would hide the next
//! change of that kind.

use crate::families;
use crate::report::{Ignored, Report};
use crate::walk::view::normalize;

#[derive(Clone, Debug)]
enum Operation {
    Any,
    Route { method: String, path: String },
    Id(String),
}

#[derive(Clone, Debug)]
pub struct Entry {
    operation: Operation,
    rule: String,
    reason: String,
    /// `file:line: text`, for messages.
    origin: String,
}

/// The parsed ignore file.
#[derive(Clone, Debug, Default)]
pub struct Ignores {
    entries: Vec<Entry>,
}

const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];

impl Ignores {
    /// Parses `text`; `name` (the file's name) is used in messages. An
    /// entry without a reason, or naming a rule the checker does not have,
    /// is an error naming its line.
    pub fn parse(name: &str, text: &str) -> Result<Ignores, String> {
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("{name}:{}", number + 1);
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default();
            let operation = if first == "*" {
                Operation::Any
            } else if METHODS.contains(&first.to_ascii_uppercase().as_str()) {
                let path =
                    words.next().ok_or_else(|| format!("{at}: `{first}` needs a path after it"))?;
                Operation::Route { method: first.to_ascii_uppercase(), path: normalize(path) }
            } else {
                Operation::Id(first.to_owned())
            };
            let rule = words
                .next()
                .ok_or_else(|| format!("{at}: expected `OPERATION RULE REASON`"))?
                .to_owned();
            if families::find(&rule).is_none() {
                return Err(format!(
                    "{at}: there is no rule `{rule}` (the rules are listed in docs/compat-rules.md)"
                ));
            }
            let reason = words.collect::<Vec<_>>().join(" ");
            if reason.is_empty() {
                return Err(format!(
                    "{at}: `{rule}` is accepted without a reason; say why the change is fine"
                ));
            }
            entries.push(Entry { operation, rule, reason, origin: format!("{at}: {line}") });
        }
        Ok(Ignores { entries })
    }

    /// Moves the changes an entry accepts from `report.changes` to
    /// `report.ignored`, and lists the entries that matched nothing.
    pub fn apply(&self, report: &mut Report) {
        let mut used = vec![false; self.entries.len()];
        let mut kept = Vec::new();
        for change in std::mem::take(&mut report.changes) {
            let found = self.entries.iter().position(|e| {
                e.rule == change.rule
                    && match &e.operation {
                        Operation::Any => true,
                        Operation::Id(id) => change.operation_id.as_deref() == Some(id),
                        Operation::Route { method, path } => {
                            change.method.as_deref() == Some(method)
                                && change.path.as_deref().map(normalize).as_deref() == Some(path)
                        }
                    }
            });
            match found {
                Some(i) => {
                    used[i] = true;
                    report
                        .ignored
                        .push(Ignored { change, accepted_because: self.entries[i].reason.clone() });
                }
                None => kept.push(change),
            }
        }
        report.changes = kept;
        report.unused_ignores = self
            .entries
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(e, _)| e.origin.clone())
            .collect();
    }
}
