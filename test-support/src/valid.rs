//! Generated valid input: deployment specs Harmony's contract allows at an
//! API version, built from the declared rules (`deployment_rules::rule`)
//! and reaching the edges real users reach.
//!
//! Every rule declared about a deployment's spec says here how a value
//! satisfies it ([`SATISFIES`]; a test holds the table to the
//! declarations, so a new rule cannot be declared without saying how valid
//! input meets it). Everything no rule forbids is left free, and the
//! generator goes out of its way to produce it:
//! - values at every limit (1 and 63 characters, 32 queues, counts at
//!   int32's maximum, generation at int64's, a 16 KiB value, 64 KiB of
//!   variables in all);
//! - repeats wherever no rule forbids them (node pools shared by queues,
//!   values shared by variables, min = max, names shared with workspaces);
//! - content as Airflow users write it: `AIRFLOW__SECTION__KEY` and
//!   `AIRFLOW_CONN_*` keys, connection URIs, JSON, PEM blocks, Jinja and
//!   `%(interpolation)s`, image tags as registries and CI systems make
//!   them, and names in many scripts.
//!
//! It is a proptest [`Strategy`]: seeded, reproducible, and a failure
//! shrinks to a small spec. Specs are JSON in Harmony's 2.0.0 shape
//! (1.0.0 callers drop the Hosted fields, and get only HYBRID specs).

use deployment_rules::{self as rules, ApiVersion};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The data planes the specs target: a HYBRID plane owned by
/// `owner` and a HOSTED (shared) plane.
#[derive(Clone, Debug)]
pub struct Planes {
    pub hybrid: String,
    pub owner: String,
    pub hosted: String,
}

/// How generated input satisfies each declared rule about a deployment's
/// spec, by identifier. `valid_specs_cover_every_declared_rule` fails when
/// a rule is declared that is not here.
pub const SATISFIES: &[(&str, &str)] = &[
    ("name_length", "names of 1 to 63 characters, both ends included"),
    ("name_text", "names from printable text in many scripts, never a control character"),
    ("image_tag_grammar", "tags from the OCI grammar: registries' and CI systems' own forms"),
    ("dag_bundle_version_grammar", "timestamps, digests and build versions of 1 to 128 characters"),
    ("generation_range", "1, int64's maximum and values between"),
    ("data_plane_id_dns_label", "the id of a registered plane"),
    ("identifiers_written", "ids with at least one visible character"),
    ("worker_queues_count", "1 to 32 queues"),
    ("kind_matches_data_plane", "the plane of the spec's kind"),
    ("data_plane_owner", "a HYBRID spec's organization is its plane's owner"),
    ("identity_immutable", "every spec is a new deployment"),
    ("hybrid_executor", "HYBRID specs run CELERY or KUBERNETES"),
    ("hybrid_scheduler", "HYBRID specs carry a scheduler and nothing Hosted"),
    ("scheduler_au_range", "5 to 24, both ends included"),
    ("scheduler_replicas_range", "1 to 4, both ends included"),
    ("hosted_scheduler", "HOSTED specs carry a scheduler_size and no scheduler"),
    ("one_default_queue", "one queue, anywhere in the list, is the default, named default"),
    ("kubernetes_executor_one_queue", "KUBERNETES specs carry the default queue only"),
    ("parallelism_max", "products are reduced until their sum is at most int32's maximum"),
    ("queue_name_dns_label", "queue names are DNS labels, 1 to 63 characters"),
    ("queue_names_unique", "queue names are drawn without repeats"),
    ("max_worker_count_range", "1 to int32's maximum"),
    ("min_worker_count_range", "0 to the queue's maximum"),
    ("worker_concurrency_range", "1 to int32's maximum"),
    ("min_worker_count_not_above_max", "a minimum is drawn below its maximum, often equal"),
    ("hosted_queue_machine", "HOSTED queues carry a machine, no node pool"),
    (
        "hybrid_queue_node_pool",
        "HYBRID queues carry a node pool (shared across queues), no machine",
    ),
    ("node_pool_id_grammar", "pool ids of the label-value grammar, 1 and 63 characters"),
    ("environment_size", "variables are dropped from the end until the sizes fit"),
    ("environment_key_grammar", "keys as Airflow users write them, up to 255 bytes"),
    ("environment_keys_unique", "keys are drawn without repeats"),
    ("secret_value_required", "every secret carries a value (each spec is new)"),
    ("rendered_set_max", "what the limits above allow renders well below it"),
    ("platform_environment_keys", "the platform's keys only before 4.0.0, where they are taken"),
    ("contact_emails_count", "none, or 1 to 10 addresses (from 4.0.0)"),
    (
        "contact_email_grammar",
        "addresses from the grammar: every local-part character, labels of 1 and 63, up to 254",
    ),
    ("contact_emails_unique", "addresses are drawn without repeats"),
];

