//! Response statuses: a status documented or withdrawn, judged against `default` and ranges.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::{Map, Value};

crate::rules::catalogue! {
    RESPONSE_STATUS_REMOVED = "response-status-removed": "a response status is no longer documented",
        Operation,
        r##"{"responses":{"409":{"description":"conflict"}}}"##,
        "{}";
    RESPONSE_STATUS_ADDED = "response-status-added": "a response status is new (and no `default` or range documented it)",
        Operation,
        "{}",
        r##"{"responses":{"409":{"description":"conflict"}}}"##;
}

impl<'a> Checker<'a> {
    pub(crate) fn responses(&mut self, old_op: &'a Value, op: &'a Value, ptr: &str) {
        let old_r = old_op.get("responses").and_then(obj).unwrap_or(&EMPTY);
        let new_r = op.get("responses").and_then(obj).unwrap_or(&EMPTY);
        let success = |code: &str| code.starts_with('2');
        for (code, old_resp) in old_r {
            let at = format!("{ptr}/responses/{}", seg(code));
            match new_r.get(code) {
                None => {
                    let (direction, why) = if let Some(by) = covered_by(code, new_r) {
                        (Direction::Neither, format!("; {by} still documents it"))
                    } else if success(code) {
                        (
                            Direction::BreaksNewClients,
                            "; old servers still send it and new clients cannot decode it"
                                .to_owned(),
                        )
                    } else if self.generic() {
                        (
                            Direction::BreaksNewClients,
                            "; old servers still send it, undocumented for new clients".to_owned(),
                        )
                    } else {
                        (
                            Direction::Neither,
                            "; a generated client returns an undocumented error status as an \
                             unexpected response, an error as before"
                                .to_owned(),
                        )
                    };
                    self.emit(
                        RESPONSE_STATUS_REMOVED,
                        direction,
                        &at,
                        format!("response {code} was removed{why}"),
                    );
                }
                Some(new_resp) => {
                    let (o, _) = resolve(self.old, old_resp, String::new());
                    let (n, _) = resolve(self.new, new_resp, String::new());
                    self.headers(o.schema, n.schema, &at);
                    self.content(o.schema, n.schema, &at, Polarity::Response);
                }
            }
        }
        for code in new_r.keys() {
            if old_r.contains_key(code) {
                continue;
            }
            let (direction, why) = if let Some(by) = covered_by(code, old_r) {
                (Direction::Neither, format!("; {by} already documented it"))
            } else if success(code) {
                (
                    Direction::BreaksOldClients,
                    "; old clients treat an undocumented success status as an unexpected response"
                        .to_owned(),
                )
            } else if self.generic() {
                (
                    Direction::BreaksOldClients,
                    "; it is undocumented for old clients, which have no handling for it"
                        .to_owned(),
                )
            } else {
                (
                    Direction::Neither,
                    "; old generated clients return it as an unexpected response, an error as \
                     they would have"
                        .to_owned(),
                )
            };
            self.emit(
                RESPONSE_STATUS_ADDED,
                direction,
                &format!("{ptr}/responses/{}", seg(code)),
                format!("response {code} was added{why}"),
            );
        }
    }
}

/// The responses that cover `code` besides itself: `default`, or its range.
pub(crate) fn covered_by(code: &str, responses: &Map<String, Value>) -> Option<String> {
    if code != "default" && responses.contains_key("default") {
        return Some("default".to_owned());
    }
    if code.len() == 3 && code.as_bytes()[1].is_ascii_digit() {
        let range = format!("{}XX", &code[..1]);
        if responses.keys().any(|k| k.eq_ignore_ascii_case(&range)) {
            return Some(range);
        }
    }
    None
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "success status added",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("203".into(), json!({"description": "partial"}));
            },
            vec![("response-status-added", BreaksOldClients)],
        ),
        case(
            "error status added",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("5XX".into(), json!({"$ref": "#/components/responses/Error"}));
            },
            vec![("response-status-added", Neither)],
        )
        .generic(vec![("response-status-added", BreaksOldClients)]),
        case(
            "success status removed",
            |d| {
                let r = at(d, &format!("{POST}/responses")).as_object_mut().unwrap();
                let v = r.remove("201").unwrap();
                r.insert("200".into(), v);
            },
            vec![
                ("response-status-removed", BreaksNewClients),
                ("response-status-added", BreaksOldClients),
            ],
        ),
        reverse(
            "error response removed",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("503".into(), json!({"description": "unavailable"}));
            },
            vec![("response-status-removed", Neither)],
        )
        .generic(vec![("response-status-removed", BreaksNewClients)]),
        case(
            "error status added where `default` documented it",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("409".into(), json!({"description": "conflict"}));
            },
            vec![("response-status-added", Neither)],
        )
        .setup(|d| {
            at(d, &format!("{GET}/responses"))
                .as_object_mut()
                .unwrap()
                .insert("default".into(), json!({"description": "anything"}));
        }),
        case(
            "error status added within a documented range",
            |d| {
                at(d, &format!("{GET}/responses"))
                    .as_object_mut()
                    .unwrap()
                    .insert("404".into(), json!({"$ref": "#/components/responses/Error"}));
            },
            vec![("response-status-added", Neither)],
        ),
    ]
}
