//! The grammars and limits both services enforce on a deployment, written
//! once.
//!
//! astro-api checks a change against them before it accepts it, and
//! Harmony checks again before it renders or stores anything, so a value
//! that could change the meaning of what is rendered (a line break in a
//! YAML or `airflow.cfg` value, a size that makes a data plane's desired
//! state too large to serve) is refused at the door with a 400 naming the
//! field and the rule, at both services. Pure functions, no dependencies:
//! astro-api reaches Harmony only through its generated client and must not
//! depend on Harmony's crates, and Harmony's API crate stays free of
//! implementation.
//!
//! Each check returns `Err(detail)`, a sentence saying what the value must
//! be; a service refuses only through a declared [`rule::Rule`], to which
//! it attaches the field and that sentence ([`rule::Refusals`]).

pub mod rule;
pub use rule::{ApiVersion, Objection, Refusal, Refusals, Rule, platform_key};

/// Most worker queues one deployment may have. Every queue is a worker
/// Deployment carrying every environment variable, so this bounds the
/// rendered set with [`MAX_ENVIRONMENT_BYTES`].
pub const MAX_WORKER_QUEUES: usize = 32;
/// Most environment variables one deployment may have.
pub const MAX_ENVIRONMENT_VARIABLES: usize = 256;
/// Longest environment variable key, in bytes.
pub const MAX_ENVIRONMENT_KEY: usize = 255;
/// Longest environment variable value, in bytes.
pub const MAX_ENVIRONMENT_VALUE: usize = 16 * 1024;
/// Most bytes of keys and values of all environment variables together.
pub const MAX_ENVIRONMENT_BYTES: usize = 64 * 1024;
/// Largest rendered manifest set Harmony stores (its JSON), so that every
/// data plane's desired state can always be served: a change rendering
/// more is refused before anything is stored. What the limits above allow
/// renders well below it (33 workloads x 64 KiB of variables ~ 2.1 MiB).
pub const MAX_RENDERED_SET_BYTES: usize = 4 * 1024 * 1024;
/// Highest generation: what a signed 64-bit column stores.
pub const MAX_GENERATION: u64 = i64::MAX as u64;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 1000;
/// Most contact emails one deployment may have (the addresses its alerts
/// go to).
pub const MAX_CONTACT_EMAILS: usize = 10;
/// Longest contact email, in characters (what SMTP carries in a path).
pub const MAX_CONTACT_EMAIL: usize = 254;

/// A numeric bound on a field of a deployment's spec, as Harmony enforces
/// it. One list ([`BOUNDS`]) is what Harmony's validation runs, what
/// astro-api's narrower public limits are checked against, and what the
/// boundary contract tests send at and just past.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The field, as Harmony names it in a refusal (`[]` for each item).
    pub field: &'static str,
    /// The declared rule that states it.
    pub rule: &'static Rule,
    pub min: u64,
    pub max: u64,
}

impl Bound {
    /// `Err(rule)` when `value` is outside the bound.
    pub fn check(&self, value: u64) -> Result<(), String> {
        match (self.min..=self.max).contains(&value) {
            true => Ok(()),
            false if self.max == INT32_MAX => {
                Err(format!("must be at least {}, got {value}", self.min))
            }
            false => Err(format!("must be {} to {}, got {value}", self.min, self.max)),
        }
    }
}

