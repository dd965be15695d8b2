//! A compatibility checker for OpenAPI 3.0 documents that judges changes the
//! way progenitor-generated Rust clients decode payloads.
//!
//! Generic OpenAPI diff tools read a spec abstractly; a typify/progenitor
//! client is stricter: it closes string enums, denies unknown fields where a
//! schema says `additionalProperties: false`, validates constrained strings,
//! and decodes integers into the width their format names. So "add a response
//! enum value" or "add a response property" can break an old Rust client at
//! run time although other tools call it harmless. Each change found is
//! reported with the direction it breaks ([`Direction`]), a level
//! ([`Level`]: error breaks old clients on a new server, warning breaks only
//! new clients on an old server, info breaks neither), where it is, and why.
//!
//! ```
//! let old = serde_json::json!({"openapi": "3.0.3", "paths": {}});
//! let new = serde_json::json!({"openapi": "3.0.3", "paths": {}});
//! assert!(openapi_compat::compare(&old, &new).changes.is_empty());
//! ```

mod compare;
mod report;

pub use compare::compare;
pub use report::{Change, Direction, Format, Level, Report};

/// Reads an OpenAPI 3.0 document, JSON or YAML.
pub fn load(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses an OpenAPI 3.0 document from JSON or YAML text.
pub fn parse(text: &str) -> Result<serde_json::Value, String> {
    let value: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
    };
    match value.get("openapi").and_then(serde_json::Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => {}
        Some(v) => return Err(format!("OpenAPI version {v} is not supported (3.0 expected)")),
        None => return Err("not an OpenAPI document: no `openapi` field".to_owned()),
    }
    if !value.get("paths").is_some_and(serde_json::Value::is_object) {
        return Err("not an OpenAPI document: no `paths` object".to_owned());
    }
    Ok(value)
}
