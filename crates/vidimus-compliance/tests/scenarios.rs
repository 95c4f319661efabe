//! Scenarios written from the text of the regulation: whole systems, several facts at
//! once, tiers that follow from orders to correct and serious consequences, and the
//! rulebook as data (a changed fine range or Art. 47 changes the output, no code).

mod support;

use serde_json::{Value, json};
use support::*;
use vidimus_compliance::rules::TierId;
use vidimus_compliance::{ComplianceBook, Facts, check_registration};
use vidimus_core::rulebook::SHENZHEN_DRAFT;

fn book() -> ComplianceBook {
    ComplianceBook::shenzhen_draft()
}

fn only(report: &vidimus_compliance::Report, rule: &str) -> vidimus_compliance::Finding {
    let f: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == rule)
        .collect();
    assert_eq!(f.len(), 1, "{rule}: {}", report.to_text());
    f[0].clone()
}

/// A system of Art. 9 ¶1 that has no system at all.
fn uninstalled(category: &str) -> Value {
    json!({
        "system": { "id": "s", "name": "Example Bank, Luohu sub-branch", "site_category": category,
                    "installed": false, "owner": "Luohu Holdings" }
    })
}

#[test]
fn a_bank_branch_with_no_system_is_warned_under_art_38() {
    let r = run(&book(), &uninstalled("item_4"), AS_OF);
    assert_eq!(rule_ids(&r), ["art9.install_required"], "{}", r.to_text());
    let f = only(&r, "art9.install_required");
    assert_eq!(
        (f.article.as_str(), f.penalty_article.as_deref()),
        ("Art. 9 ¶1(4)", Some("Art. 38"))
    );
    assert_eq!(f.tier, Some(TierId::FirstInstance));
    assert!(f.fines.is_empty());
    assert_eq!(
        measures(&f.measures),
        ["warning shall", "order_correction_within_set_period shall"]
    );
    assert!(f.explanation.contains("Art. 38"), "{}", f.explanation);
}

#[test]
fn refusing_to_install_after_the_set_period_is_fined() {
    let mut v = uninstalled("item_4");
    v["events"] = json!([{ "kind": "correction_notice", "date": "2027-06-01", "rule": "art9.install_required", "deadline": "2027-07-01" }]);
    // On the last day of the period it is still the first instance ...
    let f = only(&run(&book(), &v, "2027-07-01"), "art9.install_required");
    assert_eq!(f.tier, Some(TierId::FirstInstance));
    assert_eq!(f.correction_deadline, Some(date("2027-07-01")));
    // ... the day after, the correction was refused.
    let f = only(&run(&book(), &v, "2027-07-02"), "art9.install_required");
    assert_eq!(f.tier, Some(TierId::CorrectionRefused));
    assert_eq!(
        fines(&f.fines),
        [
            "unit 10000-30000 shall",
            "directly_responsible 2000-5000 may"
        ]
    );
    assert!(
        f.explanation.contains("correction refused"),
        "{}",
        f.explanation
    );
}

#[test]
fn serious_consequences_of_not_installing_raise_the_fines() {
    let mut v = uninstalled("item_1");
    v["events"] = json!([{ "kind": "serious_consequences", "date": "2027-08-01", "rule": "art9.install_required" }]);
    let f = only(&run(&book(), &v, AS_OF), "art9.install_required");
    assert_eq!(f.article, "Art. 9 ¶1(1)", "a metro station: item (1)");
    assert_eq!(f.tier, Some(TierId::SeriousConsequences));
    assert_eq!(
        fines(&f.fines),
        [
            "unit 30000-100000 shall",
            "directly_responsible 5000-10000 shall"
        ]
    );
}

fn with_camera(location: &str) -> Facts {
    let mut v = base();
    add_camera(&mut v, location);
    serde_json::from_value(v).unwrap()
}

fn add_camera(v: &mut Value, location: &str) {
    v["cameras"].as_array_mut().unwrap().push(json!({
        "id": "new", "location_type": location, "network_interface": true, "retention_days": 30
    }));
}

#[test]
fn a_camera_in_a_hotel_guest_room_is_refused_at_registration() {
    let found = check_registration(&book(), &with_camera("hotel_guest_room"), date(AS_OF)).unwrap();
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(
        (f.rule_id.as_str(), f.article.as_str()),
        ("art10.prohibited_place", "Art. 10")
    );
    assert_eq!(f.penalty_article.as_deref(), Some("Art. 39(1)"));
    assert_eq!(f.subject.label, "camera new");
    assert!(
        f.explanation.contains("hotel guest rooms"),
        "{}",
        f.explanation
    );
}

