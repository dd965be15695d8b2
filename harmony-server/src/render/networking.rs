//! Networking: the Services in front of the API server, and the NetworkPolicies that let in only what each component needs.

use super::*;

pub(super) fn selector(labels: Map) -> k8s::LabelSelector {
    k8s::LabelSelector { match_labels: labels }
}

pub(super) fn network_policies(cx: &Context<'_>, o: &mut Objects<'_>) {
    let policy = |name: &str, pod_selector: Map, ingress: Vec<k8s::NetworkPolicyIngress>| Object {
        api_version: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: cx.meta(name),
        body: k8s::Spec {
            spec: k8s::NetworkPolicySpec {
                pod_selector: selector(pod_selector),
                policy_types: vec!["Ingress"],
                ingress,
            },
        },
    };
    push(o, policy("default-deny-ingress", Map::new(), Vec::new()));
    push(
        o,
        policy(
            "allow-same-namespace",
            Map::new(),
            vec![k8s::NetworkPolicyIngress {
                from: vec![k8s::NetworkPolicyPeer {
                    pod_selector: Some(selector(Map::new())),
                    namespace_selector: None,
                }],
                ports: Vec::new(),
            }],
        ),
    );
    push(
        o,
        policy(
            "allow-api-server-ingress",
            one("component", "api-server".into()),
            vec![k8s::NetworkPolicyIngress {
                from: vec![k8s::NetworkPolicyPeer {
                    pod_selector: None,
                    namespace_selector: Some(selector(one(
                        "kubernetes.io/metadata.name",
                        "astronomer-ingress".into(),
                    ))),
                }],
                ports: vec![k8s::NetworkPolicyPort { protocol: "TCP", port: 8080 }],
            }],
        ),
    );
}

pub(super) fn services(cx: &Context<'_>, o: &mut Objects<'_>) {
    let mut list = vec![
        ("api-server", vec![("http", "TCP", 8080)]),
        ("pgbouncer", vec![("pgbouncer", "TCP", 6543)]),
        ("statsd", vec![("statsd-ingest", "UDP", 9125), ("metrics", "TCP", 9102)]),
    ];
    if cx.celery {
        list.push(("redis", vec![("redis", "TCP", 6379)]));
    }
    for (component, ports) in list {
        push(
            o,
            Object {
                api_version: "v1",
                kind: "Service",
                metadata: cx.meta(component),
                body: k8s::Spec {
                    spec: k8s::ServiceSpec {
                        selector: one("component", component.into()),
                        ports: ports
                            .into_iter()
                            .map(|(name, protocol, port)| k8s::ServicePort {
                                name: name.into(),
                                protocol,
                                port,
                                target_port: port,
                            })
                            .collect(),
                    },
                },
            },
        );
    }
}
