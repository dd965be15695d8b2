//! Composition: `oneOf`/`anyOf` variants, `allOf` parts and discriminators.

use super::enums::{enum_values, open_enum_values};
use crate::report::Direction;
use crate::walk::Checker;
use crate::walk::view::*;
use serde_json::Value;
use std::collections::BTreeMap;

crate::rules::catalogue! {
    DISCRIMINATOR_CHANGED = "discriminator-changed": "a discriminator was added, removed or names another property",
        Pet,
        r##"{"properties":{"shape":{"oneOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string"},"r":{"type":"number"}}},{"type":"object","required":["kind","side"],"properties":{"kind":{"type":"string"},"side":{"type":"number"}}}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind"},"oneOf":[{"type":"object","required":["kind","r"],"properties":{"kind":{"type":"string"},"r":{"type":"number"}}},{"type":"object","required":["kind","side"],"properties":{"kind":{"type":"string"},"side":{"type":"number"}}}]}}}"##;
    DISCRIMINATOR_MAPPING_ADDED = "discriminator-mapping-added": "a discriminator value is new",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet","round":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##;
    DISCRIMINATOR_MAPPING_CHANGED = "discriminator-mapping-changed": "a discriminator value selects another schema",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Other"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##;
    DISCRIMINATOR_MAPPING_REMOVED = "discriminator-mapping-removed": "a discriminator value is gone",
        Pet,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet","round":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##,
        r##"{"properties":{"shape":{"discriminator":{"propertyName":"kind","mapping":{"circle":"#/components/schemas/Pet"}},"oneOf":[{"$ref":"#/components/schemas/Pet"}]}}}"##;
    VARIANT_ADDED = "variant-added": "a `oneOf`/`anyOf` variant is new",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"##,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"object","required":["team"],"properties":{"team":{"type":"string"}}}]}}}"##;
    VARIANT_REMOVED = "variant-removed": "a `oneOf`/`anyOf` variant is gone",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"##,
        r##"{"properties":{"owner":{"oneOf":[{"type":"string"}]}}}"##;
    VARIANTS_CHANGED = "variants-changed": "a schema became, or stopped being, a `oneOf`/`anyOf`",
        Pet,
        r##"{"properties":{"owner":{"oneOf":[{"type":"object","required":["a"]},{"type":"object","required":["b"]}]}}}"##,
        r##"{"properties":{"owner":{"type":"object"}}}"##;
    ALL_OF_CHANGED = "all-of-changed": "an `allOf` gained or lost parts",
        Pet,
        r##"{"properties":{"owner":{"allOf":[{"type":"object"},{"type":"object","properties":{"a":{"type":"string"}}}]}}}"##,
        r##"{"properties":{"owner":{"allOf":[{"type":"object"},{"type":"object","properties":{"a":{"type":"string"}}},{"type":"object","properties":{"b":{"type":"string"}}}]}}}"##;
}

impl<'a> Checker<'a> {
    /// Variants and `allOf` parts, each pair walked as schemas.
    pub(crate) fn composition(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
        optional: bool,
    ) {
        // A oneOf of single-value enums is a string enum (schemars writes
        // documented variants that way; typify reads it back as one closed
        // Rust enum): compared as an enum, not as variants; so is an open
        // enum written as `anyOf: [{enum}, {type: string}]`.
        let enum_like = |doc, s: &Value| {
            (enum_values(doc, s).is_some() && s.get("enum").is_none() && s.get("const").is_none())
                || open_enum_values(s).is_some()
        };
        if !(enum_like(self.old, os) || enum_like(self.new, ns)) {
            for keyword in ["oneOf", "anyOf"] {
                self.variants(os, old_ptr, ns, ptr, pol, keyword);
            }
        }
        if let (Some(oa), Some(na)) =
            (os.get("allOf").and_then(Value::as_array), ns.get("allOf").and_then(Value::as_array))
        {
            for (i, (a, b)) in oa.iter().zip(na).enumerate() {
                self.schema(
                    a,
                    format!("{old_ptr}/allOf/{i}"),
                    b,
                    format!("{ptr}/allOf/{i}"),
                    pol,
                    optional,
                );
            }
            if oa.len() != na.len() {
                self.emit(
                    ALL_OF_CHANGED,
                    Direction::Both,
                    ptr,
                    format!("allOf went from {} to {} parts", oa.len(), na.len()),
                );
            }
        }
    }