#[test]
fn every_prohibited_place_of_art_10_is_refused() {
    for place in [
        "hotel_guest_room",
        "hospital_patient_room",
        "hospital_examination_room",
        "dormitory",
        "public_bath",
        "restroom",
        "dressing_room",
        "nursing_room",
    ] {
        let found = check_registration(&book(), &with_camera(place), date(AS_OF)).unwrap();
        assert_eq!(found.len(), 1, "{place}");
        assert_eq!(found[0].rule_id, "art10.prohibited_place");
    }
}

#[test]
fn a_hotel_corridor_camera_is_accepted() {
    assert!(
        check_registration(&book(), &with_camera("hotel_corridor"), date(AS_OF))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn registration_checks_only_installation_rules() {
    // A retention of 20 days is a finding of the evaluation, not a registration refusal.
    let mut v = base();
    set(&mut v, "cameras.0.retention_days", json!(20));
    let facts: Facts = serde_json::from_value(v.clone()).unwrap();
    assert!(
        check_registration(&book(), &facts, date(AS_OF))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        rule_ids(&run(&book(), &v, AS_OF)),
        ["art32.video_retention"]
    );
}

#[test]
fn a_shop_outside_art_9_must_declare_its_personal_security_purpose() {
    let mut v = base();
    set(&mut v, "system.site_category", json!("outside_scope"));
    let facts: Facts = serde_json::from_value(v.clone()).unwrap();
    let found = check_registration(&book(), &facts, date(AS_OF)).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule_id, "art11.personal_security_purpose");
    assert_eq!(found[0].penalty_article.as_deref(), Some("Art. 39(2)"));
    set(
        &mut v,
        "system.personal_security_purpose",
        json!("protection of stock"),
    );
    let facts: Facts = serde_json::from_value(v).unwrap();
    assert!(
        check_registration(&book(), &facts, date(AS_OF))
            .unwrap()
            .is_empty()
    );
}

/// A metro station (item 1) accepted on 2027-01-10.
fn metro_station() -> Value {
    let mut v = base();
    set(&mut v, "system.site_category", json!("item_1"));
    set(
        &mut v,
        "system.name",
        json!("Metro Line 1, Window of the World station"),
    );
    remove_events(&mut v, "filing");
    // Measured state is a snapshot of the evaluation day; these evaluate earlier.
    remove(&mut v, "cameras.0.measured");
    v
}

#[test]
fn a_metro_station_accepted_31_days_ago_and_not_filed_breaches_art_18() {
    let r = run(&book(), &metro_station(), "2027-02-10");
    assert_eq!(rule_ids(&r), ["art18.filing_deadline"], "{}", r.to_text());
    let f = only(&r, "art18.filing_deadline");
    assert_eq!(f.penalty_article.as_deref(), Some("Art. 41(1)"));
    assert_eq!(f.deadline, Some(date("2027-02-09")));
    assert!(f.explanation.contains("31 days later"), "{}", f.explanation);
}

#[test]
fn a_metro_station_accepted_30_days_ago_has_an_upcoming_deadline_only() {
    let r = run(&book(), &metro_station(), "2027-02-09");
    assert!(r.findings.is_empty(), "{}", r.to_text());
    let u = r
        .upcoming
        .iter()
        .find(|u| u.rule_id == "art18.filing_deadline")
        .unwrap();
    assert_eq!((u.due, u.days_left), (date("2027-02-09"), 0));
}

#[test]
fn filing_late_ends_the_finding() {
    let mut v = metro_station();
    add_event(
        &mut v,
        json!({ "kind": "filing", "date": "2027-02-20",
        "materials": ["filing_declaration_form", "design_plan", "compliance_demonstration_report",
                      "completion_acceptance_report", "product_certification",
                      "contractor_business_licence", "testing_report"] }),
    );
    assert!(run(&book(), &v, "2027-03-01").findings.is_empty());
}

#[test]
fn a_gas_station_accepted_without_testing_breaches_art_14_and_its_filing_art_18_2() {
    let mut v = base();
    set(&mut v, "system.site_category", json!("item_2"));
    remove_events(&mut v, "testing_report");
    set(
        &mut v,
        "events.1.materials",
        json!([
            "filing_declaration_form",
            "design_plan",
            "compliance_demonstration_report",
            "completion_acceptance_report",
            "product_certification",
            "contractor_business_licence"
        ]),
    );
    let r = run(&book(), &v, AS_OF);
    assert_eq!(
        rule_ids(&r),
        [
            "art14.testing_before_acceptance",
            "art18.filing_testing_report"
        ],
        "{}",
        r.to_text()
    );
    assert_eq!(
        only(&r, "art14.testing_before_acceptance")
            .penalty_article
            .as_deref(),
        Some("Art. 40(1)")
    );
}

#[test]
fn a_hotel_needs_no_testing_before_acceptance() {
    let mut v = base();
    set(&mut v, "system.site_category", json!("item_6"));
    remove_events(&mut v, "testing_report");
    let r = run(&book(), &v, AS_OF);
    assert!(r.findings.is_empty(), "{}", r.to_text());
}

#[test]
fn a_retention_of_20_days_breaches_art_32() {
    let mut v = base();
    set(&mut v, "cameras.0.retention_days", json!(20));
    let f = only(&run(&book(), &v, AS_OF), "art32.video_retention");
    assert_eq!(
        (f.article.as_str(), f.penalty_article.as_deref()),
        ("Art. 32", Some("Art. 41(8)"))
    );
    assert!(f.explanation.contains("20"), "{}", f.explanation);
}

#[test]
fn a_key_target_kept_60_days_breaches_only_the_90_day_minimum() {
    let mut v = base();
    set(&mut v, "cameras.1.retention_days", json!(60));
    assert_eq!(
        rule_ids(&run(&book(), &v, AS_OF)),
        ["art32.key_target_retention"]
    );
}

/// A shop outside Art. 9 ¶1 with its purpose declared.
fn shop() -> Value {
    let mut v = base();
    set(&mut v, "system.site_category", json!("outside_scope"));
    set(
        &mut v,
        "system.personal_security_purpose",
        json!("protection of the shop's stock"),
    );
    v
}

#[test]
fn a_move_without_the_30_day_record_breaches_art_19_2() {
    let mut v = shop();
    add_event(
        &mut v,
        json!({ "kind": "move_or_removal", "date": "2027-08-20", "record_date": "2027-08-10" }),
    );
    let f = only(&run(&book(), &v, AS_OF), "art19.move_record");
    assert_eq!(f.penalty_article.as_deref(), Some("Art. 41(2)"));
    // Never reported at all is the same breach.
    let mut v = shop();
    add_event(
        &mut v,
        json!({ "kind": "move_or_removal", "date": "2027-08-20", "removal": true }),
    );
    only(&run(&book(), &v, AS_OF), "art19.move_record");
}

#[test]
fn a_bank_moving_cameras_without_a_transition_plan_and_refusing_to_correct() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "move_or_removal", "date": "2027-07-01", "reconstruction_plan": "R-7" }),
    );
    add_event(
        &mut v,
        json!({ "kind": "inspection", "date": "2027-07-15", "inspector": "Futian PSB" }),
    );
    add_event(
        &mut v,
        json!({ "kind": "correction_notice", "date": "2027-07-15", "rule": "art19.move_plans", "deadline": "2027-08-15" }),
    );
    let f = only(&run(&book(), &v, AS_OF), "art19.move_plans");
    assert_eq!(f.penalty_article.as_deref(), Some("Art. 40(3)"));
    assert_eq!(f.tier, Some(TierId::CorrectionRefused));
    assert_eq!(
        fines(&f.fines),
        [
            "unit 2000-10000 shall",
            "directly_responsible 2000-5000 may"
        ]
    );
    let serious = f
        .escalation
        .iter()
        .find(|t| t.tier == TierId::SeriousConsequences)
        .unwrap();
    assert_eq!(measures(&serious.measures), ["order_stop_operations may"]);
}