/// A Hybrid scheduler's size in Astro Units.
pub const SCHEDULER_AU: Bound = Bound {
    field: "scheduler.au",
    rule: &rule::SCHEDULER_AU,
    min: SCHEDULER_AU_MIN,
    max: SCHEDULER_AU_MAX,
};
/// A Hybrid scheduler's replicas.
pub const SCHEDULER_REPLICAS: Bound = Bound {
    field: "scheduler.replicas",
    rule: &rule::SCHEDULER_REPLICAS,
    min: SCHEDULER_REPLICAS_MIN,
    max: SCHEDULER_REPLICAS_MAX,
};
/// A queue's most workers.
pub const MAX_WORKER_COUNT: Bound = Bound {
    field: "worker_queues[].max_worker_count",
    rule: &rule::MAX_WORKER_COUNT,
    min: MAX_WORKER_COUNT_MIN,
    max: MAX_WORKER_COUNT_MAX,
};
/// A queue's fewest workers (also at most its `max_worker_count`).
pub const MIN_WORKER_COUNT: Bound = Bound {
    field: "worker_queues[].min_worker_count",
    rule: &rule::MIN_WORKER_COUNT,
    min: MIN_WORKER_COUNT_MIN,
    max: MIN_WORKER_COUNT_MAX,
};
/// Tasks one worker runs at once.
pub const WORKER_CONCURRENCY: Bound = Bound {
    field: "worker_queues[].worker_concurrency",
    rule: &rule::WORKER_CONCURRENCY,
    min: WORKER_CONCURRENCY_MIN,
    max: WORKER_CONCURRENCY_MAX,
};
/// A deployment's name, in characters.
pub const NAME_LENGTH: Bound =
    Bound { field: "name", rule: &rule::NAME_LENGTH, min: 1, max: NAME_MAX };
/// Worker queues of one deployment.
pub const WORKER_QUEUES: Bound = Bound {
    field: "worker_queues",
    rule: &rule::WORKER_QUEUES_COUNT,
    min: WORKER_QUEUES_MIN,
    max: MAX_WORKER_QUEUES as u64,
};

// The bounds' numbers by name, for schema attributes (which take a path):
// the 4.0.0 document states each, so changing one changes the document.
pub const SCHEDULER_AU_MIN: u64 = 5;
pub const SCHEDULER_AU_MAX: u64 = 24;
pub const SCHEDULER_REPLICAS_MIN: u64 = 1;
pub const SCHEDULER_REPLICAS_MAX: u64 = 4;
pub const NAME_MAX: u64 = 63;
pub const MAX_WORKER_COUNT_MIN: u64 = 1;
/// Worker counts become a Deployment's `replicas` (and an autoscaler's
/// bounds): Kubernetes' int32.
pub const MAX_WORKER_COUNT_MAX: u64 = INT32_MAX;
pub const MIN_WORKER_COUNT_MIN: u64 = 0;
pub const MIN_WORKER_COUNT_MAX: u64 = INT32_MAX;
pub const WORKER_CONCURRENCY_MIN: u64 = 1;
/// `worker_concurrency` in `airflow.cfg` and the workers' environment:
/// Airflow reads it as an integer and counts task slots with it.
pub const WORKER_CONCURRENCY_MAX: u64 = INT32_MAX;

/// The largest value of a Kubernetes `int32` field (`replicas` and the
/// like), and of the counts Airflow keeps in integer columns.
pub const INT32_MAX: u64 = i32::MAX as u64;

/// The most task instances a deployment runs at once: Airflow's
/// `core.parallelism`, rendered as the sum over its queues of
/// `max_worker_count` x `worker_concurrency`; Airflow counts open slots
/// against it in integer columns, so it is held to an int32 too.
pub const MAX_PARALLELISM: u64 = INT32_MAX;

/// Airflow's `parallelism` for queues given as (max_worker_count,
/// worker_concurrency): the sum of their products (saturating; at least 1).
pub fn parallelism(queues: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    queues.into_iter().fold(0u64, |sum, (max, c)| sum.saturating_add(max.saturating_mul(c))).max(1)
}
pub const WORKER_QUEUES_MIN: u64 = 1;

