//! Every rule of the rulebook, breached and narrowly not breached (tests/cases/rules.toml),
//! with the article, penalty article, tier and fine ranges the regulation gives.

mod support;

use std::collections::BTreeSet;

use support::*;
use vidimus_compliance::ComplianceBook;
use vidimus_compliance::rules::TierId;

/// A list written inline or as the name of a list in `[fines]`.
fn list(cases: &toml::Table, v: Option<&toml::Value>) -> Option<Vec<String>> {
    let v = v?;
    let arr = match v {
        toml::Value::String(name) => cases["fines"][name.as_str()].clone(),
        other => other.clone(),
    };
    Some(
        arr.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect(),
    )
}

#[test]
fn the_base_system_is_compliant() {
    let r = run(&ComplianceBook::shenzhen_draft(), &base(), AS_OF);
    assert!(r.findings.is_empty(), "{}", r.to_text());
    assert_eq!(r.status, "compliant");
    let e = r.responsible_entity.unwrap();
    assert_eq!(e.name, "Example Bank Shenzhen Branch");
}

#[test]
fn every_rule_is_breached_and_narrowly_kept() {
    let book = ComplianceBook::shenzhen_draft();
    let cases = cases();
    let mut seen: BTreeSet<(String, bool)> = BTreeSet::new();
    let mut failures = Vec::new();
    for case in cases["case"].as_array().unwrap() {
        let rule = case["rule"].as_str().unwrap();
        let breach = case["breach"].as_bool().unwrap();
        seen.insert((rule.to_owned(), breach));
        let (facts, as_of) = case_facts(case);
        let report = run(&book, &facts, as_of);
        let label = format!(
            "{rule} {} ({})",
            if breach { "breached" } else { "kept" },
            case.get("note").and_then(|v| v.as_str()).unwrap_or("")
        );
        let found: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.rule_id == rule)
            .collect();
        if !breach {
            if !found.is_empty() {
                failures.push(format!(
                    "{label}: unexpected finding {}",
                    found[0].explanation
                ));
            }
            if let Some(due) = case.get("upcoming").and_then(|v| v.as_str())
                && !report
                    .upcoming
                    .iter()
                    .any(|u| u.rule_id == rule && u.due == date(due) && u.days_left == 0)
            {
                failures.push(format!(
                    "{label}: no upcoming deadline {due}: {:?}",
                    report.upcoming
                ));
            }
            continue;
        }
        let [f] = found.as_slice() else {
            failures.push(format!(
                "{label}: expected one finding, got {}: {}",
                found.len(),
                report.to_text()
            ));
            continue;
        };
        let exp = &cases["expect"][rule];
        let mut check = |what: &str, ok: bool, got: String| {
            if !ok {
                failures.push(format!("{label}: {what} is {got}"));
            }
        };
        check(
            "article",
            f.article == exp["article"].as_str().unwrap(),
            f.article.clone(),
        );
        check(
            "penalty article",
            f.penalty_article.as_deref() == exp.get("penalty_article").and_then(|v| v.as_str()),
            format!("{:?}", f.penalty_article),
        );
        let tier = exp
            .get("tier")
            .map(|t| serde_json::from_value::<TierId>(json(t)).unwrap());
        check("tier", f.tier == tier, format!("{:?}", f.tier));
        let want_fines = list(&cases, exp.get("fines")).unwrap_or_default();
        check(
            "fines",
            fines(&f.fines) == want_fines,
            format!("{:?}", fines(&f.fines)),
        );
        let want_measures = list(&cases, exp.get("measures")).unwrap_or_default();
        check(
            "measures",
            measures(&f.measures) == want_measures,
            format!("{:?}", measures(&f.measures)),
        );
        let want_referrals = list(&cases, exp.get("referrals")).unwrap_or_default();
        check(
            "referrals",
            f.referrals == want_referrals,
            format!("{:?}", f.referrals),
        );
        for (key, tier) in [
            ("refused", TierId::CorrectionRefused),
            ("serious", TierId::SeriousConsequences),
        ] {
            let got = f
                .escalation
                .iter()
                .find(|t| t.tier == tier)
                .map(|t| fines(&t.fines));
            check(key, got == list(&cases, exp.get(key)), format!("{got:?}"));
        }
        if let Some(d) = case.get("deadline").and_then(|v| v.as_str()) {
            check(
                "deadline",
                f.deadline == Some(date(d)),
                format!("{:?}", f.deadline),
            );
        }
        // The explanation names the article, what was found and the penalty.
        check(
            "explanation",
            f.explanation.contains(&f.article)
                && f.explanation.contains("Found:")
                && f.penalty_article
                    .as_ref()
                    .is_none_or(|p| f.explanation.contains(p.as_str())),
            f.explanation.clone(),
        );
    }
    for r in &book.rules {
        for breach in [true, false] {
            if !seen.contains(&(r.id.clone(), breach)) {
                failures.push(format!(
                    "rule {} has no case where it is {}",
                    r.id,
                    if breach { "breached" } else { "kept" }
                ));
            }
        }
        if cases["expect"].get(r.id.as_str()).is_none() {
            failures.push(format!("rule {} has no expectation", r.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