/// Valid specs at `version` for `planes` (HYBRID only before 2.0.0).
pub fn deployment_specs(version: ApiVersion, planes: Planes) -> BoxedStrategy<Value> {
    let hosted_too = version >= ApiVersion::new(2, 0, 0);
    let platform_keys_taken = !rules::rule::PLATFORM_KEYS.applies_at(version);
    let kind = if hosted_too {
        prop_oneof![Just("HYBRID"), Just("HOSTED")].boxed()
    } else {
        Just("HYBRID").boxed()
    };
    (
        kind,
        identifier(),
        identifier(),
        name(),
        runtime(),
        image_tag(),
        proptest::option::of(bundle_version()),
        generation(),
        any::<u64>(),
        environment(platform_keys_taken),
        contact_emails(version),
    )
        .prop_flat_map(
            move |(
                kind,
                organization,
                workspace,
                name,
                runtime,
                tag,
                bundle,
                generation,
                seed,
                env,
                emails,
            )| {
                let planes = planes.clone();
                let emails = emails.clone();
                let executors: Vec<&'static str> = match kind {
                    "HYBRID" => vec!["CELERY", "KUBERNETES"],
                    _ => vec!["CELERY", "KUBERNETES", "ASTRO"],
                };
                (proptest::sample::select(executors), queues(kind), Just(seed)).prop_map(
                    move |(executor, mut queues, seed)| {
                        if executor == "KUBERNETES" {
                            queues.retain(|q| q["is_default"] == json!(true));
                        }
                        let (plane, organization) = match kind {
                            "HYBRID" => (planes.hybrid.clone(), planes.owner.clone()),
                            _ => (planes.hosted.clone(), organization.clone()),
                        };
                        let mut spec = json!({
                            "kind": kind,
                            "organization_id": organization,
                            "workspace_id": workspace,
                            "data_plane_id": plane,
                            "name": name,
                            "runtime_version": runtime,
                            "executor": executor,
                            "worker_queues": queues,
                            "environment_variables": env,
                            "image_tag": tag,
                            "generation": generation,
                            "is_high_availability": false,
                        });
                        if let Some(bundle) = &bundle {
                            spec["dag_bundle_version"] = json!(bundle);
                        }
                        if let Some(emails) = &emails {
                            spec["contact_emails"] = json!(emails);
                        }
                        match kind {
                            "HYBRID" => {
                                let au = [5, 24, 5 + seed % 20][(seed % 3) as usize];
                                let replicas = 1 + (seed >> 8) % 4;
                                spec["scheduler"] = json!({ "au": au, "replicas": replicas });
                            }
                            _ => {
                                let sizes = ["SMALL", "MEDIUM", "LARGE", "EXTRA_LARGE"];
                                spec["scheduler_size"] = json!(sizes[(seed % 4) as usize]);
                                spec["is_high_availability"] = json!(seed & 16 != 0);
                            }
                        }
                        spec
                    },
                )
            },
        )
        .boxed()
}

