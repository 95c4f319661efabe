//! The engine: facts + rulebook + a date → findings, explained in words. Pure.
//!
//! For each rule (and each item of its `for_each` collection): if `applies` holds and
//! the `deadline` is missed or `requires` fails, that is a finding. A deadline not yet
//! due is an upcoming deadline. The tier follows from the facts: an order to correct
//! (a `correction_notice` event naming the rule) whose set period has passed means
//! the correction was refused; a `serious_consequences` event naming the rule raises
//! it further. The fines are those the rulebook's penalty table gives for that tier —
//! the file is the only source of fine ranges.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::date::Date;
use crate::facts::{Facts, FactsError, location_problem};
use crate::rules::Bound;
use crate::rules::{
    Collection, ComplianceBook, Condition, Fine, Measure, Op, Rule, Subject, TierId, measure_words,
};
use vidimus_core::lang::{Lang, article as cite_in};

/// The evaluation of one system on one day.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub system: String,
    pub system_name: String,
    pub as_of: Date,
    pub rulebook: String,
    pub rulebook_version: String,
    /// `not_in_force` before the regulation's effective date (Art. 48); else
    /// `findings` when there are findings; else `incomplete` when some rules could not
    /// be evaluated (`not_evaluated` says why), else `compliant`.
    pub status: &'static str,
    /// Art. 9 ¶2: who is responsible for construction, and why.
    pub responsible_entity: Option<ResponsibleEntity>,
    pub findings: Vec<Finding>,
    pub upcoming: Vec<Upcoming>,
    pub not_evaluated: Vec<NotEvaluated>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResponsibleEntity {
    pub name: String,
    pub basis: String,
}

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingSubject {
    /// `system`, `camera`, `product`, `contractor`, `testing_body`, `person`,
    /// `document` or `event`.
    pub kind: String,
    /// Position in its collection, for items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The camera id, product name, `testing_report 2027-02-20`, ...
    pub label: String,
}

/// One breach.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub rule_id: String,
    /// The article breached, as the rulebook cites it (`Art. 9 ¶1(4)`): stable.
    pub article: String,
    /// The same cited in the reader's language (第九条第一款第（四）项).
    pub cite: String,
    pub penalty_article: Option<String>,
    /// The penalty article cited in the reader's language.
    pub penalty_cite: Option<String>,
    pub subject: FindingSubject,
    pub tier: Option<TierId>,
    pub measures: Vec<Measure>,
    pub fines: Vec<Fine>,
    pub referrals: Vec<String>,
    /// The other tiers of the penalty article, for what follows if it is not corrected.
    pub escalation: Vec<TierSummary>,
    /// The last day the duty could be met (dated duties).
    pub deadline: Option<Date>,
    /// The set period of an order to correct.
    pub correction_deadline: Option<Date>,
    /// The finding in one line: "camera gate-1: a camera is installed in ...".
    pub summary: String,
    /// The finding in words: what, why, which article says so.
    pub explanation: String,
    /// The article's words.
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct TierSummary {
    pub tier: TierId,
    pub measures: Vec<Measure>,
    pub fines: Vec<Fine>,
    pub referrals: Vec<String>,
}

/// A dated duty not yet due.
#[derive(Clone, Debug, Serialize)]
pub struct Upcoming {
    pub rule_id: String,
    pub article: String,
    /// The article cited in the reader's language.
    pub cite: String,
    /// What is due, in words.
    pub due_what: String,
    pub subject: FindingSubject,
    pub due: Date,
    pub days_left: i64,
    pub explanation: String,
}

/// A rule that could not be evaluated, and why: never read as "compliant".
#[derive(Clone, Debug, Serialize)]
pub struct NotEvaluated {
    pub rule_id: String,
    pub article: String,
    /// The article cited in the reader's language.
    pub cite: String,
    /// The item it could not be evaluated for; absent for the system as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<FindingSubject>,
    /// The fact whose absence stops it, when that is the reason.
    pub missing: Option<String>,
    /// Why, in words.
    pub reason: String,
}

/// Evaluates every rule.
pub fn evaluate(book: &ComplianceBook, facts: &Facts, as_of: Date) -> Report {
    evaluate_in(book, facts, as_of, Lang::En)
}

/// Evaluates every rule, explaining in `lang`.
pub fn evaluate_in(book: &ComplianceBook, facts: &Facts, as_of: Date, lang: Lang) -> Report {
    evaluate_rules(book, facts, as_of, lang, |_| true)
}

/// Checks facts that already hold a new entry before it is registered: values the
/// rulebook does not know (a `location_type` that is not one of its place types, an
/// event naming no rule of it) are an error; a finding of the rules checked at
/// registration (Art. 10, 11) means the entry must be refused.
pub fn check_registration(
    book: &ComplianceBook,
    facts: &Facts,
    as_of: Date,
) -> Result<Vec<Finding>, FactsError> {
    check_registration_in(book, facts, as_of, Lang::En)
}

/// [`check_registration`], explaining in `lang`.
pub fn check_registration_in(
    book: &ComplianceBook,
    facts: &Facts,
    as_of: Date,
    lang: Lang,
) -> Result<Vec<Finding>, FactsError> {
    facts.check(book)?;
    Ok(evaluate_rules(book, facts, as_of, lang, |r| r.at_registration).findings)
}

