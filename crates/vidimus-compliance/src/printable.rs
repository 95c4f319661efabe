//! Printable reports (HTML, one self-contained page each): the filing declaration
//! with its materials checklist (Art. 18) and the inspection report (Art. 36). Pure:
//! facts and a report in, a page out; every value is escaped.

use std::fmt::Write;

use crate::engine::{Report, describe_fine, describe_measures};
use crate::facts::{DocumentKind, EventKind, Facts, SiteCategory};
use crate::inspection::checklist;

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:11pt/1.45 'Noto Sans','Noto Sans CJK SC',sans-serif;max-width:50em;margin:2em auto;color:#111}\
h1{font-size:16pt;margin-bottom:.2em}h2{font-size:12.5pt;margin-top:1.6em;border-bottom:1px solid #999}\
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #999;padding:.25em .45em;vertical-align:top;text-align:left}\
th{background:#eee}.ok{color:#060}.bad{color:#a00;font-weight:600}.small{font-size:9pt;color:#444}\
.sign{display:flex;gap:3em;margin-top:3em}.sign div{flex:1;border-top:1px solid #000;padding-top:.3em}\
@media print{body{margin:0}a{color:inherit}}";

fn page(title: &str, body: &str, report: &Report) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>{body}\
         <p class=\"small\">Prepared by Vidimus on {d} from the system's registry and recordings; rulebook {rb} {v}. \
         Findings cite the Shenzhen SEZ Regulations on Public Safety Video Image Information Systems (draft).</p></body></html>",
        t = esc(title),
        d = report.as_of,
        rb = esc(&report.rulebook),
        v = esc(&report.rulebook_version),
    )
}

fn category(c: SiteCategory) -> String {
    match serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
    {
        Some(s) if s.starts_with("item_") => format!("Art. 9 ¶1 item ({})", &s[5..]),
        _ => "outside the scope of Art. 9 ¶1 (Art. 11)".to_owned(),
    }
}

fn particulars(facts: &Facts, report: &Report, out: &mut String) {
    let s = &facts.system;
    let row = |k: &str, v: &str| format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    out.push_str("<table>");
    out.push_str(&row("System", &format!("{} ({})", s.name, s.id)));
    out.push_str(&row("Address", s.address.as_deref().unwrap_or("—")));
    out.push_str(&row("District", s.district.as_deref().unwrap_or("—")));
    out.push_str(&row("Site category", &category(s.site_category)));
    out.push_str(&row(
        "Responsible entity (Art. 9 ¶2)",
        &report
            .responsible_entity
            .as_ref()
            .map(|r| format!("{} — {}", r.name, r.basis))
            .unwrap_or_else(|| "not determined: no owner recorded".into()),
    ));
    out.push_str(&row(
        "Manager (Art. 9 ¶3)",
        s.manager.as_deref().unwrap_or("—"),
    ));
    out.push_str(&row(
        "Owner / user",
        &format!(
            "{} / {}{}",
            s.owner.as_deref().unwrap_or("—"),
            s.user.as_deref().unwrap_or("—"),
            if s.state_owned { " (State-owned)" } else { "" }
        ),
    ));
    out.push_str("</table>");
}

fn findings_table(report: &Report, out: &mut String) {
    if report.findings.is_empty() {
        out.push_str("<p class=\"ok\">No findings: the system meets every rule of the rulebook on this day.</p>");
        return;
    }
    out.push_str("<table><tr><th>Rule</th><th>Article breached</th><th>Penalty article</th><th>Tier and fines</th><th>Deadline</th></tr>");
    for f in &report.findings {
        let fines = match f.tier {
            Some(t) => {
                let m = describe_measures(&f.measures, &f.fines);
                let next: Vec<String> = f
                    .escalation
                    .iter()
                    .filter(|e| Some(e.tier) > f.tier && !e.fines.is_empty())
                    .map(|e| {
                        format!(
                            "if {}: {}",
                            e.tier.words(),
                            e.fines
                                .iter()
                                .map(describe_fine)
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    })
                    .collect();
                format!(
                    "{}: {}{}",
                    t.words(),
                    esc(&m),
                    if next.is_empty() {
                        String::new()
                    } else {
                        format!("<br>{}", esc(&next.join(" · ")))
                    }
                )
            }
            None => "no penalty article".into(),
        };
        let _ = write!(
            out,
            "<tr><td><b>{}</b><br>{}<br><span class=\"small\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.rule_id),
            esc(&f.subject.label),
            esc(&f.explanation),
            esc(&f.article),
            esc(f.penalty_article.as_deref().unwrap_or("—")),
            fines,
            esc(&f
                .correction_deadline
                .or(f.deadline)
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into())),
        );
    }
    out.push_str("</table>");
}

/// The filing declaration with its materials checklist (Art. 18).
pub fn filing_report(facts: &Facts, report: &Report) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Filing of a public safety video image information system</h1><p>To the public security organ of {} district (Art. 18).</p>",
        esc(facts.system.district.as_deref().unwrap_or("the system's"))
    );
    particulars(facts, report, &mut b);
    let acceptance = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::CompletionAcceptance)
        .map(|e| e.date)
        .max();
    b.push_str("<h2>Completion acceptance and deadline</h2><p>");
    match acceptance {
        Some(d) => {
            let _ = write!(
                b,
                "Completion acceptance on {d}; filing due within 30 days, by {} (Art. 18 ¶1; Art. 47: the 30th day included).",
                d.add_days(30)
            );
        }
        None => b.push_str("Completion acceptance is not recorded."),
    }
    b.push_str("</p><h2>Materials (Art. 18 ¶1, ¶2)</h2><table><tr><th></th><th>Material</th><th>In the registry</th></tr>");
    let docs = |k: DocumentKind| -> Vec<String> {
        facts
            .documents
            .iter()
            .filter(|d| d.kind == k)
            .map(|d| {
                format!(
                    "{}{}{}",
                    d.title,
                    d.date.map(|x| format!(", {x}")).unwrap_or_default(),
                    d.sha256
                        .as_ref()
                        .map(|h| format!(", SHA-256 {}…", h.chars().take(16).collect::<String>()))
                        .unwrap_or_default()
                )
            })
            .collect()
    };
    let testing_needed = matches!(
        facts.system.site_category,
        SiteCategory::Item1
            | SiteCategory::Item2
            | SiteCategory::Item3
            | SiteCategory::Item4
            | SiteCategory::Item5
    );
    let mut rows: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "(1)",
            "Filing declaration form",
            docs(DocumentKind::FilingDeclarationForm),
        ),
        ("(2)", "System design plan", docs(DocumentKind::DesignPlan)),
        (
            "(2)",
            "Compliance demonstration report",
            docs(DocumentKind::ComplianceDemonstrationReport),
        ),
        (
            "(2)",
            "Completion acceptance report",
            docs(DocumentKind::CompletionAcceptanceReport),
        ),
    ];
    let mut products: Vec<String> = docs(DocumentKind::ProductCertification);
    products.extend(facts.products.iter().map(|p| {
        format!(
            "{}{}: {}",
            p.name,
            p.model
                .as_ref()
                .map(|m| format!(" {m}"))
                .unwrap_or_default(),
            p.certification
                .as_ref()
                .map(|c| format!("certification {c}"))
                .or_else(|| p
                    .quality_documents
                    .as_ref()
                    .map(|q| format!("quality documents {q}")))
                .unwrap_or_else(|| "no documents recorded".into())
        )
    }));
    rows.push((
        "(3)",
        "Mandatory product certification or quality control documents",
        products,
    ));
    let mut licences = docs(DocumentKind::ContractorBusinessLicence);
    licences.extend(facts.contractors.iter().filter_map(|c| {
        c.business_licence
            .as_ref()
            .map(|l| format!("{}: licence {l}", c.name))
    }));
    rows.push(("(4)", "The contractors' business licences", licences));
    if testing_needed {
        let mut reports = docs(DocumentKind::TestingReport);
        reports.extend(
            facts
                .events
                .iter()
                .filter(|e| e.kind == EventKind::TestingReport && e.passed == Some(true))
                .map(|e| {
                    format!(
                        "testing passed {}{}",
                        e.date,
                        e.testing_body
                            .as_ref()
                            .map(|b| format!(" ({b})"))
                            .unwrap_or_default()
                    )
                }),
        );
        rows.push(("¶2", "Report on passing testing (Art. 14)", reports));
    }
    for (item, what, have) in rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(item),
            esc(what),
            if have.is_empty() { "bad" } else { "ok" },
            if have.is_empty() {
                "missing".to_owned()
            } else {
                esc(&have.join("; "))
            }
        );
    }
    b.push_str("</table><h2>Cameras</h2><table><tr><th>Camera</th><th>Location</th><th>Purpose and scope</th><th>Sensitive collection (Art. 8 ¶2)</th><th>Sign (Art. 20)</th><th>Network interface (Art. 21)</th><th>Retention</th></tr>");
    for c in &facts.cameras {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.id),
            esc(&c.location_type.replace('_', " ")),
            if c.public_area { " (public area)" } else { "" },
            esc(c.purpose.as_deref().unwrap_or("")),
            esc(c.scope.as_deref().unwrap_or("")),
            if c.collects.is_empty() {
                "none".to_owned()
            } else {
                esc(&format!(
                    "{:?}; planning {}",
                    c.collects,
                    c.planning_approval.as_deref().unwrap_or("not recorded")
                ))
            },
            if c.signage { "yes" } else { "no" },
            if c.network_interface { "yes" } else { "no" },
            c.retention_days
                .map(|d| format!("{d} days"))
                .unwrap_or_else(|| "—".into()),
        );
    }
    b.push_str("</table><h2>Open findings</h2>");
    findings_table(report, &mut b);
    b.push_str("<div class=\"sign\"><div>For the construction unit (signature, seal, date)</div><div>Received by the public security organ (signature, date)</div></div>");
    page(&format!("Filing — {}", facts.system.name), &b, report)
}