/// Contact emails from 4.0.0 (none before, where no version can send
/// them): absent, empty, or 1 to 10 distinct addresses at the grammar's
/// edges.
fn contact_emails(version: ApiVersion) -> BoxedStrategy<Option<Vec<String>>> {
    if !rules::rule::CONTACT_EMAIL.applies_at(version) {
        return Just(None).boxed();
    }
    let label = proptest::string::string_regex("[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
        .expect("a label's grammar");
    let local = prop_oneof![
        proptest::string::string_regex("[A-Za-z0-9._%+-]{1,64}").expect("a local part"),
        Just("x".repeat(64)),
        Just("first.last+alerts".to_owned()),
    ];
    let email = (local, proptest::collection::vec(label, 2..=4)).prop_map(|(local, labels)| {
        let mut email = format!("{local}@{}", labels.join("."));
        // Past 254 characters: the domain keeps its first two labels.
        if email.len() > rules::MAX_CONTACT_EMAIL {
            email = format!("{local}@{}", labels[..2].join("."));
        }
        email.truncate(rules::MAX_CONTACT_EMAIL);
        email
    });
    let emails = proptest::collection::btree_set(email, 0..=rules::MAX_CONTACT_EMAILS)
        .prop_map(|set| set.into_iter().filter(|e| rules::contact_email(e).is_ok()).collect());
    proptest::option::of(emails).boxed()
}

/// Organization and workspace ids: what astro-api sends (cuid-like ids),
/// and what an operator may type (words, other scripts, spaces inside).
fn identifier() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "c[a-z0-9]{24}",
        2 => "[a-z]{2,8}-[0-9]{1,4}",
        1 => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        1 => prop::sample::select(vec!["org 1", "Équipe données", "データ", "org_1", " x", "a"]).prop_map(str::to_owned),
        1 => Just("o".repeat(200)),
    ]
}

/// A deployment's name: 1 to 63 characters of printable text.
fn name() -> impl Strategy<Value = String> {
    let words = vec![
        "etl",
        "ETL nightly",
        "Données-ETL (prod)",
        "データ処理",
        "数据管道",
        "пайплайн",
        "خط_البيانات",
        "می\u{200c}خواهم",
        "👩\u{200d}💻 team",
        "ml-training_v2",
        "a.b/c:d",
        "\"quoted\" & <tagged>",
        "100% done",
        "#1: {jinja}",
    ];
    prop_oneof![
        6 => prop::sample::select(words).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9 _.-]{1,63}",
        1 => Just("n".repeat(63)),
        1 => Just("é".repeat(63)),
        1 => Just("x".to_owned()),
        1 => "\\PC{1,20}".prop_filter("printable", |s| rules::free_text(s).is_ok()
            && (1..=63).contains(&s.chars().count())),
    ]
}

fn runtime() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "13.1.0",
        "13.0.0",
        "12.9.0",
        "3.0-2",
        "13.1.0+py3.12",
        "11.6.0-python-3.11",
    ])
    .prop_map(str::to_owned)
}

/// Image tags as registries and CI systems make them.
fn image_tag() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![
            "latest", "v1", "1", "_", "main", "stable", "13.1.0", "v2.10.3-python3.12",
            "deploy-2026-12-04T10-00-00", "sha-1f2e3d4", "20261204.1", "pr-1234",
        ]).prop_map(str::to_owned),
        2 => "[a-f0-9]{7,40}",
        1 => "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
        1 => Just("t".repeat(128)),
    ]
}

fn bundle_version() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("2026-12-04T10:00:00.123Z".to_owned()),
        "sha256:[a-f0-9]{64}",
        Just("1+build.5".to_owned()),
        "[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}",
    ]
}

fn generation() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64), Just(rules::MAX_GENERATION), 1..=rules::MAX_GENERATION]
}

/// A count between `min` and `max`, often at either end.
fn count(min: u64, max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![Just(min), Just(max), min..=max.min(min + 64), min..=max]
}

