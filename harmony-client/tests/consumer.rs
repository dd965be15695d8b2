//! The example consumer (`examples/consumer.rs`), a service that depends on
//! harmony-client alone, run as such a service runs: its own process,
//! against a real Harmony over TLS with a private CA and the service
//! credential. Against a Harmony serving every version it negotiates the
//! newest and lists rollouts; against one capped at 2.0.0 it says rollouts
//! are not served yet instead of failing; without the CA it refuses the
//! server.

use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "consumer-test-service-token-of-32-characters-or-more";

/// Where cargo put the example (built with the tests).
fn consumer() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    deps.parent().unwrap().join("examples").join("consumer")
}

fn harmony(
    data: &Path,
    certs: &Path,
    max: Option<&str>,
) -> dropshot::HttpServer<harmony_server::http::Context> {
    let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), data.into());
    config.dev_seed = true;
    config.service_token = Some(TOKEN.to_owned());
    config.max_api_version = max.map(|v| v.parse().unwrap());
    config.tls = Some(dropshot::ConfigTls::AsFile {
        cert_file: certs.join("localhost.pem"),
        key_file: certs.join("localhost.key"),
    });
    harmony_server::start(&config, &test_support::logger(slog::Level::Warning)).unwrap()
}

async fn run(url: &str, ca: Option<&Path>, token: &Path) -> (bool, String) {
    let mut command = Command::new(consumer());
    command.env("HARMONY_URL", url).env("HARMONY_TOKEN_FILE", token);
    if let Some(ca) = ca {
        command.env("HARMONY_CA_FILE", ca);
    }
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_consumer_works_against_a_real_harmony_over_tls() {
    assert!(
        consumer().exists(),
        "{} was not built: run `cargo test -p harmony-client` (which builds the examples)",
        consumer().display()
    );
    let certs = tempfile::tempdir().unwrap();
    test_support::certificates(certs.path(), &["localhost"]);
    let ca = certs.path().join("ca.pem");
    let token = certs.path().join("token");
    std::fs::write(&token, TOKEN).unwrap();

    let (data, capped_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let newest = harmony(data.path(), certs.path(), None);
    let url = format!("https://localhost:{}", newest.local_addr().port());
    let (ok, said) = run(&url, Some(&ca), &token).await;
    assert!(ok, "{said}");
    let newest_version = harmony_client::negotiate::spoken_versions().into_iter().max().unwrap();
    assert!(said.contains(&format!("negotiated {newest_version}")), "{said}");
    assert!(said.contains("data planes: 2") && said.contains("rollouts: 0"), "{said}");

    let capped = harmony(capped_data.path(), certs.path(), Some("2.0.0"));
    let capped_url = format!("https://localhost:{}", capped.local_addr().port());
    let (ok, said) = run(&capped_url, Some(&ca), &token).await;
    assert!(ok, "{said}");
    assert!(said.contains("negotiated 2.0.0") && said.contains("data planes: 2"), "{said}");
    assert!(said.contains("rollouts not served yet"), "{said}");

    // Without the private CA the server is not trusted, and nothing is sent.
    let (ok, said) = run(&url, None, &token).await;
    assert!(!ok, "{said}");
    assert!(said.to_lowercase().contains("certificate") || said.contains("Unreachable"), "{said}");
}
