//! Printable reports (HTML, one self-contained page each): the filing declaration
//! with its materials checklist (Art. 18) and the inspection report (Art. 36). Pure:
//! facts and a report in, a page out; every value is escaped.

use std::fmt::Write;

use crate::engine::{Report, describe_fine_in, describe_measures_in};
use crate::facts::{DocumentKind, EventKind, Facts, SiteCategory};
use crate::inspection::{checklist_in, place_words, site_category_words};
use crate::rules::ComplianceBook;
use vidimus_core::lang::{Lang, article as cite_in};

/// Opens a table with one header row of `heads` (escaped).
fn table_head(out: &mut String, heads: &[&str]) {
    out.push_str("<table><tr>");
    for h in heads {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>");
}

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

/// The fixed words of the reports, in English and Chinese.
struct Words {
    lang: Lang,
}

impl Words {
    fn t<'a>(&self, en: &'a str, zh: &'a str) -> &'a str {
        self.lang.pick(en, zh)
    }
    fn cite(&self, a: &str) -> String {
        cite_in(a, self.lang)
    }
    fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }
}

fn page(w: &Words, title: &str, body: &str, report: &Report) -> String {
    let foot = if w.zh() {
        format!(
            "本报告由 Vidimus 于 {} 根据本系统的登记信息和录像生成；规则库 {} {}。所引条文为《深圳经济特区公共安全视频图像信息系统管理条例（草案）》。",
            report.as_of,
            esc(&report.rulebook),
            esc(&report.rulebook_version)
        )
    } else {
        format!(
            "Prepared by Vidimus on {} from the system's registry and recordings; rulebook {} {}. \
             Findings cite the Shenzhen SEZ Regulations on Public Safety Video Image Information Systems (draft).",
            report.as_of,
            esc(&report.rulebook),
            esc(&report.rulebook_version)
        )
    };
    format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>{body}\
         <p class=\"small\">{foot}</p></body></html>",
        l = w.lang.tag(),
        t = esc(title),
    )
}

