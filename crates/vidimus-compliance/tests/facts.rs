//! Facts the rulebook cannot make sense of are refused, naming the field and the
//! nearest known value: free-text place types (Art. 10), rule ids that do not exist
//! (the escalation of Art. 38–41 would be lost), and malformed fields in the format's
//! words, not the Rust types'.

mod support;

use serde_json::{Value, json};
use support::*;
use vidimus_compliance::{ComplianceBook, Facts, check_registration, evaluate};

fn book() -> ComplianceBook {
    ComplianceBook::shenzhen_draft()
}

fn load(v: &Value) -> Result<Facts, String> {
    Facts::load(&v.to_string(), &book()).map_err(|e| e.to_string())
}

fn with_location(location: &str) -> Value {
    let mut v = base();
    set(&mut v, "cameras.1.location_type", json!(location));
    v
}

#[test]
fn free_text_place_types_are_refused_with_the_nearest() {
    for (free, nearest) in [
        ("guest_room", "hotel_guest_room"),
        ("hotel guest room", "hotel_guest_room"),
        ("toilet", "restroom"),
        ("changing room", "dressing_room"),
        ("car_park", "parking"),
        ("bank hal", "bank_hall"),
    ] {
        let e = load(&with_location(free)).unwrap_err();
        let want = format!(
            "cameras[1].location_type: unknown location_type {free:?}: did you mean {nearest}?"
        );
        assert!(e.contains(&want), "{free}: {e}");
    }
    let e = load(&with_location("spaceship")).unwrap_err();
    assert!(
        e.contains("unknown location_type \"spaceship\": not a place type of the rulebook"),
        "{e}"
    );
}

#[test]
fn registration_refuses_an_unknown_place_type_before_any_rule() {
    // Today "toilet" is no prohibited place and would be registered as compliant.
    let facts: Facts = serde_json::from_value(with_location("toilet")).unwrap();
    let e = check_registration(&book(), &facts, date(AS_OF))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "cameras[1].location_type: unknown location_type \"toilet\": did you mean restroom?"
        ),
        "{e}"
    );
}

#[test]
fn evaluation_never_reads_an_unknown_place_type_as_permitted() {
    // The live registry may hold a value from before the vocabulary: Art. 10 is then
    // not evaluated for that camera, with the reason, and the report is not compliant.
    let facts: Facts = serde_json::from_value(with_location("guest_room")).unwrap();
    let r = evaluate(&book(), &facts, date(AS_OF));
    assert!(r.findings.is_empty(), "{}", r.to_text());
    let n = &r.not_evaluated[0];
    assert_eq!(
        (n.rule_id.as_str(), n.article.as_str()),
        ("art10.prohibited_place", "Art. 10")
    );
    assert_eq!(
        n.subject.as_ref().unwrap().label,
        "camera vault (Vault door)"
    );
    assert_eq!(
        n.reason,
        "unknown location_type \"guest_room\": did you mean hotel_guest_room?"
    );
    assert_eq!(r.status, "incomplete");
}

