//! The rulebook and the engine in Chinese: every rule, penalty and retention minimum
//! of the shipped rulebook has its own Chinese text; a Chinese evaluation cites
//! articles the Chinese way (第十条, 第四十一条第（一）项) and its explanations,
//! checklists and printable reports contain no English words outside ids and paths.

mod support;

use serde_json::json;
use support::*;
use vidimus_compliance::ComplianceBook;
use vidimus_compliance::inspection::checklist_in;
use vidimus_compliance::printable::{filing_report_in, inspection_report_in};
use vidimus_core::lang::Lang;
use vidimus_core::rulebook::Rulebook;

/// English words of `text`: tokens of two or more letters that are not ids or paths
/// (no `_`, `.`, digits, quotes) and not units or names this test uses.
fn english_words(text: &str) -> Vec<String> {
    // The names the example facts give (system, cameras, products, persons, ...): names
    // are shown as they are recorded.
    let names = names();
    let mut text = text.to_owned();
    // A name only where it stands alone (`filing` inside `event.filing` is a path).
    let part =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    for n in names.iter().filter(|n| !n.is_empty()) {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(n.as_str()) {
            let before = rest[..at].chars().next_back();
            let after = rest[at + n.len()..].chars().next();
            out.push_str(&rest[..at]);
            out.push_str(if part(before) || part(after) { n } else { " " });
            rest = &rest[at + n.len()..];
        }
        out.push_str(rest);
        text = out;
    }
    let text = text.as_str();
    const ALLOWED: &[&str] = &[
        "SHA", "RMB", "GiB", "Vidimus", "PSB", // units and names
        "Example", "Bank", "Shenzhen", "Branch", "Futian", "Holdings", "Guard", "Ltd",
        "Co", // the example's names
        "lobby", "Lobby", "vault", "Vault", "entrance", "Entrance",
    ];
    // A quoted value ("restroom") is an id as recorded, not a word.
    let mut unquoted = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            unquoted.push(c);
        }
    }
    unquoted
        .split(|c: char| {
            c.is_whitespace() || "，。：；、（）()“”\"'‘’[]<>|·—–→,;!?？！".contains(c)
        })
        // Without the punctuation around it ("Penalty:" is the word "Penalty"); with
        // _ . / : = - or digits inside, an id, a path or a time, not a word.
        .map(|t| t.trim_matches(|c| c == '.' || c == ':'))
        .filter(|t| t.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|t| {
            !t.contains(['_', '.', '/', ':', '=', '-']) && !t.chars().any(|c| c.is_ascii_digit())
        })
        .flat_map(|t| {
            t.split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| w.len() >= 2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|w| !ALLOWED.contains(&w.as_str()))
        .collect()
}

/// Every string of the example facts: the names and values people recorded.
fn names() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&base(), &mut out);
    // Longest first, so a name is removed before a shorter one inside it.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

#[test]
fn every_rule_and_penalty_has_its_own_chinese() {
    let book = ComplianceBook::shenzhen_draft();
    for r in &book.rules {
        assert_ne!(r.finding_zh, r.finding, "{}: no finding_zh", r.id);
        assert_ne!(r.text_zh, r.text, "{}: no text_zh", r.id);
        for zh in [&r.finding_zh, &r.text_zh] {
            assert!(english_words(zh).is_empty(), "{}: {zh}", r.id);
        }
    }
    for (k, p) in &book.penalties {
        let t = p
            .title_zh
            .as_deref()
            .unwrap_or_else(|| panic!("{k}: no title_zh"));
        assert!(english_words(t).is_empty(), "{k}: {t}");
        assert!(p.authority_zh.is_some(), "{k}: no authority_zh");
    }
    let rb = Rulebook::shenzhen_draft();
    assert!(rb.rulebook.title_zh.is_some());
    for r in &rb.retention {
        assert!(r.text_zh.is_some(), "{}: no text_zh", r.id);
    }
}

#[test]
fn a_chinese_evaluation_cites_the_chinese_way_and_says_it_in_chinese() {
    let book = ComplianceBook::shenzhen_draft();
    let mut v = base();
    set(&mut v, "cameras.0.location_type", json!("restroom"));
    remove_events(&mut v, "filing");
    let facts: vidimus_compliance::Facts = serde_json::from_value(v.clone()).unwrap();
    let as_of = date("2028-02-01");
    let en = vidimus_compliance::evaluate(&book, &facts, as_of);
    let zh = vidimus_compliance::evaluate_in(&book, &facts, as_of, Lang::Zh);
    // The same findings, the same stable ids and citations; only the words differ.
    assert_eq!(
        en.findings
            .iter()
            .map(|f| (&f.rule_id, &f.article))
            .collect::<Vec<_>>(),
        zh.findings
            .iter()
            .map(|f| (&f.rule_id, &f.article))
            .collect::<Vec<_>>()
    );
    assert!(!zh.findings.is_empty());
    let art10 = zh
        .findings
        .iter()
        .find(|f| f.rule_id == "art10.prohibited_place")
        .expect("the restroom camera");
    assert_eq!(art10.cite, "第十条");
    assert_eq!(art10.penalty_cite.as_deref(), Some("第三十九条第（一）项"));
    assert!(
        art10.explanation.contains("卫生间"),
        "{}",
        art10.explanation
    );
    assert!(art10.explanation.contains("罚则"), "{}", art10.explanation);
    let filing = zh
        .findings
        .iter()
        .find(|f| f.rule_id == "art18.filing_deadline")
        .expect("not filed");
    assert_eq!(filing.cite, "第十八条第一款");
    for f in &zh.findings {
        let words = english_words(&f.explanation);
        assert!(
            words.is_empty(),
            "{}: {words:?} in {}",
            f.rule_id,
            f.explanation
        );
        assert!(english_words(&f.summary).is_empty(), "{}", f.summary);
    }
    for u in &zh.upcoming {
        assert!(
            english_words(&u.explanation).is_empty(),
            "{}",
            u.explanation
        );
    }
    for n in &zh.not_evaluated {
        assert!(english_words(&n.reason).is_empty(), "{}", n.reason);
    }
    for item in checklist_in(&book, &facts, &zh, Lang::Zh) {
        assert!(item.cite.starts_with("第三十六条第二款"), "{}", item.cite);
        for line in item
            .facts
            .iter()
            .chain(&item.findings)
            .chain([&item.matter])
        {
            assert!(english_words(line).is_empty(), "{line}");
        }
    }
    for page in [
        filing_report_in(&book, &facts, &zh, Lang::Zh),
        inspection_report_in(&book, &facts, &zh, Lang::Zh),
    ] {
        assert!(page.contains("<html lang=\"zh-CN\">"));
        // The page's text, without its markup and style sheet.
        let body = &page[page.find("<body>").unwrap()..];
        let mut text = String::new();
        let mut tag = false;
        for c in body.chars() {
            match c {
                '<' => tag = true,
                '>' => {
                    tag = false;
                    text.push(' ');
                }
                c if !tag => text.push(c),
                _ => {}
            }
        }
        let text = text
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let words = english_words(&text);
        assert!(words.is_empty(), "{words:?}");
    }
}
