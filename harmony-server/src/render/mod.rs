//! Renders a deployment's desired state into Kubernetes objects.
//!
//! Rendering is a pure function of its input (the spec without its
//! generation, the data plane's kind and platform release, [`RENDERER`], and
//! the server's secret key), so the same input always gives byte-identical
//! objects and the same [`Rendered::input_hash`]; the caller makes no new
//! revision for an unchanged hash. Objects are built as typed Kubernetes
//! objects ([`crate::k8s`]) and kept as JSON; [`k8s_yaml`] writes them as
//! a multi-document stream `kubectl apply -f` reads.
//!
//! The set, after the Apache Airflow Helm chart: Namespace; ServiceAccounts;
//! Secrets (Fernet key, metadata database connection, API JWT secret, the
//! secret environment variables, and with Celery the broker URL); ConfigMap
//! with `airflow.cfg`; ResourceQuota and LimitRange; NetworkPolicies
//! (default-deny ingress, same-namespace traffic, ingress to the API server);
//! Services; a database migration Job; Deployments for the scheduler (two
//! replicas and a PodDisruptionBudget when highly available), API server,
//! triggerer, DAG processor, statsd and pgbouncer; with CELERY or ASTRO a
//! worker Deployment per queue plus redis; with KUBERNETES a pod template and
//! a pod-launcher Role and RoleBinding instead. Hybrid workers select their
//! node pool; Hosted workers select their machine type.
//!
//! One module per kind of object, behind [`objects`]: [`secrets`],
//! [`configuration`], [`networking`], [`workloads`] and [`jobs`].
//!
//! Secret values appear only in Secret objects, never in a ConfigMap or a
//! pod spec (pods reference them with `secretKeyRef`). The generated secrets
//! (Fernet key, passwords) are derived from the server's key and the
//! deployment id, so re-rendering does not rotate them; hashes are HMACs
//! under that key, so a hash handed out reveals nothing about a secret.

mod configuration;
mod jobs;
mod networking;
mod secrets;
mod workloads;

use configuration::*;
use jobs::*;
use networking::*;
use secrets::*;
use workloads::*;

use crate::k8s::{self, EnvVar, Map, Object, ObjectMeta};
use crate::store::StoredSpec;
use deployment_rules::platform_key;
use harmony_api::latest::{
    AstroMachine, DataPlane, DataPlaneKind, DeploymentSpec, Executor, ManifestObject,
    SchedulerSize, WorkerQueue,
};
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use uuid::Uuid;

/// Version of the rendering code; part of every input hash, so a change to
/// the templates makes a new revision even for an unchanged spec.
pub const RENDERER: &str = "harmony-render/2";

pub use crate::store::RenderedObject;

const CONFIG_NAME: &str = "airflow-config";
const ENV_SECRET: &str = "airflow-env-secrets";
const FERNET_SECRET: &str = "airflow-fernet-key";
const METADATA_SECRET: &str = "airflow-metadata";
const API_SECRET: &str = "airflow-api";
const BROKER_SECRET: &str = "airflow-broker";
const AIRFLOW_UID: u32 = 50000;

pub use crate::crypto::SecretKey;

/// URL-safe base64 with padding, as a Fernet key is written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub struct Rendered {
    pub input_hash: String,
    pub objects: Vec<RenderedObject>,
}

/// The namespace a deployment's objects live in.
pub fn namespace(id: Uuid) -> String {
    format!("airflow-{}", id.simple())
}

/// Keyed hash of everything rendering depends on. The generation is left
/// out: a re-sent or bumped generation with an unchanged spec renders the
/// same.
pub fn input_hash(key: &SecretKey, id: Uuid, spec: &DeploymentSpec, plane: &DataPlane) -> String {
    #[derive(Serialize)]
    struct Input<'a> {
        renderer: &'static str,
        deployment_id: Uuid,
        data_plane_kind: DataPlaneKind,
        platform_release: &'a str,
        spec: &'a StoredSpec,
    }
    // Over the store's own type: a new API version does not move it.
    let mut spec = StoredSpec::from(spec.clone());
    spec.generation = 0;
    let input = Input {
        renderer: RENDERER,
        deployment_id: id,
        data_plane_kind: plane.kind,
        platform_release: &plane.platform_release,
        spec: &spec,
    };
    // Serializing a plain struct cannot fail.
    key.mac_hex(&[&serde_json::to_vec(&input).unwrap_or_default()])
}

/// The annotation naming where a deployment's alerts go, when it has
/// contact emails: on its Namespace, where alerting tools read owners. The
/// grammar (`deployment_rules::contact_email`) leaves nothing to quote.
pub const CONTACT_EMAILS_ANNOTATION: &str = "astronomer.io/contact-emails";

fn contact_emails(spec: &DeploymentSpec) -> Map {
    let mut annotations = Map::new();
    if let Some(emails) = spec.contact_emails.as_ref().filter(|e| !e.is_empty()) {
        annotations.insert(CONTACT_EMAILS_ANNOTATION.into(), emails.join(","));
    }
    annotations
}

/// What every object of one deployment shares.
struct Context<'a> {
    id: Uuid,
    ns: String,
    labels: Map,
    spec: &'a DeploymentSpec,
    plane: &'a DataPlane,
    key: &'a SecretKey,
    image: String,
    celery: bool,
}

