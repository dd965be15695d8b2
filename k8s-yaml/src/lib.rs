//! Block-style YAML for Kubernetes objects, as `kubectl apply -f` reads it.
//! Shared by harmony-server (rendered sets as one stream) and harmony-agent
//! (one file per object).
//!
//! A small emitter over `serde_json::Value` rather than a YAML library: the
//! input is always plain JSON data, so the output needs no tags, anchors or
//! flow styles, and writing it directly keeps it byte-for-byte deterministic
//! (keys sorted, as `serde_json` keeps them). Strings are double-quoted
//! with JSON escapes (valid YAML 1.2), except multi-line text such as
//! `airflow.cfg`, which becomes a literal block for readability.

use serde_json::Value;
use std::fmt::Write as _;

/// Many objects as one multi-document stream.
pub fn documents<'a>(objects: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for object in objects {
        out.push_str("---\n");
        document(object, &mut out);
    }
    out
}

/// One object as a YAML document (no `---` line).
pub fn document(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => mapping(map, 0, out),
        Value::Array(items) if !items.is_empty() => sequence(items, 0, out),
        scalar => {
            inline(scalar, 0, out);
            out.push('\n');
        }
    }
}

fn pad(indent: usize, out: &mut String) {
    const SPACES: &str = "                                                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

fn mapping(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (i, (key, value)) in map.iter().enumerate() {
        // The first key of a sequence item sits on the item's `- ` line.
        if i > 0 || !out.ends_with("- ") {
            pad(indent, out);
        }
        self::key(key, out);
        out.push(':');
        entry(value, indent, out);
    }
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        pad(indent, out);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => mapping(map, indent + 2, out),
            Value::Array(inner) if !inner.is_empty() => {
                out.pop();
                out.push('\n');
                sequence(inner, indent + 2, out);
            }
            scalar => {
                inline(scalar, indent + 2, out);
                out.push('\n');
            }
        }
    }
}

/// What follows `key:`.
fn entry(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(map, indent + 2, out);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(items, indent, out);
        }
        scalar => {
            out.push(' ');
            inline(scalar, indent + 2, out);
            out.push('\n');
        }
    }
}

/// A scalar, or an empty collection, on the current line. `indent` is where
/// a literal block's lines go.
fn inline(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) if literal_block_fits(s) => {
            out.push_str(if s.ends_with('\n') { "|" } else { "|-" });
            for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    pad(indent, out);
                    out.push_str(line);
                }
            }
        }
        Value::String(s) => quoted(s, out),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Multi-line text a literal block reproduces exactly: one trailing newline
/// at most, no leading space on the first line (it would need an
/// indentation indicator), no trailing spaces, only printable characters.
fn literal_block_fits(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && !s.chars().any(|c| c.is_control() && c != '\n')
        && s.split('\n').all(|line| !line.ends_with(' '))
}

/// `s` as a JSON string, which is a valid YAML double-quoted scalar
/// (escaped exactly as `serde_json` escapes, written in place).
fn quoted(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Keys as Kubernetes writes them (`app.kubernetes.io/name`) stay plain;
/// anything YAML could read as something else is quoted.
fn key(k: &str, out: &mut String) {
    let plain = !k.is_empty()
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'/' | b'_' | b'-'))
        && k.as_bytes()[0].is_ascii_alphabetic()
        && !["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
            .iter()
            .any(|word| k.eq_ignore_ascii_case(word));
    if plain { out.push_str(k) } else { quoted(k, out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_nested_sequences_and_literal_text() {
        let value = json!({
            "apiVersion": "v1",
            "metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "a", "on": "yes"}},
            "data": {"airflow.cfg": "[core]\nexecutor = Celery\n", "empty": ""},
            "spec": {"containers": [{"name": "c", "args": ["a", "b"], "env": []}], "n": 3, "ok": true},
            "nested": [[1, 2], {}]
        });
        let mut out = String::new();
        document(&value, &mut out);
        // serde_json's maps keep keys sorted.
        let expected = r#"apiVersion: "v1"
data:
  airflow.cfg: |
    [core]
    executor = Celery
  empty: ""
metadata:
  labels:
    app.kubernetes.io/name: "a"
    "on": "yes"
  name: "x"
nested:
-
  - 1
  - 2
- {}
spec:
  containers:
  - args:
    - "a"
    - "b"
    env: []
    name: "c"
  "n": 3
  ok: true
"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn quoting_escapes_as_serde_json_does() {
        for s in [
            "plain",
            "say \"hi\"",
            "back\\slash",
            "tab\tcr\rnl\nbell\u{7}\u{0}\u{1f}",
            "ünï ☃",
            "\u{8}\u{c}",
            "",
        ] {
            let mut out = String::new();
            quoted(s, &mut out);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
