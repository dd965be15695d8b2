//! The binary as a supervisor runs it: it says its version, and SIGTERM
//! (what Kubernetes sends before it kills) stops it cleanly, exit 0.

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_astro-api");

#[test]
fn the_binary_says_its_version() {
    let out = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("astro-api {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn sigterm_stops_it_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .arg("--data-dir")
        .arg(data.path());
    test_support::sigterm_stops_cleanly(command, &[addr]);
}

/// The security probe's stalled bodies (issue 19): clients that send their
/// headers and part of a body, then nothing, are answered 408 and closed
/// once `--body-read-timeout` has passed (they were held for ever: dropshot
/// reads a body with no deadline), unauthenticated ones included, while the
/// server keeps answering others.
#[test]
fn stalled_request_bodies_are_cut_off() {
    let data = tempfile::tempdir().unwrap();
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut command = Command::new(BINARY);
    command
        .args(["--bind", &addr.to_string(), "--harmony", "http://127.0.0.1:9"])
        .args(["--body-read-timeout", "1"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(std::process::Stdio::null());
    let _server = test_support::Process::spawn(&mut command, &data.path().join("astro-api.log"));
    test_support::wait_until_listening(addr);
    test_support::stalled_bodies_are_cut_off(
        addr,
        &[
            "POST /organizations/o/workspaces HTTP/1.1\r\nhost: astro",
            "POST /organizations/o/deployments HTTP/1.1\r\nhost: astro\r\nauthorization: Bearer x",
        ],
        32,
        ("GET /organizations/o HTTP/1.1\r\nhost: astro", 401),
        std::time::Duration::from_secs(1),
    );
}
