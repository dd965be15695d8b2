//! What the workspace's integration tests share.
//!
//! Tests start real servers, and a server logs. Written straight to the
//! process's stderr (as dropshot's terminal logger does), every server's
//! lines land in every test's output, so a failure is buried under other
//! tests' expected refusals. Here, an in-process server's lines go through
//! `eprint!`, which the test harness captures per test (threads a test
//! spawns, its runtime's workers and blocking pool included, inherit the
//! capture) and shows only when that test fails, or with `--nocapture`.
//! A server run as a child process writes to a [`ProcessLog`] file, which
//! is printed when the test fails.

pub mod fixtures;
pub mod schemathesis;
pub mod valid;

use std::io::Write;
use std::path::{Path, PathBuf};

use slog::Drain;

/// A logger whose lines appear in the output of the test that made it,
/// and only when it fails. `level` is the lowest level kept.
pub fn logger(level: slog::Level) -> slog::Logger {
    let decorator = slog_term::PlainSyncDecorator::new(TestOutput);
    let drain = slog_term::FullFormat::new(decorator).build().filter_level(level).fuse();
    slog::Logger::root(drain, slog::o!())
}

/// A logger writing everything, down to DEBUG, as bunyan JSON lines (what
/// dropshot's file logging writes) appended to `path`: for tests that read
/// a server's log. Unlike dropshot's, it announces nothing on stderr.
pub fn file_logger(path: &Path) -> slog::Logger {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let drain = slog_bunyan::with_name("test", file).build();
    slog::Logger::root(std::sync::Mutex::new(drain).fuse(), slog::o!())
}

/// Writes through `eprint!`, so the test harness captures what is written.
/// `PlainSyncDecorator` hands over one whole record per write.
struct TestOutput;

impl Write for TestOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        eprint!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log file of a server a test runs as a child process: hand
/// [`ProcessLog::stdio`] to the child's stderr. When the test fails (the
/// value is dropped while the test panics), the file is printed into the
/// test's output under a header naming it.
pub struct ProcessLog {
    path: PathBuf,
}

impl ProcessLog {
    /// A log at `path` (created, or appended to: a restarted process keeps
    /// writing after its predecessor).
    pub fn at(path: &Path) -> ProcessLog {
        ProcessLog { path: path.to_owned() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle for a child's stdout or stderr, appending to the log.
    pub fn stdio(&self) -> std::process::Stdio {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.path.display()))
            .into()
    }
}

impl Drop for ProcessLog {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.path).unwrap_or_default();
            eprintln!(
                "---- {} ----\n{text}---- end of {} ----",
                self.path.display(),
                self.path.display()
            );
        }
    }
}

/// A server a test runs as a child process: killed when dropped, so a test
/// that fails midway leaves nothing running (or holding a port); its
/// stderr goes to a [`ProcessLog`], printed when the test fails.
pub struct Process {
    child: std::process::Child,
    /// Dropped after the kill above, so it prints everything written.
    _log: ProcessLog,
}

impl Process {
    /// Spawns `command` with its stderr appended to `log` (created if
    /// missing; a restarted process keeps writing after its predecessor).
    pub fn spawn(command: &mut std::process::Command, log: &Path) -> Process {
        let log = ProcessLog::at(log);
        let child = command
            .stderr(log.stdio())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", command.get_program()));
        Process { child, _log: log }
    }
}

impl std::ops::Deref for Process {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.child
    }
}

