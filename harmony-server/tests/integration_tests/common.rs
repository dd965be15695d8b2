//! Starting and stopping a real Harmony for a test.

use dropshot::HttpServer;
use harmony_client::{v1, v2};
use harmony_server::Config;
use std::path::PathBuf;
use std::sync::Arc;
use test_support::fixtures;
use uuid::Uuid;

/// A running Harmony on a port of its own, with its own data directory
/// (and, on PostgreSQL, a schema of its own).
pub struct TestHarmony {
    pub server: Option<HttpServer<harmony_server::http::Context>>,
    pub url: String,
    pub place: Arc<Place>,
}

pub use sql_store::{Backend, on_both_backends};

/// Where a test Harmony keeps its data: a temporary directory, and on
/// PostgreSQL a schema of its own on the test server.
pub struct Place {
    pub dir: tempfile::TempDir,
    pub schema: Option<sql_store::testing::TestSchema>,
}

impl Place {
    /// `None` when PostgreSQL is asked for and no server answers (the
    /// test is skipped, loudly; CI requires the server).
    pub fn new(backend: Backend) -> Option<Arc<Place>> {
        let schema = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(sql_store::testing::TestSchema::create()?),
        };
        Some(Arc::new(Place { dir: tempfile::tempdir().expect("tempdir"), schema }))
    }

    /// Points `config` here.
    pub fn apply(&self, config: &mut Config) {
        config.data_dir = self.dir.path().to_path_buf();
        config.database_url = self.schema.as_ref().map(|s| s.url());
    }

    /// The arguments that point a harmony-server process here.
    pub fn args(&self) -> Vec<String> {
        match &self.schema {
            Some(schema) => vec!["--database-url".into(), schema.url()],
            None => vec!["--data-dir".into(), self.dir.path().display().to_string()],
        }
    }

    /// Whether `needle` appears anywhere in what is stored: the SQLite
    /// files' bytes, or every row of the PostgreSQL schema.
    /// Manifest sets are stored compressed, so those are searched unpacked.
    pub fn holds(&self, needle: &str) -> bool {
        let in_sets = |packed: Vec<Vec<u8>>| {
            packed.iter().any(|p| harmony_server::store::unpack(p).unwrap().contains(needle))
        };
        if let Some(schema) = &self.schema {
            let packed = schema
                .rows("SELECT encode(packed, 'hex') FROM manifest_sets WHERE packed IS NOT NULL")
                .iter()
                .map(|row| unhex(row.trim_matches(|c| matches!(c, '(' | ')' | '"'))))
                .collect();
            return schema.dump().contains(needle) || in_sets(packed);
        }
        let raw = std::fs::read_dir(self.dir.path()).unwrap().any(|file| {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        });
        let db = rusqlite::Connection::open_with_flags(
            self.dir.path().join("harmony.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let packed = db
            .prepare("SELECT packed FROM manifest_sets WHERE packed IS NOT NULL")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        raw || in_sets(packed)
    }
}

/// The committed OpenAPI document of one Harmony API version.
pub fn document(version: &semver::Version) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/harmony");
    let prefix = format!("harmony-{version}-");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&prefix))
        .unwrap_or_else(|| panic!("no document for {version} in {}", dir.display()))
}

/// The service credential test Harmonies require.
pub const SERVICE_TOKEN: &str = "test-service-credential-0123456789abcdef";

/// An HTTP client presenting [`SERVICE_TOKEN`].
pub fn http() -> reqwest::Client {
    harmony_client::with_service_token(reqwest::Client::builder(), SERVICE_TOKEN).unwrap()
}

/// A server's logger: its lines show in the output of the test that
/// started it, and only when that test fails.
pub fn log() -> slog::Logger {
    test_support::logger(slog::Level::Info)
}

impl TestHarmony {
    pub fn start() -> TestHarmony {
        Self::start_with(|_| {})
    }

    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestHarmony {
        Self::start_configured(|config| {
            config.secret_key = Some(harmony_server::render::SecretKey::development());
            adjust(config);
        })
    }

    fn start_configured(adjust: impl FnOnce(&mut Config)) -> TestHarmony {
        Self::start_at(Place::new(Backend::Sqlite).expect("SQLite is always there"), adjust)
    }

    /// A Harmony on `backend`; `None` when that is PostgreSQL and no server
    /// answers.
    pub fn on(backend: Backend) -> Option<TestHarmony> {
        Self::on_with(backend, |_| {})
    }

    /// A Harmony on data already at `place` (with the development key),
    /// whose rollouts move only when a test steps them (no ticker).
    pub fn at(place: Arc<Place>) -> TestHarmony {
        Self::start_at(place, |config| {
            config.secret_key = Some(harmony_server::render::SecretKey::development());
            config.rollout_tick = None;
        })
    }

