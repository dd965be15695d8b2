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