impl Context<'_> {
    fn meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: name.to_owned(),
            namespace: Some(self.ns.clone()),
            labels: self.labels.clone(),
            annotations: Map::new(),
        }
    }

    fn component_labels(&self, component: &str) -> Map {
        let mut labels = self.labels.clone();
        labels.insert("component".into(), component.into());
        labels
    }

    /// A secret of `len` hex characters derived for `purpose`.
    fn derived(&self, purpose: &str, len: usize) -> String {
        let mut text =
            self.key.mac_hex(&[b"derived-secret", self.id.as_bytes(), purpose.as_bytes()]);
        text.truncate(len);
        text
    }

    /// The environment every Airflow container gets.
    fn airflow_env(&self) -> Vec<EnvVar> {
        let mut env = vec![
            EnvVar::secret("AIRFLOW__CORE__FERNET_KEY", FERNET_SECRET, "fernet-key"),
            EnvVar::secret("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", METADATA_SECRET, "connection"),
            EnvVar::secret("AIRFLOW__API_AUTH__JWT_SECRET", API_SECRET, "jwt-secret"),
        ];
        if self.celery {
            env.push(EnvVar::secret("AIRFLOW__CELERY__BROKER_URL", BROKER_SECRET, "url"));
        }
        // A key the platform sets is never rendered over: clients older
        // than 4.0.0 may still send one (rule platform_environment_keys),
        // and deployments stored before it may carry one.
        let users = self.spec.environment_variables.iter().filter(|v| !platform_key(&v.key));
        for var in users {
            env.push(if var.is_secret {
                EnvVar::secret(&var.key, ENV_SECRET, &var.key)
            } else {
                EnvVar::value(&var.key, var.value.clone().unwrap_or_default())
            });
        }
        env
    }
}

/// Where rendered objects collect: each serialized once, to the bytes that
/// are hashed, stored and handed out.
struct Objects<'k> {
    key: &'k SecretKey,
    list: Vec<RenderedObject>,
}

fn push<T: Serialize>(objects: &mut Objects<'_>, object: Object<T>) {
    // Serializing plain structs with string keys cannot fail. (to_raw_value
    // wraps the text without parsing it again, as RawValue::from_string would.)
    let body = serde_json::value::to_raw_value(&object)
        .unwrap_or_else(|_| serde_json::value::to_raw_value(&Value::Null).expect("null"));
    let text = body.get();
    let meta = ManifestObject {
        api_version: object.api_version.to_owned(),
        kind: object.kind.to_owned(),
        namespace: object.metadata.namespace.clone(),
        name: object.metadata.name.clone(),
        hash: objects.key.mac_hex(&[text.as_bytes()]),
        // Filled in per response; a Secret's body is never handed out here.
        manifest: None,
    };
    objects.list.push(RenderedObject { meta, body });
}

pub fn render(key: &SecretKey, id: Uuid, spec: &DeploymentSpec, plane: &DataPlane) -> Rendered {
    Rendered {
        input_hash: input_hash(key, id, spec, plane),
        objects: objects(key, id, spec, plane),
    }
}

/// [`render`]'s objects alone, for a caller that has the input hash.
pub fn objects(
    key: &SecretKey,
    id: Uuid,
    spec: &DeploymentSpec,
    plane: &DataPlane,
) -> Vec<RenderedObject> {
    let labels: Map = [
        ("app.kubernetes.io/part-of", "airflow".to_owned()),
        ("app.kubernetes.io/managed-by", "harmony".to_owned()),
        ("astronomer.io/deployment-id", id.to_string()),
        ("astronomer.io/platform-release", plane.platform_release.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let cx = Context {
        id,
        ns: namespace(id),
        labels,
        spec,
        plane,
        key,
        image: format!("images.astronomer.internal/{}/airflow:{}", id.simple(), spec.image_tag),
        celery: spec.executor != Executor::Kubernetes,
    };
    let mut objects = Objects { key, list: Vec::with_capacity(32) };
    let o = &mut objects;

    let mut ns_labels = cx.labels.clone();
    ns_labels.insert("kubernetes.io/metadata.name".into(), cx.ns.clone());
    push(
        o,
        Object {
            api_version: "v1",
            kind: "Namespace",
            metadata: ObjectMeta {
                name: cx.ns.clone(),
                labels: ns_labels,
                annotations: contact_emails(spec),
                ..Default::default()
            },
            body: k8s::Empty {},
        },
    );
    for (name, automount) in [
        ("airflow", false),
        // Launches task pods under the KUBERNETES executor.
        ("airflow-scheduler", spec.executor == Executor::Kubernetes),
        ("airflow-task", false),
    ] {
        push(
            o,
            Object {
                api_version: "v1",
                kind: "ServiceAccount",
                metadata: cx.meta(name),
                body: k8s::ServiceAccount { automount_service_account_token: automount },
            },
        );
    }
    secrets(&cx, o);
    config_maps(&cx, o);
    limits(&cx, o);
    network_policies(&cx, o);
    if spec.executor == Executor::Kubernetes {
        pod_launcher(&cx, o);
    }
    services(&cx, o);
    migration_job(&cx, o);
    workloads(&cx, o);

    objects.list
}

/// The objects as a multi-document YAML stream, in render order.
pub fn yaml(objects: &[RenderedObject]) -> String {
    let values: Vec<Value> = objects.iter().map(RenderedObject::value).collect();
    k8s_yaml::documents(&values)
}

#[cfg(test)]
mod tests;