impl std::ops::DerefMut for Process {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.child
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service's admin listener (`service-admin`: `/livez`, `/readyz`,
/// `/metrics`) on loopback, answering readiness with `ready` and no
/// metrics, as the readiness tests start it.
pub fn start_admin(
    ready: service_admin::ReadinessCheck,
    log: &slog::Logger,
) -> dropshot::HttpServer<service_admin::Admin> {
    let registry = std::sync::Arc::new(prometheus_client::registry::Registry::default());
    service_admin::start("127.0.0.1:0".parse().unwrap(), registry, ready, None, log)
        .expect("the admin listener starts")
}

/// Asserts that `binary --version` prints `<name> <version>` and succeeds:
/// what a supervisor (and an operator) reads to know what runs.
pub fn says_its_version(binary: &str, name: &str, version: &str) {
    let out = std::process::Command::new(binary).arg("--version").output().unwrap();
    assert!(out.status.success(), "{binary} --version failed");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{name} {version}"));
}

/// Runs `command` (a service binary, stdout and stderr taken here) until it
/// listens on every address of `listeners`, sends it SIGTERM, and asserts it
/// stops cleanly: exit 0 within 20 s, having logged that it was stopping on
/// SIGTERM, and no longer listening.
pub fn sigterm_stops_cleanly(
    mut command: std::process::Command,
    listeners: &[std::net::SocketAddr],
) {
    use std::time::{Duration, Instant};
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    for listener in listeners {
        while std::net::TcpStream::connect_timeout(listener, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "it never listened on {listener}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break status;
        }
        assert!(Instant::now() < deadline, "it did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr is piped"), &mut log)
        .expect("reading its log");
    assert_eq!(status.code(), Some(0), "SIGTERM ends it with exit 0, not the signal:\n{log}");
    assert!(log.contains("stopping") && log.contains("SIGTERM"), "{log}");
    for listener in listeners {
        assert!(
            std::net::TcpStream::connect_timeout(listener, Duration::from_millis(200)).is_err()
        );
    }
}

/// A plain HTTP/1.1 request to `addr` (`head`: the request line and any
/// headers, without the blank line), read to the end: the status, the
/// response's head and its body.
pub fn http(addr: std::net::SocketAddr, head: &str) -> (u16, String, String) {
    http_with_body(addr, head, "")
}

/// [`http`] with a JSON `body` (none when empty).
pub fn http_with_body(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).expect("connecting");
    socket.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let length = match body.is_empty() {
        true => String::new(),
        false => format!("\r\ncontent-type: application/json\r\ncontent-length: {}", body.len()),
    };
    write!(socket, "{head}{length}\r\nhost: test\r\nconnection: close\r\n\r\n{body}").unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("reading the answer");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    // The admin and API bodies here are small: never chunked in parts that
    // matter to a test, but decode chunking anyway.
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    (status, head.to_owned(), body)
}

/// For each listener in turn, `silent` connections that send nothing are
/// opened against it and held; while they are, every listener answers its
/// request (`head`, and the status it must get). The silent connections to
/// the last listener are then checked to have been closed by the server
/// (the first of them reads its end within `idle` and a margin).
pub fn silent_sockets_take_no_listener_down(
    listeners: &[(std::net::SocketAddr, &str, u16)],
    silent: usize,
    idle: std::time::Duration,
) {
    use std::io::Read;
    let mut held = Vec::new();
    for (target, _, _) in listeners {
        held = (0..silent)
            .filter_map(|_| {
                std::net::TcpStream::connect_timeout(target, std::time::Duration::from_millis(200))
                    .ok()
            })
            .collect::<Vec<_>>();
        assert!(held.len() * 10 >= silent * 9, "only {} silent sockets to {target}", held.len());
        for (addr, head, status) in listeners {
            let (got, _, body) = http(*addr, head);
            assert_eq!(got, *status, "{head} to {addr} with {silent} silent on {target}: {body}");
        }
    }
    let first = &mut &held[0];
    first.set_read_timeout(Some(idle + std::time::Duration::from_secs(10))).unwrap();
    let mut byte = [0u8; 1];
    assert!(matches!(first.read(&mut byte), Ok(0) | Err(_)), "a silent connection was kept");
}

/// One sample of a metrics scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
}