/// The grammars below as ECMAScript regular expressions (what OpenAPI
/// documents and the clients generated from them use), for schemas; a test
/// holds each to its function.
pub const IMAGE_TAG_PATTERN: &str = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";
pub const NODE_POOL_ID_PATTERN: &str = "^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$";
pub const BUNDLE_VERSION_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$";
pub const ENVIRONMENT_KEY_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]{0,254}$";
pub const FREE_TEXT_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\uFEFF]*$";
/// A Kubernetes DNS label (RFC 1123): data plane ids and queue names.
pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
/// Free text that says something: at least one character that is not a
/// space (ECMAScript's `\s`; without the control characters free text
/// already excludes, that is exactly Rust's `char::is_whitespace`).
pub const WRITTEN_TEXT_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\uFEFF]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\uFEFF][^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\uFEFF]*$";
/// A platform release's name (`2026.11.0`).
pub const RELEASE_NAME_PATTERN: &str = "^[A-Za-z0-9.-]{1,63}$";
/// A Kubernetes version: `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, an optional
/// leading `v`.
/// A contact email: a local part of 1 to 64 of `[A-Za-z0-9._%+-]`, `@`,
/// and a domain of two or more DNS labels (any case); at most
/// [`MAX_CONTACT_EMAIL`] characters. What [`contact_email`] checks, as the
/// documents state it.
pub const CONTACT_EMAIL_PATTERN: &str = "^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$";
pub const KUBERNETES_VERSION_PATTERN: &str = "^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?$";

/// Every numeric bound Harmony enforces on a deployment's spec, at every
/// API version that carries a deployment (1.0.0 to 4.0.0 enforce the same;
/// a version that changes one gets a list of its own here).
pub const BOUNDS: &[Bound] = &[
    SCHEDULER_AU,
    SCHEDULER_REPLICAS,
    MAX_WORKER_COUNT,
    MIN_WORKER_COUNT,
    WORKER_CONCURRENCY,
    NAME_LENGTH,
    WORKER_QUEUES,
];

/// An image tag as the OCI distribution specification defines one:
/// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn image_tag(tag: &str) -> Result<(), &'static str> {
    let mut bytes = tag.bytes();
    let first = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    let rest = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    match first && rest && tag.len() <= 128 {
        true => Ok(()),
        false => Err("must be an OCI image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
    }
}

/// An image repository as the OCI distribution specification defines its
/// name: path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`,
/// optionally after a registry host (`host[:port]/`), 255 characters at
/// most.
pub fn image_repository(name: &str) -> Result<(), &'static str> {
    const RULE: &str = "must be an OCI repository name: lowercase path components \
                        ([a-z0-9] separated by '.', '_', '__' or '-') joined by '/', \
                        optionally after a registry host[:port], 255 characters at most";
    if name.is_empty() || name.len() > 255 {
        return Err(RULE);
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first part with a '.' or ':' (or `localhost`) names a registry.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (domain, port) = host.split_once(':').unwrap_or((host, ""));
        let domain_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
        let port_ok = !host.contains(':')
            || (!port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
        if !domain_ok || !port_ok {
            return Err(RULE);
        }
    }
    match parts.iter().all(|p| path_component(p)) {
        true => Ok(()),
        false => Err(RULE),
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let (mut i, mut after_separator) = (0, true);
    while i < bytes.len() {
        if alnum(bytes[i]) {
            after_separator = false;
            i += 1;
            continue;
        }
        if after_separator {
            return false;
        }
        let separator = match bytes[i] {
            b'.' => 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => 2,
            b'_' => 1,
            b'-' => bytes[i..].iter().take_while(|b| **b == b'-').count(),
            _ => return false,
        };
        i += separator;
        after_separator = true;
    }
    !after_separator
}

/// A node pool id, which Harmony writes as a Kubernetes label value (the
/// workers' node selector): 1 to 63 of `[A-Za-z0-9._-]`, starting and
/// ending with a letter or digit.
pub fn node_pool_id(id: &str) -> Result<(), &'static str> {
    match label_value(id) && !id.is_empty() {
        true => Ok(()),
        false => Err("must be 1 to 63 letters, digits, '.', '_' or '-', \
                      starting and ending with a letter or digit"),
    }
}

fn label_value(v: &str) -> bool {
    let edge = |b: Option<&u8>| b.is_none_or(|b| b.is_ascii_alphanumeric());
    v.len() <= 63
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && edge(v.as_bytes().first())
        && edge(v.as_bytes().last())
}

