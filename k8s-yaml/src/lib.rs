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
//!
//! Every character a YAML parser reads as anything but itself is escaped:
//! C0 and C1 controls, DEL, the byte-order mark, U+FFFE/U+FFFF, and the
//! characters YAML 1.1 parsers (libyaml, PyYAML, go-yaml) take as line
//! breaks (NEL, U+2028, U+2029). A literal block is used only for text
//! that holds none of them, so no input can end a block early and write
//! YAML structure of its own (see [`escaped`]). The tests round-trip
//! arbitrary Unicode through a YAML 1.2 parser (saphyr) and, where
//! PyYAML is installed, a YAML 1.1 one.

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
        Value::String(s) if literal_block_fits(s, indent) => {
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
/// indentation indicator), no trailing spaces, and no character but `\n`
/// that must be [`escaped`]. Never at the document's top level, where a
/// line `---` would end the document.
fn literal_block_fits(s: &str, indent: usize) -> bool {
    indent > 0
        && s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && !s.chars().any(|c| c != '\n' && escaped(c))
        && s.split('\n').all(|line| !line.ends_with(' '))
}

/// Whether `c` is written as an escape in a double-quoted scalar (and so
/// keeps text out of a literal block): what YAML 1.2 calls non-printable
/// (C0 but tab, LF and CR; DEL; C1 but NEL; U+FFFE, U+FFFF), the byte-order
/// mark, and what YAML 1.1 parsers read as a line break (LF, CR, NEL,
/// U+2028, U+2029). Tabs are escaped too, as JSON escapes them.
pub fn escaped(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}'
    )
}

/// `s` as a JSON string, which is a valid YAML double-quoted scalar:
/// escaped as `serde_json` escapes, plus `\uXXXX` for every other
/// character [`escaped`] names (still valid JSON, and the same string to
/// a JSON reader). Written in place.
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
            0x00..=0x1f | 0x7f => "",
            // The lead bytes of every escaped character above U+007F:
            // U+0080..U+009F (0xC2), U+2028/U+2029 (0xE2), U+FEFF, U+FFFE,
            // U+FFFF (0xEF). `i` is a character boundary here.
            0xc2 | 0xe2 | 0xef if s[i..].chars().next().is_some_and(escaped) => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let c = s[i..].chars().next().unwrap_or_default();
            let _ = write!(out, "\\u{:04x}", u32::from(c));
            start = i + c.len_utf8();
        } else {
            out.push_str(escape);
            start = i + 1;
        }
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

    /// Every character a YAML parser could read as a line break or strip,
    /// and the quotes and indicators YAML gives meaning to.
    const HOSTILE: &[char] = &[
        '\n',
        '\r',
        '\t',
        '\u{0}',
        '\u{7}',
        '\u{1b}',
        '\u{7f}',
        '\u{80}',
        '\u{85}',
        '\u{9f}',
        '\u{a0}',
        '\u{2028}',
        '\u{2029}',
        '\u{feff}',
        '\u{fffe}',
        '\u{ffff}',
        '\u{1f600}',
        '"',
        '\'',
        '\\',
        ':',
        '#',
        '-',
        '|',
        '>',
        '&',
        '*',
        '!',
        '%',
        '@',
        '`',
        '[',
        '{',
        ' ',
        'a',
    ];

    /// Objects holding `text` everywhere a string goes: a value, a key, a
    /// list item, and the multi-line text of a ConfigMap.
    fn carrying(text: &str) -> Value {
        json!({
            "apiVersion": "v1",
            "data": {"airflow.cfg": format!("[core]\nvalue = {text}\nafter = 1\n"), text: text},
            "metadata": {"name": text, "labels": {"x": "y"}},
            "spec": {"args": [text, format!("{text}\n{text}")], "n": 1},
        })
    }

    fn from_saphyr(node: &saphyr::Yaml<'_>) -> Value {
        use saphyr::{Scalar, Yaml};
        match node {
            Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
            Yaml::Value(Scalar::Integer(n)) => json!(n),
            Yaml::Value(Scalar::Boolean(b)) => json!(b),
            Yaml::Value(Scalar::Null) => Value::Null,
            Yaml::Sequence(items) => Value::Array(items.iter().map(from_saphyr).collect()),
            Yaml::Mapping(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| match from_saphyr(k) {
                        Value::String(k) => (k, from_saphyr(v)),
                        other => panic!("a key read back as {other:?}"),
                    })
                    .collect(),
            ),
            other => panic!("read back as {other:?}"),
        }
    }

    fn through_saphyr(value: &Value) -> Value {
        use saphyr::LoadableYamlNode as _;
        let text = documents([value]);
        let docs =
            saphyr::Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{e}: not YAML:\n{text}"));
        assert_eq!(docs.len(), 1, "one object, one document:\n{text}");
        from_saphyr(&docs[0])
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Arbitrary Unicode, anywhere a string goes, reads back as itself.
        #[test]
        fn arbitrary_text_round_trips(text in proptest::prelude::any::<String>()) {
            let value = carrying(&text);
            proptest::prop_assert_eq!(through_saphyr(&value), value);
        }

        /// The same with text made mostly of the characters that matter.
        #[test]
        fn hostile_text_round_trips(
            picks in proptest::collection::vec(0..HOSTILE.len(), 0..24)
        ) {
            let text: String = picks.into_iter().map(|i| HOSTILE[i]).collect();
            let value = carrying(&text);
            proptest::prop_assert_eq!(through_saphyr(&value), value);
        }
    }

    /// The probe's payload: a U+2028 inside multi-line text, which YAML 1.1
    /// parsers read as a line break, must not turn into YAML structure.
    #[test]
    fn a_line_separator_stays_inside_its_string() {
        let text = "ok\u{2028}  hostPID: true\nnext";
        let mut out = String::new();
        document(&json!({"data": {"a": text}}), &mut out);
        assert_eq!(out, "data:\n  a: \"ok\\u2028  hostPID: true\\nnext\"\n");
    }

    /// PyYAML (YAML 1.1, with libyaml when built with it) reads what is
    /// written as what was meant, for every pair of hostile characters
    /// around and inside text. Skipped, loudly, where no python3 with
    /// PyYAML is installed; CI installs it (kubernetes-validate needs it).
    #[test]
    fn pyyaml_reads_hostile_text_back() {
        let mut values = Vec::new();
        for a in HOSTILE {
            for b in HOSTILE {
                values.push(carrying(&format!("{a}x{b}\n{b}y{a}")));
                values.push(carrying(&format!("{a}{b}")));
            }
        }
        let stream = documents(&values);
        let script = "import sys, json, yaml\n\
            loaders = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])\n\
            text = sys.stdin.read()\n\
            print(json.dumps([list(yaml.load_all(text, Loader=l)) for l in loaders]))\n";
        let child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            test_support::skip("REQUIRE_PYTHON", "no python3: the PyYAML round trip");
            return;
        };
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(stream.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        if String::from_utf8_lossy(&out.stderr).contains("No module named 'yaml'") {
            test_support::skip("REQUIRE_PYTHON", "python3 has no PyYAML: the PyYAML round trip");
            return;
        }
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let read: Vec<Vec<Value>> = serde_json::from_slice(&out.stdout).unwrap();
        for (loader, docs) in read.iter().enumerate() {
            assert_eq!(docs.len(), values.len());
            for (doc, value) in docs.iter().zip(&values) {
                assert_eq!(doc, value, "loader {loader}");
            }
        }
    }
}
