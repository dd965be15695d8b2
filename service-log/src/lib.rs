//! The services' logger: one line per record, whatever a logged value holds.
//!
//! dropshot's terminal logger writes values as they are, so a request
//! whose path parameter decodes to a line break (`%0A`), or an error
//! message quoting a caller's input, could write what reads as a log line
//! of its own: a forged entry. Here every record is formatted whole
//! (`slog_term`'s plain decorator hands over one record per write) and
//! every control character inside it, line breaks included, is written as
//! an escape (`\n`, `\u{2028}`), so one record is always one line.
//! Records are formatted on a background thread (`slog_async`), as
//! dropshot's own logger does, so a request never waits on stderr.
//!
//! **Credentials in query strings are redacted.** A client that sends its
//! token as `?access_token=…` is refused, but dropshot logs every request's
//! whole URI. Every line, in either format, has the value of each query
//! parameter named like a credential ([`redact_query_credentials`])
//! replaced before it is written.
//!
//! How a service starts and stops (duration flags, stop signals, closing
//! within a grace) is `service-process`'s.

use slog::Drain;
use std::io::Write;

/// How records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (bunyan's fields, as dropshot writes them):
    /// what a log pipeline reads. JSON escapes every control character in
    /// a string, so a record is one line.
    Json,
    /// Text for a person at a terminal (a local run), escaped by [`OneLine`].
    Text,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            other => Err(format!("log format must be json or text, got {other:?}")),
        }
    }
}

/// A level named as `--log-level` takes it (`trace` to `critical`).
pub fn parse_level(s: &str) -> Result<slog::Level, String> {
    s.parse::<slog::Level>().map_err(|()| {
        format!("log level must be trace, debug, info, warning, error or critical, got {s:?}")
    })
}

/// A logger writing records at `level` and above to stderr, one line each.
pub fn logger(name: &'static str, level: slog::Level) -> slog::Logger {
    logger_as(name, level, LogFormat::Text)
}

/// A logger writing records at `level` and above to stderr in `format`,
/// one line each, formatted off the caller's thread.
pub fn logger_as(name: &'static str, level: slog::Level, format: LogFormat) -> slog::Logger {
    let drain = match format {
        LogFormat::Text => {
            let decorator =
                slog_term::PlainSyncDecorator::new(OneLine(Redacted::new(std::io::stderr())));
            let drain = slog_term::FullFormat::new(decorator).build().filter_level(level).fuse();
            slog_async::Async::new(drain).chan_size(8192).build().fuse()
        }
        LogFormat::Json => {
            let drain = slog_bunyan::with_name(name, Redacted::new(std::io::stderr())).build();
            let drain = std::sync::Mutex::new(drain).filter_level(level).fuse();
            slog_async::Async::new(drain).chan_size(8192).build().fuse()
        }
    };
    match format {
        LogFormat::Text => slog::Logger::root(drain, slog::o!("name" => name)),
        // Bunyan's records carry the name themselves.
        LogFormat::Json => slog::Logger::root(drain, slog::o!()),
    }
}