    pub(crate) fn discriminator(&mut self, os: &Value, ns: &Value, ptr: &str, pol: Polarity) {
        let (od, nd) = (os.get("discriminator"), ns.get("discriminator"));
        if od.is_none() && nd.is_none() {
            return;
        }
        let at = format!("{ptr}/discriminator");
        let property = |d: Option<&Value>| {
            d.and_then(|d| d.get("propertyName")).and_then(Value::as_str).map(str::to_owned)
        };
        if property(od) != property(nd) {
            self.emit(
                DISCRIMINATOR_CHANGED,
                Direction::Both,
                &at,
                format!(
                    "the discriminator property went from {} to {}; each document's clients tell \
                     variants apart by a property the other server does not set or read",
                    property(od).unwrap_or_else(|| "none".into()),
                    property(nd).unwrap_or_else(|| "none".into())
                ),
            );
            return;
        }
        let mapping = |d: Option<&Value>| -> BTreeMap<String, String> {
            d.and_then(|d| d.get("mapping"))
                .and_then(obj)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            // Targets compare by name: a component renamed
                            // everywhere changes nothing.
                            let target = v.as_str().unwrap_or_default();
                            (k.clone(), target.rsplit('/').next().unwrap_or(target).to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (om, nm) = (mapping(od), mapping(nd));
        for (value, target) in &nm {
            match om.get(value) {
                None => self.emit(
                    DISCRIMINATOR_MAPPING_ADDED,
                    pol.looser(),
                    &at,
                    format!(
                        "discriminator value {value} was added{}",
                        match pol {
                            Polarity::Response => "; old clients cannot pick a variant for it",
                            Polarity::Request => "; old servers do not know it",
                        }
                    ),
                ),
                Some(old) if old != target => self.emit(
                    DISCRIMINATOR_MAPPING_CHANGED,
                    Direction::Both,
                    &at,
                    format!("discriminator value {value} now selects {target}, not {old}"),
                ),
                Some(_) => {}
            }
        }
        for value in om.keys().filter(|v| !nm.contains_key(*v)) {
            self.emit(
                DISCRIMINATOR_MAPPING_REMOVED,
                pol.stricter(),
                &at,
                format!("discriminator value {value} was removed"),
            );
        }
    }

    pub(crate) fn variants(
        &mut self,
        os: &'a Value,
        old_ptr: &str,
        ns: &'a Value,
        ptr: &str,
        pol: Polarity,
        keyword: &str,
    ) {
        // `{"type": "null"}` variants are nullability, judged by `schema`.
        let list = |s: &'a Value| -> Option<Vec<(usize, &'a Value)>> {
            s.get(keyword)
                .and_then(Value::as_array)
                .map(|l| l.iter().enumerate().filter(|(_, v)| !is_null_schema(v)).collect())
        };
        let (Some(ov), Some(nv)) = (list(os), list(ns)) else {
            if list(os).is_some() != list(ns).is_some() {
                self.emit(
                    VARIANTS_CHANGED,
                    Direction::Both,
                    ptr,
                    format!("{keyword} appeared or disappeared"),
                );
            }
            return;
        };
        let old_sigs: Vec<String> = ov
            .iter()
            .map(|(i, v)| signature(self.old, v).unwrap_or_else(|| format!("#{i}")))
            .collect();
        let new_sigs: Vec<String> = nv
            .iter()
            .map(|(i, v)| signature(self.new, v).unwrap_or_else(|| format!("#{i}")))
            .collect();
        // Variants are paired by signature: where several share one (two
        // unnamed arrays, say), the one at the same place first, then in
        // order; every variant is paired at most once.
        let mut pair: Vec<Option<usize>> = vec![None; nv.len()];
        let mut taken = vec![false; ov.len()];
        for (k, s) in new_sigs.iter().enumerate() {
            if k < old_sigs.len() && old_sigs[k] == *s {
                pair[k] = Some(k);
                taken[k] = true;
            }
        }
        for (k, s) in new_sigs.iter().enumerate() {
            if pair[k].is_none()
                && let Some(j) = (0..old_sigs.len()).find(|&j| !taken[j] && old_sigs[j] == *s)
            {
                pair[k] = Some(j);
                taken[j] = true;
            }
        }
        for (k, s) in new_sigs.iter().enumerate() {
            let (i, v) = nv[k];
            match pair[k] {
                Some(j) => self.schema(
                    ov[j].1,
                    format!("{old_ptr}/{keyword}/{}", ov[j].0),
                    v,
                    format!("{ptr}/{keyword}/{i}"),
                    pol,
                    false,
                ),
                None => self.emit(
                    VARIANT_ADDED,
                    pol.looser(),
                    &format!("{ptr}/{keyword}/{i}"),
                    format!(
                        "{keyword} variant {s} added{}",
                        match pol {
                            Polarity::Response => "; old clients match no variant for it",
                            Polarity::Request => "; old servers do not accept it",
                        }
                    ),
                ),
            }
        }
        for (k, s) in old_sigs.iter().enumerate() {
            if !taken[k] {
                self.emit(
                    VARIANT_REMOVED,
                    pol.stricter(),
                    &format!("{old_ptr}/{keyword}/{}", ov[k].0),
                    format!(
                        "{keyword} variant {s} removed{}",
                        match pol {
                            Polarity::Request => "; old clients may still send it",
                            Polarity::Response => "; old servers may still send it to new clients",
                        }
                    ),
                );
            }
        }
    }
}

/// What identifies a oneOf/anyOf variant across documents: its single enum
/// value, or its types, required and named properties; a component renamed
/// still matches by this shape.
pub(crate) fn signature(doc: &Value, v: &Value) -> Option<String> {
    let (view, _) = resolve(doc, v, String::new());
    let s = view.schema;
    if let Some(values) = s.get("enum").and_then(Value::as_array)
        && values.len() == 1
    {
        return Some(format!("enum {}", values[0]));
    }
    if let Some(value) = s.get("const") {
        return Some(format!("enum {value}"));
    }
    let required = strs(s.get("required"));
    let properties: Vec<&String> =
        s.get("properties").and_then(obj).map(|p| p.keys().collect()).unwrap_or_default();
    let ty = types(s).map(|t| t.into_iter().collect::<Vec<_>>().join("|"));
    if required.is_empty() && ty.is_none() && properties.is_empty() {
        return v.get("$ref").and_then(Value::as_str).map(str::to_owned);
    }
    Some(format!(
        "{} {{{}}}",
        ty.unwrap_or_else(|| "any".to_owned()),
        if required.is_empty() {
            properties.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
        } else {
            required.into_iter().collect::<Vec<_>>().join(",")
        }
    ))
}

#[cfg(test)]
pub(crate) fn cases() -> Vec<super::cases::Case> {
    use super::cases::*;
    vec![
        case(
            "response oneOf variant added",
            |d| {
                at(d, "/components/schemas/Shape/oneOf").as_array_mut().unwrap().push(json!({"type": "object", "required": ["line"], "properties": {"line": {"type": "number"}}}))
            },
            vec![("variant-added", BreaksOldClients)],
        ),
        case(
            "response oneOf variant removed",
            |d| {
                at(d, "/components/schemas/Shape/oneOf").as_array_mut().unwrap().pop();
            },
            vec![("variant-removed", BreaksNewClients)],
        ),
        case(
            "request oneOf variant removed",
            |d| {
                at(d, &format!("{INPUT}/properties/mode/oneOf")).as_array_mut().unwrap().pop();
            },
            vec![("variant-removed", BreaksOldClients)],
        ),
        reverse(
            "request oneOf variant added",
            |d| {
                at(d, &format!("{INPUT}/properties/mode/oneOf")).as_array_mut().unwrap().pop();
            },
            vec![("variant-added", BreaksNewClients)],
        ),
        case(
            "request anyOf variant removed",
            |d| {
                at(d, &format!("{INPUT}/properties/mode/anyOf")).as_array_mut().unwrap().pop();
            },
            vec![("variant-removed", BreaksOldClients)],
        )
        .setup(|d| {
            let mode = at(d, &format!("{INPUT}/properties/mode")).as_object_mut().unwrap();
            let variants = mode.remove("oneOf").unwrap();
            mode.insert("anyOf".into(), variants);
        }),
        case(
            "response discriminator value added",
            |d| *at(d, "/components/schemas/Pick/discriminator/mapping/kitten") = json!("#/components/schemas/Cat"),
            vec![("discriminator-mapping-added", BreaksOldClients)],
        ),
        case(
            "response discriminator value removed",
            |d| remove(d, "/components/schemas/Pick/discriminator/mapping/dog"),
            vec![("discriminator-mapping-removed", BreaksNewClients)],
        ),
        case(
            "response discriminator value selects another variant",
            |d| *at(d, "/components/schemas/Pick/discriminator/mapping/cat") = json!("#/components/schemas/Dog"),
            vec![("discriminator-mapping-changed", Both)],
        ),
        case(
            "discriminator property renamed",
            |d| *at(d, "/components/schemas/Pick/discriminator/propertyName") = json!("kind"),
            vec![("discriminator-changed", Both)],
        ),
        reverse(
            "discriminator added",
            |d| remove(d, "/components/schemas/Pick/discriminator"),
            vec![("discriminator-changed", Both)],
        ),
        case(
            "response oneOf became a plain object",
            |d| *at(d, "/components/schemas/Shape") = json!({"type": "object"}),
            vec![("variants-changed", Both)],
        ),
        case(
            "response allOf gained a part",
            |d| at(d, &format!("{THING}/properties/extra/allOf")).as_array_mut().unwrap().push(json!({"type": "object", "properties": {"c": {"type": "string"}}})),
            vec![("all-of-changed", Both)],
        )
        .setup(|d| {
            *at(d, &format!("{THING}/properties/extra")) = json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "object", "properties": {"b": {"type": "string"}}}]});
        }),
    ]
}