fn evaluate_rules(
    book: &ComplianceBook,
    facts: &Facts,
    as_of: Date,
    lang: Lang,
    select: impl Fn(&Rule) -> bool,
) -> Report {
    let zh = lang == Lang::Zh;
    let root = Root::new(facts, as_of);
    let effective = facts.regulation.effective_date;
    let mut findings = Vec::new();
    let mut upcoming = Vec::new();
    let mut not_evaluated = Vec::new();
    for rule in book.rules.iter().filter(|r| select(r)) {
        let not_evaluated_because =
            |subject: Option<FindingSubject>, missing: Option<&str>, reason: String| NotEvaluated {
                rule_id: rule.id.clone(),
                article: rule.article.clone(),
                cite: cite_in(&rule.article, lang),
                subject,
                missing: missing.map(str::to_owned),
                reason,
            };
        let reads_place = rule.for_each == Some(Collection::Cameras) && rule.reads(PLACE);
        let items: Vec<(usize, Option<&Value>)> = match &rule.for_each {
            None => vec![(0, None)],
            Some(c) => root
                .collection(c)
                .into_iter()
                .map(|(i, v)| (i, Some(v)))
                .collect(),
        };
        // Named only when there is something to say about it.
        let subject_of = |i: usize, item: Option<&Value>| match (&rule.for_each, item) {
            (Some(c), Some(v)) => item_subject(c, i, v, lang),
            _ => FindingSubject {
                kind: "system".into(),
                index: None,
                label: facts.system.name.clone(),
            },
        };
        for (index, item) in items {
            // A place type the rulebook does not know is neither permitted nor
            // prohibited: the rule cannot be evaluated for that camera.
            if reads_place
                && let Some(reason) = item
                    .and_then(|c| c.get("location_type"))
                    .and_then(Value::as_str)
                    .and_then(|l| location_problem(book, l, lang))
            {
                not_evaluated.push(not_evaluated_because(
                    Some(subject_of(index, item)),
                    Some(PLACE),
                    reason,
                ));
                continue;
            }
            // Conduct before the regulation took effect is not measured by it (Art. 48);
            // dated duties arising from such an event run from the effective date.
            if let (Some(Collection::Events(_)), None, Some(e), Some(date)) = (
                &rule.for_each,
                &rule.deadline,
                effective,
                item.and_then(date_of),
            ) && date < e
            {
                continue;
            }
            let ctx = Ctx {
                root: &root,
                book,
                item,
                as_of,
                words: false,
                lang,
            };
            if let Some(a) = &rule.applies
                && !ctx.eval(a).0
            {
                continue;
            }
            // It applies; without the facts it needs, it cannot be evaluated.
            if let Some(p) = rule.needs.iter().find(|p| !present(ctx.lookup(p))) {
                not_evaluated.push(not_evaluated_because(
                    rule.for_each.as_ref().map(|_| subject_of(index, item)),
                    Some(p),
                    match (p.starts_with("event.") && p.ends_with(".date"), zh) {
                        (true, false) => {
                            format!("{}: {} applies from it", no_date(p, lang), rule.article)
                        }
                        (true, true) => format!(
                            "{}：{}自该日起适用",
                            no_date(p, lang),
                            cite_in(&rule.article, lang)
                        ),
                        (false, false) => format!("{p} is not set"),
                        (false, true) => format!("{p} 未设置"),
                    },
                ));
                continue;
            }
            let mut evidence = Vec::new();
            let mut breach = false;
            let mut deadline = None;
            if let Some(d) = &rule.deadline
                && !d.met_by.as_ref().is_some_and(|m| present(ctx.lookup(m)))
            {
                match d.from.iter().find_map(|p| ctx.date(p).map(|v| (p, v))) {
                    // A dated duty with nothing to count from is not met either: it
                    // cannot be evaluated, and says why.
                    None => not_evaluated.push(not_evaluated_because(
                        rule.for_each.as_ref().map(|_| subject_of(index, item)),
                        d.from.last().map(String::as_str),
                        {
                            let nd = no_date(d.from.last().map(String::as_str).unwrap_or(""), lang);
                            if zh {
                                format!(
                                    "{nd}：{}规定的期限自该日起计算",
                                    cite_in(&rule.article, lang)
                                )
                            } else {
                                format!("{nd}: the deadline of {} runs from it", rule.article)
                            }
                        },
                    )),
                    Some((path, date)) => {
                        let start = Start::new(path, date, effective, lang);
                        let last = start.date.add_days(if book.inclusive_bounds {
                            d.days
                        } else {
                            d.days - 1
                        });
                        let elapsed = as_of.days_since(start.date);
                        let words = if zh {
                            format!(
                                "{}；{} 日后{}",
                                start.words,
                                elapsed,
                                d.met_by
                                    .as_ref()
                                    .map(|m| format!("，{m} 仍未记录"))
                                    .unwrap_or_default()
                            )
                        } else {
                            format!(
                                "{}; {} days later{}",
                                start.words,
                                elapsed,
                                d.met_by
                                    .as_ref()
                                    .map(|m| format!(" {m} is not recorded"))
                                    .unwrap_or_default()
                            )
                        };
                        if Bound::Within.holds(elapsed, d.days, book.inclusive_bounds) {
                            let due_what = rule.due_in(lang);
                            upcoming.push(Upcoming {
                                rule_id: rule.id.clone(),
                                article: rule.article.clone(),
                                cite: cite_in(&rule.article, lang),
                                subject: subject_of(index, item),
                                due: last,
                                days_left: last.days_since(as_of),
                                explanation: if zh {
                                    format!(
                                        "{due_what}：最迟应于 {last}（含当日）完成（{}后 {} 日内）；{}",
                                        start.of, d.days, words
                                    )
                                } else {
                                    format!(
                                        "{due_what}: due by {last} ({} days after {}); {}",
                                        d.days, start.of, words
                                    )
                                },
                                due_what,
                            });
                        } else {
                            breach = true;
                            deadline = Some(last);
                            evidence.push(if zh {
                                format!(
                                    "{words}，超过允许的 {} 日（最后一日为 {last}；{}）",
                                    d.days,
                                    cite_in(&book.inclusive_article, lang)
                                )
                            } else {
                                format!(
                                    "{words}, beyond the {} days allowed (last day {last}; {})",
                                    d.days, book.inclusive_article
                                )
                            });
                        }
                    }
                }
            }
            let requires_fails = rule.requires.as_ref().is_some_and(|r| !ctx.eval(r).0);
            if breach || requires_fails {
                // Evaluated again, this time saying what decided it.
                let ctx = ctx.with_words();
                let mut words = rule
                    .applies
                    .as_ref()
                    .map(|a| ctx.eval(a).1)
                    .unwrap_or_default();
                words.append(&mut evidence);
                if let Some(r) = rule.requires.as_ref().filter(|_| requires_fails) {
                    words.extend(ctx.eval(r).1);
                }
                evidence = words;
                breach = true;
            }
            if breach {
                let subject = subject_of(index, item);
                findings.push(finding(
                    book, rule, &root, subject, deadline, evidence, lang,
                ));
            }
        }
    }
    upcoming.sort_by_key(|u| u.due);
    // Art. 48: before the regulation takes effect nothing breaches it. Every rule is
    // listed as not yet in force; the dated duties it will bring stay upcoming (they
    // count from the effective date at the earliest, so none is due yet).
    let in_force_from = effective.filter(|e| as_of < *e);
    if let Some(e) = in_force_from {
        findings.clear();
        not_evaluated = book
            .rules
            .iter()
            .filter(|r| select(r))
            .map(|r| NotEvaluated {
                rule_id: r.id.clone(),
                article: r.article.clone(),
                cite: cite_in(&r.article, lang),
                subject: None,
                missing: None,
                reason: if zh {
                    format!("尚未施行：本条例自 {e} 起施行（第四十八条）")
                } else {
                    format!("not yet in force: the regulation takes effect on {e} (Art. 48)")
                },
            })
            .collect();
    }
    Report {
        system: facts.system.id.clone(),
        system_name: facts.system.name.clone(),
        as_of,
        rulebook: book.id.clone(),
        rulebook_version: book.version.clone(),
        status: if in_force_from.is_some() {
            "not_in_force"
        } else if !findings.is_empty() {
            "findings"
        } else if !not_evaluated.is_empty() {
            "incomplete"
        } else {
            "compliant"
        },
        responsible_entity: facts
            .responsible_entity()
            .map(|(name, basis)| ResponsibleEntity {
                name,
                basis: basis.get(lang).to_owned(),
            }),
        findings,
        upcoming,
        not_evaluated,
    }
}

