//! The Secrets: generated credentials (Fernet key, API secret), the metadata database and broker connections, and the deployment's secret environment variables.

use super::*;

pub(super) fn secret(cx: &Context<'_>, name: &str, data: Map) -> Object<k8s::Secret> {
    Object {
        api_version: "v1",
        kind: "Secret",
        metadata: cx.meta(name),
        body: k8s::Secret { type_: "Opaque", string_data: data },
    }
}

pub(super) fn one(key: &str, value: String) -> Map {
    [(key.to_owned(), value)].into()
}

pub(super) fn secrets(cx: &Context<'_>, o: &mut Objects<'_>) {
    let fernet = base64url(&cx.key.mac(&[b"fernet", cx.id.as_bytes()]));
    push(o, secret(cx, FERNET_SECRET, one("fernet-key", fernet)));
    let user = format!("airflow_{}", cx.id.simple());
    let connection = format!(
        "postgresql://{user}:{}@pgbouncer.{}.svc.cluster.local:6543/{user}",
        cx.derived("metadata-db", 32),
        cx.ns
    );
    push(o, secret(cx, METADATA_SECRET, one("connection", connection)));
    push(o, secret(cx, API_SECRET, one("jwt-secret", cx.derived("jwt", 64))));
    if cx.celery {
        let url = format!(
            "redis://:{}@redis.{}.svc.cluster.local:6379/0",
            cx.derived("redis", 32),
            cx.ns
        );
        push(o, secret(cx, BROKER_SECRET, one("url", url)));
    }
    let env: Map = cx
        .spec
        .environment_variables
        .iter()
        .filter(|v| v.is_secret && !platform_key(&v.key))
        .map(|v| (v.key.clone(), v.value.clone().unwrap_or_default()))
        .collect();
    if !env.is_empty() {
        push(o, secret(cx, ENV_SECRET, env));
    }
}
