//! The compliance sections of the rulebook: `[[rule]]` and `[penalty.*]`.
//!
//! A rule says where it applies, what the regulation requires there and, for dated
//! duties, the deadline; a penalty table says what Chapter IV gives for a breach, tier
//! by tier, with fine ranges per party. Conditions are a small closed vocabulary
//! (below), not a scripting language, so every rule can be read, validated and tested.
//!
//! ```toml
//! [[rule]]
//! id = "art10.prohibited_place"
//! article = "Art. 10"
//! penalty = "art39"
//! penalty_article = "Art. 39(1)"
//! at_registration = true
//! for_each = "cameras"
//! finding = "a camera is installed in a place that might reveal citizens' privacy"
//! requires = { fact = "item.location_type", not_in = "prohibited_places" }
//! text = "The installation of systems is prohibited in places ..."
//! ```
//!
//! Condition vocabulary (a condition is one of):
//! - `{ all = [..] }`, `{ any = [..] }`, `{ not = {..} }`;
//! - `{ exists = PATH }` / `{ missing = PATH }` (present: not null, false, "" or []);
//! - `{ some = COLLECTION, where = {..} }`: some item of the collection (bound to
//!   `item`) satisfies the condition;
//! - a comparison: a subject — `fact = PATH`, `days_since = PATH` (days from that date
//!   to the evaluation date) or `days_between = [FROM, TO]` — and one operator: `eq`,
//!   `ne`, `in`, `not_in`, `contains`, `subset_of = PATH`, or a bound `within`,
//!   `above`, `below`, `not_less_than`, `not_more_than`. A bound's number may name a
//!   `[[retention]]` rule id instead (its `min_days`). A comparison on a missing fact is
//!   false.
//!
//! Art. 47 ("above", "below" and "within" include the number) is applied by
//! [`Bound::holds`], the one place numbers are compared, following the rulebook's
//! `[interpretation] inclusive_bounds`.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vidimus_core::lang::Lang;
use vidimus_core::rulebook::Rulebook;

use crate::vocabulary::{PROHIBITED_PLACES, Place, nearest};

/// The rules and penalties of a rulebook, checked and ready to evaluate.
#[derive(Clone, Debug)]
pub struct ComplianceBook {
    pub id: String,
    pub version: String,
    pub inclusive_bounds: bool,
    pub inclusive_article: String,
    pub rules: Vec<Rule>,
    pub penalties: BTreeMap<String, Penalty>,
    /// The place types a camera's `location_type` may take (`[[place]]`).
    pub places: Vec<Place>,
}

/// One rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    /// The article breached, with paragraph (¶) and item, e.g. `Art. 18 ¶1`.
    pub article: String,
    /// A fact naming the item of `article` that applies (`item_4` → `(4)`), for a
    /// paragraph whose items differ by site (Art. 9 ¶1): the finding names it.
    pub article_item: Option<String>,
    /// The article of Chapter IV that punishes it, with its item, e.g. `Art. 41(1)`.
    pub penalty_article: Option<String>,
    /// Key of the `[penalty.*]` table.
    pub penalty: Option<String>,
    /// The regulation's words.
    pub text: String,
    /// The same in Chinese (`text_zh`; the English where the rulebook has none).
    pub text_zh: String,
    /// What a breach is, in words.
    pub finding: String,
    /// The same in Chinese (`finding_zh`).
    pub finding_zh: String,
    /// Checked when an entry is registered (Art. 10, 11), not only on evaluation.
    pub at_registration: bool,
    pub for_each: Option<Collection>,
    pub applies: Option<Condition>,
    pub requires: Option<Condition>,
    pub deadline: Option<Deadline>,
    /// Facts without which the rule cannot be evaluated (reported, not guessed).
    pub needs: Vec<String>,
}

/// A collection a rule is evaluated over, item by item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Collection {
    Cameras,
    Products,
    Contractors,
    TestingBodies,
    Persons,
    Documents,
    /// Events of one kind (`events.testing_report`).
    Events(String),
}

