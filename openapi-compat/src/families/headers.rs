//! Response headers: added, removed, required or not, serialized differently.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::BTreeMap;

crate::rules::catalogue! {
    RESPONSE_HEADER_REMOVED = "response-header-removed": "a response header is gone",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
        "{}";
    RESPONSE_HEADER_ADDED = "response-header-added": "a response header is new",
        Operation,
        "{}",
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##;
    RESPONSE_HEADER_BECAME_OPTIONAL = "response-header-became-optional": "a required response header became optional",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":false,"schema":{"type":"string"}}}}}}"##;
    RESPONSE_HEADER_BECAME_REQUIRED = "response-header-became-required": "an optional response header became required",
        Operation,
        r##"{"responses":{"200":{"headers":{"ETag":{"schema":{"type":"string"}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"ETag":{"required":true,"schema":{"type":"string"}}}}}}"##;
    RESPONSE_HEADER_STYLE_CHANGED = "response-header-style-changed": "a response header's `style` or `explode` changed",
        Operation,
        r##"{"responses":{"200":{"headers":{"X-Tags":{"schema":{"type":"array","items":{"type":"string"}}}}}}}"##,
        r##"{"responses":{"200":{"headers":{"X-Tags":{"explode":true,"schema":{"type":"array","items":{"type":"string"}}}}}}}"##;
}

impl<'a> Checker<'a> {
    /// Response headers. Progenitor hands them over undecoded, so for it a
    /// header change breaks nothing the client does; a generic client may
    /// read any header the document promises.
    pub(crate) fn headers(&mut self, old: &'a Value, new: &'a Value, at: &str) {
        let collect = |doc: &'a Value, r: &'a Value| -> BTreeMap<String, (String, &'a Value)> {
            r.get("headers")
                .and_then(obj)
                .into_iter()
                .flatten()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
                .map(|(name, h)| {
                    (
                        name.to_ascii_lowercase(),
                        (name.clone(), resolve(doc, h, String::new()).0.schema),
                    )
                })
                .collect()
        };
        let (oh, nh) = (collect(self.old, old), collect(self.new, new));
        let required = |h: &Value| flag(h, "required");
        let generic = self.generic();
        let judge = |direction: Direction| if generic { direction } else { Direction::Neither };
        let unread = if generic { "" } else { " (progenitor clients do not decode headers)" };
        for (key, (name, h)) in &oh {
            let hat = format!("{at}/headers/{}", seg(name));
            let Some((_, nh_)) = nh.get(key) else {
                self.emit(
                    RESPONSE_HEADER_REMOVED,
                    judge(if required(h) {
                        Direction::BreaksOldClients
                    } else {
                        Direction::Neither
                    }),
                    &hat,
                    format!(
                        "response header {name} was removed{}{unread}",
                        if required(h) { "; old clients rely on it" } else { "" }
                    ),
                );
                continue;
            };
            match (required(h), required(nh_)) {
                (true, false) => self.emit(
                    RESPONSE_HEADER_BECAME_OPTIONAL,
                    judge(Direction::BreaksOldClients),
                    &hat,
                    format!("response header {name} became optional; old clients rely on it{unread}"),
                ),
                (false, true) => self.emit(
                    RESPONSE_HEADER_BECAME_REQUIRED,
                    judge(Direction::BreaksNewClients),
                    &hat,
                    format!(
                        "response header {name} became required; old servers may not send it{unread}"
                    ),
                ),
                _ => {}
            }
            let header_style = |h: &Value| {
                (
                    h.get("style").and_then(Value::as_str).unwrap_or("simple").to_owned(),
                    flag(h, "explode"),
                )
            };
            if header_style(h) != header_style(nh_) {
                self.emit(
                    RESPONSE_HEADER_STYLE_CHANGED,
                    judge(Direction::Both),
                    &hat,
                    format!(
                        "response header {name} is serialized differently; each document's \
                         clients parse the other server's value wrongly{unread}"
                    ),
                );
            }
            if generic && let (Some(os), Some(ns)) = (h.get("schema"), nh_.get("schema")) {
                self.schema(
                    os,
                    format!("{hat}/schema"),
                    ns,
                    format!("{hat}/schema"),
                    Polarity::Response,
                    !required(nh_),
                );
            }
        }
        for (key, (name, h)) in &nh {
            if oh.contains_key(key) {
                continue;
            }
            self.emit(
                RESPONSE_HEADER_ADDED,
                judge(if required(h) { Direction::BreaksNewClients } else { Direction::Neither }),
                &format!("{at}/headers/{}", seg(name)),
                format!(
                    "response header {name} was added{}{unread}",
                    if required(h) {
                        " as required; old servers do not send it to new clients"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "required response header removed",
            |d| remove(d, &format!("{HEADERS}/ETag")),
            vec![("response-header-removed", Neither)],
        )
        .generic(vec![("response-header-removed", BreaksOldClients)]),
        case(
            "optional response header removed",
            |d| remove(d, &format!("{HEADERS}/X-Rate-Limit")),
            vec![("response-header-removed", Neither)],
        ),
        reverse(
            "required response header added",
            |d| remove(d, &format!("{HEADERS}/ETag")),
            vec![("response-header-added", Neither)],
        )
        .generic(vec![("response-header-added", BreaksNewClients)]),
        case(
            "response header became optional",
            |d| *at(d, &format!("{HEADERS}/ETag/required")) = json!(false),
            vec![("response-header-became-optional", Neither)],
        )
        .generic(vec![("response-header-became-optional", BreaksOldClients)]),
        reverse(
            "response header became required",
            |d| *at(d, &format!("{HEADERS}/ETag/required")) = json!(false),
            vec![("response-header-became-required", Neither)],
        )
        .generic(vec![("response-header-became-required", BreaksNewClients)]),
        case(
            "response header explode changed",
            |d| *at(d, &format!("{HEADERS}/X-Rate-Limit/explode")) = json!(true),
            vec![("response-header-style-changed", Neither)],
        )
        .generic(vec![("response-header-style-changed", Both)]),
        case(
            "response header name written in other case is the same",
            |d| {
                let headers = at(d, HEADERS).as_object_mut().unwrap();
                let etag = headers.remove("ETag").unwrap();
                headers.insert("etag".into(), etag);
            },
            vec![],
        ),
    ]
}