#[test]
fn an_existing_system_not_filed_within_60_days_of_the_effective_date() {
    let mut v = base();
    set(&mut v, "system.existed_before_regulation", json!(true));
    remove_events(&mut v, "filing");
    remove(&mut v, "cameras.0.measured");
    let f = only(
        &run(&book(), &v, "2027-03-03"),
        "art18.filing_existing_system",
    );
    assert_eq!(
        (f.article.as_str(), f.deadline),
        ("Art. 18 ¶3", Some(date("2027-03-02")))
    );
    // The 30 days after its own acceptance do not apply to it.
    assert!(run(&book(), &v, "2027-03-02").findings.is_empty());
}

#[test]
fn without_the_effective_date_art_18_3_is_not_evaluated() {
    let mut v = base();
    set(&mut v, "system.existed_before_regulation", json!(true));
    remove(&mut v, "regulation.effective_date");
    remove_events(&mut v, "filing");
    let r = run(&book(), &v, "2030-01-01");
    assert!(!rule_ids(&r).contains(&"art18.filing_existing_system"));
    let n = &r.not_evaluated[0];
    assert_eq!(
        (n.rule_id.as_str(), n.missing.as_deref().unwrap()),
        ("art18.filing_existing_system", "regulation.effective_date")
    );
}

#[test]
fn an_interested_party_copying_without_psb_approval_is_fined_at_once() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "access", "date": "2027-08-01", "party": "interested_party",
        "reproduced": true, "registered": true, "note": "owner of a damaged car" }),
    );
    let f = only(
        &run(&book(), &v, AS_OF),
        "art35.interested_party_reproduction",
    );
    assert_eq!(f.penalty_article.as_deref(), Some("Art. 45"));
    assert_eq!(
        fines(&f.fines),
        [
            "individual 2000-5000 shall",
            "unit 10000-30000 shall",
            "directly_responsible 2000-5000 shall"
        ]
    );
}

