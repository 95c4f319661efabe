//! The inspection checklist (Art. 36 ¶2): the matters an oversight inspection covers,
//! each pre-filled from the system's own facts and the findings about it, so the
//! inspector starts from what the system already knows. Pure.

use serde::Serialize;

use crate::engine::{Finding, Report};
use crate::facts::{EventKind, Facts, PersonRole};

/// One matter of Art. 36 ¶2.
#[derive(Clone, Debug, Serialize)]
pub struct ChecklistItem {
    /// `Art. 36 ¶2(1)` ...
    pub article: String,
    pub matter: String,
    /// What the system's facts say, one line each.
    pub facts: Vec<String>,
    /// Findings that belong to this matter (rule ids).
    pub findings: Vec<String>,
    /// `ok` when no finding belongs to it, else `findings`.
    pub status: &'static str,
}

/// The matters, and which articles' rules belong to each.
const MATTERS: &[(&str, &str, &[&str])] = &[
    (
        "(1)",
        "System installation",
        &["8", "9", "10", "11", "20", "21"],
    ),
    (
        "(2)",
        "System recording and obtaining of testing reports",
        &["13", "14", "15", "17", "18", "19", "27", "28"],
    ),
    (
        "(3)",
        "Periodic appraisals of system performance and security risks",
        &[],
    ),
    (
        "(4)",
        "System operation and storage of acquired information",
        &["30", "32"],
    ),
    (
        "(5)",
        "Implementation of security measures and management systems",
        &["23", "24", "29", "31", "34", "35"],
    ),
];

fn matter_of(f: &Finding) -> usize {
    if f.rule_id == "art24.performance_assessment" || f.rule_id == "art24.security_assessment" {
        return 2;
    }
    let art = f
        .article
        .trim_start_matches("Art. ")
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or("");
    MATTERS
        .iter()
        .position(|(_, _, arts)| arts.contains(&art))
        .unwrap_or(4)
}

fn latest(facts: &Facts, kind: EventKind) -> Option<&crate::facts::Event> {
    facts
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .max_by_key(|e| e.date)
}

