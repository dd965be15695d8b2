//! Request bodies and media types: a body added, removed, required or not; a content type gained or lost.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;

crate::rules::catalogue! {
    REQUEST_BODY_ADDED = "request-body-added": "an operation takes a body it did not",
        Document,
        r##"{"paths":{"/pets":{"post":{"responses":{"204":{"description":"ok"}}}}}}"##,
        r##"{"paths":{"/pets":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object"}}}},"responses":{"204":{"description":"ok"}}}}}}"##;
    REQUEST_BODY_REMOVED = "request-body-removed": "an operation no longer takes a body",
        Operation,
        "{}",
        r##"{"requestBody":null}"##;
    REQUEST_BODY_BECAME_REQUIRED = "request-body-became-required": "an optional body became required",
        Operation,
        r##"{"requestBody":{"required":false}}"##,
        "{}";
    REQUEST_BODY_BECAME_OPTIONAL = "request-body-became-optional": "a required body became optional",
        Operation,
        "{}",
        r##"{"requestBody":{"required":false}}"##;
    MEDIA_TYPE_REMOVED = "media-type-removed": "a media type is no longer accepted or returned",
        Operation,
        r##"{"requestBody":{"content":{"application/yaml":{"schema":{"type":"string"}}}}}"##,
        "{}";
    MEDIA_TYPE_ADDED = "media-type-added": "a media type is new",
        Operation,
        "{}",
        r##"{"requestBody":{"content":{"application/yaml":{"schema":{"type":"string"}}}}}"##;
    MEDIA_TYPE_SCHEMA_ADDED = "media-type-schema-added": "a media type that had no schema (any value) has one",
        Operation,
        r##"{"requestBody":{"content":{"application/json":{"schema":null}}}}"##,
        "{}";
    MEDIA_TYPE_SCHEMA_REMOVED = "media-type-schema-removed": "a media type no longer has a schema (any value)",
        Operation,
        "{}",
        r##"{"requestBody":{"content":{"application/json":{"schema":null}}}}"##;
}

impl<'a> Checker<'a> {
    pub(crate) fn request_body(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let body = |doc: &'a Value, op: &'a Value| {
            op.get("requestBody").map(|b| resolve(doc, b, String::new()).0.schema)
        };
        let at = format!("{ptr}/requestBody");
        let required = |b: &Value| b.get("required").and_then(Value::as_bool).unwrap_or(false);
        match (body(self.old, old_op), body(self.new, op)) {
            (None, None) => {}
            (None, Some(b)) => self.emit(
                REQUEST_BODY_ADDED,
                if required(b) { Direction::BreaksOldClients } else { Direction::Neither },
                &at,
                "a request body was added".to_owned(),
            ),
            (Some(b), None) => self.emit(
                REQUEST_BODY_REMOVED,
                if required(b) { Direction::BreaksNewClients } else { Direction::Neither },
                &at,
                "the request body was removed".to_owned(),
            ),
            (Some(old_b), Some(new_b)) => {
                match (required(old_b), required(new_b)) {
                    (false, true) => self.emit(
                        REQUEST_BODY_BECAME_REQUIRED,
                        Direction::BreaksOldClients,
                        &at,
                        "the request body became required".to_owned(),
                    ),
                    (true, false) => self.emit(
                        REQUEST_BODY_BECAME_OPTIONAL,
                        Direction::BreaksNewClients,
                        &at,
                        "the request body became optional; old servers still require it".to_owned(),
                    ),
                    _ => {}
                }
                self.content(old_b, new_b, &at, Polarity::Request);
            }
        }
    }

