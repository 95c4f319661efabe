//! The facts about one system: what the compliance engine evaluates.
//!
//! One JSON document per system: its registry entries (the system, cameras, products,
//! contractors, testing bodies, documents, responsible persons), its dated events
//! (completion acceptance, filing, testing reports, moves, assessments, training,
//! incidents, inspections, correction notices, ...) and what the recorder measured
//! (retention kept, recording gaps). `vidimus compliance evaluate FILE` reads exactly
//! this; the live system builds the same document from its store. The format is
//! documented with a JSON Schema in `docs/compliance.md`.
//!
//! Unknown fields are refused, so a misspelt fact is an error, not a silent "absent";
//! errors name the field (`cameras[3].location_type: ...`), not the Rust type. What
//! only the rulebook knows is checked against it ([`Facts::check`]): a camera's
//! `location_type` is one of its `[[place]]` types, and the rule a correction notice
//! or a finding of serious consequences names is one of its rules — a misspelt value
//! is refused with the nearest known one, never read as "permitted" or "no rule".
//! [`Facts::load`] does both.

use crate::date::Date;
use crate::rules::ComplianceBook;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use vidimus_core::lang::{Lang, Text};

/// Everything known about one system.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The regulation's own dates (Art. 48: the effective date is configuration).
    #[serde(default)]
    pub regulation: Regulation,
    pub system: System,
    #[serde(default)]
    pub cameras: Vec<Camera>,
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub contractors: Vec<Contractor>,
    #[serde(default)]
    pub testing_bodies: Vec<TestingBody>,
    #[serde(default)]
    pub documents: Vec<Document>,
    #[serde(default)]
    pub persons: Vec<Person>,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// Dates set by the regulation itself.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Regulation {
    /// The day the regulation took effect (Art. 48 leaves it open: "20XX, X, X").
    pub effective_date: Option<Date>,
}

/// Art. 9 ¶1: the kind of place, by item; or outside that paragraph's scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteCategory {
    /// Transport hubs, roads, bridges, squares, tunnels, public transport, barriers.
    #[serde(rename = "item_1")]
    Item1,
    /// Media, telecoms, post; fuel, water, gas and power supply; nuclear energy.
    #[serde(rename = "item_2")]
    Item2,
    /// Party and government organs, research, cultural relics, museums, archives, ...
    #[serde(rename = "item_3")]
    Item3,
    /// Finance and securities, armoured transport, precious metals, antiques, valuables.
    #[serde(rename = "item_4")]
    Item4,
    /// Weapons, dangerous goods and materials, logistics and deliveries.
    #[serde(rename = "item_5")]
    Item5,
    /// Education, medicine, welfare, culture, sport, tourism, hotels, residences, ...
    #[serde(rename = "item_6")]
    Item6,
    /// Commercial streets, malls, markets, parks, entertainment, dining, parking, ...
    #[serde(rename = "item_7")]
    Item7,
    /// Other places laws, regulations, rules and the municipal government name.
    #[serde(rename = "item_8")]
    Item8,
    /// Outside Art. 9 ¶1: installation limited to personal security needs (Art. 11).
    #[default]
    OutsideScope,
}

/// A public safety video system (or a site that must have one, Art. 9).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    /// The district, whose public security organ is the one to file with (Art. 18).
    #[serde(default)]
    pub district: Option<String>,
    pub site_category: SiteCategory,
    /// Whether a system is installed at all (false: a site of Art. 9 ¶1 without one).
    #[serde(default = "yes")]
    pub installed: bool,
    /// Art. 11: the personal security and protection need a system outside Art. 9 ¶1
    /// is limited to.
    #[serde(default)]
    pub personal_security_purpose: Option<String>,
    /// Art. 9 ¶2: the owner of the venue, unit or facility.
    #[serde(default)]
    pub owner: Option<String>,
    /// Art. 9 ¶2: the party with the right to use it.
    #[serde(default)]
    pub user: Option<String>,
    /// Art. 9 ¶2: whether the State is the owner.
    #[serde(default)]
    pub state_owned: bool,
    /// Art. 9 ¶2: the responsible entity the owner and user agreed on, if they did.
    #[serde(default)]
    pub responsible_entity_agreed: Option<String>,
    /// Art. 9 ¶3: who manages the system.
    #[serde(default)]
    pub manager: Option<String>,
    /// Built before the regulation took effect (Art. 18 ¶3).
    #[serde(default)]
    pub existed_before_regulation: bool,
    /// Art. 24(4): whether video travels over the internet.
    #[serde(default)]
    pub internet_transmission: bool,
    /// Art. 24(4): whether the subjects of the acquisition are notified and information
    /// security protection is in place for that transmission.
    #[serde(default)]
    pub internet_protection: bool,
    /// Days system logs are kept (Art. 32: not less than 180).
    #[serde(default)]
    pub log_retention_days: Option<u32>,
}