/// How many queues besides the default: most deployments have a few,
/// some have the most a deployment may (32 in all).
fn queue_count() -> impl Strategy<Value = std::ops::RangeInclusive<usize>> {
    let most = rules::MAX_WORKER_QUEUES - 1;
    prop_oneof![6 => Just(0..=3), 2 => Just(4..=12), 1 => Just(most..=most), 1 => Just(0..=most)]
}

/// 1 to 32 queues: one default named `default` at any position, the rest
/// with distinct DNS-label names, node pools drawn from a few (so they
/// repeat), counts at their limits, parallelism within bounds.
fn queues(kind: &'static str) -> impl Strategy<Value = Vec<Value>> {
    let names = queue_count()
        .prop_flat_map(|count| {
            prop::collection::vec(
                prop_oneof![
                    "[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?",
                    Just("q".repeat(63)),
                    Just("0".to_owned()),
                    Just("high-mem".to_owned()),
                ]
                .prop_filter("not the default's name", |n| n != "default"),
                count,
            )
        })
        // Distinct (rule queue_names_unique): a repeat gets a suffix.
        .prop_map(|drawn| {
            let mut names = std::collections::BTreeSet::new();
            drawn
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    let (mut name, mut attempt) = (name, 0);
                    while name == "default" || !names.insert(name.clone()) {
                        // A counter of its own: the drawn names may hold
                        // any one of these already.
                        attempt += 1;
                        name = format!("q{i}-{attempt}");
                    }
                    name
                })
                .collect::<Vec<String>>()
        });
    let pools: Vec<String> = ["pool-a", "default", "gpu.large_1", "P", "pool-a", &"p".repeat(63)]
        .map(str::to_owned)
        .to_vec();
    let queue = (
        count(1, rules::INT32_MAX),
        count(1, rules::INT32_MAX),
        any::<u64>(),
        prop::sample::select(pools),
        prop::sample::select(vec!["A5", "A10", "A20", "A40", "A60", "A120", "A160"]),
    );
    (names, prop::collection::vec(queue, rules::MAX_WORKER_QUEUES), any::<prop::sample::Index>())
        .prop_map(move |(names, settings, position)| {
            let mut names = names;
            let at = position.index(names.len() + 1);
            names.insert(at, "default".to_owned());
            let mut queues: Vec<Value> = names
                .iter()
                .zip(&settings)
                .map(|(name, (max, concurrency, seed, pool, machine))| {
                    let min = match seed % 4 {
                        0 => 0,
                        1 => *max,
                        _ => seed % (max + 1),
                    };
                    let mut q = json!({
                        "name": name, "is_default": name == "default",
                        "min_worker_count": min, "max_worker_count": max,
                        "worker_concurrency": concurrency,
                    });
                    match kind {
                        "HYBRID" => q["node_pool_id"] = json!(pool),
                        _ => q["astro_machine"] = json!(machine),
                    }
                    q
                })
                .collect();
            fit_parallelism(&mut queues);
            queues
        })
}

/// Halves the largest product until Airflow's parallelism fits
/// (rule `parallelism_max`), keeping each queue's minimum at most its
/// maximum.
fn fit_parallelism(queues: &mut [Value]) {
    let product = |q: &Value| {
        q["max_worker_count"].as_u64().unwrap_or(1) * q["worker_concurrency"].as_u64().unwrap_or(1)
    };
    loop {
        let pairs = queues.iter().map(|q| {
            (
                q["max_worker_count"].as_u64().unwrap_or(1),
                q["worker_concurrency"].as_u64().unwrap_or(1),
            )
        });
        if rules::parallelism(pairs) <= rules::MAX_PARALLELISM {
            return;
        }
        let largest = (0..queues.len()).max_by_key(|i| product(&queues[*i])).unwrap_or(0);
        let q = &mut queues[largest];
        let (max, concurrency) = (
            q["max_worker_count"].as_u64().unwrap_or(1),
            q["worker_concurrency"].as_u64().unwrap_or(1),
        );
        if concurrency >= max {
            q["worker_concurrency"] = json!((concurrency / 2).max(1));
        } else {
            q["max_worker_count"] = json!((max / 2).max(1));
            let min = q["min_worker_count"].as_u64().unwrap_or(0);
            q["min_worker_count"] = json!(min.min((max / 2).max(1)));
        }
    }
}

