//! The JSON Schemas are true: the rulebook file, every facts document the rule cases
//! build and every report the engine writes validate with a third-party validator
//! (Python's `jsonschema`), and documents the schemas must refuse are refused.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;
use vidimus_compliance::ComplianceBook;
use vidimus_core::rulebook::SHENZHEN_DRAFT;

fn root() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("../..")
}

/// Runs the validator; Ok(stdout) when every file is valid, Err(stdout) otherwise.
fn validate(schema: &str, files: &[PathBuf]) -> Result<String, String> {
    let out = Command::new("/usr/bin/python3")
        .arg(
            Path::new(
                &std::env::var("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
            )
            .join("tests/validate.py"),
        )
        .arg(root().join(schema))
        .args(files)
        .output()
        .expect("python3 (Debian's, with python3-jsonschema: scripts/test.sh installs it)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("ModuleNotFoundError"),
        "python3-jsonschema is missing: {text}"
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn the_rulebook_matches_its_schema() {
    let ok = validate(
        "rulebook/rulebook.schema.json",
        &[root().join("rulebook/shenzhen-sez-draft.toml")],
    );
    assert!(ok.is_ok(), "{ok:?}");
    // And the schema refuses what the engine refuses.
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        (
            "fine.toml",
            SHENZHEN_DRAFT.replacen("min = 10000", "min = \"10000\"", 1),
        ),
        (
            "party.toml",
            SHENZHEN_DRAFT.replacen("party = \"unit\"", "party = \"company\"", 1),
        ),
        (
            "tier.toml",
            SHENZHEN_DRAFT.replacen("tier = \"correction_refused\"", "tier = \"refused\"", 1),
        ),
        (
            "op.toml",
            SHENZHEN_DRAFT.replacen("eq = true }", "eq = true, ne = false }", 1),
        ),
        (
            "path.toml",
            SHENZHEN_DRAFT.replacen("\"system.installed\"", "\"sytem.installed\"", 1),
        ),
        (
            "key.toml",
            SHENZHEN_DRAFT.replacen("finding = ", "findings = ", 1),
        ),
    ];
    let files: Vec<PathBuf> = bad
        .iter()
        .map(|(name, body)| {
            assert_ne!(body, SHENZHEN_DRAFT, "{name}: nothing replaced");
            assert!(
                ComplianceBook::parse(body).is_err(),
                "{name}: the engine accepts it"
            );
            write(dir.path(), name, body)
        })
        .collect();
    let out = validate("rulebook/rulebook.schema.json", &files).unwrap_err();
    assert!(out.contains("0 valid, 6 invalid"), "{out}");
}

#[test]
fn every_case_and_every_report_match_their_schemas() {
    let book = ComplianceBook::shenzhen_draft();
    let dir = tempfile::tempdir().unwrap();
    let mut facts_files = vec![root().join("docs/compliance/examples/bank-branch.json")];
    let mut report_files = Vec::new();
    let cases = cases();
    for (i, case) in cases["case"].as_array().unwrap().iter().enumerate() {
        let (facts, as_of) = case_facts(case);
        facts_files.push(write(
            dir.path(),
            &format!("facts-{i}.json"),
            &facts.to_string(),
        ));
        let report = run(&book, &facts, as_of);
        report_files.push(write(
            dir.path(),
            &format!("report-{i}.json"),
            &serde_json::to_string(&report).unwrap(),
        ));
    }
    let n = facts_files.len();
    let out = validate("docs/compliance/facts.schema.json", &facts_files).unwrap();
    assert!(out.contains(&format!("{n} valid, 0 invalid")), "{out}");
    let out = validate("docs/compliance/report.schema.json", &report_files).unwrap();
    assert!(
        out.contains(&format!("{} valid, 0 invalid", n - 1)),
        "{out}"
    );
}

#[test]
fn the_facts_schema_refuses_what_the_engine_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, path, value) in [
        (
            "misspelt",
            "cameras.0.locaton_type",
            serde_json::json!("lobby"),
        ),
        (
            "category",
            "system.site_category",
            serde_json::json!("item_9"),
        ),
        ("date", "events.0.date", serde_json::json!("5 January 2027")),
        ("kind", "events.0.kind", serde_json::json!("testing")),
        (
            "place",
            "cameras.0.location_type",
            serde_json::json!("guest_room"),
        ),
    ] {
        let mut v = base();
        set(&mut v, path, value);
        assert!(
            vidimus_compliance::Facts::load(&v.to_string(), &ComplianceBook::shenzhen_draft())
                .is_err(),
            "{name}: the engine accepts it"
        );
        files.push(write(dir.path(), &format!("{name}.json"), &v.to_string()));
    }
    let out = validate("docs/compliance/facts.schema.json", &files).unwrap_err();
    assert!(out.contains("0 valid, 5 invalid"), "{out}");
}

#[test]
fn the_operator_documentation_lists_every_rule() {
    let doc = std::fs::read_to_string(root().join("docs/compliance.md")).unwrap();
    for r in &ComplianceBook::shenzhen_draft().rules {
        let row = format!(
            "| `{}` | {} | {} |",
            r.id,
            r.article,
            r.penalty_article.as_deref().unwrap_or("—")
        );
        assert!(
            doc.contains(&row),
            "docs/compliance.md lacks the row for {}: {row}",
            r.id
        );
    }
}