    pub fn on_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestHarmony> {
        let place = Place::new(backend)?;
        Some(Self::start_at(place, |config| {
            config.secret_key = Some(harmony_server::render::SecretKey::development());
            adjust(config);
        }))
    }

    /// Another Harmony on this one's data (after this one stopped, or
    /// beside it, as a replica).
    pub fn again(&self, adjust: impl FnOnce(&mut Config)) -> TestHarmony {
        Self::start_at(self.place.clone(), |config| {
            config.secret_key = Some(harmony_server::render::SecretKey::development());
            adjust(config);
        })
    }

    fn start_at(place: Arc<Place>, adjust: impl FnOnce(&mut Config)) -> TestHarmony {
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), PathBuf::new());
        place.apply(&mut config);
        config.service_token = Some(SERVICE_TOKEN.to_owned());
        adjust(&mut config);
        let server = harmony_server::start(&config, &log()).expect("harmony starts");
        let url = format!("http://{}", server.local_addr());
        TestHarmony { server: Some(server), url, place }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.place.dir.path().to_path_buf()
    }

    pub fn v1(&self) -> v1::Client {
        v1::Client::new_with_client(&self.url, http())
    }

    pub fn v2(&self) -> v2::Client {
        v2::Client::new_with_client(&self.url, http())
    }

    pub fn v3(&self) -> harmony_client::v3::Client {
        harmony_client::v3::Client::new_with_client(&self.url, http())
    }

    /// This Harmony restarted (with `adjust`) on its data with the schema
    /// contracted: what an operator does once no older binary shares the
    /// database, so formats that wait for it (contact emails) are written.
    pub async fn contracted(mut self, adjust: impl FnOnce(&mut Config)) -> TestHarmony {
        self.stop().await;
        let mut config = Config::new("127.0.0.1:0".parse().unwrap(), PathBuf::new());
        self.place.apply(&mut config);
        harmony_server::contract_schema(&config).expect("the schema contracts");
        self.again(adjust)
    }

    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.close().await.expect("harmony stops");
        }
    }
}

/// A registration of `kind` (`test_support::fixtures`); a Hybrid data plane
/// belongs to `org-1` (what [`hybrid_spec`] deploys), as every Hybrid plane
/// names its owner.
pub fn registration(kind: v2::types::DataPlaneKind) -> v2::types::DataPlaneRegistration {
    let registration = match kind {
        v2::types::DataPlaneKind::Hybrid => fixtures::registration("HYBRID", Some("org-1")),
        v2::types::DataPlaneKind::Hosted => fixtures::registration("HOSTED", None),
    };
    fixtures::typed(registration)
}

pub fn hybrid_spec(data_plane_id: &str, generation: u64) -> v2::types::DeploymentSpec {
    fixtures::typed(fixtures::hybrid_spec(data_plane_id, generation))
}

pub fn hosted_spec(data_plane_id: &str, generation: u64) -> v2::types::DeploymentSpec {
    fixtures::typed(fixtures::hosted_spec(data_plane_id, generation))
}

/// Registers a Hybrid and a Hosted data plane through 2.0.0.
pub async fn two_planes(h: &TestHarmony) {
    let client = h.v2();
    client
        .data_plane_put("hybrid-1", &registration(v2::types::DataPlaneKind::Hybrid))
        .await
        .expect("register hybrid");
    client
        .data_plane_put("hosted-1", &registration(v2::types::DataPlaneKind::Hosted))
        .await
        .expect("register hosted");
}

pub fn id() -> Uuid {
    Uuid::new_v4()
}

/// The status and error code of a failed call.
pub fn failure<T: std::fmt::Debug>(
    result: Result<T, harmony_client::Error<v2::types::Error>>,
) -> (u16, String, String) {
    match result {
        Err(harmony_client::Error::ErrorResponse(rv)) => {
            let status = rv.status().as_u16();
            let body = rv.into_inner();
            (status, body.error_code.unwrap_or_default(), body.message)
        }
        other => panic!("expected an error response, got {other:?}"),
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex from PostgreSQL"))
        .collect()
}

/// A data plane's agent on Harmony's real agent API at `agents`: the
/// generated agent client presenting a credential issued for `plane`.
pub fn agent_client(
    harmony: &harmony_server::app::HarmonyApp,
    agents: std::net::SocketAddr,
    plane: &str,
) -> harmony_client::agent::Client {
    let credential = harmony.issue_agent_credential(plane).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {credential}").parse().unwrap());
    harmony_client::agent::Client::new_with_client(
        &format!("http://{agents}"),
        reqwest::Client::builder().default_headers(headers).build().unwrap(),
    )
}