/// Environment variables as Airflow users write them: distinct keys,
/// values that repeat, every size limit reached sometimes.
fn environment(platform_keys_taken: bool) -> impl Strategy<Value = Vec<Value>> {
    let mut keys: Vec<String> = [
        "AIRFLOW__CORE__PARALLELISM",
        "AIRFLOW__CORE__LOAD_EXAMPLES",
        "AIRFLOW__WEBSERVER__EXPOSE_CONFIG",
        "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL",
        "AIRFLOW__LOGGING__REMOTE_LOGGING",
        "AIRFLOW_CONN_MY_POSTGRES",
        "AIRFLOW_VAR_ENVIRONMENT",
        "AWS_DEFAULT_REGION",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "http_proxy",
        "NO_PROXY",
        "_PRIVATE",
        "PYTHONPATH",
        "DBT_PROFILES_DIR",
        "SNOWFLAKE_ACCOUNT",
        "K",
    ]
    .map(str::to_owned)
    .to_vec();
    keys.push("K".repeat(rules::MAX_ENVIRONMENT_KEY));
    if platform_keys_taken {
        keys.extend(rules::rule::PLATFORM_ENVIRONMENT_KEYS.iter().map(|k| (*k).to_owned()));
    }
    let key = prop_oneof![
        3 => prop::sample::select(keys),
        2 => "[A-Z_][A-Z0-9_]{0,40}",
        1 => "[a-z_][a-z0-9_]{0,20}",
    ];
    let value = prop_oneof![
        15 => prop::sample::select(vec![
            "True", "false", "16", "", "us-east-1",
            "postgresql://airflow:p%40ss@db.internal:5432/airflow?sslmode=require",
            "{\"conn_type\": \"snowflake\", \"extra\": {\"role\": \"ETL\"}}",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
            "{{ var.value.bucket }}/%(dag_id)s/${HOME}", "a: b\n- c\n# d", "'single' \"double\" `back`",
            "データ 🚀 \u{202e}txet",
        ]).prop_map(str::to_owned),
        4 => "\\PC{0,64}",
        1 => Just("v".repeat(rules::MAX_ENVIRONMENT_VALUE)),
    ];
    prop::collection::vec((key, value, any::<bool>()), 0..=24).prop_map(|vars| {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut total = 0;
        for (key, value, secret) in vars {
            if !seen.insert(key.clone()) {
                continue;
            }
            total += key.len() + value.len();
            if total > rules::MAX_ENVIRONMENT_BYTES || out.len() == rules::MAX_ENVIRONMENT_VARIABLES
            {
                break;
            }
            out.push(json!({ "key": key, "value": value, "is_secret": secret }));
        }
        out
    })
}

/// Where astro-api's generated deployments go, and what its
/// `GET /deployment-options` offers.
#[derive(Clone, Debug)]
pub struct PublicPlaces {
    /// An organization's Hybrid cluster (HYBRID deployments), if any.
    pub hybrid_cluster: Option<String>,
    /// A cloud and region with a shared cluster (STANDARD deployments), if
    /// any.
    pub standard: Option<(String, String)>,
    /// The runtime versions offered.
    pub runtimes: Vec<String>,
    /// The highest `worker_concurrency` offered.
    pub max_concurrency: u64,
}