fn yes() -> bool {
    true
}

/// What a camera collects that Art. 8 ¶2 calls sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitive {
    Faces,
    Figures,
    Plates,
}

impl Sensitive {
    /// In words: "people's images" / 人像.
    pub fn words_in(self, lang: Lang) -> &'static str {
        match self {
            Sensitive::Faces => lang.pick("people's images", "人像"),
            Sensitive::Figures => lang.pick("figures", "体貌"),
            Sensitive::Plates => lang.pick("car plates", "车牌"),
        }
    }
}

/// A camera of the registry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The recording core's camera this entry describes, if it is recorded here.
    #[serde(default)]
    pub recorder_camera: Option<String>,
    /// The kind of place it watches: a `[[place]]` of the rulebook, e.g. `bank_hall`,
    /// `entrance`, `hotel_guest_room` (Art. 10 prohibits the last).
    pub location_type: String,
    /// Whether it watches a public area (Art. 20: signs).
    #[serde(default)]
    pub public_area: bool,
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Sensitive information it collects (Art. 8 ¶2).
    #[serde(default)]
    pub collects: Vec<Sensitive>,
    /// Reference of the municipal public security organs' planning for that collection.
    #[serde(default)]
    pub planning_approval: Option<String>,
    /// A conspicuous notice sign is set up (Art. 20).
    #[serde(default)]
    pub signage: bool,
    /// A network interface is left for shared networking (Art. 21).
    #[serde(default)]
    pub network_interface: bool,
    /// Prevention of terrorist attacks on a key target (Art. 32: 90 days).
    #[serde(default)]
    pub counter_terrorism_key_target: bool,
    /// Configured retention, days.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// What the recorder measured, for a camera recorded by this system.
    #[serde(default)]
    pub measured: Option<Measured>,
}

/// Measured storage of one camera.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// First day recorded.
    pub recording_since: Date,
    /// Day of the oldest recording still kept.
    pub oldest_kept: Date,
    /// The longest recording gap in the retention window, seconds.
    #[serde(default)]
    pub longest_gap_seconds: u64,
    /// Total of recording gaps in the retention window, seconds.
    #[serde(default)]
    pub gap_seconds_total: u64,
    /// Recordings deleted before their retention period ended.
    #[serde(default)]
    pub deleted_within_retention: u64,
}

/// A product used in the system (Art. 15).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    #[serde(default)]
    pub model: Option<String>,
    /// Listed in the national catalogue of products requiring certification.
    #[serde(default)]
    pub in_certification_catalog: bool,
    /// Mandatory product certification (e.g. a CCC certificate number).
    #[serde(default)]
    pub certification: Option<String>,
    /// Quality documents showing it meets the standards the State provides.
    #[serde(default)]
    pub quality_documents: Option<String>,
}

/// Kinds of work on a system (Art. 17, 25).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    Design,
    Construction,
    Maintenance,
}

/// A contractor (Art. 17).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contractor {
    pub name: String,
    /// Work the business licence's scope of operations covers.
    #[serde(default)]
    pub licence_scope: Vec<Work>,
    /// Work it did or does on this system.
    #[serde(default)]
    pub work: Vec<Work>,
    #[serde(default)]
    pub business_licence: Option<String>,
}

/// A testing body (Art. 14, 28).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestingBody {
    pub name: String,
    /// Possesses testing ability (Art. 14).
    #[serde(default)]
    pub qualified: bool,
}

/// Kinds of documents kept (Art. 13, 18, 24(3)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    FilingDeclarationForm,
    DesignPlan,
    ComplianceDemonstrationReport,
    CompletionAcceptanceReport,
    ProductCertification,
    ContractorBusinessLicence,
    TestingReport,
    SystemDiagrams,
    EmergencyPlan,
    Other,
}

/// A document kept for the system.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub kind: DocumentKind,
    pub title: String,
    #[serde(default)]
    pub date: Option<Date>,
    /// SHA-256 of the file, when the registry holds it.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The file's name, when the registry holds it.
    #[serde(default)]
    pub file: Option<String>,
}

/// People the manager named (Art. 24(1)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    /// Responsible for the system.
    Responsible,
    /// Looks after and maintains it.
    Maintenance,
}

/// A person named for the system.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub role: PersonRole,
}

