//! A compatibility checker for OpenAPI 3.0 and 3.1 documents that judges
//! changes the way a chosen kind of client reads them ([`Client`]).
//!
//! Generic OpenAPI diff tools read a spec abstractly. A typify/progenitor
//! client is stricter in places: it closes string enums, denies unknown
//! fields where a schema says `additionalProperties: false`, validates
//! constrained strings, and decodes integers into the width their format
//! names; and laxer in others: it does not decode response headers or check
//! array sizes. A client written by hand or generated in another language
//! may rely on anything the document states. So the same change is judged
//! per profile. Each change found is reported with the direction it breaks
//! ([`Direction`]), a level ([`Level`]: error breaks old clients on a new
//! server, warning breaks only new clients on an old server, info breaks
//! neither), where it is, and why. [`families::RULES`] lists every rule, with an
//! example whose outcome `docs/compat-rules.md` shows.
//!
//! ```
//! use openapi_compat::{Client, compare};
//! let old = serde_json::json!({"openapi": "3.0.3", "paths": {}});
//! let new = serde_json::json!({"openapi": "3.1.0", "paths": {}});
//! assert!(compare(&old, &new, Client::Generic).changes.is_empty());
//! ```

pub mod anchors;
pub mod docs;
pub mod families;
mod ignore;
mod report;
pub mod rules;
mod walk;

pub use ignore::Ignores;
pub use report::{Change, Client, Direction, Format, Ignored, Level, Report, Side};
pub use walk::compare;

/// Reads an OpenAPI document, JSON or YAML, from a file, or from git when
/// `input` is `REV:PATH` and no such file exists (`origin/main:openapi/astro.json`,
/// read with `git show` in the current directory, so no checkout is needed).
pub fn load_input(input: &str) -> Result<serde_json::Value, String> {
    let path = std::path::Path::new(input);
    if path.exists() {
        return load(path);
    }
    let Some((rev, file)) = input.split_once(':') else {
        return Err(format!("{input}: no such file"));
    };
    let out = std::process::Command::new("git")
        .args(["show", &format!("{rev}:{file}")])
        .output()
        .map_err(|e| format!("{input}: no such file, and git could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{input}: no such file, nor a git revision and path: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| format!("{input}: not UTF-8"))?;
    parse(&text).map_err(|e| format!("{input}: {e}"))
}

/// Reads an OpenAPI 3.0 or 3.1 document, JSON or YAML.
pub fn load(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses an OpenAPI 3.0 or 3.1 document from JSON or YAML text.
pub fn parse(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
    };
    match value.get("openapi").and_then(serde_json::Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => {}
        Some(v) => {
            return Err(format!("OpenAPI version {v} is not supported (3.0 or 3.1 expected)"));
        }
        None => return Err("not an OpenAPI document: no `openapi` field".to_owned()),
    }
    if !value.get("paths").is_some_and(serde_json::Value::is_object) {
        return Err("not an OpenAPI document: no `paths` object".to_owned());
    }
    Ok(value)
}