/// Deployments astro-api's declared rules allow (`deployment_rules::rule`,
/// `Api::Astro`), as its public API takes them (JSON): STANDARD and HYBRID
/// ones where `places` has somewhere to put them, at the same edges as
/// [`deployment_specs`], and with what only the public API has (a
/// description, Hosted resource settings, development mode, CI/CD and DAG
/// deploy switches). Names are the caller's to make unique in their
/// workspace (`deployment_name`'s uniqueness is a conflict, not a shape).
pub fn public_deployments(places: PublicPlaces) -> BoxedStrategy<Value> {
    let mut types = Vec::new();
    if places.standard.is_some() {
        types.push("STANDARD");
    }
    if places.hybrid_cluster.is_some() {
        types.push("HYBRID");
    }
    assert!(!types.is_empty(), "nowhere to place a deployment");
    let runtimes = places.runtimes.clone();
    let max_concurrency = places.max_concurrency;
    (
        prop::sample::select(types),
        public_name(),
        proptest::option::of(description()),
        prop::sample::select(runtimes),
        proptest::option::of(image_tag()),
        any::<u64>(),
        environment(false),
        resources(),
        contact_emails(ApiVersion::new(4, 0, 0)),
    )
        .prop_flat_map(
            move |(kind, name, description, runtime, tag, seed, env, resources, emails)| {
                let places = places.clone();
                let executors: Vec<&'static str> = match kind {
                    "HYBRID" => vec!["CELERY", "KUBERNETES"],
                    _ => vec!["CELERY", "KUBERNETES", "ASTRO"],
                };
                let harmony_kind = if kind == "HYBRID" { "HYBRID" } else { "HOSTED" };
                (proptest::sample::select(executors), queues(harmony_kind)).prop_map(
                    move |(executor, mut queues)| {
                        if executor == "KUBERNETES" {
                            queues.retain(|q| q["is_default"] == json!(true));
                        }
                        for q in &mut queues {
                            let c = q["worker_concurrency"].as_u64().unwrap_or(1);
                            if c > max_concurrency {
                                q["worker_concurrency"] = json!(1 + c % max_concurrency);
                            }
                        }
                        fit_parallelism(&mut queues);
                        let mut body = json!({
                            "workspace_id": "ws-1",
                            "name": name,
                            "type": kind,
                            "runtime_version": runtime,
                            "executor": executor,
                            "worker_queues": queues,
                            "environment_variables": env,
                            "is_cicd_enforced": seed & 1 != 0,
                            "is_dag_deploy_enabled": seed & 2 != 0,
                        });
                        if let Some(description) = &description {
                            body["description"] = json!(description);
                        }
                        if let Some(tag) = &tag {
                            body["image_tag"] = json!(tag);
                        }
                        if let Some(emails) = &emails {
                            body["contact_emails"] = json!(emails);
                        }
                        match kind {
                            "HYBRID" => {
                                body["cluster_id"] = json!(places.hybrid_cluster);
                                let au = [5, 24, 5 + seed % 20][((seed >> 2) % 3) as usize];
                                body["scheduler"] =
                                    json!({ "au": au, "replicas": 1 + (seed >> 8) % 4 });
                            }
                            _ => {
                                let (cloud, region) = places.standard.clone().unwrap_or_default();
                                body["cloud_provider"] = json!(cloud);
                                body["region"] = json!(region);
                                let sizes = ["SMALL", "MEDIUM", "LARGE", "EXTRA_LARGE"];
                                body["scheduler_size"] = json!(sizes[((seed >> 4) % 4) as usize]);
                                body["is_high_availability"] = json!(seed & 64 != 0);
                                body["is_development_mode"] = json!(seed & 128 != 0);
                                if let Some(settings) = &resources {
                                    for (field, value) in settings {
                                        body[field] = json!(value);
                                    }
                                }
                            }
                        }
                        body
                    },
                )
            },
        )
        .boxed()
}

/// A public name: what [`name`] draws, without bidirectional controls or
/// invisible characters (rule `deployment_name`).
fn public_name() -> impl Strategy<Value = String> {
    name().prop_filter("a name people tell apart", |n| rules::name_text(n).is_ok())
}