/// What happened, when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Completion acceptance of the system (Art. 13, 18).
    CompletionAcceptance,
    /// Filing with the public security organ (Art. 18); `materials` lists what it held.
    Filing,
    /// The public security organ's acknowledgement that it received the filing (the
    /// latest filing on or before its date), recorded by the district's PSB.
    FilingAcknowledged,
    /// A testing report (Art. 14, 27, 28).
    TestingReport,
    /// A move or removal (Art. 19).
    MoveOrRemoval,
    /// Periodic assessment of system performance (Art. 24(1)).
    PerformanceAssessment,
    /// Periodic assessment of security risks (Art. 23, 24(1)).
    SecurityAssessment,
    /// Training on legal knowledge and job skills (Art. 24(2)).
    Training,
    /// An emergency response plan established (Art. 24(5)).
    EmergencyPlan,
    /// A threat or suspected illegal information discovered (Art. 24(5)).
    Incident,
    /// A public security organ's inspection (Art. 36).
    Inspection,
    /// An order to correct within a set period, for one rule (Art. 36, 38–41).
    CorrectionNotice,
    /// A finding that the violation of a rule caused serious consequences.
    SeriousConsequences,
    /// Video used in a public broadcast (Art. 31).
    Publication,
    /// A change of the system's location, purpose or scope of use (Art. 29(3)).
    Change,
    /// An access, viewing or reproduction of video (Art. 24(3), 33–35).
    Access,
}

/// A dated event. Which fields matter depends on `kind` (docs/compliance.md).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub kind: EventKind,
    pub date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Filing: the materials submitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<DocumentKind>,
    /// Testing report: passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// Testing report: a periodic test organised by the district PSB (Art. 27).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periodic: Option<bool>,
    /// Testing report: the testing body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub testing_body: Option<String>,
    /// Testing report: the day its copy reached the PSB (Art. 28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_to_psb: Option<Date>,
    /// Move: whether it is a removal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal: Option<bool>,
    /// Move: the plan for reconstruction after the move or removal (Art. 19 ¶1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconstruction_plan: Option<String>,
    /// Move: the plan for the transition (Art. 19 ¶1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_plan: Option<String>,
    /// Move: the day it was reported for recording (Art. 19 ¶2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_date: Option<Date>,
    /// Incident: the day it was reported to the public security organs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_to_psb: Option<Date>,
    /// Correction notice / serious consequences: the rule id concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Correction notice or failed test: the day corrections are due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Date>,
    /// The day it was corrected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected: Option<Date>,
    /// Publication: shows persons' images, figures or car plates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive: Option<bool>,
    /// Publication: those made unidentifiable and unrestorable (Art. 31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymised: Option<bool>,
    /// Change: authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised: Option<bool>,
    /// Access: the kind of party (`psb`, `state_security`, `state_organ`,
    /// `interested_party`, `own_staff`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// Access: the information was reproduced (copied, reshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduced: Option<bool>,
    /// Access: the PSB's approval of a reproduction by an interested party (Art. 35).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psb_approval: Option<String>,
    /// Access by a state organ: how many staff members took part (Art. 34(1)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<u32>,
    /// Access by a state organ: work IDs were presented (Art. 34(2)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_ids: Option<bool>,
    /// Access: registered (persons, time, purpose, whereabouts; Art. 24(3), 35 ¶2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered: Option<bool>,
    /// Inspection: who inspected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector: Option<String>,
}

/// Facts that cannot be used, each problem at its field.
#[derive(Debug, thiserror::Error)]
#[error("the facts are not valid: {}", problems(.0))]
pub struct FactsError(pub Vec<FactsProblem>);

/// One problem: where and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct FactsProblem {
    /// `cameras[3].location_type`; empty for the document as a whole.
    pub path: String,
    pub problem: String,
}

