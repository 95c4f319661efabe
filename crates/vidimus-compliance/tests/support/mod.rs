//! Shared by the compliance tests: the compliant bank branch and ways to change it.

#![allow(dead_code)]

use serde_json::Value;
use vidimus_compliance::{ComplianceBook, Date, Facts, Report, evaluate};

pub const BASE: &str = include_str!("../../../../docs/compliance/examples/bank-branch.json");
pub const AS_OF: &str = "2027-09-01";

pub fn base() -> Value {
    serde_json::from_str(BASE).unwrap()
}

pub fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

/// The value at a dotted path (array indexes allowed), created if missing.
pub fn at<'a>(v: &'a mut Value, path: &str) -> &'a mut Value {
    let mut cur = v;
    for p in path.split('.') {
        cur = match p.parse::<usize>() {
            Ok(i) if cur.is_array() => &mut cur[i],
            _ => {
                if cur.get(p).is_none() {
                    cur[p] = Value::Null;
                }
                &mut cur[p]
            }
        };
    }
    cur
}

pub fn set(v: &mut Value, path: &str, value: Value) {
    *at(v, path) = value;
}

/// Removes the field or array item at a dotted path.
pub fn remove(v: &mut Value, path: &str) {
    let (parent, last) = path.rsplit_once('.').expect("a dotted path");
    let p = at(v, parent);
    match (p, last.parse::<usize>()) {
        (Value::Array(a), Ok(i)) => {
            a.remove(i);
        }
        (Value::Object(o), _) => {
            o.remove(last).unwrap_or_else(|| panic!("no {path}"));
        }
        _ => panic!("cannot remove {path}"),
    }
}

pub fn remove_events(v: &mut Value, kind: &str) {
    let events = v["events"].as_array_mut().unwrap();
    let before = events.len();
    events.retain(|e| e["kind"] != kind);
    assert!(events.len() < before, "no {kind} event to remove");
}

pub fn add_event(v: &mut Value, e: Value) {
    v["events"].as_array_mut().unwrap().push(e);
}

pub fn run(book: &ComplianceBook, facts: &Value, as_of: &str) -> Report {
    let facts: Facts = serde_json::from_value(facts.clone()).expect("valid facts");
    evaluate(book, &facts, date(as_of))
}

pub fn rule_ids(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

/// "unit 10000-30000 shall" for each fine.
pub fn fines(f: &[vidimus_compliance::rules::Fine]) -> Vec<String> {
    f.iter()
        .map(|f| {
            format!(
                "{} {}-{} {}",
                serde_json::to_value(f.party).unwrap().as_str().unwrap(),
                f.min,
                f.max,
                serde_json::to_value(f.modality).unwrap().as_str().unwrap()
            )
        })
        .collect()
}

pub fn measures(m: &[vidimus_compliance::rules::Measure]) -> Vec<String> {
    m.iter()
        .map(|m| {
            format!(
                "{} {}",
                m.measure,
                serde_json::to_value(m.modality).unwrap().as_str().unwrap()
            )
        })
        .collect()
}

pub const CASES: &str = include_str!("../cases/rules.toml");

pub fn cases() -> toml::Table {
    toml::from_str(CASES).unwrap()
}

pub fn json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

/// The facts and evaluation day of a case of cases/rules.toml.
pub fn case_facts(case: &toml::Value) -> (Value, &str) {
    let mut facts = base();
    if let Some(t) = case.get("set") {
        for (k, v) in t.as_table().unwrap() {
            set(&mut facts, k, json(v));
        }
    }
    let list = |k: &str| case.get(k).and_then(|v| v.as_array()).into_iter().flatten();
    for p in list("remove") {
        remove(&mut facts, p.as_str().unwrap());
    }
    for k in list("remove_events") {
        remove_events(&mut facts, k.as_str().unwrap());
    }
    for e in list("add_events") {
        add_event(&mut facts, json(e));
    }
    let as_of = case.get("as_of").and_then(|v| v.as_str()).unwrap_or(AS_OF);
    (facts, as_of)
}