fn particulars(w: &Words, facts: &Facts, report: &Report, out: &mut String) {
    let s = &facts.system;
    let row = |k: &str, v: &str| format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    let category = serde_json::to_value(s.site_category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    out.push_str("<table>");
    out.push_str(&row(
        w.t("System", "系统"),
        &format!("{}{}{}{}", s.name, w.t(" (", "（"), s.id, w.t(")", "）")),
    ));
    out.push_str(&row(
        w.t("Address", "地址"),
        s.address.as_deref().unwrap_or("—"),
    ));
    out.push_str(&row(
        w.t("District", "所在区"),
        &s.district
            .as_deref()
            .map(|d| district_words(d, w.lang))
            .unwrap_or_else(|| "—".into()),
    ));
    out.push_str(&row(
        w.t("Site category", "场所类别"),
        &site_category_words(&category, w.lang),
    ));
    out.push_str(&row(
        &format!(
            "{}{}",
            w.t("Responsible entity ", "建设责任主体"),
            w.t("(Art. 9 ¶2)", "（第九条第二款）")
        ),
        &report
            .responsible_entity
            .as_ref()
            .map(|r| format!("{} — {}", r.name, r.basis))
            .unwrap_or_else(|| {
                w.t(
                    "not determined: no owner recorded",
                    "无法确定：未记录所有权人",
                )
                .into()
            }),
    ));
    out.push_str(&row(
        w.t("Manager (Art. 9 ¶3)", "系统管理单位（第九条第三款）"),
        s.manager.as_deref().unwrap_or("—"),
    ));
    out.push_str(&row(
        w.t("Owner / user", "所有权人 / 使用权人"),
        &format!(
            "{} / {}{}",
            s.owner.as_deref().unwrap_or("—"),
            s.user.as_deref().unwrap_or("—"),
            if s.state_owned {
                w.t(" (State-owned)", "（国有）")
            } else {
                ""
            }
        ),
    ));
    out.push_str("</table>");
}

/// A district id in the reader's language (`futian` → Futian / 福田区).
fn district_words(d: &str, lang: Lang) -> String {
    match vidimus_core::district::DISTRICTS.iter().find(|x| x.id == d) {
        Some(x) => lang.pick(x.en, x.zh).to_owned(),
        None => d.to_owned(),
    }
}

fn findings_table(w: &Words, report: &Report, out: &mut String) {
    if report.findings.is_empty() {
        let _ = write!(
            out,
            "<p class=\"ok\">{}</p>",
            w.t(
                "No findings: the system meets every rule of the rulebook on this day.",
                "无问题：当日本系统符合规则库的全部规则。"
            )
        );
        return;
    }
    table_head(
        out,
        &[
            w.t("Finding", "问题"),
            w.t("Article breached", "违反条款"),
            w.t("Penalty article", "罚则条款"),
            w.t("Tier and fines", "处罚档次和罚款"),
            w.t("Deadline", "期限"),
        ],
    );
    let sep = w.t(": ", "：");
    for f in &report.findings {
        let fines = match f.tier {
            Some(t) => {
                let m = describe_measures_in(&f.measures, &f.fines, w.lang);
                let next: Vec<String> = f
                    .escalation
                    .iter()
                    .filter(|e| Some(e.tier) > f.tier && !e.fines.is_empty())
                    .map(|e| {
                        format!(
                            "{}{}{sep}{}",
                            w.t("if ", "如"),
                            e.tier.words_in(w.lang),
                            e.fines
                                .iter()
                                .map(|f| describe_fine_in(f, w.lang))
                                .collect::<Vec<_>>()
                                .join(w.t("; ", "；"))
                        )
                    })
                    .collect();
                format!(
                    "{}{sep}{}{}",
                    t.words_in(w.lang),
                    esc(&m),
                    if next.is_empty() {
                        String::new()
                    } else {
                        format!("<br>{}", esc(&next.join(" · ")))
                    }
                )
            }
            None => w.t("no penalty article", "无罚则条款").into(),
        };
        let _ = write!(
            out,
            "<tr><td><b>{}</b><br><span class=\"small\">{}</span><br><span class=\"small\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.summary),
            esc(&f.explanation),
            esc(&f.rule_id),
            esc(&f.cite),
            esc(f.penalty_cite.as_deref().unwrap_or("—")),
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

/// The filing declaration with its materials checklist (Art. 18), in English.
pub fn filing_report(book: &ComplianceBook, facts: &Facts, report: &Report) -> String {
    filing_report_in(book, facts, report, Lang::En)
}

/// The filing declaration in `lang` (the report evaluated in the same language).
pub fn filing_report_in(
    book: &ComplianceBook,
    facts: &Facts,
    report: &Report,
    lang: Lang,
) -> String {
    let w = Words { lang };
    let zh = w.zh();
    let mut b = String::new();
    let district = facts
        .system
        .district
        .as_deref()
        .map(|d| district_words(d, lang));
    if zh {
        let _ = write!(
            b,
            "<h1>公共安全视频图像信息系统备案表</h1><p>致{}公安机关（第十八条）。</p>",
            esc(district.as_deref().unwrap_or("系统所在地"))
        );
    } else {
        let _ = write!(
            b,
            "<h1>Filing of a public safety video image information system</h1><p>To the public security organ of {} district (Art. 18).</p>",
            esc(district.as_deref().unwrap_or("the system's"))
        );
    }
    particulars(&w, facts, report, &mut b);
    let acceptance = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::CompletionAcceptance)
        .map(|e| e.date)
        .max();
    let _ = write!(
        b,
        "<h2>{}</h2><p>",
        w.t("Completion acceptance and deadline", "竣工验收和备案期限")
    );
    match (acceptance, zh) {
        (Some(d), false) => {
            let _ = write!(
                b,
                "Completion acceptance on {d}; filing due within 30 days, by {} (Art. 18 ¶1; Art. 47: the 30th day included).",
                d.add_days(30)
            );
        }
        (Some(d), true) => {
            let _ = write!(
                b,
                "{d} 竣工验收；应于30日内、最迟于 {}（含当日）备案（第十八条第一款；第四十七条：含第30日）。",
                d.add_days(30)
            );
        }
        (None, _) => b.push_str(w.t("Completion acceptance is not recorded.", "未记录竣工验收。")),
    }
    let _ = write!(
        b,
        "</p><h2>{}</h2>",
        w.t(
            "Materials (Art. 18 ¶1, ¶2)",
            "备案材料（第十八条第一款、第二款）"
        ),
    );
    table_head(
        &mut b,
        &[
            "",
            w.t("Material", "材料"),
            w.t("In the registry", "登记情况"),
        ],
    );
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
    let mut rows: Vec<(String, &str, Vec<String>)> = vec![
        (
            w.cite("Art. 18 ¶1(1)"),
            w.t("Filing declaration form", "备案申报表"),
            docs(DocumentKind::FilingDeclarationForm),
        ),
        (
            w.cite("Art. 18 ¶1(2)"),
            w.t("System design plan", "系统设计方案"),
            docs(DocumentKind::DesignPlan),
        ),
        (
            w.cite("Art. 18 ¶1(2)"),
            w.t("Compliance demonstration report", "合规论证报告"),
            docs(DocumentKind::ComplianceDemonstrationReport),
        ),
        (
            w.cite("Art. 18 ¶1(2)"),
            w.t("Completion acceptance report", "竣工验收报告"),
            docs(DocumentKind::CompletionAcceptanceReport),
        ),
    ];
    let mut products: Vec<String> = docs(DocumentKind::ProductCertification);
    products.extend(facts.products.iter().map(|p| {
        format!(
            "{}{}{}{}",
            p.name,
            p.model
                .as_ref()
                .map(|m| format!(" {m}"))
                .unwrap_or_default(),
            w.t(": ", "："),
            p.certification
                .as_ref()
                .map(|c| format!("{}{c}", w.t("certification ", "认证证书 ")))
                .or_else(|| p
                    .quality_documents
                    .as_ref()
                    .map(|q| format!("{}{q}", w.t("quality documents ", "质量文件 "))))
                .unwrap_or_else(|| w.t("no documents recorded", "未记录文件").into())
        )
    }));
    rows.push((
        w.cite("Art. 18 ¶1(3)"),
        w.t(
            "Mandatory product certification or quality control documents",
            "强制性产品认证或质量控制文件",
        ),
        products,
    ));
    let mut licences = docs(DocumentKind::ContractorBusinessLicence);
    licences.extend(facts.contractors.iter().filter_map(|c| {
        c.business_licence
            .as_ref()
            .map(|l| format!("{}{}{l}", c.name, w.t(": licence ", "：营业执照 ")))
    }));
    rows.push((
        w.cite("Art. 18 ¶1(4)"),
        w.t("The contractors' business licences", "承包单位营业执照"),
        licences,
    ));
    if testing_needed {
        let mut reports = docs(DocumentKind::TestingReport);
        reports.extend(
            facts
                .events
                .iter()
                .filter(|e| e.kind == EventKind::TestingReport && e.passed == Some(true))
                .map(|e| {
                    format!(
                        "{}{}{}",
                        w.t("testing passed ", "检测合格 "),
                        e.date,
                        e.testing_body
                            .as_ref()
                            .map(|b| if zh {
                                format!("（{b}）")
                            } else {
                                format!(" ({b})")
                            })
                            .unwrap_or_default()
                    )
                }),
        );
        rows.push((
            w.cite("Art. 18 ¶2"),
            w.t(
                "Report on passing testing (Art. 14)",
                "检测合格报告（第十四条）",
            ),
            reports,
        ));
    }
    for (item, what, have) in rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&item),
            esc(what),
            if have.is_empty() { "bad" } else { "ok" },
            if have.is_empty() {
                w.t("missing", "缺少").to_owned()
            } else {
                esc(&have.join(w.t("; ", "；")))
            }
        );
    }
    let _ = write!(b, "</table><h2>{}</h2>", w.t("Cameras", "摄像机"));
    table_head(
        &mut b,
        &[
            w.t("Camera", "摄像机"),
            w.t("Location", "安装位置"),
            w.t("Purpose and scope", "用途和范围"),
            w.t(
                "Sensitive collection (Art. 8 ¶2)",
                "敏感信息采集（第八条第二款）",
            ),
            w.t("Sign (Art. 20)", "提示标识（第二十条）"),
            w.t("Network interface (Art. 21)", "联网接口（第二十一条）"),
            w.t("Retention", "保存期限"),
        ],
    );
    let yes_no = |b: bool| {
        if b {
            w.t("yes", "是")
        } else {
            w.t("no", "否")
        }
    };
    for c in &facts.cameras {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.id),
            esc(&place_words(book, &c.location_type, lang)),
            if c.public_area {
                w.t(" (public area)", "（公共区域）")
            } else {
                ""
            },
            esc(c.purpose.as_deref().unwrap_or("")),
            esc(c.scope.as_deref().unwrap_or("")),
            if c.collects.is_empty() {
                w.t("none", "无").to_owned()
            } else {
                esc(&format!(
                    "{}{}{}",
                    c.collects
                        .iter()
                        .map(|x| x.words_in(lang))
                        .collect::<Vec<_>>()
                        .join(w.t(", ", "、")),
                    w.t("; planning ", "；统一规划："),
                    c.planning_approval
                        .as_deref()
                        .unwrap_or(w.t("not recorded", "未记录"))
                ))
            },
            yes_no(c.signage),
            yes_no(c.network_interface),
            c.retention_days
                .map(|d| format!("{d} {}", w.t("days", "日")))
                .unwrap_or_else(|| "—".into()),
        );
    }
    let _ = write!(b, "</table><h2>{}</h2>", w.t("Open findings", "未整改问题"));
    findings_table(&w, report, &mut b);
    // The PSB's acknowledgement of the latest filing, where it has given one.
    let filed = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Filing)
        .map(|e| e.date)
        .max();
    let acknowledged = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::FilingAcknowledged && filed.is_some_and(|f| e.date >= f))
        .map(|e| e.date)
        .max();
    match (filed, acknowledged) {
        (Some(f), Some(a)) => {
            let _ = write!(
                b,
                "<p class=\"ok\" data-acknowledged=\"{a}\">{}</p>",
                esc(&if zh {
                    format!("{f} 的备案已由公安机关于 {a} 确认收到。")
                } else {
                    format!(
                        "The filing of {f} was acknowledged by the public security organ on {a}."
                    )
                })
            );
        }
        (Some(f), None) => {
            let _ = write!(
                b,
                "<p>{}</p>",
                esc(&if zh {
                    format!("{f} 的备案尚待公安机关确认。")
                } else {
                    format!("The filing of {f} awaits the public security organ's acknowledgement.")
                })
            );
        }
        _ => {}
    }
    let _ = write!(
        b,
        "<div class=\"sign\"><div>{}</div><div>{}</div></div>",
        w.t(
            "For the construction unit (signature, seal, date)",
            "建设单位（签名、盖章、日期）"
        ),
        w.t(
            "Received by the public security organ (signature, date)",
            "公安机关接收（签名、日期）"
        ),
    );
    page(
        &w,
        &format!("{} — {}", w.t("Filing", "备案"), facts.system.name),
        &b,
        report,
    )
}

