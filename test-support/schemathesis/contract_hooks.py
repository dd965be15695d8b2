"""Valid input for schemathesis: what a document's declared rules allow.

JSON Schema states patterns, lengths and ranges, and a document generated
from this workspace states them; it cannot state a rule that joins two
fields, that spans a list's items, or that depends on what the server
stores. Every such rule is declared once (`deployment_rules::rule`) and
listed in the document (`x-rules` on the body's schema), so a generated
body that breaks one is not valid input, and a server that refuses it is
right to.

This module makes schemathesis's positive cases valid input: for each rule
the document declares, `SATISFY` says how a generated body is brought to
meet it (or that the document's schema already states it). The state a
rule reads (the data planes, their owners and releases, the registered
releases, the clusters on offer, the limits) comes from the test, in the
JSON file `CONTRACT_FACTS` names, never from the server under test; the
one exception is what any client knows of its own requests (the id
astro-api gave each deployment this run created, and what it was created
as).

A rule the document declares that `SATISFY` does not know stops the run
before it starts: a new rule is either stated by the schema or taught
here, never excused. A document without `x-rules` (a released one, frozen
before its rules were listed) gets no help, and its test says why.

Negative cases are left as generated: they are meant to be refused.
"""

import hashlib
import json
import os

import schemathesis
from schemathesis import GenerationMode

FACTS = json.load(open(os.environ["CONTRACT_FACTS"], encoding="utf-8"))
DOCUMENT = json.load(open(FACTS["document"], encoding="utf-8"))

LIMITS = FACTS["limits"]
INT32_MAX = LIMITS["parallelism"]
ENV_VALUE_MAX = LIMITS["environment_value_bytes"]
ENV_TOTAL_MAX = LIMITS["environment_bytes"]
ENV_COUNT_MAX = LIMITS["environment_variables"]


def stated(body, case):
    """The document's schema states the rule: generated values meet it."""


def follows(body, case):
    """Met by meeting the other rules, or by what the run never does
    (each use says which): nothing to change."""


def digest(*parts):
    """A stable number for `parts`: what a resource's identity is derived
    from, so a second request for the same resource names the same one."""
    text = "\x00".join(str(p) for p in parts)
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16)


def path_key(case):
    return json.dumps(case.path_parameters or {}, sort_keys=True)


def utf8_prefix(text, limit):
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def unique_label(name, taken):
    """`name`, or a variant of it no earlier item took (a DNS label still)."""
    candidate, n = name, 1
    while candidate in taken:
        suffix = f"-{n}"
        candidate = name[: 63 - len(suffix)].rstrip("-") + suffix
        n += 1
    taken.add(candidate)
    return candidate


# Harmony: DeploymentSpec (PUT /deployments/{deployment_id})


def harmony_plane(body, case):
    """A plane of the spec's (generated) kind (kind_matches_data_plane),
    and the spec's organization its owner (data_plane_owner). What a
    deployment is, its plane, organization, workspace and kind, never
    changes (identity_immutable): so the deployment's id is derived from
    them and the generated id, and a second request for one deployment
    names the same identity."""
    kind = body["kind"]
    planes = sorted(p for p, plane in FACTS["planes"].items() if plane["kind"] == kind)
    generated = path_key(case)
    n = digest("deployment", generated, kind)
    plane_id = planes[n % len(planes)]
    plane = FACTS["planes"][plane_id]
    body["data_plane_id"] = plane_id
    body["organization_id"] = plane["owner"] or f"org-{n % 1000}"
    body["workspace_id"] = f"workspace-{n % 997}"
    if "deployment_id" in (case.path_parameters or {}):
        text = f"{n:064x}"[:32]
        case.path_parameters["deployment_id"] = (
            f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        )


def hybrid_executor(body, case):
    if body["kind"] == "HYBRID" and body.get("executor") == "ASTRO":
        body["executor"] = "CELERY"