#[test]
fn one_officer_alone_breaches_art_34_1() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "access", "date": "2027-08-01", "party": "psb", "staff": 1, "work_ids": true, "registered": true }),
    );
    let r = run(&book(), &v, AS_OF);
    assert_eq!(rule_ids(&r), ["art34.two_staff"], "{}", r.to_text());
    let f = only(&r, "art34.two_staff");
    assert_eq!(
        (f.article.as_str(), f.penalty_article.as_deref()),
        ("Art. 34(1)", Some("Art. 46(4)"))
    );
    assert!(
        f.explanation.contains("item.staff is 1"),
        "{}",
        f.explanation
    );
}

#[test]
fn two_officers_one_without_a_work_id_breach_art_34_2_only() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "access", "date": "2027-08-01", "party": "psb", "staff": 2, "work_ids": false, "registered": true }),
    );
    let r = run(&book(), &v, AS_OF);
    assert_eq!(rule_ids(&r), ["art34.work_ids"], "{}", r.to_text());
    assert_eq!(only(&r, "art34.work_ids").article, "Art. 34(2)");
}

#[test]
fn a_filing_lacking_only_the_contractors_licences_breaches_art_18_1_4() {
    let mut v = base();
    set(
        &mut v,
        "events.2.materials",
        json!([
            "filing_declaration_form",
            "design_plan",
            "compliance_demonstration_report",
            "completion_acceptance_report",
            "product_certification",
            "testing_report"
        ]),
    );
    let r = run(&book(), &v, AS_OF);
    assert_eq!(
        rule_ids(&r),
        ["art18.filing_contractor_licences"],
        "{}",
        r.to_text()
    );
    assert_eq!(
        only(&r, "art18.filing_contractor_licences").article,
        "Art. 18 ¶1(4)"
    );
}

#[test]
fn turning_a_camera_without_authorisation_is_fined_and_more_if_serious() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "change", "date": "2027-08-01", "authorised": false }),
    );
    let f = only(&run(&book(), &v, AS_OF), "art29.unauthorised_change");
    assert_eq!(f.tier, Some(TierId::FirstInstance));
    assert_eq!(
        fines(&f.fines),
        [
            "individual 2000-5000 shall",
            "unit 10000-30000 shall",
            "directly_responsible 2000-5000 shall"
        ]
    );
    assert_eq!(
        f.referrals,
        [
            "public_security_administration_punishment",
            "justice_organs"
        ]
    );
    add_event(
        &mut v,
        json!({ "kind": "serious_consequences", "date": "2027-08-10", "rule": "art29.unauthorised_change" }),
    );
    let f = only(&run(&book(), &v, AS_OF), "art29.unauthorised_change");
    assert_eq!(f.tier, Some(TierId::SeriousConsequences));
    assert_eq!(
        fines(&f.fines),
        [
            "individual 5000-10000 shall",
            "unit 30000-100000 shall",
            "directly_responsible 5000-10000 shall"
        ]
    );
}

