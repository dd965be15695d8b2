//! The binary as a supervisor runs it: it says its version, and SIGTERM
//! stops both its listeners cleanly, exit 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_harmony-server");

#[test]
fn the_binary_says_its_version() {
    let out = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("harmony-server {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn sigterm_stops_it_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (addr, agents) = (free(), free());
    let mut child = Command::new(BINARY)
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    for listener in [addr, agents] {
        while std::net::TcpStream::connect_timeout(&listener, Duration::from_millis(100)).is_err() {
            assert!(Instant::now() < deadline, "harmony-server never listened on {listener}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "harmony-server did not stop within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM ends it with exit 0, not the signal:\n{log}");
    assert!(log.contains("stopping") && log.contains("SIGTERM"), "{log}");
    for listener in [addr, agents] {
        assert!(
            std::net::TcpStream::connect_timeout(&listener, Duration::from_millis(200)).is_err()
        );
    }
}