def hybrid_scheduler(body, case):
    if body["kind"] == "HYBRID":
        if body.get("scheduler") is None:
            body["scheduler"] = {"au": 5, "replicas": 1}
        body.pop("scheduler_size", None)
        body.pop("is_high_availability", None)


def hosted_scheduler(body, case):
    if body["kind"] == "HOSTED":
        if body.get("scheduler_size") is None:
            body["scheduler_size"] = "SMALL"
        body.pop("scheduler", None)


def one_default_queue(body, case):
    """The first queue is the default and is named default; no other is."""
    queues = body["worker_queues"]
    for i, queue in enumerate(queues):
        queue["is_default"] = i == 0
        if i > 0 and queue["name"] == "default":
            queue["name"] = "queue"
    queues[0]["name"] = "default"


def kubernetes_one_queue(body, case):
    if body.get("executor") == "KUBERNETES":
        del body["worker_queues"][1:]


def queue_names_unique(body, case):
    taken = set()
    for queue in body["worker_queues"]:
        queue["name"] = unique_label(queue["name"], taken)


def min_not_above_max(body, case):
    for queue in body["worker_queues"]:
        queue["min_worker_count"] = min(queue["min_worker_count"], queue["max_worker_count"])


def parallelism(body, case):
    """Each queue keeps to its share of int32's maximum (the sum then fits)."""
    queues = body["worker_queues"]
    share = INT32_MAX // len(queues)
    for queue in queues:
        queue["max_worker_count"] = min(queue["max_worker_count"], share)
        most = max(1, share // queue["max_worker_count"])
        queue["worker_concurrency"] = min(queue["worker_concurrency"], most)
        queue["min_worker_count"] = min(queue["min_worker_count"], queue["max_worker_count"])


def queue_placement(body, case):
    """Hosted queues run on a machine, HYBRID queues in a node pool."""
    hosted = body["kind"] != "HYBRID"
    for queue in body["worker_queues"]:
        if hosted:
            if queue.get("astro_machine") is None:
                queue["astro_machine"] = "A5"
            queue.pop("node_pool_id", None)
        else:
            if queue.get("node_pool_id") is None:
                queue["node_pool_id"] = "pool-1"
            queue.pop("astro_machine", None)


def environment_keys_unique(body, case):
    seen, kept = set(), []
    for variable in body.get("environment_variables", []):
        if variable["key"] not in seen:
            seen.add(variable["key"])
            kept.append(variable)
    body["environment_variables"] = kept


def platform_keys(body, case):
    reserved = set(FACTS["platform_environment_keys"])
    body["environment_variables"] = [
        v for v in body.get("environment_variables", []) if v["key"] not in reserved
    ]


def environment_size(body, case):
    """Values cut to 16 KiB, then variables dropped from the end until the
    keys and values together fit in 64 KiB."""
    variables = body.get("environment_variables", [])[:ENV_COUNT_MAX]
    for variable in variables:
        if variable.get("value") is not None:
            variable["value"] = utf8_prefix(variable["value"], ENV_VALUE_MAX)

    def size(v):
        return len(v["key"].encode("utf-8")) + len((v.get("value") or "").encode("utf-8"))

    while sum(size(v) for v in variables) > ENV_TOTAL_MAX:
        variables.pop()
    body["environment_variables"] = variables


def secret_values(body, case):
    """A secret's first write carries its value (a later one may omit it)."""
    for variable in body.get("environment_variables", []):
        if variable["is_secret"] and variable.get("value") is None:
            variable["value"] = "secret"


def without_nul(body, case):
    """Every text in the body, key or value, loses its NUL characters."""

    def clean(value):
        if isinstance(value, str):
            return value.replace("\x00", "")
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value

    cleaned = clean(body)
    body.clear()
    body.update(cleaned)


# Harmony: DataPlaneRegistration, PlatformReleaseSpec, RolloutCreate, RolloutCommand


def registration_owner(body, case):
    """A registration of a known plane repeats its kind, owner and release
    (which never change); the test fixes the path to a known plane."""
    plane = FACTS["planes"].get((case.path_parameters or {}).get("data_plane_id"))
    if plane is None:
        return
    body["kind"] = plane["kind"]
    body["platform_release"] = plane["release"]
    labels = body.setdefault("labels", {})
    labels.pop(FACTS["owner_label"], None)
    if plane["owner"] is not None:
        labels[FACTS["owner_label"]] = plane["owner"]


def kubernetes_order(body, case):
    def key(version):
        return tuple(int(p) for p in version.lstrip("v").split("."))

    if key(body["kubernetes_min"]) > key(body["kubernetes_max"]):
        body["kubernetes_min"], body["kubernetes_max"] = body["kubernetes_max"], body["kubernetes_min"]


def rollout_releases(body, case):
    """From the release the planes are on, to one the test registered."""
    body["from_release"] = FACTS["planes_release"]
    body["to_release"] = FACTS["registered_releases"][digest(path_key(case)) % len(FACTS["registered_releases"])]


def rollout_command(body, case):
    if not body.get("actor", "").strip():
        body["actor"] = "operator"
    if body.get("action") == "BYPASS" and not (body.get("reason") or "").strip():
        body["reason"] = "an emergency"


# astro-api: DeploymentInput, DeployInput, WorkspaceInput, TokenInput

# What astro-api's deployments are, as this run created and changed them
# (from its own answers): what an update may not change, and whether a
# deployment takes DAG-only deploys.
KNOWN_DEPLOYMENTS = {}


def shown_text(text, fallback, strip_invisible=True):
    """`text` without bidirectional controls (and invisible characters),
    or `fallback` when nothing is left."""
    dropped = set(FACTS["bidi_controls"]) | (set(FACTS["invisible"]) if strip_invisible else set())
    cleaned = "".join(c for c in text if c not in dropped)
    return cleaned if cleaned.strip() or not strip_invisible else fallback


def public_name(body, case):
    body["name"] = shown_text(body["name"], "deployment")


def public_description(body, case):
    if body.get("description") is not None:
        body["description"] = shown_text(body["description"], "", strip_invisible=False)


def public_placement(body, case):
    """The organization's own workspace; a STANDARD deployment in a region
    with a shared cluster; a DEDICATED or HYBRID one on a cluster of the
    organization of that kind. An update keeps what its deployment was
    created with (deployment_immutable)."""
    known = KNOWN_DEPLOYMENTS.get((case.path_parameters or {}).get("deployment_id"))
    if known is not None:
        for field in ("workspace_id", "type", "cluster_id", "cloud_provider", "region"):
            body[field] = known[field]
        if not known["is_development_mode"]:
            body["is_development_mode"] = False
        return
    n = digest(json.dumps(body, sort_keys=True))
    body["workspace_id"] = FACTS["workspace"]
    if body["type"] == "STANDARD":
        provider, region = FACTS["standard_regions"][n % len(FACTS["standard_regions"])]
        body["cloud_provider"], body["region"] = provider, region
        body.pop("cluster_id", None)
    else:
        clusters = FACTS["clusters"][body["type"]]
        body["cluster_id"] = clusters[n % len(clusters)]
        body.pop("cloud_provider", None)
        body.pop("region", None)


def public_hybrid_settings(body, case):
    if body["type"] == "HYBRID":
        if body.get("executor") == "ASTRO":
            body["executor"] = "CELERY"
        if body.get("scheduler") is None:
            body["scheduler"] = {"au": 5, "replicas": 1}
        for field in ("scheduler_size", "is_high_availability", "is_development_mode"):
            body.pop(field, None)


def public_hosted_settings(body, case):
    if body["type"] != "HYBRID":
        if body.get("scheduler_size") is None:
            body["scheduler_size"] = "SMALL"
        body.pop("scheduler", None)


RESOURCE_FIELDS = ("resource_quota_cpu", "resource_quota_memory", "default_task_pod_cpu", "default_task_pod_memory")


def public_resources(body, case):
    """HYBRID: none. Hosted: when any is set, all four, consistent: a CPU
    quota of 1 to 64 cores, memory twice it in GiB, task pod defaults of
    250m to 1 core and twice that in GiB."""
    if body["type"] == "HYBRID":
        for field in RESOURCE_FIELDS:
            body.pop(field, None)
        return
    if all(body.get(field) is None for field in RESOURCE_FIELDS):
        return
    n = digest(json.dumps(body, sort_keys=True))
    cpu = 1 + n % 64
    pod_millis = 250 * (1 + (n // 64) % 4)
    body["resource_quota_cpu"] = str(cpu)
    body["resource_quota_memory"] = f"{2 * cpu}Gi"
    body["default_task_pod_cpu"] = f"{pod_millis}m"
    body["default_task_pod_memory"] = f"{pod_millis * 2 / 1000}Gi"


def public_queue_placement(body, case):
    queue_placement({"kind": "HYBRID" if body["type"] == "HYBRID" else "HOSTED", "worker_queues": body["worker_queues"]}, case)


def public_environment(body, case):
    """Unique keys, the sizes, no platform key; a value on every variable."""
    environment_keys_unique(body, case)
    platform_keys(body, case)
    for variable in body.get("environment_variables", []):
        if variable.get("value") is None:
            variable["value"] = ""
    environment_size(body, case)


def deploy_content(body, case):
    kind = body["type"]
    known = KNOWN_DEPLOYMENTS.get((case.path_parameters or {}).get("deployment_id"))
    if kind == "DAG_ONLY" and known is not None and not known["is_dag_deploy_enabled"]:
        kind = body["type"] = "IMAGE_ONLY"
    if kind in ("IMAGE_AND_DAG", "IMAGE_ONLY"):
        if body.get("image_tag") is None:
            body["image_tag"] = "v1"
    else:
        body.pop("image_tag", None)
    if kind in ("IMAGE_AND_DAG", "DAG_ONLY"):
        if body.get("dag_tarball_version") is None:
            body["dag_tarball_version"] = "2026.12.05"
    else:
        body.pop("dag_tarball_version", None)


def workspace_name(body, case):
    body["name"] = shown_text(body["name"], "workspace")


def token_name(body, case):
    body["name"] = shown_text(body["name"], "token")


def token_scope(body, case):
    if body["role"] == "WORKSPACE_MEMBER":
        body["workspace_id"] = FACTS["workspace"]
    else:
        body.pop("workspace_id", None)


@schemathesis.hook
def after_call(context, case, response):
    """Remembers what each deployment this run created or changed is."""
    if case.operation.path.endswith("/deployments") or case.operation.path.endswith("/deployments/{deployment_id}"):
        if case.method.upper() in ("POST",) and 200 <= response.status_code < 300:
            try:
                answer = json.loads(response.content)
            except ValueError:
                return
            if isinstance(answer, dict) and "id" in answer and isinstance(case.body, dict):
                sent = case.body
                KNOWN_DEPLOYMENTS[answer["id"]] = {
                    "workspace_id": sent.get("workspace_id"),
                    "type": sent.get("type"),
                    "cluster_id": sent.get("cluster_id"),
                    "cloud_provider": sent.get("cloud_provider"),
                    "region": sent.get("region"),
                    "is_development_mode": bool(sent.get("is_development_mode")),
                    "is_dag_deploy_enabled": sent.get("is_dag_deploy_enabled", True),
                }


# Every rule a document may declare: the body schema it is about and how a
# generated body meets it, in the order they are applied (a rule that
# decides the kind comes before those the kind decides).
SATISFY = [
    # Every body of either API ("*"): first, so that what follows sees clean text.
    ("body_text_without_nul", "*", without_nul),
    ("public_body_text_without_nul", "*", without_nul),
    # Harmony
    ("data_plane_id_dns_label", "DeploymentSpec", harmony_plane),
    ("kind_matches_data_plane", "DeploymentSpec", harmony_plane),
    ("data_plane_owner", "DeploymentSpec", harmony_plane),
    ("identity_immutable", "DeploymentSpec", harmony_plane),
    ("name_length", "DeploymentSpec", stated),
    ("name_text", "DeploymentSpec", stated),
    ("image_tag_grammar", "DeploymentSpec", stated),
    ("dag_bundle_version_grammar", "DeploymentSpec", stated),
    ("generation_range", "DeploymentSpec", stated),
    ("identifiers_written", "DeploymentSpec", stated),
    ("worker_queues_count", "DeploymentSpec", stated),
    ("scheduler_au_range", "DeploymentSpec", stated),
    ("scheduler_replicas_range", "DeploymentSpec", stated),
    ("queue_name_dns_label", "DeploymentSpec", stated),
    ("max_worker_count_range", "DeploymentSpec", stated),
    ("min_worker_count_range", "DeploymentSpec", stated),
    ("worker_concurrency_range", "DeploymentSpec", stated),
    ("node_pool_id_grammar", "DeploymentSpec", stated),
    ("environment_key_grammar", "DeploymentSpec", stated),
    ("contact_emails_count", "DeploymentSpec", stated),
    ("contact_email_grammar", "DeploymentSpec", stated),
    ("contact_emails_unique", "DeploymentSpec", stated),
    ("hybrid_executor", "DeploymentSpec", hybrid_executor),
    ("hybrid_scheduler", "DeploymentSpec", hybrid_scheduler),
    ("hosted_scheduler", "DeploymentSpec", hosted_scheduler),
    ("kubernetes_executor_one_queue", "DeploymentSpec", kubernetes_one_queue),
    ("one_default_queue", "DeploymentSpec", one_default_queue),
    ("queue_names_unique", "DeploymentSpec", queue_names_unique),
    ("min_worker_count_not_above_max", "DeploymentSpec", min_not_above_max),
    ("parallelism_max", "DeploymentSpec", parallelism),
    ("hosted_queue_machine", "DeploymentSpec", queue_placement),
    ("hybrid_queue_node_pool", "DeploymentSpec", queue_placement),
    ("environment_keys_unique", "DeploymentSpec", environment_keys_unique),
    ("platform_environment_keys", "DeploymentSpec", platform_keys),
    ("environment_size", "DeploymentSpec", environment_size),
    ("secret_value_required", "DeploymentSpec", secret_values),
    # What the rules above allow renders far below the 4 MiB limit.
    ("rendered_set_max", "DeploymentSpec", follows),
    ("registration_id_dns_label", "DataPlaneRegistration", stated),
    ("registration_text_written", "DataPlaneRegistration", stated),
    ("kubernetes_version_grammar", "DataPlaneRegistration", stated),
    ("hybrid_owner_label", "DataPlaneRegistration", registration_owner),
    ("release_name_grammar", "PlatformReleaseSpec", stated),
    ("release_kubernetes_grammar", "PlatformReleaseSpec", stated),
    ("release_kubernetes_order", "PlatformReleaseSpec", kubernetes_order),
    ("release_runtimes", "PlatformReleaseSpec", stated),
    ("rollout_release_names", "RolloutCreate", stated),
    ("rollout_to_registered_release", "RolloutCreate", rollout_releases),
    ("rollout_waves_cover_targets", "RolloutCreate", rollout_releases),
    # No agent reports during the run, so no plane is known to be blind to
    # health (an agent that only writes files says so in its reports).
    ("rollout_gates_observable", "RolloutCreate", follows),
    ("rollout_command_actor", "RolloutCommand", rollout_command),
    # astro-api
    ("deployment_workspace", "DeploymentInput", public_placement),
    ("standard_placement", "DeploymentInput", public_placement),
    ("cluster_placement", "DeploymentInput", public_placement),
    ("deployment_immutable", "DeploymentInput", public_placement),
    ("deployment_name", "DeploymentInput", public_name),
    ("description_text", "DeploymentInput", public_description),
    ("deployment_image_tag", "DeploymentInput", stated),
    ("deployment_queues_count", "DeploymentInput", stated),
    ("runtime_version_offered", "DeploymentInput", stated),
    ("scheduler_ranges", "DeploymentInput", stated),
    ("deployment_queue_name", "DeploymentInput", stated),
    ("deployment_worker_concurrency", "DeploymentInput", stated),
    ("hybrid_settings", "DeploymentInput", public_hybrid_settings),
    ("hosted_settings", "DeploymentInput", public_hosted_settings),
    ("resource_quantities", "DeploymentInput", public_resources),
    ("deployment_kubernetes_one_queue", "DeploymentInput", kubernetes_one_queue),
    ("deployment_default_queue", "DeploymentInput", one_default_queue),
    ("deployment_queue_names_unique", "DeploymentInput", queue_names_unique),
    ("deployment_worker_counts", "DeploymentInput", min_not_above_max),
    ("deployment_parallelism", "DeploymentInput", parallelism),
    ("deployment_queue_placement", "DeploymentInput", public_queue_placement),
    ("deployment_environment", "DeploymentInput", public_environment),
    ("deployment_platform_keys", "DeploymentInput", public_environment),
    ("deployment_contact_emails_count", "DeploymentInput", stated),
    ("deployment_contact_email_grammar", "DeploymentInput", stated),
    ("deployment_contact_emails_unique", "DeploymentInput", stated),
    ("deploy_content_by_type", "DeployInput", deploy_content),
    ("deploy_dag_only_enabled", "DeployInput", deploy_content),
    ("deploy_description_text", "DeployInput", public_description),
    ("workspace_name", "WorkspaceInput", workspace_name),
    ("workspace_description", "WorkspaceInput", public_description),
    ("token_name", "TokenInput", token_name),
    ("token_scope", "TokenInput", token_scope),
    # The test's token never expires; the document states the bounds.
    ("token_lifetime", "TokenInput", stated),
]


def declared_rules(document):
    return {
        rule["id"]
        for schema in document.get("components", {}).get("schemas", {}).values()
        for rule in schema.get("x-rules", [])
    }


DECLARED = declared_rules(DOCUMENT)
UNKNOWN = sorted(DECLARED - {rule for rule, _, _ in SATISFY})
if UNKNOWN:
    raise RuntimeError(
        f"{FACTS['document']} declares rules that test-support/schemathesis/contract_hooks.py "
        f"does not say how valid input meets: {', '.join(UNKNOWN)}. State the rule in the "
        "schema if JSON Schema can, or add it to SATISFY."
    )


# The ranges integer formats state (dropshot writes `format` and not always
# `maximum`; schemathesis does not know these formats).
FORMAT_RANGES = {
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def parameters_in_format(case):
    """Integer query and path parameters brought into the range their
    format states."""
    operation = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]
    for parameter in operation.get("parameters", []):
        values = {"query": case.query, "path": case.path_parameters}.get(parameter["in"])
        value = (values or {}).get(parameter["name"])
        bounds = FORMAT_RANGES.get(parameter.get("schema", {}).get("format"))
        if bounds and isinstance(value, int) and not isinstance(value, bool):
            values[parameter["name"]] = min(max(value, bounds[0]), bounds[1])


def body_schema(case):
    operation = DOCUMENT["paths"][case.operation.path][case.operation.method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] or None


@schemathesis.hook
def before_call(context, case, kwargs):
    """Right before a positive case is sent (after the stateful phase has
    filled in values from earlier responses), it is brought to meet every
    rule the document declares."""
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return
    parameters_in_format(case)
    if not isinstance(case.body, dict):
        return
    schema = body_schema(case)
    applied = set()
    for rule, about, satisfy in SATISFY:
        if rule in DECLARED and about in (schema, "*") and satisfy not in applied:
            applied.add(satisfy)
            satisfy(case.body, case)