/// Writes each record (one `write` call) on one line: control characters
/// inside it escaped, one line break at its end.
pub struct OneLine<W>(pub W);

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, record: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(record);
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let mut line = String::with_capacity(body.len() + 1);
        for c in body.chars() {
            match c {
                '\n' => line.push_str("\\n"),
                '\r' => line.push_str("\\r"),
                '\t' => line.push_str("\\t"),
                c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                    line.extend(c.escape_unicode())
                }
                c => line.push(c),
            }
        }
        line.push('\n');
        self.0.write_all(line.as_bytes())?;
        Ok(record.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// What a query parameter named like a credential is logged as instead of
/// its value.
pub const REDACTED: &str = "REDACTED";

/// Whether a query parameter's name says it carries a credential.
fn names_a_credential(name: &str) -> bool {
    const WORDS: [&str; 9] = [
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "credential",
        "auth",
        "signature",
        "session",
    ];
    let name = name.to_ascii_lowercase();
    WORDS.iter().any(|word| name.contains(word))
}

/// `line` with the value of every query parameter named like a credential
/// (`access_token`, `token`, `api_key`, `X-Amz-Signature`, ...) replaced by
/// [`REDACTED`]: a parameter is a name after `?` or `&` followed by `=`; its
/// value runs to the next `&`, `#`, quote, space or line end. Unchanged
/// (borrowed) when there is none, which is nearly always.
pub fn redact_query_credentials(line: &str) -> std::borrow::Cow<'_, str> {
    let ends_value = |c: char| matches!(c, '&' | '#' | '"' | '\'' | '\\') || c.is_whitespace();
    let ends_name =
        |c: char| matches!(c, '=' | '&' | '#' | '?' | '"' | '\'' | '/') || c.is_whitespace();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !matches!(bytes[i], b'?' | b'&') {
            i += 1;
            continue;
        }
        let name_start = i + 1;
        let name_end = line[name_start..].find(ends_name).map_or(line.len(), |n| name_start + n);
        if bytes.get(name_end) != Some(&b'=') || name_end == name_start {
            i = name_start;
            continue;
        }
        let value_start = name_end + 1;
        let value_end =
            line[value_start..].find(ends_value).map_or(line.len(), |n| value_start + n);
        if names_a_credential(&line[name_start..name_end]) && value_end > value_start {
            let out = out.get_or_insert_with(|| String::with_capacity(line.len()));
            out.push_str(&line[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        i = value_end.max(name_start);
    }
    match out {
        None => std::borrow::Cow::Borrowed(line),
        Some(mut out) => {
            out.push_str(&line[copied..]);
            std::borrow::Cow::Owned(out)
        }
    }
}

/// A writer that holds what it is given until a line ends, then writes the
/// line with [`redact_query_credentials`] applied (the JSON drain may write
/// one record in several calls).
pub struct Redacted<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Redacted<W> {
    pub fn new(inner: W) -> Redacted<W> {
        Redacted { inner, pending: Vec::new() }
    }

    fn write_lines(&mut self) -> std::io::Result<()> {
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line);
            self.inner.write_all(redact_query_credentials(&text).as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Redacted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.write_lines()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let text = String::from_utf8_lossy(&rest);
            self.inner.write_all(redact_query_credentials(&text).as_bytes())?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A value holding a line break, a line separator or an escape sequence
    /// cannot start a line of its own.
    #[test]
    fn a_record_is_one_line_whatever_its_values_hold() {
        let out = Shared::default();
        let decorator = slog_term::PlainSyncDecorator::new(OneLine(out.clone()));
        let drain = slog_term::FullFormat::new(decorator).build().fuse();
        let log = slog::Logger::root(drain, slog::o!());
        let forged = "x\nDec 02 00:00:00.000 INFO admin logged in\u{2028}\r\u{1b}[2J";
        slog::info!(log, "deployment {} not found", forged; "uri" => forged);
        slog::warn!(log, "second");
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("x\\nDec 02") && lines[0].contains("\\u{2028}\\r\\u{1b}[2J"));
        assert!(lines[1].contains("second"));
    }

    /// A credential in a query string never reaches the log; everything
    /// else does, as it was.
    #[test]
    fn credentials_in_query_strings_are_redacted() {
        for (line, want) in [
            (
                "GET /o/x?access_token=astro_1_s3cret HTTP/1.1",
                "GET /o/x?access_token=REDACTED HTTP/1.1",
            ),
            (
                r#"{"uri":"/d?limit=3&token=abc&API_KEY=k%20v#f","x":1}"#,
                r#"{"uri":"/d?limit=3&token=REDACTED&API_KEY=REDACTED#f","x":1}"#,
            ),
            (
                "/a?X-Amz-Signature=zz&session_id=q&name=token",
                "/a?X-Amz-Signature=REDACTED&session_id=REDACTED&name=token",
            ),
            ("uri: /p?password=&next=1", "uri: /p?password=&next=1"),
            ("no query here: token=abc", "no query here: token=abc"),
            ("/plain?limit=10&page_token=", "/plain?limit=10&page_token="),
        ] {
            assert_eq!(redact_query_credentials(line), want, "{line}");
        }
        // Through the writer, a record written in pieces.
        let out = Shared::default();
        let mut writer = Redacted::new(out.clone());
        for piece in ["{\"uri\":\"/x?acc", "ess_token=sec", "ret\"}\n{\"b\":2}\n"] {
            writer.write_all(piece.as_bytes()).unwrap();
        }
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "{\"uri\":\"/x?access_token=REDACTED\"}\n{\"b\":2}\n");
    }
}