fn problems(p: &[FactsProblem]) -> String {
    p.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl FactsError {
    fn at(path: impl Into<String>, problem: impl Into<String>) -> FactsError {
        FactsError(vec![FactsProblem {
            path: path.into(),
            problem: problem.into(),
        }])
    }
}

/// Parses one part of the facts (a camera, an event, ...) or the whole document
/// from JSON, naming the field that is wrong and saying what it should be in words
/// ("expected an object", not "expected struct Measured").
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, FactsError> {
    serde_path_to_error::deserialize(v).map_err(path_error)
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> FactsError {
    let path = e.path().to_string();
    let path = if path == "." { String::new() } else { path };
    FactsError::at(path, plain_words(&e.into_inner().to_string()))
}

/// serde's "expected struct Camera" / "expected enum EventKind" in the format's words.
fn plain_words(message: &str) -> String {
    let mut out = message.to_owned();
    for (what, words) in [
        ("struct", "an object"),
        ("enum", "one of the listed values"),
    ] {
        let needle = format!("expected {what} ");
        while let Some(at) = out.find(&needle) {
            let rest = &out[at + needle.len()..];
            let end = rest
                .find(|c: char| !c.is_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            out.replace_range(at..at + needle.len() + end, &format!("expected {words}"));
        }
    }
    out
}

impl Facts {
    /// Parses a facts document (JSON), without the rulebook's checks; errors name the
    /// field.
    pub fn from_json(doc: &str) -> Result<Facts, FactsError> {
        let mut de = serde_json::Deserializer::from_str(doc);
        let facts = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
        de.end().map_err(|e| FactsError::at("", e.to_string()))?;
        Ok(facts)
    }

    /// Parses a facts document and checks it against the rulebook: the loader of
    /// `vidimus compliance evaluate`.
    pub fn load(doc: &str, book: &ComplianceBook) -> Result<Facts, FactsError> {
        let facts = Facts::from_json(doc)?;
        facts.check(book)?;
        Ok(facts)
    }

    /// What only the rulebook knows: every camera's `location_type` is one of its
    /// place types, and every rule an event names is one of its rules.
    pub fn check(&self, book: &ComplianceBook) -> Result<(), FactsError> {
        let mut found = Vec::new();
        for (i, c) in self.cameras.iter().enumerate() {
            if let Some(problem) = location_problem(book, &c.location_type, Lang::En) {
                found.push(FactsProblem {
                    path: format!("cameras[{i}].location_type"),
                    problem,
                });
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if let Some(p) = event_problem(book, e) {
                found.push(FactsProblem {
                    path: format!("events[{i}]{}", p.path),
                    problem: p.problem,
                });
            }
        }
        if found.is_empty() {
            Ok(())
        } else {
            Err(FactsError(found))
        }
    }
}

/// Why a `location_type` is not one of the rulebook's place types, if it is not.
pub fn location_problem(book: &ComplianceBook, location: &str, lang: Lang) -> Option<String> {
    if book.place(location).is_some() {
        return None;
    }
    Some(match (book.nearest_place(location), lang) {
        (Some(near), Lang::En) => {
            format!("unknown location_type {location:?}: did you mean {near}?")
        }
        (Some(near), Lang::Zh) => format!(
            "未知的场所类型 {location:?}：是否应为 {near}（{}）？",
            book.place(near).map(|p| p.zh.as_str()).unwrap_or("")
        ),
        (None, Lang::En) => format!(
            "unknown location_type {location:?}: not a place type of the rulebook ([[place]]; `vidimus compliance rules` lists them)"
        ),
        (None, Lang::Zh) => format!("未知的场所类型 {location:?}：不是规则库所列的场所类型"),
    })
}

/// What is wrong with an event the rulebook must make sense of: a correction notice
/// or a finding of serious consequences names an existing rule (else its tier would
/// be silently lost), and a correction notice sets its period (Art. 36 ¶1). The path
/// is relative to the event (`.rule`).
pub fn event_problem(book: &ComplianceBook, e: &Event) -> Option<FactsProblem> {
    let what = match e.kind {
        EventKind::CorrectionNotice => "correction notice",
        EventKind::SeriousConsequences => "finding of serious consequences",
        _ => return None,
    };
    let at = |path: &str, problem: String| {
        Some(FactsProblem {
            path: path.to_owned(),
            problem,
        })
    };
    let Some(rule) = e.rule.as_deref() else {
        return at(
            ".rule",
            format!("the {what} of {} names no rule it concerns", e.date),
        );
    };
    if book.rule(rule).is_none() {
        let near = book
            .nearest_rule(rule)
            .map(|r| format!(": did you mean {r}?"))
            .unwrap_or_default();
        return at(
            ".rule",
            format!(
                "the {what} of {} names {rule:?}, which is not a rule of the rulebook{near}",
                e.date
            ),
        );
    }
    if e.kind == EventKind::CorrectionNotice && e.deadline.is_none() {
        return at(
            ".deadline",
            format!(
                "the correction notice of {} sets no period (Art. 36 ¶1: corrections in a set period of time)",
                e.date
            ),
        );
    }
    None
}

impl Facts {
    /// Art. 9 ¶2: the entity responsible for construction, and why: the one the owner
    /// and user agreed on; else the owner; but the user where the State is the owner.
    pub fn responsible_entity(&self) -> Option<(String, Text)> {
        let s = &self.system;
        if let Some(a) = &s.responsible_entity_agreed {
            return Some((
                a.clone(),
                Text::new(
                    "agreed by the owner and the user (Art. 9 ¶2)",
                    "由所有权人与使用权人约定（第九条第二款）",
                ),
            ));
        }
        if s.state_owned {
            return s.user.clone().map(|u| {
                (
                    u,
                    Text::new(
                        "the party with usage rights, the State being the owner (Art. 9 ¶2)",
                        "所有权属于国家，由使用权人负责（第九条第二款）",
                    ),
                )
            });
        }
        s.owner.clone().map(|o| {
            (
                o,
                Text::new(
                    "the owner, there being no agreement (Art. 9 ¶2)",
                    "无约定，由所有权人负责（第九条第二款）",
                ),
            )
        })
    }
}