/// The fact a place type is in.
const PLACE: &str = "item.location_type";

/// "no completion acceptance date (event.completion_acceptance.date)".
fn no_date(path: &str, lang: Lang) -> String {
    if lang == Lang::Zh {
        return format!("未记录日期（{path}）");
    }
    match path
        .strip_prefix("event.")
        .and_then(|p| p.strip_suffix(".date"))
    {
        Some(kind) => format!("no {} date ({path})", kind.replace('_', " ")),
        None => format!("no date at {path}"),
    }
}

/// The day a dated duty counts from. Art. 48: the regulation binds from its effective
/// date, so a duty whose event came earlier (a system accepted, or last assessed,
/// before it) counts from that date instead — max(event date, effective date).
struct Start {
    date: Date,
    /// What it is, for "N days after ...".
    of: String,
    /// How it was found, in words.
    words: String,
}

impl Start {
    fn new(path: &str, date: Date, effective: Option<Date>, lang: Lang) -> Start {
        match (effective, lang) {
            (Some(e), Lang::En) if e > date => Start {
                date: e,
                of: "the regulation took effect".into(),
                words: format!(
                    "{path} was {date}, before the regulation took effect on {e} (Art. 48), so the days run from {e}"
                ),
            },
            (Some(e), Lang::Zh) if e > date => Start {
                date: e,
                of: "本条例施行".into(),
                words: format!(
                    "{path} 为 {date}，早于本条例施行日 {e}（第四十八条），因此自 {e} 起计算"
                ),
            },
            (_, Lang::En) => Start {
                date,
                of: path.to_owned(),
                words: format!("{path} was {date}"),
            },
            (_, Lang::Zh) => Start {
                date,
                of: path.to_owned(),
                words: format!("{path} 为 {date}"),
            },
        }
    }
}

