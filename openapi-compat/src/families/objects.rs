//! Objects: properties added, removed, required or not, read-only and write-only, and additional properties.

use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;

crate::rules::catalogue! {
    PROPERTY_ADDED_REQUIRED = "property-added-required": "a required property is new",
        Pet,
        "{}",
        r##"{"required":["age"],"properties":{"age":{"type":"integer"}}}"##;
    PROPERTY_ADDED_OPTIONAL = "property-added-optional": "an optional property is new",
        Pet,
        r##"{"additionalProperties":false}"##,
        r##"{"additionalProperties":false,"properties":{"age":{"type":"integer"}}}"##;
    PROPERTY_BECAME_REQUIRED = "property-became-required": "an optional property became required",
        Pet,
        "{}",
        r##"{"required":["name"]}"##;
    PROPERTY_BECAME_OPTIONAL = "property-became-optional": "a required property became optional",
        Pet,
        r##"{"required":["name"]}"##,
        "{}";
    PROPERTY_REMOVED = "property-removed": "a property is gone",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"properties":{"name":null}}"##;
    PROPERTY_BECAME_READ_ONLY = "property-became-read-only": "a property clients sent became `readOnly`",
        Pet,
        "{}",
        r##"{"properties":{"name":{"readOnly":true}}}"##;
    PROPERTY_NO_LONGER_READ_ONLY = "property-no-longer-read-only": "a `readOnly` property may be sent",
        Pet,
        r##"{"required":["name"],"properties":{"name":{"readOnly":true}}}"##,
        r##"{"required":["name"]}"##;
    PROPERTY_BECAME_WRITE_ONLY = "property-became-write-only": "a property servers answered became `writeOnly`",
        Pet,
        r##"{"required":["name"]}"##,
        r##"{"required":["name"],"properties":{"name":{"writeOnly":true}}}"##;
    PROPERTY_NO_LONGER_WRITE_ONLY = "property-no-longer-write-only": "a `writeOnly` property is answered",
        Pet,
        r##"{"required":["name"],"properties":{"name":{"writeOnly":true}}}"##,
        r##"{"required":["name"]}"##;
    ADDITIONAL_PROPERTIES_CLOSED = "additional-properties-closed": "`additionalProperties: false` was set",
        Pet,
        "{}",
        r##"{"additionalProperties":false}"##;
    ADDITIONAL_PROPERTIES_OPENED = "additional-properties-opened": "`additionalProperties: false` was withdrawn",
        Pet,
        r##"{"additionalProperties":false}"##,
        "{}";
}