/// The sum of the samples named `name` whose labels include every pair of
/// `labels` (none: every sample of that name).
pub fn sum(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// A service's log (`--log-format json`) read as records: every line must
/// be one JSON object. Returns how many records are dropshot's "request
/// completed", each of which must carry its request id (`req_id`).
pub fn requests_in_json_log(path: &Path) -> usize {
    let lines = std::fs::read_to_string(path).unwrap();
    let mut requests = 0;
    for line in lines.lines() {
        let record: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not one JSON object ({e}): {line}"));
        if record["msg"] == "request completed" {
            assert!(record["req_id"].is_string(), "{line}");
            requests += 1;
        }
    }
    requests
}

/// The flags `binary --help` lists (besides --help and --version), each
/// checked to name the environment variable that sets it: `prefix` and the
/// flag's name in capitals, or what `renamed` says for it.
pub fn flags_name_their_environment(binary: &str, prefix: &str, renamed: &[(&str, &str)]) -> usize {
    let help = std::process::Command::new(binary).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("--"))
        .map(|rest| rest.split([' ', '<']).next().unwrap())
        .filter(|flag| !matches!(*flag, "help" | "version"))
        .collect();
    for flag in &flags {
        let env = match renamed.iter().find(|(f, _)| f == flag) {
            Some((_, env)) => (*env).to_owned(),
            None => format!("{prefix}{}", flag.to_uppercase().replace('-', "_")),
        };
        assert!(help.contains(&format!("[env: {env}")), "--{flag} names no {env}:\n{help}");
    }
    flags.len()
}

