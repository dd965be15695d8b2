//! Tidy tests: the workspace's structural invariants. Each is named next to
//! the invariant it checks in ARCHITECTURE.md.
//!
//! - [`layers`]: each service's modules are in layers (http, app, domain,
//!   store, and what every layer shares); an import (`crate::…`, and
//!   `super::…` in a top-level file) goes down or across, never up, and
//!   the modules import each other in no loop.
//! - [`sql_only_in_stores`]: a string that starts an SQL statement appears
//!   only in a store.
//! - [`dependencies_never_reach`]: what a crate must not depend on, followed
//!   through every dependency (`cargo tree`), not only its own manifest.

use super::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "data" {
                files(&path, ext, out);
            }
        } else if name.ends_with(ext) {
            out.push(path);
        }
    }
}

fn rust_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&root(), ".rs", &mut out);
    out
}

/// The code of a Rust file without its comments (line and block comments,
/// doc comments included); string literals are kept.
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                while let Some(s) = chars.next() {
                    out.push(s);
                    match s {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for s in chars.by_ref() {
                    if s == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for s in chars.by_ref() {
                    if last == '*' && s == '/' {
                        break;
                    }
                    last = s;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_rust_file_says_what_it_is() {
    let missing: Vec<_> = rust_files()
        .into_iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap().starts_with("//!"))
        .collect();
    assert!(missing.is_empty(), "these files do not open with a `//!` comment: {missing:?}");
}

#[test]
fn no_test_is_ignored() {
    let marker = ["#[", "ignore"].concat();
    let ignored: Vec<_> = rust_files()
        .into_iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains(&marker))
        .collect();
    assert!(ignored.is_empty(), "ignored tests in {ignored:?}: fix or delete them");
}

/// A service's layers, top first: each a name and its top-level modules.
type Layers = &'static [(&'static str, &'static [&'static str])];

const HARMONY_SERVER: Layers = &[
    ("http", &["http", "agent", "admission", "logging", "fleet"]),
    ("app", &["app"]),
    ("domain", &["rollout", "render", "budget", "k8s"]),
    ("store", &["store", "wakeups"]),
    ("shared", &["crypto", "versions", "metrics"]),
];

const ASTRO_API: Layers = &[
    ("http", &["http", "admin"]),
    ("app", &["app"]),
    ("domain", &["validate", "handoff", "auth"]),
    ("store", &["store"]),
    // The link to Harmony: astro-api's own types for what it exchanges
    // with Harmony (the outbox stores them) and the cells that carry them.
    ("harmony link", &["harmony"]),
    ("shared", &["failure", "quota", "clock", "metrics", "seal"]),
];

/// The top-level modules of a crate's `src` and the top-level modules each
/// imports (`crate::m`, or `super::m` in a top-level file). The crate root
/// (`lib.rs`, `main.rs`) wires the layers and is left out.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut all = Vec::new();
    files(src, ".rs", &mut all);
    for path in all {
        let rel = path.strip_prefix(src).unwrap();
        let parts: Vec<String> =
            rel.iter().map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
        if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
            continue;
        }
        let module = parts[0].clone();
        let text = code(&std::fs::read_to_string(&path).unwrap());
        let mut found = BTreeSet::new();
        let mut prefixes = vec!["crate::"];
        if parts.len() == 1 {
            prefixes.push("super::");
        }
        for prefix in prefixes {
            for (at, _) in text.match_indices(prefix) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let name: String = text[at + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    found.insert(name);
                }
            }
            // `use crate::{a, b::c}`.
            for (at, _) in text.match_indices(&format!("{prefix}{{")) {
                let group = &text[at + prefix.len() + 1..];
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        found.insert(name);
                    }
                }
            }
        }
        out.entry(module).or_default().extend(found);
    }
    out
}