/// A DAG bundle (tarball) version, which Harmony writes into
/// `airflow.cfg`: 1 to 128 of `[A-Za-z0-9._:+-]`, starting with a letter
/// or digit.
pub fn bundle_version(version: &str) -> Result<(), &'static str> {
    let mut bytes = version.bytes();
    let first = bytes.next().is_some_and(|b| b.is_ascii_alphanumeric());
    let rest =
        bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'+' | b'-'));
    match first && rest && version.len() <= 128 {
        true => Ok(()),
        false => Err("must be 1 to 128 of [A-Za-z0-9._:+-], starting with a letter or digit"),
    }
}

/// An environment variable key: `[A-Za-z_][A-Za-z0-9_]*`, at most
/// [`MAX_ENVIRONMENT_KEY`] bytes.
pub fn environment_key(key: &str) -> Result<(), &'static str> {
    let mut bytes = key.bytes();
    let first = bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    let rest = bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match first && rest && key.len() <= MAX_ENVIRONMENT_KEY {
        true => Ok(()),
        false => Err("must match [A-Za-z_][A-Za-z0-9_]* and be at most 255 bytes"),
    }
}

/// Free text shown to people (names, descriptions): no control characters
/// (C0, DEL, C1), no line or paragraph separators, no byte-order mark.
pub fn free_text(text: &str) -> Result<(), &'static str> {
    match text.chars().any(is_control) {
        false => Ok(()),
        true => Err("must not contain control characters or line breaks"),
    }
}

/// Free text (see [`free_text`]) with at least one character that is not
/// white space: what a field that must say something (a region, a version)
/// takes.
pub fn written_text(text: &str) -> Result<(), &'static str> {
    match free_text(text).is_ok() && text.chars().any(|c| !c.is_whitespace()) {
        true => Ok(()),
        false => Err("must not be blank or contain control characters or line breaks"),
    }
}

/// A contact email ([`CONTACT_EMAIL_PATTERN`], at most
/// [`MAX_CONTACT_EMAIL`] characters). Nothing it accepts needs quoting in
/// an annotation, a header or a log line.
pub fn contact_email(email: &str) -> Result<(), &'static str> {
    const WHY: &str = "must be an address: local@domain, the local part 1 to 64 of \
                       [A-Za-z0-9._%+-], the domain two or more DNS labels, at most 254 \
                       characters";
    let Some((local, domain)) = email.split_once('@') else { return Err(WHY) };
    let local_ok = (1..=64).contains(&local.len())
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
    let label = |l: &str| {
        let b = l.as_bytes();
        (1..=63).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    let domain_ok = domain.split('.').count() >= 2 && domain.split('.').all(label);
    match local_ok && domain_ok && email.len() <= MAX_CONTACT_EMAIL {
        true => Ok(()),
        false => Err(WHY),
    }
}

/// What is wrong with a list of contact emails, as both APIs' rules see
/// it (each service names its own rule and words the count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactEmailProblem {
    /// More than [`MAX_CONTACT_EMAILS`]: how many there are.
    TooMany(usize),
    /// The address at this index breaks the grammar ([`contact_email`]).
    Grammar(usize, &'static str),
    /// The address at this index is listed before it.
    Repeated(usize),
}

