//! `vidimus compliance evaluate`: the offline interface, end to end through the binary
//! on the documented examples.

mod support;

use support::rule_ids;

use std::process::Command;

use serde_json::Value;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("../../docs/compliance/examples")
}

fn evaluate(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(support::bin())
        .args(["compliance", "evaluate"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn evaluates_the_documented_examples() {
    let ex = examples();
    let bank = ex.join("bank-branch.json");
    let (ok, out, err) = evaluate(&[bank.to_str().unwrap(), "--as-of", "2027-09-01", "--json"]);
    assert!(ok, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["status"], "compliant");
    assert_eq!(r["as_of"], "2027-09-01");

    let metro = ex.join("metro-station-unfiled.json");
    let (ok, out, _) = evaluate(&[metro.to_str().unwrap(), "--as-of", "2027-03-31", "--json"]);
    assert!(ok);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rule_ids(&r),
        ["art32.key_target_retention"],
        "day 30: not yet late"
    );
    let (_, out, _) = evaluate(&[metro.to_str().unwrap(), "--as-of", "2027-04-01", "--json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rule_ids(&r),
        ["art18.filing_deadline", "art32.key_target_retention"]
    );
    let f = &r["findings"][0];
    assert_eq!(f["penalty_article"], "Art. 41(1)");
    assert_eq!(f["deadline"], "2027-03-31");
    assert_eq!(f["escalation"][0]["fines"][0]["min"], 10000);

    // Text for people: the article, the penalty and the fine ranges in words.
    let (ok, out, _) = evaluate(&[metro.to_str().unwrap(), "--as-of", "2027-04-01"]);
    assert!(ok);
    assert!(
        out.contains("[art18.filing_deadline] Art. 18 ¶1 → Art. 41(1)"),
        "{out}"
    );
    assert!(
        out.contains("unit fined 10,000–30,000 RMB (shall)"),
        "{out}"
    );

    let shop = ex.join("shop-outside-scope.json");
    let (_, out, _) = evaluate(&[shop.to_str().unwrap(), "--as-of", "2027-06-01", "--json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        rule_ids(&r),
        [
            "art10.prohibited_place",
            "art11.personal_security_purpose",
            "art19.move_record"
        ]
    );
}

#[test]
fn the_effective_date_is_configuration() {
    // A system that existed before the regulation; without the date, Art. 18 ¶3 cannot
    // be evaluated, and says so; with it, day 61 is late.
    let dir = tempfile::tempdir().unwrap();
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(examples().join("metro-station-unfiled.json")).unwrap(),
    )
    .unwrap();
    v.as_object_mut().unwrap().remove("regulation");
    v["system"]["existed_before_regulation"] = true.into();
    let f = dir.path().join("old.json");
    std::fs::write(&f, v.to_string()).unwrap();
    let f = f.to_str().unwrap();
    let (_, out, _) = evaluate(&[f, "--as-of", "2028-01-01"]);
    assert!(
        out.contains("not evaluated: [art18.filing_existing_system] Art. 18 ¶3 — regulation.effective_date is not set"),
        "{out}"
    );
    let (_, out, _) = evaluate(&[
        f,
        "--as-of",
        "2028-03-02",
        "--effective-date",
        "2028-01-01",
        "--json",
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert!(rule_ids(&r).contains(&"art18.filing_existing_system".to_owned()));
    let (_, out, _) = evaluate(&[
        f,
        "--as-of",
        "2028-03-01",
        "--effective-date",
        "2028-01-01",
        "--json",
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert!(
        !rule_ids(&r).contains(&"art18.filing_existing_system".to_owned()),
        "day 60"
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"system": {"id": "x", "name": "x", "site_category": "item_9"}}"#,
    )
    .unwrap();
    let (ok, _, err) = evaluate(&[bad.to_str().unwrap(), "--as-of", "2027-01-01"]);
    assert!(!ok);
    assert!(err.contains("item_9") && err.contains("bad.json"), "{err}");
    let bank = examples().join("bank-branch.json");
    let (ok, _, err) = evaluate(&[bank.to_str().unwrap(), "--as-of", "1 March"]);
    assert!(!ok);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let rb = dir.path().join("rulebook.toml");
    std::fs::write(&rb, "[rulebook]\nid = 1\n").unwrap();
    let (ok, _, err) = evaluate(&[bank.to_str().unwrap(), "--rulebook", rb.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("rulebook"), "{err}");
}

#[test]
fn output_into_a_closed_pipe_and_errors_said_once() {
    // `… | head -1`: the reader goes early; the command ends quietly, no panic.
    let bank = examples().join("bank-branch.json");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} compliance evaluate {} --as-of 2027-06-01 --json | head -c 10 >/dev/null",
            support::bin(),
            bank.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
    // A type error names the field, not the Rust type, and is said once.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&bank).unwrap()).unwrap();
    doc["cameras"][0]["measured"] = serde_json::json!(5);
    std::fs::write(&bad, doc.to_string()).unwrap();
    let (ok, _, err) = evaluate(&[bad.to_str().unwrap(), "--as-of", "2027-06-01"]);
    assert!(!ok);
    assert!(err.contains("cameras[0].measured"), "{err}");
    assert!(!err.contains("struct"), "{err}");
    assert_eq!(
        err.matches("cameras[0].measured").count(),
        1,
        "said twice: {err}"
    );
}
