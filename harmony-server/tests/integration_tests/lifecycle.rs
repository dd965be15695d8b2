//! The binary as a supervisor runs it: it says its version, and SIGTERM
//! stops both its listeners cleanly, exit 0.

use std::process::Command;

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
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .arg("--data-dir")
        .arg(data.path());
    test_support::sigterm_stops_cleanly(command, &[addr, agents]);
}

/// Stalled request bodies (issue 19) on both of Harmony's listeners: a
/// client that sends its headers and part of a body, then nothing, is
/// answered 408 and closed once `--body-read-timeout` has passed, while
/// others are still answered.
#[test]
fn stalled_request_bodies_are_cut_off_on_both_listeners() {
    let data = tempfile::tempdir().unwrap();
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (addr, agents) = (free(), free());
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--agent-bind", &agents.to_string(), "--dev-seed"])
        .args(["--body-read-timeout", "1"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("harmony.log"));
    test_support::wait_until_listening(addr);
    test_support::wait_until_listening(agents);
    let deadline = std::time::Duration::from_secs(1);
    test_support::stalled_bodies_are_cut_off(
        addr,
        &[
            "PUT /deployments/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nhost: harmony\r\napi-version: 4.0.0",
        ],
        32,
        ("GET /api-versions HTTP/1.1\r\nhost: harmony", 200),
        deadline,
    );
    test_support::stalled_bodies_are_cut_off(
        agents,
        &["POST /status HTTP/1.1\r\nhost: harmony\r\napi-version: 1.0.0"],
        32,
        ("GET /desired-state HTTP/1.1\r\nhost: harmony\r\napi-version: 1.0.0", 401),
        deadline,
    );
}