/// Every problem of `emails`: the count, then each address's grammar and
/// repeats, in order.
pub fn contact_email_problems(emails: &[String]) -> Vec<ContactEmailProblem> {
    let mut problems = Vec::new();
    if emails.len() > MAX_CONTACT_EMAILS {
        problems.push(ContactEmailProblem::TooMany(emails.len()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, email) in emails.iter().enumerate() {
        if let Err(why) = contact_email(email) {
            problems.push(ContactEmailProblem::Grammar(i, why));
        }
        if !seen.insert(email.as_str()) {
            problems.push(ContactEmailProblem::Repeated(i));
        }
    }
    problems
}

/// A platform release's name: 1 to 63 letters, digits, '.' and '-'.
pub fn release_name(name: &str) -> Result<(), &'static str> {
    match !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
    {
        true => Ok(()),
        false => Err("must be 1 to 63 letters, digits, '.' and '-'"),
    }
}

/// A Kubernetes version: `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, digits
/// only, an optional leading `v`.
pub fn kubernetes_version(version: &str) -> Result<(), &'static str> {
    let v = version.strip_prefix('v').unwrap_or(version);
    let parts: Vec<&str> = v.split('.').collect();
    match (2..=3).contains(&parts.len())
        && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    {
        true => Ok(()),
        false => Err("must be MAJOR.MINOR or MAJOR.MINOR.PATCH (digits, an optional leading v)"),
    }
}

/// Characters no free text may hold: what a log line, a YAML scalar or a
/// terminal would read as something other than text.
pub fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Bidirectional controls: embeddings and overrides (U+202A to U+202E),
/// isolates (U+2066 to U+2069) and the marks (U+200E, U+200F, U+061C). They
/// reorder how the text after them is shown ("Trojan Source"), so a name
/// holding one can read as another.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no space and show nothing, so two names that look
/// the same can differ: the zero-width space, the word joiner and the other
/// invisible operators (U+2060 to U+2064), the Mongolian vowel separator,
/// the byte-order mark. The zero-width joiner and non-joiner (U+200D,
/// U+200C) are not among them: Persian, Indic scripts and emoji need them
/// to be written at all.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{180e}' | '\u{feff}')
}

/// A name people tell things apart by (a deployment's, a workspace's, a
/// token's): free text ([`free_text`]) without bidirectional controls or
/// invisible characters.
pub fn name_text(text: &str) -> Result<(), &'static str> {
    free_text(text)?;
    match text.chars().any(|c| is_bidi_control(c) || is_invisible(c)) {
        false => Ok(()),
        true => Err("must not contain bidirectional controls or invisible characters"),
    }
}

/// A description people read: free text ([`free_text`]) without
/// bidirectional controls, which would reorder what is shown after it.
/// Invisible characters are kept: in prose they change no meaning, and a
/// description identifies nothing.
pub fn described_text(text: &str) -> Result<(), &'static str> {
    free_text(text)?;
    match text.chars().any(is_bidi_control) {
        false => Ok(()),
        true => Err("must not contain bidirectional controls"),
    }
}

