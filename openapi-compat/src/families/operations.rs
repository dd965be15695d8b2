//! Operations and paths: an operation gone or new, renamed (operationId), its route respelt, and routes that collide.

use crate::report::{Direction, Side};
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::BTreeMap;

crate::rules::catalogue! {
    OPERATION_REMOVED = "operation-removed": "an operation is gone",
        Document,
        r##"{"paths":{"/pets":{"get":{"responses":{"204":{"description":"none"}}}}}}"##,
        "{}";
    OPERATION_ADDED = "operation-added": "an operation is new",
        Document,
        "{}",
        r##"{"paths":{"/pets":{"get":{"responses":{"204":{"description":"none"}}}}}}"##;
    OPERATION_ID_CHANGED = "operation-id-changed": "an operationId changed (generated method names follow it)",
        Operation,
        "{}",
        r##"{"operationId":"pet_replace"}"##;
    PATH_PARAMETER_RENAMED = "path-parameter-renamed": "a path parameter is named differently in the route",
        Document,
        "{}",
        r##"{"paths":{"/pets/{id}":null,"/pets/{petId}":{"put":{"operationId":"pet_put","parameters":[{"in":"path","name":"petId","required":true,"schema":{"type":"string"}}],"responses":{"204":{"description":"ok"}}}}}}"##;
    PATHS_AMBIGUOUS = "paths-ambiguous": "two paths differ only in parameter names, which makes the document invalid",
        Document,
        "{}",
        r##"{"paths":{"/pets/{petId}":{"get":{"parameters":[{"in":"path","name":"petId","required":true,"schema":{"type":"string"}}],"responses":{"204":{"description":"ok"}}}}}}"##;
}

impl Checker<'_> {
    /// Routes that differ only in parameter names. Written the same way in
    /// both documents they are a condition of the document, said once, and
    /// no change.
    pub(crate) fn ambiguous_routes(
        &mut self,
        old: &BTreeMap<String, Vec<String>>,
        new: &BTreeMap<String, Vec<String>>,
    ) {
        for (route, paths) in new {
            let item = &self.new["paths"][&paths[1]];
            if let Some(method) = METHODS.iter().find(|m| item.get(**m).is_some()) {
                self.site = site(method, &paths[1], &item[*method]);
            }
            self.side = Side::Document;
            let pointer = format!("/paths/{}", seg(&paths[1]));
            let reason = format!(
                "{} differ only in parameter names: the document is invalid, and a server \
                 routes every request to one of them, so clients of the other get the wrong \
                 operation",
                paths.join(" and ")
            );
            if old.get(route) == Some(paths) {
                self.find(PATHS_AMBIGUOUS, &pointer, reason);
            } else {
                self.emit(PATHS_AMBIGUOUS, Direction::Both, &pointer, reason);
            }
        }
    }

    pub(crate) fn operation_removed(&mut self, method: &str, path: &str) {
        self.emit(
            OPERATION_REMOVED,
            Direction::BreaksOldClients,
            &format!("/paths/{}/{method}", seg(path)),
            format!("{} {path} was removed; old clients still call it", method.to_uppercase()),
        );
    }

    pub(crate) fn operation_added(&mut self, method: &str, path: &str, ptr: &str) {
        self.emit(
            OPERATION_ADDED,
            Direction::BreaksNewClients,
            ptr,
            format!(
                "{} {path} is new; servers still on the old document answer 404",
                method.to_uppercase()
            ),
        );
    }

    /// An operation in both documents: its name and how its route is written.
    pub(crate) fn operation(
        &mut self,
        old_path: &str,
        old_op: &Value,
        path: &str,
        op: &Value,
        ptr: &str,
    ) {
        let old_id = old_op.get("operationId").and_then(Value::as_str);
        let new_id = op.get("operationId").and_then(Value::as_str);
        if old_id != new_id {
            self.emit(
                OPERATION_ID_CHANGED,
                Direction::Neither,
                ptr,
                format!(
                    "operationId {} became {}: regenerated clients rename the method",
                    old_id.unwrap_or("(none)"),
                    new_id.unwrap_or("(none)")
                ),
            );
        }
        if old_path != path {
            self.emit(
                PATH_PARAMETER_RENAMED,
                Direction::Neither,
                ptr,
                format!("path {old_path} is now written {path}"),
            );
        }
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "operation added",
            |d| {
                at(d, "/paths").as_object_mut().unwrap().insert("/extra".into(), json!({"get": {"operationId": "extra", "responses": {"204": {"description": "none"}}}}));
            },
            vec![("operation-added", BreaksNewClients)],
        ),
        reverse(
            "operation removed",
            |d| {
                at(d, "/paths").as_object_mut().unwrap().insert("/extra".into(), json!({"get": {"operationId": "extra", "responses": {"204": {"description": "none"}}}}));
            },
            vec![("operation-removed", BreaksOldClients)],
        ),
        case(
            "operation id changed",
            |d| *at(d, &format!("{GET}/operationId")) = json!("thing_fetch"),
            vec![("operation-id-changed", Neither)],
        ),
        case(
            "two paths differ only in parameter names",
            |d| {
                let item = json!({"get": {"operationId": "thing_get_by_id", "responses": {"204": {"description": "none"}}}});
                at(d, "/paths").as_object_mut().unwrap().insert("/things/{id}".into(), item);
            },
            vec![("paths-ambiguous", Both), ("operation-added", BreaksNewClients)],
        ),
        case(
            "path parameter renamed",
            |d| {
                let paths = at(d, "/paths").as_object_mut().unwrap();
                let item = paths.remove("/things/{thing_id}").unwrap();
                paths.insert("/things/{id}".into(), item);
                *at(d, "/paths/~1things~1{id}/get/parameters/0/name") = json!("id");
            },
            vec![("path-parameter-renamed", Neither)],
        ),
    ]
}
