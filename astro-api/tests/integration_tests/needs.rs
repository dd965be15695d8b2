//! The deploy gate reads astro-api's Harmony needs from
//! `astro-api/harmony-needs.json`; the code must say the same.

#[test]
fn declared_harmony_needs_match_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("harmony-needs.json");
    let declared: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let code: std::collections::BTreeMap<String, Vec<String>> = astro_api::harmony::harmony_needs()
        .into_iter()
        .map(|(kind, versions)| {
            (kind.to_owned(), versions.iter().map(ToString::to_string).collect())
        })
        .collect();
    assert_eq!(
        declared, code,
        "astro-api/harmony-needs.json is out of date; write what astro_api::harmony::harmony_needs() returns"
    );
}