#[test]
fn art_41_has_no_serious_tier_so_refusal_is_the_highest() {
    let mut v = base();
    set(&mut v, "cameras.0.retention_days", json!(7));
    add_event(
        &mut v,
        json!({ "kind": "serious_consequences", "date": "2027-08-10", "rule": "art32.video_retention" }),
    );
    let f = only(&run(&book(), &v, AS_OF), "art32.video_retention");
    // Serious consequences found; Art. 41 writes first instance and refusal only:
    // without an order to correct that was refused, it stays at the first instance.
    assert_eq!(f.tier, Some(TierId::FirstInstance));
    assert!(
        f.explanation.contains("no separate tier"),
        "{}",
        f.explanation
    );
}

#[test]
fn broadcasting_unblurred_faces_breaches_art_31() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "publication", "date": "2027-08-01", "sensitive": true, "anonymised": false }),
    );
    assert_eq!(
        only(&run(&book(), &v, AS_OF), "art31.public_broadcast")
            .penalty_article
            .as_deref(),
        Some("Art. 41(7)")
    );
}

#[test]
fn deleting_video_within_its_retention_is_fined_under_art_44() {
    let mut v = base();
    set(
        &mut v,
        "cameras.0.measured.deleted_within_retention",
        json!(3),
    );
    let f = only(&run(&book(), &v, AS_OF), "art30.deleted_within_retention");
    assert_eq!(
        fines(&f.fines),
        [
            "individual 2000-5000 shall",
            "unit 10000-30000 shall",
            "directly_responsible 2000-5000 may"
        ]
    );
}

#[test]
fn a_two_hour_recording_gap_is_not_continuous_storage() {
    let mut v = base();
    set(
        &mut v,
        "cameras.0.measured.longest_gap_seconds",
        json!(7200),
    );
    only(&run(&book(), &v, AS_OF), "art32.continuous_storage");
}

#[test]
fn a_failed_periodic_test_left_uncorrected_has_no_penalty_article() {
    let mut v = base();
    add_event(
        &mut v,
        json!({ "kind": "testing_report", "date": "2027-07-01", "periodic": true, "passed": false,
        "deadline": "2027-08-01", "copy_to_psb": "2027-07-02" }),
    );
    let f = only(&run(&book(), &v, AS_OF), "art27.test_correction");
    assert_eq!((f.penalty_article.as_ref(), f.tier), (None, None));
    assert!(
        f.explanation.contains("Chapter IV names no penalty"),
        "{}",
        f.explanation
    );
}

#[test]
fn the_responsible_entity_follows_art_9_2() {
    let mut v = base();
    let entity = |v: &Value| {
        serde_json::from_value::<Facts>(v.clone())
            .unwrap()
            .responsible_entity()
            .unwrap()
            .0
    };
    assert_eq!(entity(&v), "Example Bank Shenzhen Branch");
    remove(&mut v, "system.responsible_entity_agreed");
    assert_eq!(
        entity(&v),
        "Shenzhen Property Co.",
        "no agreement: the owner"
    );
    set(&mut v, "system.state_owned", json!(true));
    assert_eq!(
        entity(&v),
        "Example Bank Shenzhen Branch",
        "State-owned: the user"
    );
}

#[test]
fn a_neglected_system_accumulates_findings() {
    // Accepted, never filed, no assessments, no training, no emergency plan, one
    // officer alone, logs kept 90 days: a year and a half later.
    let mut v = base();
    for k in [
        "filing",
        "performance_assessment",
        "security_assessment",
        "training",
        "emergency_plan",
    ] {
        remove_events(&mut v, k);
    }
    set(&mut v, "system.log_retention_days", json!(90));
    remove(&mut v, "cameras.0.measured");
    let access = v["events"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["kind"] == "access")
        .unwrap();
    access["staff"] = json!(1);
    let r = run(&book(), &v, "2028-07-01");
    let ids = rule_ids(&r);
    for want in [
        "art18.filing_deadline",
        "art24.performance_assessment",
        "art24.security_assessment",
        "art24.training",
        "art24.emergency_plan",
        "art32.log_retention",
        "art34.two_staff",
    ] {
        assert!(ids.contains(&want), "{want}: {}", r.to_text());
    }
    assert_eq!(r.status, "findings");
}