/// The inspection report (Art. 36), in English.
pub fn inspection_report(book: &ComplianceBook, facts: &Facts, report: &Report) -> String {
    inspection_report_in(book, facts, report, Lang::En)
}

/// The inspection report (Art. 36) in `lang`: the checklist pre-filled from the
/// system's own data, the findings with their penalty articles and fine ranges, and
/// room for the correction period the inspectors set.
pub fn inspection_report_in(
    book: &ComplianceBook,
    facts: &Facts,
    report: &Report,
    lang: Lang,
) -> String {
    let w = Words { lang };
    let mut b = String::new();
    if w.zh() {
        let _ = write!(
            b,
            "<h1>公共安全视频图像信息系统监督检查报告</h1><p>第三十六条。检查日期：{}。</p>",
            report.as_of
        );
    } else {
        let _ = write!(
            b,
            "<h1>Oversight inspection of a public safety video image information system</h1><p>Art. 36. Inspection day: {}.</p>",
            report.as_of
        );
    }
    particulars(&w, facts, report, &mut b);
    let _ = write!(
        b,
        "<h2>{}</h2>",
        w.t("Checklist (Art. 36 ¶2)", "检查事项（第三十六条第二款）"),
    );
    table_head(
        &mut b,
        &[
            w.t("Matter", "事项"),
            w.t("What the system's records show", "系统记录显示"),
            w.t("Result", "结果"),
        ],
    );
    for item in checklist_in(book, facts, report, lang) {
        let _ = write!(
            b,
            "<tr><td>{} {}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            esc(&item.cite),
            esc(&item.matter),
            item.facts
                .iter()
                .map(|f| esc(f))
                .collect::<Vec<_>>()
                .join("<br>"),
            if item.status == "ok" { "ok" } else { "bad" },
            if item.findings.is_empty() {
                w.t("no finding", "未发现问题").to_owned()
            } else {
                item.findings
                    .iter()
                    .map(|f| esc(f))
                    .collect::<Vec<_>>()
                    .join("<br>")
            }
        );
    }
    let _ = write!(b, "</table><h2>{}</h2>", w.t("Findings", "发现的问题"));
    findings_table(&w, report, &mut b);
    if !report.upcoming.is_empty() {
        let _ = write!(
            b,
            "<h2>{}</h2><ul>",
            w.t("Upcoming deadlines", "即将到期的义务")
        );
        for u in &report.upcoming {
            let _ = write!(
                b,
                "<li>{}{}{} — {}</li>",
                u.due,
                w.t(": ", "："),
                esc(&u.subject.label),
                esc(&u.due_what)
            );
        }
        b.push_str("</ul>");
    }
    let _ = write!(
        b,
        "<h2>{}</h2><p>{}____________________</p><div class=\"sign\"><div>{}</div><div>{}</div><div>{}</div></div>",
        w.t(
            "Corrections ordered (Art. 36 ¶1)",
            "责令整改（第三十六条第一款）"
        ),
        w.t("Period set for corrections: ", "整改期限："),
        w.t(
            "Inspector (name, work ID, signature)",
            "检查人员（姓名、工作证号、签名）"
        ),
        w.t(
            "Inspector (name, work ID, signature)",
            "检查人员（姓名、工作证号、签名）"
        ),
        w.t(
            "For the inspected unit (signature, seal)",
            "被检查单位（签名、盖章）"
        ),
    );
    page(
        &w,
        &format!("{} — {}", w.t("Inspection", "检查"), facts.system.name),
        &b,
        report,
    )
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
            filing_report(&book, &facts, &report),
            inspection_report(&book, &facts, &report),
        ] {
            assert!(
                !page.contains("<script>") && !page.contains("<img"),
                "{page}"
            );
            assert!(page.contains("&lt;script&gt;"));
        }
    }
}
