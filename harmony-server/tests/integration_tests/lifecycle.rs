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
