//! Shared by the compliance tests: the compliant bank branch and ways to change it.

#![allow(dead_code)]

use serde_json::Value;
use vidimus_compliance::{ComplianceBook, Date, Facts, Report, evaluate};

pub const BASE: &str = include_str!("../cases/bank-branch.json");
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