/// The inspection report (Art. 36): the checklist pre-filled from the system's own
/// data, the findings with their penalty articles and fine ranges, and room for the
/// correction period the inspectors set.
pub fn inspection_report(facts: &Facts, report: &Report) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Oversight inspection of a public safety video image information system</h1><p>Art. 36. Inspection day: {}.</p>",
        report.as_of
    );
    particulars(facts, report, &mut b);
    b.push_str("<h2>Checklist (Art. 36 ¶2)</h2><table><tr><th>Matter</th><th>What the system's records show</th><th>Result</th></tr>");
    for item in checklist(facts, report) {
        let _ = write!(
            b,
            "<tr><td>{} {}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&item.article),
            esc(&item.matter),
            item.facts
                .iter()
                .map(|f| esc(f))
                .collect::<Vec<_>>()
                .join("<br>"),
            if item.status == "ok" { "ok" } else { "bad" },
            if item.findings.is_empty() {
                "no finding".to_owned()
            } else {
                esc(&item.findings.join(", "))
            }
        );
    }
    b.push_str("</table><h2>Findings</h2>");
    findings_table(report, &mut b);
    if !report.upcoming.is_empty() {
        b.push_str("<h2>Upcoming deadlines</h2><ul>");
        for u in &report.upcoming {
            let _ = write!(
                b,
                "<li>{}: {} ({})</li>",
                u.due,
                esc(&u.subject.label),
                esc(&u.article)
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("<h2>Corrections ordered (Art. 36 ¶1)</h2><p>Period set for corrections: ____________________</p>\
                <div class=\"sign\"><div>Inspector (name, work ID, signature)</div><div>Inspector (name, work ID, signature)</div><div>For the inspected unit (signature, seal)</div></div>");
    page(&format!("Inspection — {}", facts.system.name), &b, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_it_prints() {
        assert_eq!(esc("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
        let facts: Facts = serde_json::from_value(serde_json::json!({
            "system": { "id": "s<1>", "name": "<script>alert(1)</script>", "site_category": "item_4" },
            "cameras": [{ "id": "c", "location_type": "<img src=x>" }]
        }))
        .unwrap();
        let book = crate::ComplianceBook::shenzhen_draft();
        let report = crate::evaluate(&book, &facts, crate::Date::parse("2027-01-01").unwrap());
        for page in [
            filing_report(&facts, &report),
            inspection_report(&facts, &report),
        ] {
            assert!(
                !page.contains("<script>") && !page.contains("<img"),
                "{page}"
            );
            assert!(page.contains("&lt;script&gt;"));
        }
    }
}