impl Rule {
    /// What a dated duty asks, in words: the finding it becomes if missed, said as a
    /// duty ("file the system within 30 days of its completion acceptance"), with
    /// the article.
    fn due_in(&self, lang: Lang) -> String {
        match lang {
            Lang::En => format!(
                "{} ({}) — otherwise: {}",
                self.id, self.article, self.finding
            ),
            Lang::Zh => format!(
                "{}（{}）——逾期即：{}",
                self.id,
                cite_in(&self.article, lang),
                self.finding_zh
            ),
        }
    }
}

fn finding(
    book: &ComplianceBook,
    rule: &Rule,
    root: &Root,
    subject: FindingSubject,
    deadline: Option<Date>,
    evidence: Vec<String>,
    lang: Lang,
) -> Finding {
    let zh = lang == Lang::Zh;
    // The tier the facts call for.
    let notices: Vec<&Value> = root
        .events_of("correction_notice")
        .filter(|e| e.get("rule").and_then(Value::as_str) == Some(rule.id.as_str()))
        .collect();
    let correction_deadline = notices
        .iter()
        .filter_map(|e| e.get("deadline").and_then(Value::as_str))
        .filter_map(|d| Date::parse(d).ok())
        .max();
    let serious = root
        .events_of("serious_consequences")
        .any(|e| e.get("rule").and_then(Value::as_str) == Some(rule.id.as_str()));
    let refused = correction_deadline.is_some_and(|d| root.as_of > d);
    let wanted = if serious {
        TierId::SeriousConsequences
    } else if refused {
        TierId::CorrectionRefused
    } else {
        TierId::FirstInstance
    };
    let penalty = rule.penalty.as_ref().and_then(|p| book.penalties.get(p));
    // The highest tier the facts establish that the article writes. An article whose
    // only tier is for serious consequences (Art. 42) gives nothing without them.
    let established = |t: TierId| match t {
        TierId::FirstInstance => true,
        TierId::CorrectionRefused => refused,
        TierId::SeriousConsequences => serious,
    };
    let tier = penalty.and_then(|p| {
        p.tier
            .iter()
            .filter(|t| established(t.tier))
            .max_by_key(|t| t.tier)
    });
    // The item of the article the facts name (Art. 9 ¶1(4) for a bank).
    let article = match rule
        .article_item
        .as_ref()
        .and_then(|p| root.lookup(p, None))
        .and_then(Value::as_str)
        .and_then(|v| v.strip_prefix("item_"))
    {
        Some(n) => format!("{}({n})", rule.article),
        None => rule.article.clone(),
    };
    let cite = cite_in(&article, lang);
    // One sentence after another: ". " in English, 。 in Chinese.
    let stop = if zh { "。" } else { ". " };
    let summary = format!(
        "{}{}{}",
        subject.label,
        if zh { "：" } else { ": " },
        rule.finding_in(lang)
    );
    let mut words = summary.clone();
    if !evidence.is_empty() {
        words.push_str(stop);
        words.push_str(if zh { "查明：" } else { "Found: " });
        words.push_str(&evidence.join(if zh { "；" } else { "; " }));
    }
    words.push_str(stop);
    if zh {
        words.push_str(&format!(
            "{cite}规定：“{}”",
            rule.text_zh.trim_end_matches('。')
        ));
    } else {
        words.push_str(&format!(
            "{cite} says: \"{}\"",
            rule.text.trim_end_matches('.')
        ));
    }
    match (penalty, tier) {
        (Some(p), Some(t)) => {
            let pa = cite_in(rule.penalty_article.as_deref().unwrap_or(&p.article), lang);
            words.push_str(stop);
            words.push_str(&if zh {
                format!(
                    "罚则：{pa}（{}），处罚档次：{}",
                    p.title_in(lang),
                    t.tier.words_in(lang)
                )
            } else {
                format!("Penalty: {pa} ({}), tier: {}", p.title, t.tier.words())
            });
            if t.tier < wanted && !p.tier.iter().any(|x| x.tier == wanted) {
                words.push_str(&if zh {
                    format!(
                        "（{}未就{}另设处罚档次）",
                        cite_in(&p.article, lang),
                        wanted.words_in(lang)
                    )
                } else {
                    format!(
                        " ({} writes no separate tier for {})",
                        p.article,
                        wanted.words()
                    )
                });
            }
            let m = describe_measures_in(&t.measures, &t.fines, lang);
            if !m.is_empty() {
                words.push_str(if zh { "：" } else { ": " });
                words.push_str(&m);
            }
        }
        (Some(p), None) => {
            let pa = cite_in(rule.penalty_article.as_deref().unwrap_or(&p.article), lang);
            words.push_str(stop);
            words.push_str(&if zh {
                format!("罚则：{pa}（{}）仅在其条件成立时适用", p.title_in(lang))
            } else {
                format!(
                    "Penalty: {pa} ({}) applies only where its conditions are established",
                    p.title
                )
            });
        }
        _ => {
            words.push_str(stop);
            words.push_str(if zh {
                "第四章未就本条规定罚则"
            } else {
                "Chapter IV names no penalty for this article"
            });
        }
    }
    if let Some(d) = correction_deadline {
        words.push_str(stop);
        words.push_str(&match (refused, zh) {
            (true, false) => {
                format!("An order to correct by {d} was not complied with (correction refused)")
            }
            (true, true) => format!("责令于 {d} 前改正，逾期未改正（拒不改正）"),
            (false, false) => format!("Correction ordered by {d}"),
            (false, true) => format!("已责令于 {d} 前改正"),
        });
    }
    if serious {
        words.push_str(stop);
        words.push_str(if zh {
            "已认定造成严重后果"
        } else {
            "Serious consequences were found"
        });
    }
    Finding {
        rule_id: rule.id.clone(),
        article,
        cite,
        penalty_cite: rule.penalty_article.as_deref().map(|p| cite_in(p, lang)),
        penalty_article: rule.penalty_article.clone(),
        subject,
        tier: tier.map(|t| t.tier),
        measures: tier.map(|t| t.measures.clone()).unwrap_or_default(),
        fines: tier.map(|t| t.fines.clone()).unwrap_or_default(),
        referrals: tier.map(|t| t.referrals.clone()).unwrap_or_default(),
        escalation: penalty
            .map(|p| {
                p.tier
                    .iter()
                    .filter(|t| Some(t.tier) != tier.map(|x| x.tier))
                    .map(|t| TierSummary {
                        tier: t.tier,
                        measures: t.measures.clone(),
                        fines: t.fines.clone(),
                        referrals: t.referrals.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        deadline,
        correction_deadline,
        summary,
        explanation: words,
        text: rule.text_in(lang).to_owned(),
    }
}

/// "warning (shall); unit 10,000–30,000 RMB (shall); ..."
pub fn describe_measures(measures: &[Measure], fines: &[Fine]) -> String {
    describe_measures_in(measures, fines, Lang::En)
}

/// [`describe_measures`] in `lang`: 警告（应当）；对单位处10,000元以上30,000元以下罚款（应当）.
pub fn describe_measures_in(measures: &[Measure], fines: &[Fine], lang: Lang) -> String {
    let mut parts: Vec<String> = measures
        .iter()
        .map(|m| match lang {
            Lang::En => format!(
                "{} ({})",
                measure_words(&m.measure, lang),
                m.modality.words_in(lang)
            ),
            Lang::Zh => format!(
                "{}（{}）",
                measure_words(&m.measure, lang),
                m.modality.words_in(lang)
            ),
        })
        .collect();
    parts.extend(fines.iter().map(|f| describe_fine_in(f, lang)));
    parts.join(lang.pick("; ", "；"))
}

/// "unit fined 10,000–30,000 RMB (shall)".
pub fn describe_fine(f: &Fine) -> String {
    describe_fine_in(f, Lang::En)
}

/// [`describe_fine`] in `lang`.
pub fn describe_fine_in(f: &Fine, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{} fined {}–{} RMB ({})",
            f.party.words_in(lang),
            thousands(f.min),
            thousands(f.max),
            f.modality.words_in(lang)
        ),
        Lang::Zh => format!(
            "对{}处{}元以上{}元以下罚款（{}）",
            f.party.words_in(lang),
            thousands(f.min),
            thousands(f.max),
            f.modality.words_in(lang)
        ),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn item_subject(c: &Collection, i: usize, v: &Value, lang: Lang) -> FindingSubject {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    if lang == Lang::Zh {
        let (kind, label) = match c {
            Collection::Cameras => (
                "camera",
                match (s("id"), s("name")) {
                    (Some(id), Some(n)) => format!("摄像机 {id}（{n}）"),
                    (Some(id), None) => format!("摄像机 {id}"),
                    _ => format!("第 {} 台摄像机", i + 1),
                },
            ),
            Collection::Products => ("product", format!("产品 {}", s("name").unwrap_or_default())),
            Collection::Contractors => (
                "contractor",
                format!("承包单位 {}", s("name").unwrap_or_default()),
            ),
            Collection::TestingBodies => (
                "testing_body",
                format!("检测机构 {}", s("name").unwrap_or_default()),
            ),
            Collection::Persons => ("person", s("name").unwrap_or_default()),
            Collection::Documents => ("document", s("title").unwrap_or_default()),
            Collection::Events(kind) => (
                "event",
                format!("{} 的 {kind} 事件", s("date").unwrap_or_default()),
            ),
        };
        return FindingSubject {
            kind: kind.into(),
            index: Some(i),
            label,
        };
    }
    let (kind, label) = match c {
        Collection::Cameras => (
            "camera",
            match (s("id"), s("name")) {
                (Some(id), Some(n)) => format!("camera {id} ({n})"),
                (Some(id), None) => format!("camera {id}"),
                _ => format!("camera #{i}"),
            },
        ),
        Collection::Products => (
            "product",
            format!("product {}", s("name").unwrap_or_default()),
        ),
        Collection::Contractors => (
            "contractor",
            format!("contractor {}", s("name").unwrap_or_default()),
        ),
        Collection::TestingBodies => (
            "testing_body",
            format!("testing body {}", s("name").unwrap_or_default()),
        ),
        Collection::Persons => ("person", s("name").unwrap_or_default()),
        Collection::Documents => ("document", s("title").unwrap_or_default()),
        Collection::Events(kind) => (
            "event",
            format!(
                "{} of {}",
                kind.replace('_', " "),
                s("date").unwrap_or_default()
            ),
        ),
    };
    FindingSubject {
        kind: kind.into(),
        index: Some(i),
        label,
    }
}

/// The facts as JSON, with indexes: `event.KIND` (the latest event of a kind) and
/// `document.KIND` (the latest document of a kind).
struct Root {
    doc: Value,
    latest_event: Map<String, Value>,
    latest_document: Map<String, Value>,
    as_of: Date,
}

impl Root {
    fn new(facts: &Facts, as_of: Date) -> Root {
        let doc = serde_json::to_value(facts).expect("facts serialise");
        let mut latest_event = Map::new();
        let mut latest_document = Map::new();
        let index = |arr: Option<&Value>, key: &str, into: &mut Map<String, Value>| {
            for e in arr.and_then(Value::as_array).into_iter().flatten() {
                let Some(k) = e.get(key).and_then(Value::as_str) else {
                    continue;
                };
                let newer = match into.get(k) {
                    None => true,
                    Some(old) => {
                        date_of(e).unwrap_or(Date(i32::MIN))
                            >= date_of(old).unwrap_or(Date(i32::MIN))
                    }
                };
                if newer {
                    into.insert(k.to_owned(), e.clone());
                }
            }
        };
        index(doc.get("events"), "kind", &mut latest_event);
        index(doc.get("documents"), "kind", &mut latest_document);
        Root {
            doc,
            latest_event,
            latest_document,
            as_of,
        }
    }

    fn events_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.doc
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(move |e| e.get("kind").and_then(Value::as_str) == Some(kind))
    }

    fn collection(&self, c: &Collection) -> Vec<(usize, &Value)> {
        let arr = |k: &str| -> Vec<(usize, &Value)> {
            self.doc
                .get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .collect()
        };
        match c {
            Collection::Cameras => arr("cameras"),
            Collection::Products => arr("products"),
            Collection::Contractors => arr("contractors"),
            Collection::TestingBodies => arr("testing_bodies"),
            Collection::Persons => arr("persons"),
            Collection::Documents => arr("documents"),
            Collection::Events(kind) => arr("events")
                .into_iter()
                .filter(|(_, e)| e.get("kind").and_then(Value::as_str) == Some(kind.as_str()))
                .collect(),
        }
    }

    fn lookup<'a>(&'a self, path: &str, item: Option<&'a Value>) -> Option<&'a Value> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut cur: &Value = match first {
            "item" => item?,
            "event" => self.latest_event.get(parts.next()?)?,
            "document" => self.latest_document.get(parts.next()?)?,
            root => self.doc.get(root)?,
        };
        for p in parts {
            cur = match cur {
                Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
                Value::Object(o) => o.get(p)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

fn date_of(v: &Value) -> Option<Date> {
    v.get("date")
        .and_then(Value::as_str)
        .and_then(|s| Date::parse(s).ok())
}

fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    root: &'a Root,
    book: &'a ComplianceBook,
    item: Option<&'a Value>,
    as_of: Date,
    /// Whether to say in words what decided each condition (only breaches need it:
    /// rules are evaluated without, and a breach again with).
    words: bool,
    /// The language of those words.
    lang: Lang,
}

impl<'a> Ctx<'a> {
    fn lookup(&self, p: &str) -> Option<&'a Value> {
        self.root.lookup(p, self.item)
    }

    fn date(&self, p: &str) -> Option<Date> {
        self.lookup(p)
            .and_then(Value::as_str)
            .and_then(|s| Date::parse(s).ok())
    }

    fn with_words(&self) -> Ctx<'a> {
        Ctx {
            words: true,
            ..*self
        }
    }

    /// Whether the condition holds, and the facts that decided it, in words.
    fn eval(&self, c: &Condition) -> (bool, Vec<String>) {
        match c {
            Condition::All(cs) => {
                let rs: Vec<_> = cs.iter().map(|c| self.eval(c)).collect();
                let ok = rs.iter().all(|r| r.0);
                (ok, collect(rs, |r| r.0 == ok))
            }
            Condition::Any(cs) => {
                let rs: Vec<_> = cs.iter().map(|c| self.eval(c)).collect();
                let ok = rs.iter().any(|r| r.0);
                (ok, collect(rs, |r| r.0 == ok))
            }
            Condition::Not(c) => {
                let (ok, ev) = self.eval(c);
                (!ok, ev)
            }
            Condition::Exists(p) | Condition::Missing(p) => {
                let v = self.lookup(p);
                let is = present(v);
                let holds = is == matches!(c, Condition::Exists(_));
                if !self.words {
                    return (holds, Vec::new());
                }
                let words = match (is, self.lang) {
                    (true, Lang::En) => format!("{p} is {}", show(v, self.lang)),
                    (true, Lang::Zh) => format!("{p} 为 {}", show(v, self.lang)),
                    (false, Lang::En) => format!("{p} is not recorded"),
                    (false, Lang::Zh) => format!("{p} 未记录"),
                };
                (holds, vec![words])
            }
            Condition::Some(coll, w) => {
                let items = self.root.collection(coll);
                let mut words = Vec::new();
                let mut found = false;
                for (_, v) in &items {
                    let inner = Ctx {
                        item: Some(v),
                        ..*self
                    };
                    let (ok, ev) = inner.eval(w);
                    if ok {
                        found = true;
                        words = ev;
                        break;
                    }
                }
                if !found && self.words {
                    words.push(match self.lang {
                        Lang::En => format!(
                            "none of {} ({} recorded) qualifies",
                            collection_name(coll, self.lang),
                            items.len()
                        ),
                        Lang::Zh => format!(
                            "{}（已记录 {} 项）均不符合",
                            collection_name(coll, self.lang),
                            items.len()
                        ),
                    });
                }
                (found, words)
            }
            Condition::Compare(s, op) => self.compare(s, op),
        }
    }

    /// Whether a present value satisfies the operator.
    fn holds(&self, v: &Value, op: &Op) -> bool {
        match op {
            Op::Eq(x) => v == x,
            Op::Ne(x) => v != x,
            Op::In(xs, _) => xs.contains(v),
            Op::NotIn(xs, _) => !xs.contains(v),
            Op::Contains(x) => v.as_array().is_some_and(|a| a.contains(x)),
            Op::SubsetOf(p) => match (v.as_array(), self.lookup(p).and_then(Value::as_array)) {
                (Some(a), Some(b)) => a.iter().all(|x| b.contains(x)),
                (Some(a), None) => a.is_empty(),
                _ => false,
            },
            Op::Bound(b, n, _) => b.holds(
                v.as_i64().unwrap_or(i64::MIN),
                *n,
                self.book.inclusive_bounds,
            ),
        }
    }

    fn compare(&self, s: &Subject, op: &Op) -> (bool, Vec<String>) {
        use std::borrow::Cow;
        let w = self.words;
        let zh = self.lang == Lang::Zh;
        let name = |f: &dyn Fn() -> String| if w { f() } else { String::new() };
        let (value, name): (Option<Cow<'_, Value>>, String) = match s {
            Subject::Fact(p) => (self.lookup(p).map(Cow::Borrowed), name(&|| p.clone())),
            Subject::DaysSince(p) => match self.date(p) {
                Some(d) => (
                    Some(Cow::Owned(Value::from(self.as_of.days_since(d)))),
                    name(&|| {
                        if zh {
                            format!("自 {p}（{d}）起的天数")
                        } else {
                            format!("days since {p} ({d})")
                        }
                    }),
                ),
                None => (None, name(&|| p.clone())),
            },
            Subject::DaysBetween(a, b) => match (self.date(a), self.date(b)) {
                (Some(x), Some(y)) => (
                    Some(Cow::Owned(Value::from(y.days_since(x)))),
                    name(&|| {
                        if zh {
                            format!("{a}（{x}）至 {b}（{y}）的天数")
                        } else {
                            format!("days from {a} ({x}) to {b} ({y})")
                        }
                    }),
                ),
                (None, _) => (None, name(&|| a.clone())),
                (_, None) => (None, name(&|| b.clone())),
            },
        };
        let Some(v) = value.filter(|v| !v.is_null()) else {
            return (
                false,
                if w {
                    vec![if zh {
                        format!("{name} 未记录")
                    } else {
                        format!("{name} is not recorded")
                    }]
                } else {
                    Vec::new()
                },
            );
        };
        let v: &Value = &v;
        if !w {
            return (self.holds(v, op), Vec::new());
        }
        let lang = self.lang;
        let show = |v: Option<&Value>| show(v, lang);
        let mut shown = show(Some(v));
        if let Some(place) = v
            .as_str()
            .filter(|_| name.ends_with("location_type"))
            .and_then(|l| self.book.place(l))
        {
            if zh {
                shown.push_str(&format!("（{}）", place.zh));
            } else {
                shown.push_str(&format!(" ({})", place.label()));
            }
        }
        let ok = self.holds(v, op);
        // "(expected true)" / （应为 true）.
        let paren = |en: String, zh_: String| {
            if zh {
                format!("（{zh_}）")
            } else {
                format!("({en})")
            }
        };
        let how = match op {
            Op::Eq(x) => paren(
                format!("expected {}", show(Some(x))),
                format!("应为 {}", show(Some(x))),
            ),
            Op::Ne(x) => paren(
                format!("not to be {}", show(Some(x))),
                format!("不应为 {}", show(Some(x))),
            ),
            Op::In(_, list) | Op::NotIn(_, list) => {
                let member = ok == matches!(op, Op::In(..));
                let of = match (list.as_deref(), zh) {
                    (Some(crate::vocabulary::PROHIBITED_PLACES), true) => {
                        "禁止安装的场所".to_owned()
                    }
                    (Some(l), true) => l.to_owned(),
                    (None, true) => "所列各项".to_owned(),
                    (Some(l), false) => format!("the {}", l.replace('_', " ")),
                    (None, false) => "those listed".to_owned(),
                };
                match (member, zh) {
                    (true, false) => format!("(one of {of})"),
                    (false, false) => format!("(none of {of})"),
                    (true, true) => format!("（属于{of}）"),
                    (false, true) => format!("（不属于{of}）"),
                }
            }
            Op::Contains(x) => paren(
                format!("to contain {}", show(Some(x))),
                format!("应包含 {}", show(Some(x))),
            ),
            Op::SubsetOf(p) => paren(
                format!("to lie within {p} = {}", show(self.lookup(p))),
                format!("应在 {p} = {} 范围内", show(self.lookup(p))),
            ),
            Op::Bound(b, n, label) => {
                let of = label
                    .as_ref()
                    .map(|l| {
                        if zh {
                            format!("（{l}）")
                        } else {
                            format!(" ({l})")
                        }
                    })
                    .unwrap_or_default();
                let bound = b.words_in(*n, lang);
                match (ok, zh) {
                    (true, false) => format!("({bound}{of})"),
                    (false, false) => format!("(required: {bound}{of})"),
                    (true, true) => format!("（{bound}{of}）"),
                    (false, true) => format!("（要求：{bound}{of}）"),
                }
            }
        };
        (
            ok,
            vec![if zh {
                format!("{name} 为 {shown} {how}")
            } else {
                format!("{name} is {shown} {how}")
            }],
        )
    }
}

fn collect(
    rs: Vec<(bool, Vec<String>)>,
    keep: impl Fn(&(bool, Vec<String>)) -> bool,
) -> Vec<String> {
    rs.into_iter()
        .filter(|r| keep(r))
        .flat_map(|r| r.1)
        .collect()
}

fn collection_name(c: &Collection, lang: Lang) -> String {
    if lang == Lang::Zh {
        return match c {
            Collection::Cameras => "各摄像机".into(),
            Collection::Products => "各产品".into(),
            Collection::Contractors => "各承包单位".into(),
            Collection::TestingBodies => "各检测机构".into(),
            Collection::Persons => "各人员".into(),
            Collection::Documents => "各文件".into(),
            Collection::Events(k) => format!("各 {k} 事件"),
        };
    }
    match c {
        Collection::Cameras => "cameras".into(),
        Collection::Products => "products".into(),
        Collection::Contractors => "contractors".into(),
        Collection::TestingBodies => "testing bodies".into(),
        Collection::Persons => "persons".into(),
        Collection::Documents => "documents".into(),
        Collection::Events(k) => format!("the {} events", k.replace('_', " ")),
    }
}

fn show(v: Option<&Value>, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    match v {
        None | Some(Value::Null) => lang.pick("not recorded", "未记录").into(),
        Some(Value::String(s)) => format!("{s:?}"),
        // An event or document: when, not its whole record.
        Some(Value::Object(o)) if o.contains_key("date") => {
            let d = o.get("date").and_then(Value::as_str).unwrap_or("");
            if zh {
                format!("已记录（{d}）")
            } else {
                format!("recorded ({d})")
            }
        }
        Some(Value::Bool(b)) if zh => (if *b { "是" } else { "否" }).into(),
        Some(v) => v.to_string(),
    }
}

impl Report {
    /// The report as text for a terminal or a printout.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} ({}) as of {}: {}\nrulebook {} {}\n",
            self.system_name,
            self.system,
            self.as_of,
            self.status,
            self.rulebook,
            self.rulebook_version
        );
        if let Some(r) = &self.responsible_entity {
            out.push_str(&format!("responsible entity: {} — {}\n", r.name, r.basis));
        }
        out.push_str(&format!("\n{} finding(s)\n", self.findings.len()));
        for (i, f) in self.findings.iter().enumerate() {
            out.push_str(&format!(
                "\n{}. [{}] {} → {}\n   {}\n",
                i + 1,
                f.rule_id,
                f.article,
                f.penalty_article.as_deref().unwrap_or("no penalty article"),
                f.explanation
            ));
            for t in f.escalation.iter().filter(|t| Some(t.tier) > f.tier) {
                let m = describe_measures(&t.measures, &t.fines);
                if !m.is_empty() {
                    out.push_str(&format!("   if {}: {}\n", t.tier.words(), m));
                }
            }
        }
        if !self.upcoming.is_empty() {
            out.push_str("\nupcoming deadlines\n");
            for u in &self.upcoming {
                out.push_str(&format!(
                    "  {} ({} days): [{}] {} — {}\n",
                    u.due, u.days_left, u.rule_id, u.subject.label, u.article
                ));
            }
        }
        for n in &self.not_evaluated {
            let of = n
                .subject
                .as_ref()
                .map(|s| format!(" {}:", s.label))
                .unwrap_or_default();
            out.push_str(&format!(
                "not evaluated: [{}] {} —{of} {}\n",
                n.rule_id, n.article, n.reason
            ));
        }
        out
    }
}