impl<'a> Checker<'a> {
    pub(crate) fn object(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
    ) {
        let op = os.get("properties").and_then(obj).unwrap_or(&EMPTY);
        let np = ns.get("properties").and_then(obj).unwrap_or(&EMPTY);
        let oreq = strs(os.get("required"));
        let nreq = strs(ns.get("required"));
        let closed = |s: &Value| s.get("additionalProperties") == Some(&Value::Bool(false));
        let (oclosed, nclosed) = (closed(os), closed(ns));
        // readOnly properties are not sent in requests and writeOnly ones
        // not in responses; `required` does not hold for them there.
        let (hiding, hidden_name) = match pol {
            Polarity::Request => ("readOnly", "read-only"),
            Polarity::Response => ("writeOnly", "write-only"),
        };
        let hidden = |doc: &'a Value, s: &'a Value| {
            flag(s, hiding) || flag(resolve(doc, s, String::new()).0.schema, hiding)
        };

        for (name, new_schema) in np {
            let at = format!("{ptr}/properties/{}", seg(name));
            let new_hidden = hidden(self.new, new_schema);
            let required_now = nreq.contains(name) && !new_hidden;
            let Some(old_schema) = op.get(name) else {
                let (breaks_old, breaks_new, why) = match pol {
                    _ if new_hidden => (false, false, format!("{hidden_name}, so not sent here")),
                    // Old clients reject unknown properties only if closed.
                    Polarity::Response => (
                        oclosed,
                        required_now,
                        if oclosed {
                            "old clients deny unknown fields".to_owned()
                        } else {
                            "old clients ignore it".to_owned()
                        },
                    ),
                    Polarity::Request => (
                        required_now,
                        oclosed,
                        if required_now {
                            "old clients do not send it".to_owned()
                        } else {
                            "optional".to_owned()
                        },
                    ),
                };
                self.emit(
                    if required_now { PROPERTY_ADDED_REQUIRED } else { PROPERTY_ADDED_OPTIONAL },
                    combine(breaks_old, breaks_new),
                    &at,
                    format!("property {name} added ({why})"),
                );
                continue;
            };
            let old_hidden = hidden(self.old, old_schema);
            let required_before = oreq.contains(name) && !old_hidden;
            if old_hidden != new_hidden {
                let (rule, direction, why) = match (pol, new_hidden) {
                    (Polarity::Request, true) => (
                        PROPERTY_BECAME_READ_ONLY,
                        Direction::BreaksOldClients,
                        "old clients still send it; the new server ignores or refuses it",
                    ),
                    (Polarity::Request, false) if required_now => (
                        PROPERTY_NO_LONGER_READ_ONLY,
                        Direction::BreaksOldClients,
                        "requests must now carry it and old clients do not",
                    ),
                    (Polarity::Request, false) => (
                        PROPERTY_NO_LONGER_READ_ONLY,
                        Direction::BreaksNewClients,
                        "new clients may send it; old servers ignore or refuse it",
                    ),
                    (Polarity::Response, true) if required_before => (
                        PROPERTY_BECAME_WRITE_ONLY,
                        Direction::BreaksOldClients,
                        "responses no longer carry it and old clients require it",
                    ),
                    (Polarity::Response, true) => (
                        PROPERTY_BECAME_WRITE_ONLY,
                        Direction::Neither,
                        "responses no longer carry it; old clients had it as optional",
                    ),
                    (Polarity::Response, false) if required_now => (
                        PROPERTY_NO_LONGER_WRITE_ONLY,
                        Direction::BreaksNewClients,
                        "new clients require it in responses; old servers do not send it",
                    ),
                    (Polarity::Response, false) => (
                        PROPERTY_NO_LONGER_WRITE_ONLY,
                        Direction::Neither,
                        "responses may carry it",
                    ),
                };
                self.emit(rule, direction, &at, format!("property {name}: {why}"));
            } else {
                match (required_before, required_now) {
                    (false, true) => self.emit(
                        PROPERTY_BECAME_REQUIRED,
                        pol.stricter(),
                        &at,
                        format!(
                            "property {name} became required{}",
                            match pol {
                                Polarity::Request => "; old clients may omit it",
                                Polarity::Response => "; old servers may omit it for new clients",
                            }
                        ),
                    ),
                    (true, false) => self.emit(
                        PROPERTY_BECAME_OPTIONAL,
                        pol.looser(),
                        &at,
                        format!(
                            "property {name} became optional{}",
                            match pol {
                                Polarity::Request => "; old servers still require it",
                                Polarity::Response => "; old clients require it",
                            }
                        ),
                    ),
                    _ => {}
                }
            }
            if !new_hidden {
                self.schema(
                    old_schema,
                    format!("{old_ptr}/properties/{}", seg(name)),
                    new_schema,
                    at,
                    pol,
                    !required_now,
                );
            }
        }
        for (name, old_schema) in op {
            if np.contains_key(name) {
                continue;
            }
            let old_hidden = hidden(self.old, old_schema);
            let required_before = oreq.contains(name) && !old_hidden;
            let (breaks_old, breaks_new) = match pol {
                _ if old_hidden => (false, false),
                Polarity::Response => (required_before, nclosed),
                Polarity::Request => (nclosed, required_before),
            };
            self.emit(
                PROPERTY_REMOVED,
                combine(breaks_old, breaks_new),
                &format!("{old_ptr}/properties/{}", seg(name)),
                format!(
                    "property {name} removed{}",
                    if required_before { " (it was required)" } else { "" }
                ),
            );
        }
        if oclosed != nclosed && (os.get("properties").is_some() || ns.get("properties").is_some())
        {
            self.emit(
                if nclosed { ADDITIONAL_PROPERTIES_CLOSED } else { ADDITIONAL_PROPERTIES_OPENED },
                Direction::Neither,
                ptr,
                format!(
                    "additionalProperties became {}",
                    if nclosed { "false" } else { "allowed" }
                ),
            );
        }
        if let (Some(oa), Some(na)) =
            (os.get("additionalProperties"), ns.get("additionalProperties"))
            && oa.is_object()
            && na.is_object()
        {
            self.schema(
                oa,
                format!("{old_ptr}/additionalProperties"),
                na,
                format!("{ptr}/additionalProperties"),
                pol,
                false,
            );
        }
    }
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "request property added required",
            |d| {
                at(d, &format!("{INPUT}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("size".into(), json!({"type": "integer"}));
                at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("size"));
            },
            vec![("property-added-required", Both)],
        ),
        case(
            "request property added optional (closed object)",
            |d| {
                at(d, &format!("{INPUT}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("size".into(), json!({"type": "integer"}));
            },
            vec![("property-added-optional", BreaksNewClients)],
        ),
        case(
            "request property removed (closed object)",
            |d| {
                at(d, &format!("{INPUT}/properties")).as_object_mut().unwrap().remove("note");
            },
            vec![("property-removed", BreaksOldClients)],
        ),
        case(
            "request property became required",
            |d| at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("note")),
            vec![("property-became-required", BreaksOldClients)],
        ),
        case(
            "response property added to an open object",
            |d| {
                at(d, &format!("{THING}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("mass".into(), json!({"type": "number"}));
            },
            vec![("property-added-optional", Neither)],
        ),
        case(
            "response property removed (required)",
            |d| {
                at(d, &format!("{THING}/properties")).as_object_mut().unwrap().remove("tags");
                at(d, &format!("{THING}/required")).as_array_mut().unwrap().retain(|v| v != "tags");
            },
            vec![("property-removed", BreaksOldClients)],
        ),
        case(
            "response property removed (optional)",
            |d| {
                at(d, &format!("{THING}/properties")).as_object_mut().unwrap().remove("note");
            },
            vec![("property-removed", Neither)],
        ),
        case(
            "response property became optional",
            |d| at(d, &format!("{THING}/required")).as_array_mut().unwrap().retain(|v| v != "name"),
            vec![("property-became-optional", BreaksOldClients)],
        ),
        case(
            "request property became readOnly",
            |d| *at(d, &format!("{INPUT}/properties/note/readOnly")) = json!(true),
            vec![("property-became-read-only", BreaksOldClients)],
        ),
        reverse(
            "request property no longer readOnly",
            |d| *at(d, &format!("{INPUT}/properties/note/readOnly")) = json!(true),
            vec![("property-no-longer-read-only", BreaksNewClients)],
        ),
        case(
            "readOnly request property made required",
            |d| at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("id")),
            vec![],
        ),
        case(
            "readOnly property added as required to a request",
            |d| {
                at(d, &format!("{INPUT}/properties"))
                    .as_object_mut()
                    .unwrap()
                    .insert("created".into(), json!({"type": "string", "readOnly": true}));
                at(d, &format!("{INPUT}/required")).as_array_mut().unwrap().push(json!("created"));
            },
            vec![("property-added-optional", Neither)],
        ),
        case(
            "required response property became writeOnly",
            |d| *at(d, &format!("{THING}/properties/name/writeOnly")) = json!(true),
            vec![("property-became-write-only", BreaksOldClients)],
        ),
        reverse(
            "required response property no longer writeOnly",
            |d| *at(d, &format!("{THING}/properties/name/writeOnly")) = json!(true),
            vec![("property-no-longer-write-only", BreaksNewClients)],
        ),
        case(
            "required writeOnly response property removed",
            |d| {
                remove(d, &format!("{THING}/properties/secret"));
                at(d, &format!("{THING}/required"))
                    .as_array_mut()
                    .unwrap()
                    .retain(|v| v != "secret");
            },
            vec![("property-removed", Neither)],
        ),
        case(
            "response object closed",
            |d| *at(d, &format!("{THING}/additionalProperties")) = json!(false),
            vec![("additional-properties-closed", Neither)],
        ),
        case(
            "request object opened",
            |d| remove(d, &format!("{INPUT}/additionalProperties")),
            vec![("additional-properties-opened", Neither)],
        ),
    ]
}
