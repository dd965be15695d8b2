//! Two Harmony cells at different versions, as in the incident: the Hybrid
//! cell still on 1.0.0 while the Hosted cell runs 2.0.0.

use crate::common::*;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

struct TwoCells {
    hybrid: Option<dropshot::HttpServer<harmony_server::http::Context>>,
    hybrid_addr: std::net::SocketAddr,
    hybrid_data: tempfile::TempDir,
    _hosted: dropshot::HttpServer<harmony_server::http::Context>,
    _hosted_data: tempfile::TempDir,
    _astro: dropshot::HttpServer<astro_api::http::Context>,
    _astro_data: tempfile::TempDir,
    url: String,
    /// Sends organization org-1's owner token.
    http: reqwest::Client,
}

fn harmony(
    data: &std::path::Path,
    bind: std::net::SocketAddr,
    max: Option<semver::Version>,
    kind: harmony_api::latest::DataPlaneKind,
) -> dropshot::HttpServer<harmony_server::http::Context> {
    let mut config = harmony_server::Config::new(bind, data.to_path_buf());
    config.max_api_version = max;
    config.secret_key = Some(harmony_server::render::SecretKey::development());
    config.service_token = Some(HARMONY_TOKEN.to_owned());
    let server = harmony_server::start(&config, &log()).unwrap();
    // Each cell owns the example data plane of its kind, registered as its
    // agent would have registered it.
    let (id, registration) =
        harmony_server::dev_data_planes("org-1").into_iter().find(|(_, r)| r.kind == kind).unwrap();
    server
        .app_private()
        .harmony
        .register_data_plane(id, registration, harmony_server::newest_version())
        .unwrap();
    server
}

impl TwoCells {
    async fn start() -> TwoCells {
        use harmony_api::latest::DataPlaneKind;
        let hybrid_data = tempfile::tempdir().unwrap();
        let hybrid = harmony(
            hybrid_data.path(),
            "127.0.0.1:0".parse().unwrap(),
            Some(semver::Version::new(1, 0, 0)),
            DataPlaneKind::Hybrid,
        );
        let hosted_data = tempfile::tempdir().unwrap();
        let hosted = harmony(
            hosted_data.path(),
            "127.0.0.1:0".parse().unwrap(),
            None,
            DataPlaneKind::Hosted,
        );
        let astro_data = tempfile::tempdir().unwrap();
        let mut config = astro_api::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            astro_data.path().to_path_buf(),
            String::new(),
        );
        config.harmony_token = Some(HARMONY_TOKEN.to_owned());
        config.cells = vec![
            astro_api::harmony::CellConfig {
                name: "hybrid".into(),
                url: format!("http://{}", hybrid.local_addr()),
            },
            astro_api::harmony::CellConfig {
                name: "hosted".into(),
                url: format!("http://{}", hosted.local_addr()),
            },
        ];
        config.harmony_timeout = Duration::from_secs(3);
        config.negotiation_ttl = Duration::from_millis(200);
        config.handoff_max_backoff = Duration::from_millis(200);
        config.quotas = NOT_ABOUT_QUOTAS;
        let astro = astro_api::start(&config, &log()).unwrap();
        let token = bootstrap(&astro, "org-1", "ws-1").await;
        TwoCells {
            http: authorized(&token),
            hybrid_addr: hybrid.local_addr(),
            hybrid: Some(hybrid),
            hybrid_data,
            _hosted: hosted,
            _hosted_data: hosted_data,
            url: format!("http://{}", astro.local_addr()),
            _astro: astro,
            _astro_data: astro_data,
        }
    }

    /// Replaces the Hybrid cell's Harmony with today's, uncapped: same
    /// address, same data, astro-api left running.
    async fn upgrade_hybrid_cell(&mut self) {
        if let Some(running) = self.hybrid.take() {
            running.close().await.unwrap();
        }
        let mut config =
            harmony_server::Config::new(self.hybrid_addr, self.hybrid_data.path().to_path_buf());
        config.max_api_version = None;
        config.secret_key = Some(harmony_server::render::SecretKey::development());
        config.service_token = Some(HARMONY_TOKEN.to_owned());
        self.hybrid = Some(harmony_server::start(&config, &log()).unwrap());
    }
}