/// Text from elsewhere (another service, an agent) made fit to show a
/// user: control characters replaced by a space, cut to at most `max`
/// characters (an ellipsis marks a cut).
/// Bidirectional controls and invisible characters are left out.
pub fn shown(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .filter(|c| !is_bidi_control(*c) && !is_invisible(*c))
        .map(|c| if is_control(c) { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The environment limits: count, each key and value, and the total.
/// `variables` yields (key, value bytes); returns (field, rule) for each
/// broken limit, the field relative to `environment_variables`.
pub fn environment_sizes<'a>(
    variables: impl ExactSizeIterator<Item = (&'a str, usize)>,
) -> Vec<(Option<usize>, String)> {
    let mut problems = Vec::new();
    if variables.len() > MAX_ENVIRONMENT_VARIABLES {
        problems.push((None, format!("at most {MAX_ENVIRONMENT_VARIABLES} variables")));
    }
    let mut total = 0;
    for (i, (key, value)) in variables.enumerate() {
        total += key.len() + value;
        if value > MAX_ENVIRONMENT_VALUE {
            problems.push((Some(i), format!("value: at most {MAX_ENVIRONMENT_VALUE} bytes")));
        }
    }
    if total > MAX_ENVIRONMENT_BYTES {
        problems.push((
            None,
            format!("keys and values together at most {MAX_ENVIRONMENT_BYTES} bytes, got {total}"),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammars() {
        for ok in ["v1", "_x", "2026.11.0-rc_1", &"a".repeat(128)] {
            assert!(image_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".v1", "-v1", "v1\u{2028}x", "v 1", "v1\n", &"a".repeat(129)] {
            assert!(image_tag(bad).is_err(), "{bad:?}");
        }
        for ok in ["airflow", "quay.io/astronomer/ap-airflow", "localhost:5000/a__b/c-d", "a.b/c"] {
            assert!(image_repository(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Airflow", "a//b", "a-/b", "a_/b", "a___b", "host:x/a", "a/b\n", "/a"] {
            assert!(image_repository(bad).is_err(), "{bad:?}");
        }
        for ok in ["pool-1", "Pool_A.b", "p"] {
            assert!(node_pool_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-p", "p-", "p\u{2028}", "p q", &"p".repeat(64)] {
            assert!(node_pool_id(bad).is_err(), "{bad:?}");
        }
        for ok in ["2026-12-02T01:02:03.123Z", "sha256:abc", "1+build"] {
            assert!(bundle_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "v1\n[core]", ".x", "x y", "x%y"] {
            assert!(bundle_version(bad).is_err(), "{bad:?}");
        }
        assert!(environment_key(&"K".repeat(255)).is_ok());
        assert!(environment_key(&"K".repeat(256)).is_err());
        for bad in ["a\nb", "a\u{85}", "a\u{2029}", "\u{feff}a", "a\u{7f}", "a\tb"] {
            assert!(free_text(bad).is_err(), "{bad:?}");
        }
        assert!(free_text("Ünïcode ☃ text").is_ok());
    }

    #[test]
    fn shown_text_is_bounded_and_printable() {
        assert_eq!(shown("a\nb\u{1b}[31m", 100), "a b [31m");
        assert_eq!(shown("ok\u{202e}kcatta\u{200b}\u{2066}!", 100), "okkcatta!");
        assert_eq!(shown(&"x".repeat(10), 4), "xxxx…");
        assert_eq!(shown("ok", 2), "ok");
    }

    #[test]
    fn environment_limits() {
        let big = vec![("K", MAX_ENVIRONMENT_VALUE + 1)];
        assert_eq!(environment_sizes(big.into_iter()).len(), 1, "the value");
        let large: Vec<_> = (0..5).map(|_| ("K", MAX_ENVIRONMENT_VALUE)).collect();
        assert_eq!(environment_sizes(large.into_iter()).len(), 1, "the total");
        let many: Vec<_> = (0..MAX_ENVIRONMENT_VARIABLES + 1).map(|_| ("K", 1)).collect();
        assert_eq!(environment_sizes(many.into_iter()).len(), 1);
        assert!(environment_sizes([("K", 10)].into_iter()).is_empty());
    }
    /// Each pattern a schema states accepts exactly what its function does,
    /// over strings built from the characters each grammar turns on
    /// (ECMAScript semantics: `regress`, as the generated clients check).
    #[test]
    fn every_pattern_is_its_function() {
        let alphabet: Vec<char> =
            "aZ09_.-:+/v \u{0}\u{9}\u{1f}\u{7f}\u{85}\u{9f}\u{a0}\u{2000}\u{3000}\u{2028}\u{2029}\u{feff}é中"
                .chars()
                .collect();
        let mut samples: Vec<String> = vec![
            String::new(),
            "a".repeat(63),
            "a".repeat(64),
            "a".repeat(128),
            "a".repeat(129),
            "a".repeat(255),
            "_".repeat(256),
            "1.30".into(),
            "v1.30.2".into(),
            "1.30.2.1".into(),
            "1.30.".into(),
            "1..3".into(),
            "V1.30".into(),
            "2026.11.0".into(),
            " ".into(),
            "\u{a0}\u{3000}".into(),
            " a ".into(),
        ];
        // A deterministic walk over short strings of the alphabet.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 6) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((state >> (8 * i)) % alphabet.len() as u64) as usize])
                .collect();
            samples.push(s);
        }
        let dns_label = |v: &str| {
            let edge =
                |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            !v.is_empty()
                && v.len() <= 63
                && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && edge(v.as_bytes().first())
                && edge(v.as_bytes().last())
        };
        type Grammar<'a> = (&'a str, &'a dyn Fn(&str) -> bool);
        let grammars: [Grammar<'_>; 9] = [
            (WRITTEN_TEXT_PATTERN, &|v| written_text(v).is_ok()),
            (RELEASE_NAME_PATTERN, &|v| release_name(v).is_ok()),
            (KUBERNETES_VERSION_PATTERN, &|v| kubernetes_version(v).is_ok()),
            (IMAGE_TAG_PATTERN, &|v| image_tag(v).is_ok()),
            (NODE_POOL_ID_PATTERN, &|v| node_pool_id(v).is_ok()),
            (BUNDLE_VERSION_PATTERN, &|v| bundle_version(v).is_ok()),
            (ENVIRONMENT_KEY_PATTERN, &|v| environment_key(v).is_ok()),
            (FREE_TEXT_PATTERN, &|v| free_text(v).is_ok()),
            (DNS_LABEL_PATTERN, &dns_label),
        ];
        let label = |n: usize| "l".repeat(n);
        let emails = [
            "a@b.co".to_owned(),
            "A.b+c_d%e-f@X-y.Z9".to_owned(),
            "a@b".into(),
            "@b.co".into(),
            "a@@b.co".into(),
            "a@-b.co".into(),
            "a@b-.co".into(),
            "a@b..co".into(),
            "a@b.co.".into(),
            "a b@c.de".into(),
            "é@b.co".into(),
            "a@b.co\n".into(),
            "a\"b@c.de".into(),
            format!("{}@b.co", "x".repeat(64)),
            format!("{}@b.co", "x".repeat(65)),
            format!("a@{}.co", label(63)),
            format!("a@{}.co", label(64)),
            format!("a@{}.{}.{}.{}", label(60), label(60), label(60), label(60)),
        ];
        let email_regex = regress::Regex::new(CONTACT_EMAIL_PATTERN).unwrap();
        for email in emails.iter().chain(&samples) {
            // The pattern states the grammar; the length is the schema's
            // `maxLength`.
            let stated =
                email_regex.find(email).is_some() && email.chars().count() <= MAX_CONTACT_EMAIL;
            assert_eq!(stated, contact_email(email).is_ok(), "{email:?}");
        }
        assert!(contact_email("a@b.co").is_ok() && contact_email("a@b").is_err());
        for (pattern, function) in grammars {
            let regex = regress::Regex::new(pattern).unwrap();
            for sample in &samples {
                assert_eq!(
                    regex.find(sample).is_some(),
                    function(sample),
                    "{pattern} and its function disagree on {sample:?}"
                );
            }
        }
    }

    /// Issue 34: bidi overrides and zero-width characters were kept in
    /// names and descriptions. Names refuse both; descriptions refuse the
    /// bidi controls and keep the rest; scripts and emoji that need the
    /// zero-width joiners still pass.
    #[test]
    fn names_and_descriptions_refuse_what_reorders_or_hides() {
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            let text = format!("etl{c}prod");
            assert!(name_text(&text).is_err(), "{:04X} in a name", c as u32);
            assert!(described_text(&text).is_err(), "{:04X} in a description", c as u32);
        }
        for c in ['\u{200b}', '\u{2060}', '\u{2063}', '\u{180e}'] {
            let text = format!("etl{c}prod");
            assert!(name_text(&text).is_err(), "{:04X} in a name", c as u32);
            assert_eq!(described_text(&text), Ok(()), "{:04X} in a description", c as u32);
        }
        for kept in ["می\u{200c}خواهم", "👩\u{200d}💻 team", "データ処理", "عربي", "ETL, nightly"]
        {
            assert_eq!(name_text(kept), Ok(()), "{kept}");
            assert_eq!(described_text(kept), Ok(()), "{kept}");
        }
        assert!(name_text("a\nb").is_err() && described_text("a\u{0}").is_err());
    }
}