/// A description: prose, at most 1000 characters (rule `description_text`).
fn description() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Nightly ETL from Postgres to Snowflake; owner: data-eng@example.com".to_owned()),
        Just("nightly\u{200b} load, ☃ and データ".to_owned()),
        Just(String::new()),
        Just("d".repeat(rules::MAX_DESCRIPTION)),
        "\\PC{0,80}".prop_filter("prose", |d| rules::described_text(d).is_ok()),
    ]
}

/// Hosted resource settings (rule `resource_quantities`): absent (the
/// defaults), or a quota of n CPUs with twice as many GiB, and default task
/// pods of m <= n CPUs with twice as many GiB, in the forms Kubernetes
/// quantities take.
fn resources() -> impl Strategy<Value = Option<Vec<(&'static str, String)>>> {
    proptest::option::of((1u64..=64, 1u64..=4, any::<bool>())).prop_map(|drawn| {
        drawn.map(|(cpus, divisor, milli)| {
            let pod_milli = cpus * 1000 / divisor;
            vec![
                ("resource_quota_cpu", cpus.to_string()),
                ("resource_quota_memory", format!("{}Gi", cpus * 2)),
                (
                    "default_task_pod_cpu",
                    if milli {
                        format!("{pod_milli}m")
                    } else {
                        format!("{}", pod_milli as f64 / 1000.0)
                    },
                ),
                (
                    "default_task_pod_memory",
                    format!("{}.{:03}Gi", pod_milli * 2 / 1000, pod_milli * 2 % 1000),
                ),
            ]
        })
    })
}

/// A runner whose values are the same every run: seeded from `seed` and
/// `stream` (one stream per API version, so versions draw apart).
pub fn runner(seed: u64, stream: u64) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&stream.to_le_bytes());
    TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Shrinks `tree`, whose current value was refused (`reason`), to a
/// smaller value that is still refused: proptest's simplify / complicate
/// walk, stopping after about `most` probes. `refused` is asked about each
/// candidate (with the probe's number) and answers why, or `None` when it
/// was taken. Returns the smallest refused value, its refusal, and the
/// probes made.
pub async fn shrink<V, F, Fut>(
    tree: &mut V,
    reason: String,
    most: usize,
    mut refused: F,
) -> (V::Value, String, usize)
where
    V: proptest::strategy::ValueTree + ?Sized,
    F: FnMut(V::Value, usize) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let (mut smallest, mut reason) = (tree.current(), reason);
    let mut probes = 0;
    'shrinking: while probes < most && tree.simplify() {
        loop {
            probes += 1;
            match refused(tree.current(), probes).await {
                Some(why) => {
                    (smallest, reason) = (tree.current(), why);
                    continue 'shrinking;
                }
                None if !tree.complicate() => break 'shrinking,
                None => {}
            }
        }
    }
    (smallest, reason, probes)
}

/// A 2.0.0-shaped spec as 1.0.0 takes it (HYBRID fields only).
pub fn v1_shape(mut spec: Value) -> Value {
    if let Some(fields) = spec.as_object_mut() {
        for field in ["kind", "scheduler_size", "is_high_availability"] {
            fields.remove(field);
        }
    }
    for queue in spec["worker_queues"].as_array_mut().into_iter().flatten() {
        if let Some(q) = queue.as_object_mut() {
            q.remove("astro_machine");
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use deployment_rules::rule::{Api, RULES, Subject};

    #[test]
    fn valid_specs_cover_every_declared_rule() {
        for rule in RULES
            .iter()
            .filter(|r| r.api() == Api::Harmony && r.subject() == Subject::DeploymentSpec)
        {
            assert!(
                SATISFIES.iter().any(|(id, _)| *id == rule.id()),
                "rule {} is declared, but generated specs do not say how they satisfy it: add it \
                 to test_support::valid (SATISFIES and the strategy)",
                rule.id()
            );
        }
        for (id, _) in SATISFIES {
            assert!(deployment_rules::rule::rule(id).is_some(), "{id} is no declared rule");
        }
    }
}