#[test]
fn changing_a_fine_range_in_the_file_changes_the_output() {
    let mut v = base();
    set(&mut v, "cameras.0.retention_days", json!(20));
    add_event(
        &mut v,
        json!({ "kind": "correction_notice", "date": "2027-08-01", "rule": "art32.video_retention", "deadline": "2027-08-15" }),
    );
    let before = only(&run(&book(), &v, AS_OF), "art32.video_retention");
    assert_eq!(fines(&before.fines)[0], "unit 10000-30000 shall");
    // The same rulebook with Art. 41's refusal fine for units raised: no code changes.
    let needle = r#"{ tier = "correction_refused", fines = [{ party = "unit", min = 10000, max = 30000, modality = "shall" }, { party = "directly_responsible", min = 2000, max = 5000, modality = "may" }] },
]

[penalty.art42]"#;
    assert_eq!(SHENZHEN_DRAFT.matches(needle).count(), 1);
    let changed = SHENZHEN_DRAFT.replace(
        needle,
        &needle.replace("min = 10000, max = 30000", "min = 15000, max = 50000"),
    );
    let book2 = ComplianceBook::parse(&changed).unwrap();
    let after = only(&run(&book2, &v, AS_OF), "art32.video_retention");
    assert_eq!(fines(&after.fines)[0], "unit 15000-50000 shall");
    assert!(
        after.explanation.contains("15,000–50,000 RMB"),
        "{}",
        after.explanation
    );
}

#[test]
fn art_47_is_data_too() {
    // Read "within 30 days" as excluding the 30th and day 30 becomes a breach.
    let changed = SHENZHEN_DRAFT.replace("inclusive_bounds = true", "inclusive_bounds = false");
    assert_ne!(changed, SHENZHEN_DRAFT);
    let book2 = ComplianceBook::parse(&changed).unwrap();
    let v = metro_station();
    assert!(run(&book(), &v, "2027-02-09").findings.is_empty());
    let f = only(&run(&book2, &v, "2027-02-09"), "art18.filing_deadline");
    assert_eq!(f.deadline, Some(date("2027-02-08")));
}

#[test]
fn malformed_rules_are_refused_with_the_rule_named() {
    let add = |rule: &str| ComplianceBook::parse(&format!("{SHENZHEN_DRAFT}\n[[rule]]\n{rule}\n"));
    let base_rule = "id = \"x.y\"\narticle = \"Art. 1\"\ntext = \"t\"\nfinding = \"f\"\n";
    for (extra, why) in [
        (
            "requires = { fact = \"system.installed\", eqq = true }",
            "unknown field",
        ),
        (
            "requires = { fact = \"sytem.installed\", eq = true }",
            "does not start with",
        ),
        (
            "requires = { fact = \"system.installed\" }",
            "needs an operator",
        ),
        (
            "requires = { fact = \"system.x\", eq = 1, ne = 2 }",
            "one subject and one operator",
        ),
        (
            "requires = { days_since = \"event.filing.date\", eq = 1 }",
            "compared with a bound",
        ),
        (
            "requires = { fact = \"system.x\", not_less_than = \"art99.nothing\" }",
            "no [[retention]] rule",
        ),
        (
            "penalty = \"art99\"\npenalty_article = \"Art. 99\"\nrequires = { exists = \"system.x\" }",
            "no [penalty.art99]",
        ),
        (
            "for_each = \"cars\"\nrequires = { exists = \"item.x\" }",
            "unknown collection",
        ),
        (
            "applies = { exists = \"system.x\" }",
            "needs `requires` or `deadline`",
        ),
    ] {
        let e = add(&format!("{base_rule}{extra}")).unwrap_err().to_string();
        assert!(e.contains(why), "{extra}: {e}");
    }
    let dup = add(
        "id = \"art10.prohibited_place\"\narticle = \"a\"\ntext = \"t\"\nfinding = \"f\"\nrequires = { exists = \"system.x\" }",
    );
    assert!(dup.unwrap_err().to_string().contains("appears twice"));
}

#[test]
fn misspelt_facts_are_refused() {
    let mut v = base();
    set(&mut v, "cameras.0.locaton_type", json!("lobby"));
    let e = Facts::from_json(&v.to_string()).unwrap_err().to_string();
    assert!(e.contains("locaton_type"), "{e}");
}