/// A dated duty: done by `met_by`, due `days` after the first of `from` present.
#[derive(Clone, Debug)]
pub struct Deadline {
    pub from: Vec<String>,
    pub days: i64,
    pub met_by: Option<String>,
}

/// A condition over the facts.
#[derive(Clone, Debug)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Exists(String),
    Missing(String),
    Some(Collection, Box<Condition>),
    Compare(Subject, Op),
}

impl Condition {
    /// Whether the condition looks at the fact at `path`.
    pub fn reads(&self, path: &str) -> bool {
        match self {
            Condition::All(cs) | Condition::Any(cs) => cs.iter().any(|c| c.reads(path)),
            Condition::Not(c) => c.reads(path),
            Condition::Exists(p) | Condition::Missing(p) => p == path,
            Condition::Some(_, c) => c.reads(path),
            Condition::Compare(s, op) => {
                let subject = match s {
                    Subject::Fact(p) | Subject::DaysSince(p) => p == path,
                    Subject::DaysBetween(a, b) => a == path || b == path,
                };
                subject || matches!(op, Op::SubsetOf(p) if p == path)
            }
        }
    }
}

impl Rule {
    /// Whether the rule looks at the fact at `path` (`item.location_type`).
    pub fn reads(&self, path: &str) -> bool {
        self.applies
            .iter()
            .chain(&self.requires)
            .any(|c| c.reads(path))
    }
}

/// What a comparison looks at.
#[derive(Clone, Debug)]
pub enum Subject {
    Fact(String),
    DaysSince(String),
    DaysBetween(String, String),
}

/// How it compares.
#[derive(Clone, Debug)]
pub enum Op {
    Eq(Value),
    Ne(Value),
    /// Membership; with the name of the rulebook list it was written as, if any
    /// (`prohibited_places`).
    In(Vec<Value>, Option<String>),
    NotIn(Vec<Value>, Option<String>),
    Contains(Value),
    SubsetOf(String),
    Bound(Bound, i64, Option<String>),
}

/// The regulation's words for bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    Within,
    Above,
    Below,
    NotLessThan,
    NotMoreThan,
}

impl Bound {
    /// Whether `x` satisfies "`self` `n`". Art. 47: "above", "below" and "within"
    /// include the number when `inclusive`; "not less/more than" include it anyway.
    pub fn holds(self, x: i64, n: i64, inclusive: bool) -> bool {
        match self {
            Bound::Within | Bound::Below => {
                if inclusive {
                    x <= n
                } else {
                    x < n
                }
            }
            Bound::Above => {
                if inclusive {
                    x >= n
                } else {
                    x > n
                }
            }
            Bound::NotLessThan => x >= n,
            Bound::NotMoreThan => x <= n,
        }
    }

    /// The bound in `lang` around its number: "not less than 30", 不少于30.
    pub fn words_in(self, n: i64, lang: Lang) -> String {
        match lang {
            Lang::En => format!("{} {n}", self.words()),
            Lang::Zh => match self {
                Bound::Within => format!("{n}以内"),
                Bound::Above => format!("{n}以上"),
                Bound::Below => format!("{n}以下"),
                Bound::NotLessThan => format!("不少于{n}"),
                Bound::NotMoreThan => format!("不多于{n}"),
            },
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Bound::Within => "within",
            Bound::Above => "above",
            Bound::Below => "below",
            Bound::NotLessThan => "not less than",
            Bound::NotMoreThan => "not more than",
        }
    }
}

/// The tiers Chapter IV writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierId {
    /// What the article gives for the violation itself (a warning and an order to
    /// correct within a set period, or fines at once for Art. 43–45).
    FirstInstance,
    /// The correction was refused (the set period passed without it).
    CorrectionRefused,
    /// Serious consequences were caused.
    SeriousConsequences,
}