#[test]
fn every_place_type_has_both_labels_and_the_facts_schema_lists_them_all() {
    let book = book();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(
                &std::env::var("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
            )
            .join("../../docs/compliance/facts.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let listed: Vec<&str> = schema["$defs"]["placeType"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ids: Vec<&str> = book.places.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        listed, ids,
        "facts.schema.json's placeType is the rulebook's [[place]] list"
    );
    let prohibited: Vec<&str> = book
        .places
        .iter()
        .filter(|p| p.prohibited)
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(
        prohibited,
        [
            "hotel_guest_room",
            "hospital_patient_room",
            "hospital_examination_room",
            "dormitory",
            "public_bath",
            "restroom",
            "dressing_room",
            "nursing_room"
        ],
        "the eight places Art. 10 names"
    );
    for p in &book.places {
        assert!(!p.en.is_empty() && !p.zh.is_empty(), "{}", p.id);
    }
}

#[test]
fn a_prohibited_place_added_under_such_as_is_refused_with_no_code_change() {
    let added = format!(
        "{}\n[[place]]\nid = \"sauna_cabin\"\nen = \"sauna cabin\"\nzh = \"桑拿房\"\nprohibited = true\nbasis = \"read into Art. 10's such as: people undress there\"\n",
        vidimus_core::rulebook::SHENZHEN_DRAFT
    );
    let book2 = ComplianceBook::parse(&added).unwrap();
    let facts: Facts = serde_json::from_value(with_location("sauna_cabin")).unwrap();
    let found = check_registration(&book2, &facts, date(AS_OF)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule_id, "art10.prohibited_place");
    assert!(
        found[0].explanation.contains("sauna cabin / 桑拿房"),
        "{}",
        found[0].explanation
    );
    // A prohibited place must say why.
    let unexplained = added.replace(
        "basis = \"read into Art. 10's such as: people undress there\"\n",
        "",
    );
    let e = ComplianceBook::parse(&unexplained).unwrap_err().to_string();
    assert!(
        e.contains("place sauna_cabin: a prohibited place states its basis"),
        "{e}"
    );
    // And a rule comparing place types with one the rulebook lacks is refused.
    let typo = vidimus_core::rulebook::SHENZHEN_DRAFT.replacen(
        "requires = { fact = \"item.signage\", eq = true }",
        "requires = { fact = \"item.location_type\", ne = \"guest_room\" }",
        1,
    );
    let e = ComplianceBook::parse(&typo).unwrap_err().to_string();
    assert!(e.contains("\"guest_room\" is not a [[place]]"), "{e}");
}

#[test]
fn a_misspelt_rule_in_a_correction_notice_is_refused_with_the_nearest() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "correction_notice", "date": "2027-07-15", "rule": "art19.move_plan", "deadline": "2027-08-15" }),
    );
    let e = load(&v).unwrap_err();
    assert!(
        e.contains("events[8].rule: the correction notice of 2027-07-15 names \"art19.move_plan\", which is not a rule of the rulebook: did you mean art19.move_plans?"),
        "{e}"
    );
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "serious_consequences", "date": "2027-08-10", "rule": "art32.video_retension" }),
    );
    let e = load(&v).unwrap_err();
    assert!(
        e.contains("events[8].rule: the finding of serious consequences of 2027-08-10 names \"art32.video_retension\"")
            && e.contains("did you mean art32.video_retention?"),
        "{e}"
    );
    // A notice naming no rule, or setting no period, is refused too.
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "correction_notice", "date": "2027-07-15", "deadline": "2027-08-15" }),
    );
    assert!(
        load(&v)
            .unwrap_err()
            .contains("events[8].rule: the correction notice of 2027-07-15 names no rule")
    );
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "correction_notice", "date": "2027-07-15", "rule": "art19.move_plans" }),
    );
    assert!(
        load(&v)
            .unwrap_err()
            .contains("events[8].deadline: the correction notice of 2027-07-15 sets no period")
    );
    // Spelt right, it loads.
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "correction_notice", "date": "2027-07-15", "rule": "art19.move_plans", "deadline": "2027-08-15" }),
    );
    load(&v).unwrap();
}

#[test]
fn format_errors_name_the_field_not_the_rust_type() {
    let mut v = base();
    set(&mut v, "cameras.0.measured", json!(5));
    let e = Facts::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("cameras[0].measured: invalid type: integer `5`, expected an object"),
        "{e}"
    );
    assert!(!e.contains("struct"), "{e}");
    let mut v = base();
    set(&mut v, "events.3.kind", json!("testing"));
    let e = Facts::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("events[3].kind: unknown variant `testing`"),
        "{e}"
    );
    let mut v = base();
    set(&mut v, "cameras.1.retention_days", json!("ninety"));
    let e = Facts::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(
        e.contains("cameras[1].retention_days: invalid type: string \"ninety\""),
        "{e}"
    );
    let e = Facts::from_json("{\"system\": ").unwrap_err().to_string();
    assert!(e.starts_with("the facts are not valid: "), "{e}");
}
