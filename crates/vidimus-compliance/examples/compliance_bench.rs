//! The compliance engine's cost: one evaluation of the documented bank branch, of a
//! large system (1,000 cameras, 2,000 events), and parsing the rulebook. Prints
//! p50/p99 per evaluation in microseconds as JSON. Run by `bench/compliance`.

use std::time::Instant;

use serde_json::{Value, json};
use vidimus_compliance::{ComplianceBook, Date, Facts, evaluate};

fn percentiles(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn time(n: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64() * 1e6);
    }
    percentiles(v)
}

fn main() {
    let base: Value = serde_json::from_str(include_str!(
        "../../../docs/compliance/examples/bank-branch.json"
    ))
    .unwrap();
    let book = ComplianceBook::shenzhen_draft();
    let as_of = Date::parse("2027-09-01").unwrap();
    let bank: Facts = serde_json::from_value(base.clone()).unwrap();
    let (bank_p50, bank_p99) = time(2000, || {
        std::hint::black_box(evaluate(&book, &bank, as_of));
    });

    let mut big = base.clone();
    let cams: Vec<Value> = (0..1000)
        .map(|i| {
            let mut c = base["cameras"][0].clone();
            c["id"] = json!(format!("cam-{i}"));
            if i % 50 == 0 {
                c["retention_days"] = json!(20);
            }
            c
        })
        .collect();
    big["cameras"] = json!(cams);
    let events = big["events"].as_array_mut().unwrap();
    for i in 0..2000 {
        events.push(
            json!({"kind": "access", "date": "2027-08-01", "party": "psb",
            "staff": 2, "work_ids": true, "registered": i % 100 != 0}),
        );
    }
    let big: Facts = serde_json::from_value(big).unwrap();
    let findings = evaluate(&book, &big, as_of).findings.len();
    let (big_p50, big_p99) = time(50, || {
        std::hint::black_box(evaluate(&book, &big, as_of));
    });
    let (parse_p50, _) = time(200, || {
        std::hint::black_box(ComplianceBook::shenzhen_draft());
    });
    println!(
        "{}",
        json!({
            "rules": book.rules.len(),
            "bank_branch_us": {"p50": bank_p50, "p99": bank_p99},
            "large_system": {"cameras": 1000, "events": 2008, "findings": findings,
                             "us": {"p50": big_p50, "p99": big_p99}},
            "rulebook_parse_us_p50": parse_p50,
        })
    );
}