impl TierId {
    pub fn words(self) -> &'static str {
        self.words_in(Lang::En)
    }

    pub fn words_in(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (TierId::FirstInstance, Lang::En) => "first instance",
            (TierId::CorrectionRefused, Lang::En) => "correction refused",
            (TierId::SeriousConsequences, Lang::En) => "serious consequences",
            (TierId::FirstInstance, Lang::Zh) => "初次违法",
            (TierId::CorrectionRefused, Lang::Zh) => "逾期拒不改正",
            (TierId::SeriousConsequences, Lang::Zh) => "造成严重后果",
        }
    }
}

impl Party {
    pub fn words_in(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Party::Unit, Lang::En) => "unit",
            (Party::Individual, Lang::En) => "individual",
            (Party::DirectlyResponsible, Lang::En) => "directly responsible persons",
            (Party::Unit, Lang::Zh) => "单位",
            (Party::Individual, Lang::Zh) => "个人",
            (Party::DirectlyResponsible, Lang::Zh) => "直接负责的主管人员和其他直接责任人员",
        }
    }
}

impl Modality {
    pub fn words_in(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Modality::Shall, Lang::En) => "shall",
            (Modality::May, Lang::En) => "may",
            (Modality::Shall, Lang::Zh) => "应当",
            (Modality::May, Lang::Zh) => "可以",
        }
    }
}

/// A measure (`warning`, `order_correction_within_set_period`, ...) or a referral
/// (`justice_organs`, ...) in `lang`; an id the rulebook added later is shown as it is.
pub fn measure_words(id: &str, lang: Lang) -> String {
    let zh = match id {
        "warning" => "警告",
        "order_correction" => "责令改正",
        "order_correction_within_set_period" => "责令限期改正",
        "order_stop_operations" => "责令停止使用",
        "sanctions_on_directly_responsible_persons" => {
            "对直接负责的主管人员和其他直接责任人员依法给予处分"
        }
        "public_security_administration_punishment" => "违反治安管理的，依法给予治安管理处罚",
        "justice_organs" => "涉嫌犯罪的，移送司法机关",
        _ => return id.replace('_', " "),
    };
    match lang {
        Lang::En => id.replace('_', " "),
        Lang::Zh => zh.to_owned(),
    }
}

/// Who is fined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Unit,
    Individual,
    /// The unit's directly responsible management and other directly responsible persons.
    DirectlyResponsible,
}

/// "Shall" (is to be given) or "may" (may be given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Shall,
    May,
}

/// A fine range in RMB; both ends included (Art. 47).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fine {
    pub party: Party,
    pub min: u64,
    pub max: u64,
    pub modality: Modality,
}

/// A measure other than a fine.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// `warning`, `order_correction`, `order_stop_operations`, ...
    pub measure: String,
    pub modality: Modality,
}

/// One tier of a penalty article.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub tier: TierId,
    #[serde(default)]
    pub measures: Vec<Measure>,
    #[serde(default)]
    pub fines: Vec<Fine>,
    /// Referrals the article names: `public_security_administration_punishment`
    /// (where public security administration is violated), `justice_organs` (where a
    /// crime is suspected).
    #[serde(default)]
    pub referrals: Vec<String>,
}

/// A penalty article of Chapter IV.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Penalty {
    pub article: String,
    pub title: String,
    #[serde(default)]
    pub title_zh: Option<String>,
    pub authority: String,
    #[serde(default)]
    pub authority_zh: Option<String>,
    pub tier: Vec<Tier>,
}

impl Penalty {
    /// The article's title in `lang` (the English where the rulebook has no Chinese).
    pub fn title_in(&self, lang: Lang) -> &str {
        match (lang, &self.title_zh) {
            (Lang::Zh, Some(t)) => t,
            _ => &self.title,
        }
    }
}

impl Rule {
    /// The finding in `lang`.
    pub fn finding_in(&self, lang: Lang) -> &str {
        lang.pick(&self.finding, &self.finding_zh)
    }
    /// The article's words in `lang`.
    pub fn text_in(&self, lang: Lang) -> &str {
        lang.pick(&self.text, &self.text_zh)
    }
}