/// The checklist for one system on the report's day.
pub fn checklist(facts: &Facts, report: &Report) -> Vec<ChecklistItem> {
    let mut lines: Vec<Vec<String>> = vec![Vec::new(); MATTERS.len()];
    let s = &facts.system;
    // (1) installation
    lines[0].push(format!(
        "site category: {}",
        serde_json::to_value(s.site_category)
            .ok()
            .and_then(|v| v.as_str().map(|x| x.replace('_', " ")))
            .unwrap_or_default()
    ));
    lines[0].push(format!(
        "system installed: {}",
        if s.installed { "yes" } else { "no" }
    ));
    if let Some(p) = &s.personal_security_purpose {
        lines[0].push(format!("personal security purpose (Art. 11): {p}"));
    }
    let public = facts.cameras.iter().filter(|c| c.public_area).count();
    let signed = facts
        .cameras
        .iter()
        .filter(|c| c.public_area && c.signage)
        .count();
    lines[0].push(format!(
        "cameras: {} ({public} in public areas, {signed} of them with notice signs)",
        facts.cameras.len()
    ));
    for c in &facts.cameras {
        lines[0].push(format!(
            "camera {}: {}{}{}",
            c.id,
            c.location_type.replace('_', " "),
            c.purpose
                .as_ref()
                .map(|p| format!(", purpose: {p}"))
                .unwrap_or_default(),
            if c.collects.is_empty() {
                String::new()
            } else {
                format!(
                    ", collects sensitive information (planning: {})",
                    c.planning_approval.as_deref().unwrap_or("none recorded")
                )
            }
        ));
    }
    // (2) recording (filing) and testing reports
    match latest(facts, EventKind::CompletionAcceptance) {
        Some(e) => lines[1].push(format!("completion acceptance: {}", e.date)),
        None => lines[1].push("completion acceptance: not recorded".into()),
    }
    match latest(facts, EventKind::Filing) {
        Some(e) => lines[1].push(format!(
            "filed: {} ({} materials)",
            e.date,
            e.materials.len()
        )),
        None => lines[1].push("filed: not recorded".into()),
    }
    for e in facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::TestingReport)
    {
        lines[1].push(format!(
            "testing report {}: {}{}{}",
            e.date,
            match e.passed {
                Some(true) => "passed",
                Some(false) => "not passed",
                None => "result not recorded",
            },
            e.testing_body
                .as_ref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default(),
            e.copy_to_psb
                .map(|d| format!(", copy to the PSB {d}"))
                .unwrap_or_else(|| ", no copy to the PSB recorded".into())
        ));
    }
    // (3) periodic appraisals
    for (kind, what) in [
        (EventKind::PerformanceAssessment, "system performance"),
        (EventKind::SecurityAssessment, "security risks"),
    ] {
        lines[2].push(match latest(facts, kind) {
            Some(e) => format!("last assessment of {what}: {}", e.date),
            None => format!("assessment of {what}: none recorded"),
        });
    }
    // (4) operation and storage
    for c in &facts.cameras {
        let mut l = format!(
            "camera {}: retention {}",
            c.id,
            c.retention_days
                .map(|d| format!("{d} days configured"))
                .unwrap_or_else(|| "not recorded".into())
        );
        if let Some(m) = &c.measured {
            l.push_str(&format!(
                "; holds {} days (oldest recording {}); recording since {}; longest gap {} s, {} s of gaps in the retention window",
                report.as_of.days_since(m.oldest_kept),
                m.oldest_kept,
                m.recording_since,
                m.longest_gap_seconds,
                m.gap_seconds_total
            ));
        }
        lines[3].push(l);
    }
    lines[3].push(match s.log_retention_days {
        Some(d) if d >= 36_500 => "system log: kept indefinitely (leaves are never deleted)".into(),
        Some(d) => format!("system log: kept {d} days"),
        None => "system log retention: not recorded".into(),
    });
    // (5) security measures and management systems
    for (role, what) in [
        (PersonRole::Responsible, "responsible for the system"),
        (PersonRole::Maintenance, "looking after and maintaining it"),
    ] {
        let names: Vec<&str> = facts
            .persons
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.name.as_str())
            .collect();
        lines[4].push(format!(
            "{what}: {}",
            if names.is_empty() {
                "nobody named".to_owned()
            } else {
                names.join(", ")
            }
        ));
    }
    for (kind, what) in [
        (EventKind::Training, "last training"),
        (EventKind::EmergencyPlan, "emergency response plan"),
        (EventKind::Inspection, "last inspection"),
    ] {
        lines[4].push(match latest(facts, kind) {
            Some(e) => format!("{what}: {}", e.date),
            None => format!("{what}: none recorded"),
        });
    }
    lines[4].push(format!(
        "internet transmission: {}",
        match (s.internet_transmission, s.internet_protection) {
            (false, _) => "none",
            (true, true) => "with notice to subjects and protection",
            (true, false) => "without recorded protection",
        }
    ));
    let accesses = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Access)
        .count();
    lines[4].push(format!("accesses by other parties on record: {accesses}"));

    let mut findings: Vec<Vec<String>> = vec![Vec::new(); MATTERS.len()];
    for f in &report.findings {
        let i = matter_of(f);
        if !findings[i].contains(&f.rule_id) {
            findings[i].push(f.rule_id.clone());
        }
    }
    MATTERS
        .iter()
        .zip(lines)
        .zip(findings)
        .map(|(((item, matter, _), facts), findings)| ChecklistItem {
            article: format!("Art. 36 ¶2{item}"),
            matter: (*matter).to_owned(),
            facts,
            status: if findings.is_empty() {
                "ok"
            } else {
                "findings"
            },
            findings,
        })
        .collect()
}