    pub(crate) fn content(&mut self, old: &'a Value, new: &'a Value, at: &str, polarity: Polarity) {
        let old_c = old.get("content").and_then(obj).unwrap_or(&EMPTY);
        let new_c = new.get("content").and_then(obj).unwrap_or(&EMPTY);
        for (media, old_m) in old_c {
            let mat = format!("{at}/content/{}", seg(media));
            match new_c.get(media) {
                None => self.emit(
                    MEDIA_TYPE_REMOVED,
                    Direction::BreaksOldClients,
                    &mat,
                    format!(
                        "media type {media} is no longer {}",
                        match polarity {
                            Polarity::Request => "accepted",
                            Polarity::Response => "returned",
                        }
                    ),
                ),
                Some(new_m) => match (old_m.get("schema"), new_m.get("schema")) {
                    (Some(os), Some(ns)) => self.schema(
                        os,
                        format!("{mat}/schema"),
                        ns,
                        format!("{mat}/schema"),
                        polarity,
                        false,
                    ),
                    // No schema: any value.
                    (None, Some(_)) => self.emit(
                        MEDIA_TYPE_SCHEMA_ADDED,
                        polarity.stricter(),
                        &format!("{mat}/schema"),
                        format!(
                            "{media} now has a schema: values it refuses were any value before"
                        ),
                    ),
                    (Some(_), None) => self.emit(
                        MEDIA_TYPE_SCHEMA_REMOVED,
                        polarity.looser(),
                        &format!("{mat}/schema"),
                        format!(
                            "{media} no longer has a schema: any value may be {}",
                            match polarity {
                                Polarity::Request => "sent, which old servers may refuse",
                                Polarity::Response => "returned, which old clients may not decode",
                            }
                        ),
                    ),
                    (None, None) => {}
                },
            }
        }
        for media in new_c.keys() {
            if !old_c.contains_key(media) {
                self.emit(
                    MEDIA_TYPE_ADDED,
                    Direction::Neither,
                    &format!("{at}/content/{}", seg(media)),
                    format!("media type {media} was added"),
                );
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "request body became optional",
            |d| *at(d, &format!("{POST}/requestBody/required")) = json!(false),
            vec![("request-body-became-optional", BreaksNewClients)],
        ),
        case(
            "request media type removed",
            |d| {
                let c = at(d, &format!("{POST}/requestBody/content")).as_object_mut().unwrap();
                let v = c.remove("application/json").unwrap();
                c.insert("application/x-www-form-urlencoded".into(), v);
            },
            vec![("media-type-removed", BreaksOldClients), ("media-type-added", Neither)],
        ),
        case(
            "response media type removed",
            |d| {
                let c = at(d, &format!("{GET}/responses/200/content")).as_object_mut().unwrap();
                let v = c.remove("application/json").unwrap();
                c.insert("text/plain".into(), v);
            },
            vec![("media-type-removed", BreaksOldClients), ("media-type-added", Neither)],
        ),
        case(
            "required request body added",
            |d| *at(d, &format!("{GET}/requestBody")) = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}}),
            vec![("request-body-added", BreaksOldClients)],
        ),
        case(
            "optional request body added",
            |d| {
                *at(d, &format!("{GET}/requestBody")) =
                    json!({"content": {"application/json": {"schema": {"type": "object"}}}})
            },
            vec![("request-body-added", Neither)],
        ),
        case(
            "required request body removed",
            |d| remove(d, &format!("{POST}/requestBody")),
            vec![("request-body-removed", BreaksNewClients)],
        ),
        reverse(
            "request body became required",
            |d| *at(d, &format!("{POST}/requestBody/required")) = json!(false),
            vec![("request-body-became-required", BreaksOldClients)],
        ),
        case(
            "request media type schema removed",
            |d| remove(d, &format!("{POST}/requestBody/content/application~1json/schema")),
            vec![("media-type-schema-removed", BreaksNewClients)],
        ),
        reverse(
            "request media type schema added",
            |d| remove(d, &format!("{POST}/requestBody/content/application~1json/schema")),
            vec![("media-type-schema-added", BreaksOldClients)],
        ),
        case(
            "response media type schema removed",
            |d| remove(d, &format!("{POST}/responses/201/content/application~1json/schema")),
            vec![("media-type-schema-removed", BreaksOldClients)],
        ),
    ]
}