/// What is wrong with a crate's imports under its layers: modules no layer
/// names, imports that go up, and loops.
fn layer_violations(layers: Layers, imports: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let layer_of: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, (_, modules))| modules.iter().map(move |m| (*m, i)))
        .collect();
    let mut out = Vec::new();
    for (module, used) in imports {
        let Some(&from) = layer_of.get(module.as_str()) else {
            out.push(format!("module `{module}` is in no layer"));
            continue;
        };
        for target in used {
            // A name no layer knows is not a module (`crate::Error`, a
            // re-export of the root).
            let Some(&to) = layer_of.get(target.as_str()) else { continue };
            if to < from {
                out.push(format!(
                    "`{module}` ({}) imports `{target}` ({}): an import goes down, never up",
                    layers[from].0, layers[to].0
                ));
            }
        }
    }
    // Loops: a module that reaches itself.
    let edges = |m: &str| -> Vec<String> {
        imports
            .get(m)
            .map(|s| s.iter().filter(|t| imports.contains_key(*t)).cloned().collect())
            .unwrap_or_default()
    };
    let mut reported = BTreeSet::new();
    for start in imports.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges(&at) {
                if next == *start {
                    let mut cycle = path.clone();
                    cycle.push(next);
                    let key: BTreeSet<String> = cycle.iter().cloned().collect();
                    if reported.insert(key) {
                        out.push(format!("import loop: {}", cycle.join(" -> ")));
                    }
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
    out
}

#[test]
fn layers() {
    for (krate, layers) in [("harmony-server", HARMONY_SERVER), ("astro-api", ASTRO_API)] {
        let found = layer_violations(layers, &imports(&root().join(krate).join("src")));
        assert!(found.is_empty(), "{krate}:\n{}", found.join("\n"));
    }
}

/// The checker itself: a loop and an upward import are each reported once,
/// and layered imports are not.
#[test]
fn the_layer_check_finds_loops_and_upward_imports() {
    const LAYERS: Layers = &[("top", &["a"]), ("middle", &["b", "c"]), ("bottom", &["d"])];
    let graph = |edges: &[(&str, &str)]| {
        let mut map: BTreeMap<String, BTreeSet<String>> =
            ["a", "b", "c", "d"].iter().map(|m| (m.to_string(), BTreeSet::new())).collect();
        for (from, to) in edges {
            map.get_mut(*from).unwrap().insert(to.to_string());
        }
        map
    };
    let layered = graph(&[("a", "b"), ("a", "d"), ("b", "c"), ("c", "d")]);
    assert!(layer_violations(LAYERS, &layered).is_empty());
    let across = graph(&[("b", "c"), ("c", "b")]);
    assert_eq!(layer_violations(LAYERS, &across), vec!["import loop: b -> c -> b"]);
    let up = graph(&[("d", "a")]);
    assert_eq!(layer_violations(LAYERS, &up).len(), 1);
    let mut stray = graph(&[]);
    stray.insert("e".into(), BTreeSet::new());
    assert_eq!(layer_violations(LAYERS, &stray), vec!["module `e` is in no layer"]);
}

/// The SQL statements a store writes: a string literal that opens with one
/// of these words (then a space or a line break) is SQL.
const SQL_VERBS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "WITH",
    "CREATE",
    "ALTER",
    "DROP",
    "PRAGMA",
    "LISTEN",
    "UNLISTEN",
    "NOTIFY",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "TRUNCATE",
    "VACUUM",
    "REPLACE",
    "LOCK",
    "SET",
];

/// The SQL statements in a file's string literals (their first words).
fn sql_statements(text: &str) -> Vec<String> {
    let text = code(text);
    let mut out = Vec::new();
    for (at, _) in text.match_indices('"') {
        let rest = text[at + 1..].trim_start();
        for verb in SQL_VERBS {
            if let Some(after) = rest.strip_prefix(verb)
                && after.starts_with([' ', '\n'])
            {
                out.push(rest.chars().take(40).collect());
            }
        }
    }
    out
}

