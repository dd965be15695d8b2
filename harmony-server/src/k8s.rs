//! Typed Kubernetes objects: the subset of the Kubernetes API that Harmony
//! renders, field names as the API spells them. Maps are `BTreeMap`s and
//! empty or absent fields are left out, so serialization is deterministic
//! and objects pass strict schema validation (`kubernetes-validate
//! --strict` in CI). Written by hand rather than taken from `k8s-openapi`:
//! a few hundred lines against a crate that dominates build time on the
//! 2-core machines this builds on.

use serde::Serialize;
use std::collections::BTreeMap;

pub type Map = BTreeMap<String, String>;

/// Any object: its type, metadata, and the rest of its fields.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Object<T> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    #[serde(flatten)]
    pub body: T,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ObjectMeta {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub labels: Map,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub annotations: Map,
}

#[derive(Clone, Debug, Serialize)]
pub struct Empty {}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccount {
    pub automount_service_account_token: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConfigMap {
    pub data: Map,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub string_data: Map,
}

#[derive(Clone, Debug, Serialize)]
pub struct Spec<T> {
    pub spec: T,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub match_labels: Map,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    pub replicas: u32,
    pub revision_history_limit: u32,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub backoff_limit: u32,
    pub ttl_seconds_after_finished: u32,
    pub template: PodTemplateSpec,
}

#[derive(Clone, Debug, Serialize)]
pub struct PodTemplateSpec {
    pub metadata: PodMeta,
    pub spec: PodSpec,
}

#[derive(Clone, Debug, Serialize)]
pub struct PodMeta {
    pub labels: Map,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub service_account_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<&'static str>,
    pub security_context: PodSecurityContext,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub node_selector: Map,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    pub containers: Vec<Container>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSecurityContext {
    pub run_as_non_root: bool,
    pub run_as_user: u32,
    pub fs_group: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct Toleration {
    pub key: String,
    pub operator: &'static str,
    pub value: String,
    pub effect: &'static str,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<ContainerPort>,
    pub resources: Resources,
    pub security_context: ContainerSecurityContext,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerSecurityContext {
    pub allow_privilege_escalation: bool,
    pub read_only_root_filesystem: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

impl EnvVar {
    pub fn value(name: &str, value: impl Into<String>) -> EnvVar {
        EnvVar { name: name.to_owned(), value: Some(value.into()), value_from: None }
    }

    pub fn secret(name: &str, secret: &str, key: &str) -> EnvVar {
        EnvVar {
            name: name.to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: KeyRef { name: secret.to_owned(), key: key.to_owned() },
            }),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    pub secret_key_ref: KeyRef,
}

#[derive(Clone, Debug, Serialize)]
pub struct KeyRef {
    pub name: String,
    pub key: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    pub name: String,
    pub container_port: u16,
    pub protocol: &'static str,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Resources {
    pub requests: Map,
    pub limits: Map,
}

impl Resources {
    /// Requests equal to limits (a Guaranteed pod).
    pub fn exactly(cpu: &str, memory: &str) -> Resources {
        let map: Map =
            [("cpu".to_owned(), cpu.to_owned()), ("memory".to_owned(), memory.to_owned())].into();
        Resources { requests: map.clone(), limits: map }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    pub name: String,
    pub mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    pub read_only: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub config_map: ConfigMapVolume,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConfigMapVolume {
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceSpec {
    pub selector: Map,
    pub ports: Vec<ServicePort>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    pub name: String,
    pub protocol: &'static str,
    pub port: u16,
    pub target_port: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourceQuotaSpec {
    pub hard: Map,
}

#[derive(Clone, Debug, Serialize)]
pub struct LimitRangeSpec {
    pub limits: Vec<LimitRangeItem>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitRangeItem {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub default: Map,
    pub default_request: Map,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    pub pod_selector: LabelSelector,
    pub policy_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<NetworkPolicyIngress>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkPolicyIngress {
    pub from: Vec<NetworkPolicyPeer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<NetworkPolicyPort>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyPeer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkPolicyPort {
    pub protocol: &'static str,
    pub port: u16,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodDisruptionBudgetSpec {
    pub min_available: u32,
    pub selector: LabelSelector,
}

#[derive(Clone, Debug, Serialize)]
pub struct Rules {
    pub rules: Vec<PolicyRule>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    pub api_groups: Vec<&'static str>,
    pub resources: Vec<&'static str>,
    pub verbs: Vec<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBinding {
    pub role_ref: RoleRef,
    pub subjects: Vec<Subject>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRef {
    pub api_group: &'static str,
    pub kind: &'static str,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Subject {
    pub kind: &'static str,
    pub name: String,
    pub namespace: String,
}