/// Sends `requests` with 8 in flight; counts answers by status.
async fn send_all(
    client: &reqwest::Client,
    url: &str,
    requests: Vec<(Method, String, Value)>,
) -> (BTreeMap<u16, usize>, Vec<Value>) {
    let answers: Vec<(u16, Value)> = futures::stream::iter(requests)
        .map(|(method, path, body)| {
            let request = client.request(method, format!("{url}{path}")).json(&body);
            async move {
                let response = request.send().await.expect("astro-api answers");
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap_or(Value::Null))
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut counts = BTreeMap::new();
    for (status, _) in &answers {
        *counts.entry(*status).or_default() += 1;
    }
    (counts, answers.into_iter().map(|(_, body)| body).collect())
}

fn creates(kind: &str, count: usize) -> Vec<(Method, String, Value)> {
    (0..count)
        .map(|i| {
            let mut body = if kind == "hybrid" { hybrid() } else { standard() };
            body["name"] = json!(format!("{kind}-{i}"));
            (Method::POST, "/organizations/org-1/deployments".to_owned(), body)
        })
        .collect()
}

fn updates(created: &[Value], round: u32) -> Vec<(Method, String, Value)> {
    created
        .iter()
        .map(|d| {
            let mut body = if d["type"] == "HYBRID" { hybrid() } else { standard() };
            body["name"] = d["name"].clone();
            body["worker_queues"][0]["worker_concurrency"] = json!(8 + round);
            (
                Method::POST,
                format!("/organizations/org-1/deployments/{}", d["id"].as_str().unwrap()),
                body,
            )
        })
        .collect()
}

/// The incident, replayed: astro-api at HEAD against a Hybrid cell still on
/// 1.0.0 and a Hosted cell on 2.0.0, 720 creates and updates in all; then
/// the Hybrid cell is upgraded under the running astro-api.
#[tokio::test]
async fn incident_replay_mixed_cells_never_500() {
    let mut cells = TwoCells::start().await;
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut add = |counts: BTreeMap<u16, usize>| {
        for (status, n) in counts {
            *statuses.entry(status).or_default() += n;
        }
    };

    // 120 creates (60 per kind), then 5 rounds of 120 updates: 720 requests.
    let mut requests = creates("hybrid", 60);
    requests.extend(creates("hosted", 60));
    let (counts, created) = send_all(&cells.http, &cells.url, requests).await;
    assert_eq!(counts.get(&201), Some(&120), "every create lands: {counts:?} {created:?}");
    add(counts);
    for round in 1..=5 {
        let (counts, answers) = send_all(&cells.http, &cells.url, updates(&created, round)).await;
        assert_eq!(counts.get(&200), Some(&120), "round {round}: {counts:?} {answers:?}");
        add(counts);
    }
    assert_eq!(statuses.values().sum::<usize>(), 720);
    assert!(statuses.keys().all(|s| *s < 500), "no server error at all: {statuses:?}");

    let (_, ready) = reqwest::get(format!("{}/readyz", cells.url))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .map(|v| ((), v))
        .unwrap();
    assert_eq!(ready["cells"][0]["api_version"], "1.0.0", "{ready}");
    assert_eq!(ready["cells"][0]["degraded"], true);
    assert_eq!(ready["cells"][1]["api_version"], harmony_api::latest_version().to_string());

    // Upgrade the Hybrid cell under the running astro-api: once it is back,
    // requests succeed at 2.0.0 without restarting astro-api.
    cells.upgrade_hybrid_cell().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (counts, answers) = send_all(&cells.http, &cells.url, updates(&created, 6)).await;
    assert_eq!(counts.get(&200), Some(&120), "{counts:?} {answers:?}");
    let ready: Value =
        reqwest::get(format!("{}/readyz", cells.url)).await.unwrap().json().await.unwrap();
    assert_eq!(ready["cells"][0]["api_version"], harmony_api::latest_version().to_string());
    assert_eq!(ready["cells"][0]["degraded"], false, "{ready}");
}

#[tokio::test]
async fn changes_for_a_cell_down_during_its_upgrade_wait_for_it_and_never_fail() {
    let mut cells = TwoCells::start().await;
    let (counts, created) = send_all(&cells.http, &cells.url, creates("hybrid", 4)).await;
    assert_eq!(counts.get(&201), Some(&4), "{created:?}");
    cells.hybrid.take().unwrap().close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    // Accepted and kept; each says it waits for the cell.
    let (counts, answers) = send_all(&cells.http, &cells.url, updates(&created, 1)).await;
    assert_eq!(counts.get(&200), Some(&4), "{answers:?}");
    for answer in &answers {
        assert_eq!(
            (answer["generation"].as_u64(), answer["delivered_generation"].as_u64()),
            (Some(2), Some(1))
        );
        let reason = answer["status_reason"].as_str().unwrap();
        assert!(reason.contains("cell hybrid"), "{reason}");
    }
    // The Hosted cell is unaffected.
    let (counts, _) = send_all(&cells.http, &cells.url, creates("hosted", 2)).await;
    assert_eq!(counts.get(&201), Some(&2));

    // The cell comes back upgraded: what waited is delivered, at 2.0.0.
    cells.upgrade_hybrid_cell().await;
    for answer in &answers {
        let id = answer["id"].as_str().unwrap();
        wait_delivered(
            &cells.http,
            &format!("{}/organizations/org-1/deployments/{id}", cells.url),
            2,
        )
        .await;
    }
}

/// Every Harmony version in the live window (the union of what
/// `versions/live.json` says any cell serves), for each of the two cells.
fn live_window() -> Vec<semver::Version> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../versions/live.json");
    let live: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut newest_per_cell: Vec<semver::Version> = live["environments"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|env| env["harmony"].as_array().unwrap().iter())
        .map(|cell| {
            cell["serves"].as_object().unwrap().keys().map(|v| v.parse().unwrap()).max().unwrap()
        })
        .collect();
    newest_per_cell.sort();
    newest_per_cell.dedup();
    newest_per_cell
}

/// The contract matrix: astro-api at HEAD against a Hybrid cell and a Hosted
/// cell at every combination of live versions. Hybrid work always succeeds;
/// Hosted work succeeds where its cell serves 2.0.0 and is otherwise a named
/// version gap; nothing is ever a 500.
#[tokio::test]
async fn contract_matrix_over_the_live_window() {
    use harmony_api::latest::DataPlaneKind;
    let window = live_window();
    assert!(window.len() >= 2, "the live window should span a rollout: {window:?}");
    for hybrid_version in &window {
        for hosted_version in &window {
            let hybrid_data = tempfile::tempdir().unwrap();
            let hosted_data = tempfile::tempdir().unwrap();
            let local = "127.0.0.1:0".parse().unwrap();
            let hybrid_cell = harmony(
                hybrid_data.path(),
                local,
                Some(hybrid_version.clone()),
                DataPlaneKind::Hybrid,
            );
            let hosted_cell = harmony(
                hosted_data.path(),
                local,
                Some(hosted_version.clone()),
                DataPlaneKind::Hosted,
            );
            let astro_data = tempfile::tempdir().unwrap();
            let mut config =
                astro_api::Config::new(local, astro_data.path().to_path_buf(), String::new());
            config.harmony_token = Some(HARMONY_TOKEN.to_owned());
            config.cells = vec![
                astro_api::harmony::CellConfig {
                    name: "hybrid".into(),
                    url: format!("http://{}", hybrid_cell.local_addr()),
                },
                astro_api::harmony::CellConfig {
                    name: "hosted".into(),
                    url: format!("http://{}", hosted_cell.local_addr()),
                },
            ];
            let astro = astro_api::start(&config, &log()).unwrap();
            let url = format!("http://{}", astro.local_addr());
            let http = authorized(&bootstrap(&astro, "org-1", "ws-1").await);
            let case = format!("hybrid cell {hybrid_version}, hosted cell {hosted_version}");

            let (counts, answers) = send_all(&http, &url, creates("hybrid", 3)).await;
            assert_eq!(counts.get(&201), Some(&3), "{case}: {answers:?}");
            let (counts, _) = send_all(&http, &url, updates(&answers, 1)).await;
            assert_eq!(counts.get(&200), Some(&3), "{case}");

            let (counts, answers) = send_all(&http, &url, creates("hosted", 3)).await;
            if hosted_version.major >= 2 {
                assert_eq!(counts.get(&201), Some(&3), "{case}: {answers:?}");
                let (counts, _) = send_all(&http, &url, updates(&answers, 1)).await;
                assert_eq!(counts.get(&200), Some(&3), "{case}");
            } else {
                assert_eq!(counts.get(&503), Some(&3), "{case}: {answers:?}");
                for answer in &answers {
                    assert_eq!(answer["version_gap"]["cell"], "hosted", "{case}: {answer}");
                    assert_eq!(answer["version_gap"]["required"], json!(["2.0.0"]), "{case}");
                }
            }
            let listed: Value = http
                .get(format!("{url}/organizations/org-1/deployments"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let expected = if hosted_version.major >= 2 { 6 } else { 3 };
            assert_eq!(listed["items"].as_array().unwrap().len(), expected, "{case}");
        }
    }
}