/// `text` read by the Prometheus project's own OpenMetrics parser (Python's
/// `prometheus_client`, from PyPI; strict: it refuses anything the format
/// does not allow), as its samples. `None`, said loudly, when the parser
/// is not installed; `.ci/run` installs it and sets
/// `REQUIRE_PROMETHEUS_CLIENT=1`, so CI fails instead.
pub fn parse_openmetrics(text: &str) -> Option<Vec<Sample>> {
    use std::io::Write;
    const READ: &str = "import json, sys\n\
        from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
        out = []\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       out.append({'name': s.name, 'labels': s.labels, 'value': s.value})\n\
        print(json.dumps(out))\n";
    let found = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client.openmetrics.parser"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(
            "REQUIRE_PROMETHEUS_CLIENT",
            "Python's prometheus_client is not installed (pip install prometheus-client): the \
             scrape is not parsed",
        );
        return None;
    }
    let mut child = std::process::Command::new("python3")
        .args(["-c", READ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the scrape: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    Some(
        samples
            .into_iter()
            .map(|s| Sample {
                name: s["name"].as_str().unwrap().to_owned(),
                labels: serde_json::from_value(s["labels"].clone()).unwrap(),
                value: s["value"].as_f64().unwrap(),
            })
            .collect(),
    )
}

/// `N` loopback addresses free now, each a different port: all are bound
/// at once before any is let go (two binds of port 0 in turn can return
/// the same port, and a server given it twice fails to start). The caller
/// hands them to a server to bind.
pub fn free_addrs<const N: usize>() -> [std::net::SocketAddr; N] {
    let listeners: [std::net::TcpListener; N] = std::array::from_fn(|_| {
        std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port")
    });
    listeners.each_ref().map(|l| l.local_addr().expect("a bound listener's address"))
}

/// Waits (up to 60 s: a debug binary on a loaded machine) until something
/// accepts connections on `addr`.
pub fn wait_until_listening(addr: std::net::SocketAddr) {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "nothing listened on {addr} within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens `per_head` connections for each request head of `heads` (a
/// request line and headers without the blank line; a `Content-Length` of
/// 4096 is added) and sends the head and the first bytes of a JSON body,
/// then nothing more, as a stalled (or hostile) client would. While they
/// stall, `healthy` (a whole request's head) must still be answered with
/// its status (`healthy_status`): stalled neighbours take nothing from
/// others. Asserts every stalled connection
/// is answered `408 Request Timeout` and closed, no sooner than `deadline`
/// after its head was sent and within `deadline` plus 15 s.
pub fn stalled_bodies_are_cut_off(
    addr: std::net::SocketAddr,
    heads: &[&str],
    per_head: usize,
    (healthy, healthy_status): (&str, u16),
    deadline: std::time::Duration,
) {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let started = Instant::now();
    let mut stalled = Vec::new();
    for head in heads {
        for _ in 0..per_head {
            let mut socket = std::net::TcpStream::connect(addr).expect("connecting");
            write!(socket, "{head}\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n{{\"name\": \"")
                .expect("sending a head and part of a body");
            stalled.push((head, socket));
        }
    }
    let mut socket = std::net::TcpStream::connect(addr).expect("connecting");
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(socket, "{healthy}\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).expect("the healthy request is answered");
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {healthy_status}")),
        "a healthy request beside stalled ones: {answer}"
    );
    let give_up = started + deadline + Duration::from_secs(15);
    for (head, mut socket) in stalled {
        let left = give_up.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        socket.set_read_timeout(Some(left)).unwrap();
        let mut answer = Vec::new();
        let read = socket.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            read.is_ok(),
            "{head:?}: the stalled connection was still open {:?} after it stalled ({read:?}; \
             read so far: {answer:?})",
            started.elapsed()
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{head:?}: {answer}");
    }
    assert!(
        started.elapsed() >= deadline,
        "the stalled bodies were cut off after {:?}, before their deadline {deadline:?}",
        started.elapsed()
    );
}

/// A stored-row fixture's rows (`{"tables": {name: [row, ...]}}`, each row
/// a column-to-value object, a BLOB as `{"blob_hex": "..."}`: rows exactly
/// as a released binary wrote them) as `INSERT` statements with literal
/// values, for SQLite or PostgreSQL (`postgres`). Timestamps stay text,
/// which both parse. Tables named in `parents` come first (others refer to
/// them).
pub fn fixture_inserts(
    fixture: &serde_json::Value,
    postgres: bool,
    parents: &[&str],
) -> Vec<String> {
    let mut tables: Vec<_> =
        fixture["tables"].as_object().expect("a fixture has tables").iter().collect();
    tables.sort_by_key(|(table, _)| !parents.contains(&table.as_str()));
    let mut statements = Vec::new();
    for (table, rows) in tables {
        for row in rows.as_array().expect("a table is a list of rows") {
            let row = row.as_object().expect("a row is an object");
            let columns: Vec<&str> = row.keys().map(String::as_str).collect();
            let values: Vec<String> = row
                .values()
                .map(|value| match value {
                    serde_json::Value::Null => "NULL".to_owned(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
                    serde_json::Value::Object(blob) => {
                        let hex = blob["blob_hex"].as_str().expect("a BLOB");
                        if postgres { format!("'\\x{hex}'::bytea") } else { format!("X'{hex}'") }
                    }
                    other => panic!("unexpected value {other} in {table}"),
                })
                .collect();
            statements.push(format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                columns.join(", "),
                values.join(", ")
            ));
        }
    }
    statements
}

/// A private CA, and files under `dir`: `ca.pem`, and for each name in
/// `servers` a `<name>.pem` / `<name>.key` pair signed by the CA for
/// that DNS name (and 127.0.0.1 when the name is `localhost`).
pub fn certificates(dir: &std::path::Path, servers: &[&str]) -> Vec<u8> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for name in servers {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![(*name).to_owned()]).unwrap();
        if *name == "localhost" {
            params.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        }
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
    ca.pem().into_bytes()
}

/// A test that cannot run here because `what` is missing. Under `require`
/// (a `REQUIRE_*` variable `.ci/run` sets to 1) it fails; elsewhere it says
/// so on the terminal itself: written to standard error directly, past the
/// harness's capture, which hides a passing test's `eprintln!`.
pub fn skip(require: &str, what: &str) {
    if std::env::var_os(require).is_some_and(|v| v == "1") {
        panic!("{require}=1 but {what}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {what} (CI sets {require}=1) ***\n");
}

#[cfg(test)]
mod tests {
    /// Two binds of port 0 in turn return the same port about once in
    /// 7,000 pairs here (a server then given it twice fails to start):
    /// free_addrs never does.
    #[test]
    fn free_addrs_are_different_ports() {
        for _ in 0..20_000 {
            let [a, b] = super::free_addrs();
            assert_ne!(a, b);
        }
    }
}
