//! The languages Vidimus speaks to people, and citing articles in each.
//!
//! Everything the server writes for people — alarms, findings and their explanations,
//! error messages, the printable reports — exists in English and in Simplified
//! Chinese. The language of a request is the one the user chose in the console (kept
//! with the session), else the first of `Accept-Language` we speak, else English.
//!
//! Articles are cited the way each language cites them: `Art. 9 ¶1(4)` in English,
//! 第九条第一款第（四）项 in Chinese. The rulebook writes the English form; [`article`]
//! turns it into the reader's.

use std::fmt;

/// A language of the user interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    Zh,
}

impl Lang {
    /// Every language, in the order offered.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The BCP 47 tag: `en`, `zh-CN`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// Reads a language tag: `en`, `en-GB`, `zh`, `zh-CN`, `zh-Hans`, `zh_CN`, in any
    /// case. Traditional Chinese (`zh-TW`, `zh-Hant`, `zh-HK`) is not Simplified
    /// Chinese and is not accepted for it.
    pub fn parse(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        let mut parts = t.split('-');
        match parts.next()? {
            "en" => Some(Lang::En),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                let traditional = rest
                    .iter()
                    .any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"));
                (!traditional).then_some(Lang::Zh)
            }
            _ => None,
        }
    }

    /// Picks the text in this language.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A text for people in both languages.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

impl Text {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Text {
        Text {
            en: en.into(),
            zh: zh.into(),
        }
    }
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.en, &self.zh)
    }
}

/// An article citation in `lang`. `Art. 9 ¶1(4)` becomes 第九条第一款第（四）项; a
/// citation that is not of the form `Art. N[ ¶P][(I)]` is returned as it is.
pub fn article(cite: &str, lang: Lang) -> String {
    match lang {
        Lang::En => cite.to_owned(),
        Lang::Zh => article_zh(cite).unwrap_or_else(|| cite.to_owned()),
    }
}

/// Every citation of the form `Art. N[ ¶P][(I)]` inside `text`, in `lang`.
pub fn articles_in(text: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Art. ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let len = citation_len(tail);
        match article_zh(&tail[..len]) {
            Some(zh) => out.push_str(&zh),
            None => out.push_str(&tail[..len]),
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// The length of the citation at the start of `s` (which starts with `Art. `).
fn citation_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 5;
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return 5;
    }
    let para = " ¶".len();
    if s[i..].starts_with(" ¶") {
        let mut j = i + para;
        if digits(&mut j) {
            i = j;
        }
    }
    if s[i..].starts_with('(') {
        let mut j = i + 1;
        if digits(&mut j) && s[j..].starts_with(')') {
            i = j + 1;
        }
    }
    i
}

fn article_zh(cite: &str) -> Option<String> {
    let rest = cite.trim().strip_prefix("Art. ")?;
    let (head, item) = match rest.strip_suffix(')') {
        Some(r) => {
            let (h, i) = r.rsplit_once('(')?;
            (h, Some(i.parse::<u32>().ok()?))
        }
        None => (rest, None),
    };
    let (n, para) = match head.split_once(" ¶") {
        Some((n, p)) => (n, Some(p.parse::<u32>().ok()?)),
        None => (head, None),
    };
    let n: u32 = n.parse().ok()?;
    let mut out = format!("第{}条", numeral(n)?);
    if let Some(p) = para {
        out.push_str(&format!("第{}款", numeral(p)?));
    }
    if let Some(i) = item {
        out.push_str(&format!("第（{}）项", numeral(i)?));
    }
    Some(out)
}

/// A number from 1 to 999 in Chinese numerals, as articles are numbered: 九, 十,
/// 二十, 四十一, 一百零三.
pub fn numeral(n: u32) -> Option<String> {
    const D: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    if n == 0 || n > 999 {
        return None;
    }
    if n < 10 {
        return Some(D[n as usize].to_string());
    }
    let (h, t, u) = (n / 100, n / 10 % 10, n % 10);
    let mut s = String::new();
    if h > 0 {
        s.push(D[h as usize]);
        s.push('百');
    }
    match (h > 0, t, u) {
        (_, 0, 0) => {}
        (true, 0, u) => {
            s.push('零');
            s.push(D[u as usize]);
        }
        (has_h, t, u) => {
            // 十 alone reads "ten" (十, 十五), 一十 only after hundreds (一百一十).
            if t > 1 || has_h {
                s.push(D[t as usize]);
            }
            s.push('十');
            if u > 0 {
                s.push(D[u as usize]);
            }
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        let cases = [
            (1, "一"),
            (9, "九"),
            (10, "十"),
            (15, "十五"),
            (20, "二十"),
            (41, "四十一"),
            (47, "四十七"),
            (100, "一百"),
            (103, "一百零三"),
            (110, "一百一十"),
            (999, "九百九十九"),
        ];
        for (n, zh) in cases {
            assert_eq!(numeral(n).as_deref(), Some(zh), "{n}");
        }
        assert_eq!(numeral(0), None);
        assert_eq!(numeral(1000), None);
    }

    #[test]
    fn articles_the_chinese_way() {
        let cases = [
            ("Art. 20", "第二十条"),
            ("Art. 9 ¶1", "第九条第一款"),
            ("Art. 9 ¶1(4)", "第九条第一款第（四）项"),
            ("Art. 41(8)", "第四十一条第（八）项"),
            ("Art. 18 ¶3", "第十八条第三款"),
        ];
        for (en, zh) in cases {
            assert_eq!(article(en, Lang::Zh), zh);
            assert_eq!(article(en, Lang::En), en);
        }
        // Not a citation: unchanged.
        assert_eq!(article("Chapter IV", Lang::Zh), "Chapter IV");
        assert_eq!(article("Art. x", Lang::Zh), "Art. x");
    }

    #[test]
    fn citations_inside_text() {
        assert_eq!(
            articles_in("see Art. 9 ¶1(4) and Art. 48; Art. x", Lang::Zh),
            "see 第九条第一款第（四）项 and 第四十八条; Art. x"
        );
        assert_eq!(articles_in("Art. 10.", Lang::Zh), "第十条.");
        assert_eq!(articles_in("Art. 10", Lang::En), "Art. 10");
    }

    #[test]
    fn tags() {
        for (tag, lang) in [
            ("en", Some(Lang::En)),
            ("en-GB", Some(Lang::En)),
            ("zh", Some(Lang::Zh)),
            ("zh-CN", Some(Lang::Zh)),
            ("ZH_cn", Some(Lang::Zh)),
            ("zh-Hans-CN", Some(Lang::Zh)),
            ("zh-TW", None),
            ("zh-Hant", None),
            ("fr", None),
            ("", None),
        ] {
            assert_eq!(Lang::parse(tag), lang, "{tag}");
        }
    }
}