#[test]
fn sql_only_in_stores() {
    assert_eq!(sql_statements(r#"let q = "SELECT id FROM t";"#).len(), 1);
    assert_eq!(sql_statements("let q = \"\n  UPDATE t SET a = 1\";").len(), 1);
    assert!(sql_statements(r#"let s = "SELECTED items"; // "DELETE FROM t""#).is_empty());
    let offenders: Vec<_> = rust_files()
        .into_iter()
        .filter(|p| {
            // A service's store is a folder (`src/store/`), one file per
            // concern; `sql-store` is what stores are built on.
            let exempt = |c: std::path::Component<'_>| {
                ["store", "tests", "sql-store", "test-support"].iter().any(|e| c.as_os_str() == *e)
            };
            // This file names SQL to find it.
            !p.components().any(exempt) && !p.ends_with("xtask/src/tidy.rs")
        })
        .filter_map(|p| {
            let found = sql_statements(&std::fs::read_to_string(&p).unwrap());
            (!found.is_empty()).then(|| format!("{}: {found:?}", p.display()))
        })
        .collect();
    assert!(offenders.is_empty(), "SQL outside a store:\n{}", offenders.join("\n"));
}

/// Every crate `krate` depends on, through any path, without dev- or
/// build-dependencies.
fn transitive_dependencies(krate: &str) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-p", krate])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn dependencies_never_reach() {
    let mut failures = Vec::new();
    for (krate, forbidden) in [
        // Contracts know no implementation, store or HTTP client (dropshot
        // brings its server runtime; nothing else may).
        (
            "harmony-api",
            &["harmony-server", "rusqlite", "postgres", "sql-store", "reqwest", "progenitor"][..],
        ),
        (
            "harmony-agent-api",
            &["harmony-server", "rusqlite", "postgres", "sql-store", "reqwest", "progenitor"][..],
        ),
        (
            "astro-public-api",
            &["astro-api", "harmony-client", "rusqlite", "postgres", "sql-store", "reqwest"][..],
        ),
        // The agent runs in data planes: it knows Harmony only through the
        // generated client.
        ("harmony-agent", &["harmony-server", "harmony-api", "harmony-agent-api", "dropshot"][..]),
        // astro-api reaches Harmony only through the generated client.
        ("astro-api", &["harmony-server", "harmony-api", "progenitor"][..]),
        // Consumers get a client without the code generator or a server.
        ("harmony-client", &["progenitor", "harmony-api", "dropshot"][..]),
        ("astro-client", &["progenitor", "astro-public-api", "dropshot"][..]),
    ] {
        let deps = transitive_dependencies(krate);
        for name in forbidden {
            if deps.contains(*name) {
                failures.push(format!("{krate} depends on {name}"));
            }
        }
    }
    // xtask builds in seconds: no dependencies at all.
    let manifest = std::fs::read_to_string(root().join("xtask/Cargo.toml")).unwrap();
    let deps = &manifest[manifest.find("[dependencies]").unwrap() + 14..];
    if deps.lines().any(|l| l.contains('=')) {
        failures.push("xtask has dependencies".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// astro-api speaks of Harmony in its own types; Harmony's wire types (and
/// the client that carries them) are named only in its harmony module,
/// where they are mapped.
#[test]
fn only_astro_apis_harmony_module_knows_harmonys_types() {
    let src = root().join("astro-api/src");
    let mut files = Vec::new();
    self::files(&src, ".rs", &mut files);
    let offenders: Vec<_> = files
        .into_iter()
        .filter(|p| !p.strip_prefix(&src).unwrap().starts_with("harmony"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            ["harmony_client", "harmony_api"].iter().any(|s| text.contains(s))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "Harmony's types outside astro-api's harmony module: {offenders:?}"
    );
}

/// ARCHITECTURE.md's code map names every Rust file under a crate's `src/`
/// (and each crate's test directories), and names nothing that is gone; the
/// whole page stays within 300 lines.
#[test]
fn the_map_names_every_file() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    assert!(text.lines().count() <= 300, "ARCHITECTURE.md is over 300 lines");
    let map = &text[text.find("## Code map").expect("a code map")..];
    let map = &map[map.find("```").unwrap() + 3..];
    let map = &map[..map.find("```").unwrap()];
    let mut named = BTreeSet::new();
    let mut krate = String::new();
    for line in map.lines() {
        let Some(first) = line.split_whitespace().next() else { continue };
        if !line.starts_with(' ') {
            krate = first.trim_end_matches('/').to_owned();
        } else {
            named.insert(format!("{krate}/{first}"));
        }
    }
    let mut present = BTreeSet::new();
    for entry in std::fs::read_dir(root()).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("Cargo.toml").exists() || !dir.join("src").exists() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut sources = Vec::new();
        files(&dir.join("src"), ".rs", &mut sources);
        for path in sources {
            present.insert(format!("{name}/{}", path.strip_prefix(&dir).unwrap().display()));
        }
        if let Ok(tests) = std::fs::read_dir(dir.join("tests")) {
            for test in tests {
                let path = test.unwrap().path();
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                // A directory of test code (not of fixtures or golden files).
                let code = path.is_dir() && {
                    let mut inside = Vec::new();
                    files(&path, ".rs", &mut inside);
                    !inside.is_empty()
                };
                if code || file.ends_with(".rs") {
                    present.insert(format!("{name}/tests/{file}"));
                }
            }
        }
    }
    let missing: Vec<_> = present.difference(&named).collect();
    let gone: Vec<_> = named.difference(&present).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "ARCHITECTURE.md's code map is out of date: not named {missing:?}; named but gone {gone:?}"
    );
}
