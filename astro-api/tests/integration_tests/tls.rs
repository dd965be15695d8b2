//! TLS wherever a credential travels, with certificates made in the test
//! (a private CA, and server certificates it signed): the whole create
//! path over TLS (user → astro-api → Harmony, and an agent → Harmony's
//! agent API), and the refusals that make it worth having: a server no
//! trusted root signed, and a certificate that names another host.

use crate::common::*;
use serde_json::Value;

use test_support::certificates;

fn harmony_over_tls(
    data: &std::path::Path,
    certs: &std::path::Path,
    name: &str,
) -> dropshot::HttpServer<harmony_server::http::Context> {
    let mut config = harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), data.into());
    config.dev_seed = true;
    config.dev_organization = "org-1".to_owned();
    config.service_token = Some(HARMONY_TOKEN.to_owned());
    config.tls = Some(dropshot::ConfigTls::AsFile {
        cert_file: certs.join(format!("{name}.pem")),
        key_file: certs.join(format!("{name}.key")),
    });
    harmony_server::start(&config, &log()).expect("Harmony starts with TLS")
}

fn trusting(ca: &[u8], token: Option<&str>) -> reqwest::Client {
    let builder = harmony_client::trusting(reqwest::Client::builder(), ca).unwrap();
    match token {
        Some(token) => harmony_client::with_service_token(builder, token).unwrap(),
        None => builder.build().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_create_path_works_over_tls_end_to_end() {
    let certs = tempfile::tempdir().unwrap();
    let ca = certificates(certs.path(), &["localhost"]);
    let harmony_data = tempfile::tempdir().unwrap();
    let harmony = harmony_over_tls(harmony_data.path(), certs.path(), "localhost");
    let harmony_url = format!("https://localhost:{}", harmony.local_addr().port());

    let astro_data = tempfile::tempdir().unwrap();
    let mut config = astro_api::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        astro_data.path().to_path_buf(),
        harmony_url.clone(),
    );
    config.harmony_token = Some(HARMONY_TOKEN.to_owned());
    config.secret_key = Some(test_sealer());
    config.harmony_ca = Some(ca.clone());
    config.tls = Some(dropshot::ConfigTls::AsFile {
        cert_file: certs.path().join("localhost.pem"),
        key_file: certs.path().join("localhost.key"),
    });
    let astro = astro_api::start(&config, &log()).expect("astro-api starts with TLS");
    let token = bootstrap(&astro, "org-1", "ws-1").await;
    let url = format!("https://localhost:{}", astro.local_addr().port());

    // A user over TLS, astro-api to Harmony over TLS.
    let user = {
        let builder = harmony_client::trusting(reqwest::Client::builder(), &ca).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        builder.default_headers(headers).build().unwrap()
    };
    let created = user
        .post(format!("{url}/organizations/org-1/deployments"))
        .json(&hybrid())
        .send()
        .await
        .expect("astro-api answers over TLS");
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("{url}/organizations/org-1/deployments/{id}");
    wait_delivered(&user, &path, 1).await;
    let stored = harmony_client::latest::Client::new_with_client(
        &harmony_url,
        trusting(&ca, Some(HARMONY_TOKEN)),
    )
    .deployment_get(&id.parse().unwrap())
    .await
    .expect("Harmony has it, read over TLS")
    .into_inner();
    assert_eq!(stored.generation, 1);

    // The agent API serves TLS with the same certificate: a data plane's
    // agent gets its desired state with its credential.
    let agents = harmony_server::start_agent_api_with(
        "127.0.0.1:0".parse().unwrap(),
        &harmony.app_private().harmony,
        &log(),
        Some(&dropshot::ConfigTls::AsFile {
            cert_file: certs.path().join("localhost.pem"),
            key_file: certs.path().join("localhost.key"),
        }),
    )
    .unwrap();
    let mut harmony_config =
        harmony_server::Config::new("127.0.0.1:0".parse().unwrap(), harmony_data.path().into());
    harmony_config.dev_seed = true;
    let credential =
        harmony_server::issue_agent_credential(&harmony_config, "hybrid-example").unwrap();
    let agent = harmony_client::agent::Client::new_with_client(
        &format!("https://localhost:{}", agents.local_addr().port()),
        trusting(&ca, Some(&credential)),
    );
    let state = agent.desired_state_get(None, None).await.expect("the agent over TLS");
    assert!(state.into_inner().deployments.iter().any(|d| d.deployment_id.to_string() == id));

    agents.close().await.unwrap();
    astro.close().await.unwrap();
    harmony.close().await.unwrap();
}

/// A client refuses a server whose certificate no root it trusts signed,
/// and one whose certificate names another host; plain HTTP to a TLS
/// listener gets nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_the_client_cannot_verify_is_refused() {
    let certs = tempfile::tempdir().unwrap();
    let ca = certificates(certs.path(), &["localhost", "other.example"]);
    let data = tempfile::tempdir().unwrap();
    let harmony = harmony_over_tls(data.path(), certs.path(), "localhost");
    let port = harmony.local_addr().port();
    let discovery = |scheme: &str| format!("{scheme}://localhost:{port}/api-versions");

    let trusted = trusting(&ca, None).get(discovery("https")).send().await;
    assert_eq!(trusted.expect("a trusting client connects").status(), 200);

    let untrusted = reqwest::Client::new().get(discovery("https")).send().await;
    let error = format!("{:?}", untrusted.expect_err("no trusted root signed it"));
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    let plain = reqwest::Client::new().get(discovery("http")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "plain HTTP is not served");

    let data = tempfile::tempdir().unwrap();
    let elsewhere = harmony_over_tls(data.path(), certs.path(), "other.example");
    let wrong_name = trusting(&ca, None)
        .get(format!("https://localhost:{}/api-versions", elsewhere.local_addr().port()))
        .send()
        .await;
    let error = format!("{:?}", wrong_name.expect_err("the certificate names another host"));
    assert!(error.to_lowercase().contains("certificate"), "{error}");

    harmony.close().await.unwrap();
    elsewhere.close().await.unwrap();
}
