//! The inspection checklist (Art. 36 ¶2): the matters an oversight inspection covers,
//! each pre-filled from the system's own facts and the findings about it, so the
//! inspector starts from what the system already knows. Pure.

use serde::Serialize;

use crate::engine::{Finding, Report};
use crate::facts::{EventKind, Facts, PersonRole};
use crate::rules::ComplianceBook;
use vidimus_core::lang::{Lang, article as cite_in};

/// One matter of Art. 36 ¶2.
#[derive(Clone, Debug, Serialize)]
pub struct ChecklistItem {
    /// `Art. 36 ¶2(1)` ...
    pub article: String,
    /// The same cited in the reader's language (第三十六条第二款第（一）项).
    pub cite: String,
    pub matter: String,
    /// What the system's facts say, one line each.
    pub facts: Vec<String>,
    /// The findings that belong to this matter, in words ("camera gate-1: ...").
    pub findings: Vec<String>,
    /// Their rule ids, for machines.
    pub rule_ids: Vec<String>,
    /// `ok` when no finding belongs to it, else `findings`.
    pub status: &'static str,
}

/// The matters (English, Chinese), and which articles' rules belong to each.
const MATTERS: &[(&str, &str, &str, &[&str])] = &[
    (
        "(1)",
        "System installation",
        "系统安装情况",
        &["8", "9", "10", "11", "20", "21"],
    ),
    (
        "(2)",
        "System recording and obtaining of testing reports",
        "系统备案及检测报告取得情况",
        &["13", "14", "15", "17", "18", "19", "27", "28"],
    ),
    (
        "(3)",
        "Periodic appraisals of system performance and security risks",
        "系统性能和安全风险定期评估情况",
        &[],
    ),
    (
        "(4)",
        "System operation and storage of acquired information",
        "系统运行及所采集信息的存储情况",
        &["30", "32"],
    ),
    (
        "(5)",
        "Implementation of security measures and management systems",
        "安全防范措施和管理制度落实情况",
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
        .position(|(_, _, _, arts)| arts.contains(&art))
        .unwrap_or(4)
}

fn latest(facts: &Facts, kind: EventKind) -> Option<&crate::facts::Event> {
    facts
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .max_by_key(|e| e.date)
}

/// The checklist for one system on the report's day, in English.
pub fn checklist(book: &ComplianceBook, facts: &Facts, report: &Report) -> Vec<ChecklistItem> {
    checklist_in(book, facts, report, Lang::En)
}

/// The checklist in `lang` (the report should be evaluated in the same language).
pub fn checklist_in(
    book: &ComplianceBook,
    facts: &Facts,
    report: &Report,
    lang: Lang,
) -> Vec<ChecklistItem> {
    let zh = lang == Lang::Zh;
    let t = |en: &'static str, zh: &'static str| lang.pick(en, zh);
    let mut lines: Vec<Vec<String>> = vec![Vec::new(); MATTERS.len()];
    let s = &facts.system;
    // (1) installation
    let category = serde_json::to_value(s.site_category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    lines[0].push(if zh {
        format!("场所类别：{}", site_category_words(&category, lang))
    } else {
        format!("site category: {}", category.replace('_', " "))
    });
    lines[0].push(format!(
        "{}{}",
        t("system installed: ", "系统已安装："),
        if s.installed {
            t("yes", "是")
        } else {
            t("no", "否")
        }
    ));
    if let Some(p) = &s.personal_security_purpose {
        lines[0].push(if zh {
            format!("自身安全防范需要（第十一条）：{p}")
        } else {
            format!("personal security purpose (Art. 11): {p}")
        });
    }
    let public = facts.cameras.iter().filter(|c| c.public_area).count();
    let signed = facts
        .cameras
        .iter()
        .filter(|c| c.public_area && c.signage)
        .count();
    lines[0].push(if zh {
        format!(
            "摄像机：{} 台（公共区域 {public} 台，其中 {signed} 台设有提示标识）",
            facts.cameras.len()
        )
    } else {
        format!(
            "cameras: {} ({public} in public areas, {signed} of them with notice signs)",
            facts.cameras.len()
        )
    });
    for c in &facts.cameras {
        let sensitive = if c.collects.is_empty() {
            String::new()
        } else if zh {
            format!(
                "，采集敏感信息（统一规划：{}）",
                c.planning_approval.as_deref().unwrap_or("未记录")
            )
        } else {
            format!(
                ", collects sensitive information (planning: {})",
                c.planning_approval.as_deref().unwrap_or("none recorded")
            )
        };
        lines[0].push(if zh {
            format!(
                "摄像机 {}：{}{}{}",
                c.id,
                place_words(book, c.location_type.as_str(), lang),
                c.purpose
                    .as_ref()
                    .map(|p| format!("，用途：{p}"))
                    .unwrap_or_default(),
                sensitive
            )
        } else {
            format!(
                "camera {}: {}{}{}",
                c.id,
                c.location_type.replace('_', " "),
                c.purpose
                    .as_ref()
                    .map(|p| format!(", purpose: {p}"))
                    .unwrap_or_default(),
                sensitive
            )
        });
    }
    // (2) recording (filing) and testing reports
    lines[1].push(match latest(facts, EventKind::CompletionAcceptance) {
        Some(e) => format!("{}{}", t("completion acceptance: ", "竣工验收："), e.date),
        None => t("completion acceptance: not recorded", "竣工验收：未记录").into(),
    });
    let filed = latest(facts, EventKind::Filing);
    // The PSB's acknowledgement of that filing (on or after it).
    let acknowledged = filed
        .and_then(|f| latest(facts, EventKind::FilingAcknowledged).filter(|a| a.date >= f.date));
    lines[1].push(match (filed, zh) {
        (Some(e), true) => format!("已备案：{}（材料 {} 份）", e.date, e.materials.len()),
        (Some(e), false) => format!("filed: {} ({} materials)", e.date, e.materials.len()),
        (None, _) => t("filed: not recorded", "备案：未记录").into(),
    });
    if filed.is_some() {
        lines[1].push(match (acknowledged, zh) {
            (Some(a), true) => format!("公安机关已于 {} 确认收到备案", a.date),
            (Some(a), false) => format!("filing acknowledged by the PSB on {}", a.date),
            (None, true) => "公安机关尚未确认收到备案".into(),
            (None, false) => "filing not yet acknowledged by the PSB".into(),
        });
    }
    for e in facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::TestingReport)
    {
        let result = match e.passed {
            Some(true) => t("passed", "合格"),
            Some(false) => t("not passed", "不合格"),
            None => t("result not recorded", "结果未记录"),
        };
        lines[1].push(if zh {
            format!(
                "检测报告 {}：{}{}{}",
                e.date,
                result,
                e.testing_body
                    .as_ref()
                    .map(|b| format!("（检测机构：{b}）"))
                    .unwrap_or_default(),
                e.copy_to_psb
                    .map(|d| format!("，{d} 抄送公安机关"))
                    .unwrap_or_else(|| "，未记录抄送公安机关".into())
            )
        } else {
            format!(
                "testing report {}: {}{}{}",
                e.date,
                result,
                e.testing_body
                    .as_ref()
                    .map(|b| format!(" by {b}"))
                    .unwrap_or_default(),
                e.copy_to_psb
                    .map(|d| format!(", copy to the PSB {d}"))
                    .unwrap_or_else(|| ", no copy to the PSB recorded".into())
            )
        });
    }
    // (3) periodic appraisals
    for (kind, what) in [
        (
            EventKind::PerformanceAssessment,
            t("system performance", "系统性能"),
        ),
        (
            EventKind::SecurityAssessment,
            t("security risks", "安全风险"),
        ),
    ] {
        lines[2].push(match (latest(facts, kind), zh) {
            (Some(e), false) => format!("last assessment of {what}: {}", e.date),
            (Some(e), true) => format!("最近一次{what}评估：{}", e.date),
            (None, false) => format!("assessment of {what}: none recorded"),
            (None, true) => format!("{what}评估：未记录"),
        });
    }
    // (4) operation and storage
    for c in &facts.cameras {
        let mut l = if zh {
            format!(
                "摄像机 {}：保存期限{}",
                c.id,
                c.retention_days
                    .map(|d| format!("设定为 {d} 日"))
                    .unwrap_or_else(|| "未记录".into())
            )
        } else {
            format!(
                "camera {}: retention {}",
                c.id,
                c.retention_days
                    .map(|d| format!("{d} days configured"))
                    .unwrap_or_else(|| "not recorded".into())
            )
        };
        if let Some(m) = &c.measured {
            let held = report.as_of.days_since(m.oldest_kept);
            l.push_str(&if zh {
                format!(
                    "；实存 {held} 日（最早录像 {}）；自 {} 起录像；最长中断 {} 秒，保存期内中断共 {} 秒",
                    m.oldest_kept, m.recording_since, m.longest_gap_seconds, m.gap_seconds_total
                )
            } else {
                format!(
                    "; holds {held} days (oldest recording {}); recording since {}; longest gap {} s, {} s of gaps in the retention window",
                    m.oldest_kept, m.recording_since, m.longest_gap_seconds, m.gap_seconds_total
                )
            });
        }
        lines[3].push(l);
    }
    lines[3].push(match (s.log_retention_days, zh) {
        (Some(d), false) if d >= 36_500 => {
            "system log: kept indefinitely (leaves are never deleted)".into()
        }
        (Some(d), true) if d >= 36_500 => "系统日志：永久保存（日志条目从不删除）".into(),
        (Some(d), false) => format!("system log: kept {d} days"),
        (Some(d), true) => format!("系统日志：保存 {d} 日"),
        (None, _) => t(
            "system log retention: not recorded",
            "系统日志保存期限：未记录",
        )
        .into(),
    });
    // (5) security measures and management systems
    for (role, what) in [
        (
            PersonRole::Responsible,
            t("responsible for the system", "系统负责人"),
        ),
        (
            PersonRole::Maintenance,
            t("looking after and maintaining it", "系统看护和维护人员"),
        ),
    ] {
        let names: Vec<&str> = facts
            .persons
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.name.as_str())
            .collect();
        lines[4].push(format!(
            "{what}{}{}",
            t(": ", "："),
            if names.is_empty() {
                t("nobody named", "未指定").to_owned()
            } else {
                names.join(t(", ", "、"))
            }
        ));
    }
    for (kind, what) in [
        (EventKind::Training, t("last training", "最近一次培训")),
        (
            EventKind::EmergencyPlan,
            t("emergency response plan", "应急预案"),
        ),
        (EventKind::Inspection, t("last inspection", "最近一次检查")),
    ] {
        lines[4].push(match latest(facts, kind) {
            Some(e) => format!("{what}{}{}", t(": ", "："), e.date),
            None => format!("{what}{}", t(": none recorded", "：未记录")),
        });
    }
    lines[4].push(format!(
        "{}{}",
        t("internet transmission: ", "互联网传输："),
        match (s.internet_transmission, s.internet_protection) {
            (false, _) => t("none", "无"),
            (true, true) => t(
                "with notice to subjects and protection",
                "已告知采集对象并采取保护措施"
            ),
            (true, false) => t("without recorded protection", "未记录保护措施"),
        }
    ));
    let accesses = facts
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Access)
        .count();
    lines[4].push(if zh {
        format!("其他单位调取记录：{accesses} 次")
    } else {
        format!("accesses by other parties on record: {accesses}")
    });

    let mut findings: Vec<Vec<String>> = vec![Vec::new(); MATTERS.len()];
    let mut rule_ids: Vec<Vec<String>> = vec![Vec::new(); MATTERS.len()];
    for f in &report.findings {
        let i = matter_of(f);
        if !findings[i].contains(&f.summary) {
            findings[i].push(f.summary.clone());
        }
        if !rule_ids[i].contains(&f.rule_id) {
            rule_ids[i].push(f.rule_id.clone());
        }
    }
    MATTERS
        .iter()
        .zip(lines)
        .zip(findings.into_iter().zip(rule_ids))
        .map(
            |(((item, en, zh_matter, _), facts), (findings, rule_ids))| {
                let article = format!("Art. 36 ¶2{item}");
                ChecklistItem {
                    cite: cite_in(&article, lang),
                    article,
                    matter: lang.pick(en, zh_matter).to_owned(),
                    facts,
                    status: if findings.is_empty() {
                        "ok"
                    } else {
                        "findings"
                    },
                    findings,
                    rule_ids,
                }
            },
        )
        .collect()
}

/// A site category (`item_4`, `outside_scope`) in words: "Art. 9 ¶1 item (4)",
/// 第九条第一款第（四）项所列场所.
pub fn site_category_words(category: &str, lang: Lang) -> String {
    match (category.strip_prefix("item_"), lang) {
        (Some(n), Lang::En) => format!("Art. 9 ¶1 item ({n})"),
        (Some(n), Lang::Zh) => format!("{}所列场所", cite_in(&format!("Art. 9 ¶1({n})"), lang)),
        (None, Lang::En) => "outside the scope of Art. 9 ¶1 (Art. 11)".into(),
        (None, Lang::Zh) => "第九条第一款范围以外（第十一条）".into(),
    }
}

/// A place type id in words: its Chinese name from the rulebook's vocabulary where
/// the reader reads Chinese.
pub fn place_words(book: &ComplianceBook, id: &str, lang: Lang) -> String {
    match (lang, book.place(id)) {
        (Lang::Zh, Some(p)) => p.zh.clone(),
        _ => id.replace('_', " "),
    }
}