#[test]
fn the_inspection_checklist_files_each_finding_under_its_matter() {
    let mut v = base();
    set(&mut v, "cameras.0.location_type", json!("restroom"));
    remove_events(&mut v, "filing");
    set(&mut v, "cameras.0.measured.longest_gap_seconds", json!(900));
    remove_events(&mut v, "security_assessment");
    remove(&mut v, "persons.1");
    let facts: Facts = serde_json::from_value(v.clone()).unwrap();
    let r = run(&book(), &v, "2028-02-01");
    let items = vidimus_compliance::inspection::checklist(&book(), &facts, &r);
    let matter = |i: usize| (items[i].article.as_str(), items[i].rule_ids.clone());
    assert_eq!(
        matter(0),
        ("Art. 36 ¶2(1)", vec!["art10.prohibited_place".to_owned()])
    );
    assert_eq!(
        matter(1),
        ("Art. 36 ¶2(2)", vec!["art18.filing_deadline".to_owned()])
    );
    assert_eq!(
        matter(2),
        (
            "Art. 36 ¶2(3)",
            vec!["art24.security_assessment".to_owned()]
        )
    );
    assert!(
        matter(3).1.contains(&"art32.continuous_storage".to_owned()),
        "{:?}",
        items[3]
    );
    assert_eq!(
        matter(4),
        (
            "Art. 36 ¶2(5)",
            vec!["art24.responsible_persons".to_owned()]
        )
    );
    // Pre-filled from the system's own data.
    let storage = items[3].facts.join("\n");
    assert!(
        storage.contains("camera lobby: retention 30 days configured; holds"),
        "{storage}"
    );
    assert!(storage.contains("longest gap 900 s"), "{storage}");
    assert!(items[1].facts.iter().any(|f| f == "filed: not recorded"));
    assert!(
        items[4]
            .facts
            .iter()
            .any(|f| f == "looking after and maintaining it: nobody named")
    );
    assert_eq!(items[2].status, "findings");
}

fn reasons(r: &vidimus_compliance::Report) -> Vec<(&str, &str)> {
    r.not_evaluated
        .iter()
        .map(|n| (n.rule_id.as_str(), n.reason.as_str()))
        .collect()
}

#[test]
fn before_the_effective_date_nothing_breaches_the_regulation() {
    // Art. 48: a bank branch without a system breaches Art. 9 ¶1 only once the
    // regulation is in force.
    let mut v = uninstalled("item_4");
    v["regulation"] = json!({ "effective_date": "2027-01-01" });
    let r = run(&book(), &v, "2026-12-15");
    assert!(r.findings.is_empty(), "{}", r.to_text());
    assert_eq!(r.status, "not_in_force");
    assert_eq!(r.not_evaluated.len(), book().rules.len());
    assert!(
        reasons(&r).contains(&(
            "art9.install_required",
            "not yet in force: the regulation takes effect on 2027-01-01 (Art. 48)"
        )),
        "{:?}",
        reasons(&r)
    );
    assert!(r.to_text().contains("not yet in force"), "{}", r.to_text());
    // On the day it takes effect, it applies.
    let f = only(&run(&book(), &v, "2027-01-01"), "art9.install_required");
    assert_eq!(f.article, "Art. 9 ¶1(4)");
}

/// A bank branch accepted and filed in 2025, before the regulation (in force
/// 2027-01-01), never assessed or trained since.
fn accepted_in_2025() -> Value {
    let mut v = base();
    set(&mut v, "system.existed_before_regulation", json!(true));
    set(&mut v, "events.0.date", json!("2025-05-20"));
    set(&mut v, "events.0.copy_to_psb", json!("2025-05-21"));
    set(&mut v, "events.1.date", json!("2025-06-01"));
    set(&mut v, "events.2.date", json!("2025-06-20"));
    for k in ["performance_assessment", "security_assessment", "training"] {
        remove_events(&mut v, k);
    }
    remove(&mut v, "cameras.0.measured");
    v
}