/// A rulebook whose compliance sections cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error(transparent)]
    Rulebook(#[from] vidimus_core::rulebook::RulebookError),
    #[error("the rulebook is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rule {rule}: {problem}")]
    Rule { rule: String, problem: String },
    #[error("penalty {penalty}: {problem}")]
    Penalty { penalty: String, problem: String },
    #[error("place {place}: {problem}")]
    Place { place: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BookDoc {
    #[allow(dead_code)]
    rulebook: toml::Table,
    #[allow(dead_code)]
    interpretation: toml::Table,
    #[serde(default)]
    #[allow(dead_code)]
    retention: Vec<toml::Table>,
    #[serde(default)]
    rule: Vec<RuleDoc>,
    #[serde(default)]
    penalty: BTreeMap<String, Penalty>,
    #[serde(default)]
    place: Vec<Place>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: String,
    article: String,
    #[serde(default)]
    article_item: Option<String>,
    #[serde(default)]
    penalty_article: Option<String>,
    #[serde(default)]
    penalty: Option<String>,
    text: String,
    #[serde(default)]
    text_zh: Option<String>,
    finding: String,
    #[serde(default)]
    finding_zh: Option<String>,
    #[serde(default)]
    at_registration: bool,
    #[serde(default)]
    for_each: Option<String>,
    #[serde(default)]
    applies: Option<CondDoc>,
    #[serde(default)]
    requires: Option<CondDoc>,
    #[serde(default)]
    deadline: Option<DeadlineDoc>,
    #[serde(default)]
    needs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlineDoc {
    from: OneOrMany,
    days: i64,
    #[serde(default)]
    met_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A list of values, or the name of a list the rulebook defines.
#[derive(Deserialize)]
#[serde(untagged)]
enum ListDoc {
    Values(Vec<toml::Value>),
    Named(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberDoc {
    Number(i64),
    Retention(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CondDoc {
    all: Option<Vec<CondDoc>>,
    any: Option<Vec<CondDoc>>,
    not: Option<Box<CondDoc>>,
    exists: Option<String>,
    missing: Option<String>,
    some: Option<String>,
    #[serde(rename = "where")]
    where_: Option<Box<CondDoc>>,
    fact: Option<String>,
    days_since: Option<String>,
    days_between: Option<(String, String)>,
    eq: Option<toml::Value>,
    ne: Option<toml::Value>,
    #[serde(rename = "in")]
    in_: Option<ListDoc>,
    not_in: Option<ListDoc>,
    contains: Option<toml::Value>,
    subset_of: Option<String>,
    within: Option<NumberDoc>,
    above: Option<NumberDoc>,
    below: Option<NumberDoc>,
    not_less_than: Option<NumberDoc>,
    not_more_than: Option<NumberDoc>,
}

/// Roots a path may start with.
pub const PATH_ROOTS: &[&str] = &[
    "system",
    "regulation",
    "cameras",
    "products",
    "contractors",
    "testing_bodies",
    "persons",
    "documents",
    "event",
    "document",
    "item",
];

impl ComplianceBook {
    /// Parses and checks a whole rulebook document.
    pub fn parse(doc: &str) -> Result<ComplianceBook, BookError> {
        let core = Rulebook::parse(doc)?;
        let book: BookDoc = toml::from_str(doc)?;
        let retention: HashMap<&str, u32> = core
            .retention
            .iter()
            .map(|r| (r.id.as_str(), r.min_days))
            .collect();
        for (key, p) in &book.penalty {
            check_penalty(key, p)?;
        }
        check_places(&book.place)?;
        let vocabulary = Vocabulary {
            retention: &retention,
            places: &book.place,
        };
        let mut ids = HashSet::new();
        let mut rules = Vec::new();
        for r in book.rule {
            let err = |problem: String| BookError::Rule {
                rule: r.id.clone(),
                problem,
            };
            if !ids.insert(r.id.clone()) {
                return Err(err("the id appears twice".into()));
            }
            if let Some(p) = &r.penalty
                && !book.penalty.contains_key(p)
            {
                return Err(err(format!("no [penalty.{p}] table")));
            }
            if r.penalty.is_some() != r.penalty_article.is_some() {
                return Err(err(
                    "penalty and penalty_article go together (both or neither)".into(),
                ));
            }
            if r.requires.is_none() && r.deadline.is_none() {
                return Err(err("a rule needs `requires` or `deadline`".into()));
            }
            let conv = |c: CondDoc| convert(c, &vocabulary).map_err(&err);
            let for_each = r
                .for_each
                .as_deref()
                .map(|c| collection(c).map_err(&err))
                .transpose()?;
            let applies = r.applies.map(conv).transpose()?;
            let requires = r.requires.map(conv).transpose()?;
            let deadline = r
                .deadline
                .map(|d| {
                    let from = match d.from {
                        OneOrMany::One(s) => vec![s],
                        OneOrMany::Many(v) => v,
                    };
                    for p in from.iter().chain(d.met_by.iter()) {
                        check_path(p).map_err(&err)?;
                    }
                    if from.is_empty() || d.days < 0 {
                        return Err(err("a deadline needs a start and days ≥ 0".into()));
                    }
                    Ok(Deadline {
                        from,
                        days: d.days,
                        met_by: d.met_by,
                    })
                })
                .transpose()?;
            for p in r.needs.iter().chain(&r.article_item) {
                check_path(p).map_err(&err)?;
            }
            rules.push(Rule {
                id: r.id,
                article: r.article,
                article_item: r.article_item,
                penalty_article: r.penalty_article,
                penalty: r.penalty,
                text_zh: r.text_zh.unwrap_or_else(|| r.text.clone()),
                text: r.text,
                finding_zh: r.finding_zh.unwrap_or_else(|| r.finding.clone()),
                finding: r.finding,
                at_registration: r.at_registration,
                for_each,
                applies,
                requires,
                deadline,
                needs: r.needs,
            });
        }
        Ok(ComplianceBook {
            id: core.rulebook.id,
            version: core.rulebook.version,
            inclusive_bounds: core.interpretation.inclusive_bounds,
            inclusive_article: core.interpretation.inclusive_bounds_article,
            rules,
            penalties: book.penalty,
            places: book.place,
        })
    }

    /// The compiled-in Shenzhen draft.
    pub fn shenzhen_draft() -> ComplianceBook {
        ComplianceBook::parse(vidimus_core::rulebook::SHENZHEN_DRAFT)
            .expect("the compiled-in rulebook is valid")
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn place(&self, id: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.id == id)
    }

    /// The place type nearest to an unknown `location_type`, by its id, labels or
    /// the words it is suggested for.
    pub fn nearest_place(&self, input: &str) -> Option<&str> {
        nearest(
            input,
            self.places.iter().flat_map(|p| {
                [p.id.as_str(), p.en.as_str(), p.zh.as_str()]
                    .into_iter()
                    .chain(p.suggest_for.iter().map(String::as_str))
                    .map(move |w| (w, p.id.as_str()))
            }),
        )
    }

    /// The rule id nearest to an unknown one.
    pub fn nearest_rule(&self, input: &str) -> Option<&str> {
        nearest(
            input,
            self.rules.iter().map(|r| (r.id.as_str(), r.id.as_str())),
        )
    }
}

/// What a rule's conditions may refer to by name.
struct Vocabulary<'a> {
    retention: &'a HashMap<&'a str, u32>,
    places: &'a [Place],
}

impl Vocabulary<'_> {
    fn list(&self, l: ListDoc) -> Result<(Vec<Value>, Option<String>), String> {
        match l {
            ListDoc::Values(v) => Ok((v.into_iter().map(json).collect(), None)),
            ListDoc::Named(name) if name == PROHIBITED_PLACES => Ok((
                self.places
                    .iter()
                    .filter(|p| p.prohibited)
                    .map(|p| Value::from(p.id.as_str()))
                    .collect(),
                Some(name),
            )),
            ListDoc::Named(name) => Err(format!(
                "no list {name:?} (a list of values, or {PROHIBITED_PLACES:?})"
            )),
        }
    }

    /// A value compared with a `location_type` must be a place type.
    fn check_place_values(&self, path: &str, op: &Op) -> Result<(), String> {
        if !path.ends_with("location_type") {
            return Ok(());
        }
        let values: Vec<&Value> = match op {
            Op::Eq(v) | Op::Ne(v) => vec![v],
            Op::In(vs, _) | Op::NotIn(vs, _) => vs.iter().collect(),
            _ => Vec::new(),
        };
        for v in values {
            if !self
                .places
                .iter()
                .any(|p| v.as_str() == Some(p.id.as_str()))
            {
                return Err(format!("{v} is not a [[place]] of the rulebook"));
            }
        }
        Ok(())
    }
}

fn check_places(places: &[Place]) -> Result<(), BookError> {
    let mut ids = HashSet::new();
    for p in places {
        let err = |problem: &str| BookError::Place {
            place: p.id.clone(),
            problem: problem.to_owned(),
        };
        if !ids.insert(p.id.as_str()) {
            return Err(err("the id appears twice"));
        }
        let lower = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if p.id.is_empty() || !p.id.chars().all(lower) {
            return Err(err("an id is lower-case letters, digits and '_'"));
        }
        if p.en.is_empty() || p.zh.is_empty() {
            return Err(err("a place has an English and a Chinese label"));
        }
        if p.prohibited && p.basis.as_deref().is_none_or(str::is_empty) {
            return Err(err(
                "a prohibited place states its basis (named in Art. 10, or why it is one of its \"such as\")",
            ));
        }
    }
    Ok(())
}

fn check_penalty(key: &str, p: &Penalty) -> Result<(), BookError> {
    let err = |problem: String| BookError::Penalty {
        penalty: key.to_owned(),
        problem,
    };
    if p.tier.is_empty() {
        return Err(err("no tiers".into()));
    }
    let mut seen = HashSet::new();
    for t in &p.tier {
        if !seen.insert(t.tier) {
            return Err(err(format!("tier {:?} appears twice", t.tier)));
        }
        for f in &t.fines {
            if f.min > f.max {
                return Err(err(format!(
                    "a fine of {}–{} RMB runs backwards",
                    f.min, f.max
                )));
            }
        }
    }
    Ok(())
}

fn collection(s: &str) -> Result<Collection, String> {
    Ok(match s {
        "cameras" => Collection::Cameras,
        "products" => Collection::Products,
        "contractors" => Collection::Contractors,
        "testing_bodies" => Collection::TestingBodies,
        "persons" => Collection::Persons,
        "documents" => Collection::Documents,
        _ => match s.strip_prefix("events.") {
            Some(kind) if !kind.is_empty() => Collection::Events(kind.to_owned()),
            _ => {
                return Err(format!(
                    "unknown collection {s:?} (cameras, products, contractors, testing_bodies, persons, documents, events.KIND)"
                ));
            }
        },
    })
}

fn check_path(p: &str) -> Result<(), String> {
    let root = p.split('.').next().unwrap_or("");
    if PATH_ROOTS.contains(&root) {
        Ok(())
    } else {
        Err(format!(
            "path {p:?} does not start with one of {}",
            PATH_ROOTS.join(", ")
        ))
    }
}

fn json(v: toml::Value) -> Value {
    serde_json::to_value(v).expect("TOML values are JSON values")
}

fn convert(c: CondDoc, vocabulary: &Vocabulary) -> Result<Condition, String> {
    let number = |n: NumberDoc| -> Result<(i64, Option<String>), String> {
        match n {
            NumberDoc::Number(n) => Ok((n, None)),
            NumberDoc::Retention(id) => vocabulary
                .retention
                .get(id.as_str())
                .map(|d| (i64::from(*d), Some(id.clone())))
                .ok_or_else(|| format!("no [[retention]] rule {id:?}")),
        }
    };
    let CondDoc {
        all,
        any,
        not,
        exists,
        missing,
        some,
        where_,
        fact,
        days_since,
        days_between,
        eq,
        ne,
        in_,
        not_in,
        contains,
        subset_of,
        within,
        above,
        below,
        not_less_than,
        not_more_than,
    } = c;
    let mut ops: Vec<Op> = Vec::new();
    eq.into_iter().for_each(|v| ops.push(Op::Eq(json(v))));
    ne.into_iter().for_each(|v| ops.push(Op::Ne(json(v))));
    if let Some(l) = in_ {
        let (values, name) = vocabulary.list(l)?;
        ops.push(Op::In(values, name));
    }
    if let Some(l) = not_in {
        let (values, name) = vocabulary.list(l)?;
        ops.push(Op::NotIn(values, name));
    }
    contains
        .into_iter()
        .for_each(|v| ops.push(Op::Contains(json(v))));
    if let Some(p) = subset_of {
        check_path(&p)?;
        ops.push(Op::SubsetOf(p));
    }
    for (b, n) in [
        (Bound::Within, within),
        (Bound::Above, above),
        (Bound::Below, below),
        (Bound::NotLessThan, not_less_than),
        (Bound::NotMoreThan, not_more_than),
    ] {
        if let Some(n) = n {
            let (n, label) = number(n)?;
            ops.push(Op::Bound(b, n, label));
        }
    }
    let mut subjects = Vec::new();
    if let Some(p) = fact {
        check_path(&p)?;
        subjects.push(Subject::Fact(p));
    }
    if let Some(p) = days_since {
        check_path(&p)?;
        subjects.push(Subject::DaysSince(p));
    }
    if let Some((a, b)) = days_between {
        check_path(&a)?;
        check_path(&b)?;
        subjects.push(Subject::DaysBetween(a, b));
    }
    let mut forms: Vec<Condition> = Vec::new();
    if let Some(v) = all {
        forms.push(Condition::All(
            v.into_iter()
                .map(|c| convert(c, vocabulary))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(v) = any {
        forms.push(Condition::Any(
            v.into_iter()
                .map(|c| convert(c, vocabulary))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(c) = not {
        forms.push(Condition::Not(Box::new(convert(*c, vocabulary)?)));
    }
    if let Some(p) = exists {
        check_path(&p)?;
        forms.push(Condition::Exists(p));
    }
    if let Some(p) = missing {
        check_path(&p)?;
        forms.push(Condition::Missing(p));
    }
    match (some, where_) {
        (Some(c), Some(w)) => forms.push(Condition::Some(
            collection(&c)?,
            Box::new(convert(*w, vocabulary)?),
        )),
        (None, None) => {}
        _ => return Err("`some` and `where` go together".into()),
    }
    if subjects.len() > 1 || ops.len() > 1 {
        return Err("a comparison has one subject and one operator".into());
    }
    match (subjects.pop(), ops.pop()) {
        (Some(s), Some(o)) => {
            if let Subject::Fact(p) = &s {
                vocabulary.check_place_values(p, &o)?;
            }
            if matches!(s, Subject::DaysSince(_) | Subject::DaysBetween(..))
                && !matches!(o, Op::Bound(..))
            {
                return Err("days are compared with a bound (within, above, ...)".into());
            }
            forms.push(Condition::Compare(s, o));
        }
        (None, None) => {}
        (Some(_), None) => return Err("a comparison needs an operator".into()),
        (None, Some(_)) => {
            return Err("an operator needs a subject (fact, days_since, days_between)".into());
        }
    }
    match forms.len() {
        1 => Ok(forms.pop().expect("one")),
        0 => Err("an empty condition".into()),
        _ => Err("a condition is one of all, any, not, exists, missing, some, or a comparison; wrap several in `all`".into()),
    }
}