#[test]
fn duties_of_a_system_accepted_before_the_regulation_run_from_its_effective_date() {
    let v = accepted_in_2025();
    // Today's reading would make the first assessment due in 2026, before the
    // regulation: 365 days from 2027-01-01 is 2028-01-01.
    let r = run(&book(), &v, "2027-06-01");
    assert!(r.findings.is_empty(), "{}", r.to_text());
    let u = r
        .upcoming
        .iter()
        .find(|u| u.rule_id == "art24.performance_assessment")
        .unwrap();
    assert_eq!(u.due, date("2028-01-01"));
    assert!(
        u.explanation
            .contains("365 days after the regulation took effect"),
        "{}",
        u.explanation
    );
    let r = run(&book(), &v, "2028-01-01");
    assert!(r.findings.is_empty(), "day 365: {}", r.to_text());
    let r = run(&book(), &v, "2028-01-02");
    let f = only(&r, "art24.training");
    assert_eq!(
        (f.article.as_str(), f.deadline),
        ("Art. 24(2)", Some(date("2028-01-01")))
    );
    assert!(
        f.explanation.contains(
            "event.completion_acceptance.date was 2025-06-01, before the regulation took effect on 2027-01-01 (Art. 48), so the days run from 2027-01-01"
        ),
        "{}",
        f.explanation
    );
    // Before the effective date, those duties are upcoming from it, not overdue.
    let r = run(&book(), &v, "2026-06-01");
    assert_eq!(r.status, "not_in_force");
    assert!(
        r.upcoming
            .iter()
            .any(|u| u.rule_id == "art24.security_assessment" && u.due == date("2028-01-01")),
        "{:?}",
        r.upcoming
    );
}

#[test]
fn conduct_before_the_effective_date_is_not_measured_by_the_regulation() {
    // A move reported only 10 days in advance, in 2026: no Art. 19 ¶2 breach in 2027.
    let mut v = shop();
    add_event(
        &mut v,
        json!({ "kind": "move_or_removal", "date": "2026-06-11", "record_date": "2026-06-01" }),
    );
    let r = run(&book(), &v, AS_OF);
    assert!(
        !rule_ids(&r).contains(&"art19.move_record"),
        "{}",
        r.to_text()
    );
    // The same move after it is one.
    let mut v = shop();
    add_event(
        &mut v,
        json!({ "kind": "move_or_removal", "date": "2027-06-11", "record_date": "2027-06-01" }),
    );
    only(&run(&book(), &v, AS_OF), "art19.move_record");
}

#[test]
fn an_installed_system_with_no_completion_acceptance_is_not_evaluated_for_its_dated_duties() {
    // Today it escapes Art. 18 ¶1 and 24 and reads as compliant.
    let mut v = base();
    for k in [
        "completion_acceptance",
        "filing",
        "performance_assessment",
        "security_assessment",
        "training",
    ] {
        remove_events(&mut v, k);
    }
    let r = run(&book(), &v, AS_OF);
    assert!(r.findings.is_empty(), "{}", r.to_text());
    assert_eq!(r.status, "incomplete");
    let got = reasons(&r);
    for (rule, article) in [
        ("art18.filing_deadline", "Art. 18 ¶1"),
        ("art24.performance_assessment", "Art. 24(1)"),
        ("art24.security_assessment", "Art. 24(1)"),
        ("art24.training", "Art. 24(2)"),
    ] {
        let want = format!(
            "no completion acceptance date (event.completion_acceptance.date): the deadline of {article} runs from it"
        );
        assert!(got.contains(&(rule, want.as_str())), "{rule}: {got:?}");
    }
    for (rule, article) in [
        ("art24.system_diagrams", "Art. 24(3)"),
        ("art24.emergency_plan", "Art. 24(5)"),
    ] {
        let want = format!(
            "no completion acceptance date (event.completion_acceptance.date): {article} applies from it"
        );
        assert!(got.contains(&(rule, want.as_str())), "{rule}: {got:?}");
    }
    assert!(
        r.to_text().contains(
            "not evaluated: [art18.filing_deadline] Art. 18 ¶1 — no completion acceptance date"
        ),
        "{}",
        r.to_text()
    );
    // Filed anyway: the filing duty is met whatever the date.
    let mut v2 = v.clone();
    add_event(
        &mut v2,
        json!({ "kind": "filing", "date": "2027-02-01", "materials": ["filing_declaration_form", "design_plan", "compliance_demonstration_report", "completion_acceptance_report", "product_certification", "contractor_business_licence", "testing_report"] }),
    );
    let r = run(&book(), &v2, AS_OF);
    assert!(
        !reasons(&r)
            .iter()
            .any(|(id, _)| *id == "art18.filing_deadline")
    );
}
