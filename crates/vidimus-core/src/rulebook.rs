//! The rulebook: the regulation as data (see `rulebook/shenzhen-sez-draft.toml`).
//!
//! Pure: parsing a TOML document into rules and answering questions about them. The
//! binary decides where the document comes from (compiled in, or a configured file).

use serde::Deserialize;

/// The Shenzhen draft, compiled in.
pub const SHENZHEN_DRAFT: &str = include_str!("../../../rulebook/shenzhen-sez-draft.toml");

/// A parsed rulebook.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rulebook {
    pub rulebook: Meta,
    pub interpretation: Interpretation,
    #[serde(default)]
    pub retention: Vec<RetentionRule>,
    /// The compliance rules (`[[rule]]`), read by the `vidimus-compliance` crate; kept
    /// opaque here so this crate stays small.
    #[serde(default)]
    pub rule: Vec<toml::Table>,
    /// The penalty articles (`[penalty.*]`), read by `vidimus-compliance`.
    #[serde(default)]
    pub penalty: toml::Table,
    /// The place types (`[[place]]`, the closed vocabulary of a camera's
    /// `location_type`), read by `vidimus-compliance`.
    #[serde(default)]
    pub place: Vec<toml::Table>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub id: String,
    pub version: String,
    pub title: String,
    /// The title in Chinese.
    #[serde(default)]
    pub title_zh: Option<String>,
    pub source: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interpretation {
    /// Whether stated bounds include the number itself.
    pub inclusive_bounds: bool,
    pub inclusive_bounds_article: String,
}

/// What a retention rule governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionSubject {
    Video,
    SystemLog,
}

/// Which cameras a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraCategory {
    Any,
    CounterTerrorismKeyTarget,
}

/// A minimum retention period.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub id: String,
    pub subject: RetentionSubject,
    pub camera_category: CameraCategory,
    pub min_days: u32,
    pub article: String,
    pub penalty_article: Option<String>,
    pub text: String,
    /// The article's words in Chinese.
    #[serde(default)]
    pub text_zh: Option<String>,
}

/// A rulebook that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulebookError {
    #[error("the rulebook is not valid TOML for this Vidimus: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the rulebook has no retention rule for {0}")]
    Missing(&'static str),
    #[error("rule id {0:?} appears twice")]
    DuplicateId(String),
}

/// A retention period the law does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "a retention of {requested} days is below the legal minimum of {min_days} days ({article}: \"{text}\"; rule {rule_id}); {inclusive_article}: {min_days} days itself is allowed"
)]
pub struct RetentionRefusal {
    pub requested: u32,
    pub min_days: u32,
    pub rule_id: String,
    pub article: String,
    pub text: String,
    pub inclusive_article: String,
}

impl Rulebook {
    /// Parses and checks a rulebook document.
    pub fn parse(doc: &str) -> Result<Rulebook, RulebookError> {
        let rb: Rulebook = toml::from_str(doc)?;
        let mut ids = std::collections::HashSet::new();
        for r in &rb.retention {
            if !ids.insert(r.id.as_str()) {
                return Err(RulebookError::DuplicateId(r.id.clone()));
            }
        }
        if rb.min_retention(RetentionSubject::Video, false).is_none() {
            return Err(RulebookError::Missing("video"));
        }
        Ok(rb)
    }

    /// The compiled-in Shenzhen draft.
    pub fn shenzhen_draft() -> Rulebook {
        Rulebook::parse(SHENZHEN_DRAFT).expect("the compiled-in rulebook is valid")
    }

    /// The strictest applicable minimum, and the rule that sets it.
    pub fn min_retention(
        &self,
        subject: RetentionSubject,
        key_target: bool,
    ) -> Option<&RetentionRule> {
        self.retention
            .iter()
            .filter(|r| r.subject == subject)
            .filter(|r| r.camera_category == CameraCategory::Any || key_target)
            .max_by_key(|r| r.min_days)
    }

    /// Checks a camera's retention period (days) against the law.
    pub fn check_video_retention(
        &self,
        days: u32,
        key_target: bool,
    ) -> Result<(), RetentionRefusal> {
        self.check(RetentionSubject::Video, days, key_target)
    }

    fn check(
        &self,
        subject: RetentionSubject,
        days: u32,
        key_target: bool,
    ) -> Result<(), RetentionRefusal> {
        let Some(rule) = self.min_retention(subject, key_target) else {
            return Ok(());
        };
        let allowed = if self.interpretation.inclusive_bounds {
            days >= rule.min_days
        } else {
            days > rule.min_days
        };
        if allowed {
            return Ok(());
        }
        Err(RetentionRefusal {
            requested: days,
            min_days: rule.min_days,
            rule_id: rule.id.clone(),
            article: rule.article.clone(),
            text: rule.text.clone(),
            inclusive_article: self.interpretation.inclusive_bounds_article.clone(),
        })
    }

    /// Checks the system log's retention period (days).
    pub fn check_log_retention(&self, days: u32) -> Result<(), RetentionRefusal> {
        self.check(RetentionSubject::SystemLog, days, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shenzhen_minimums_are_inclusive() {
        let rb = Rulebook::shenzhen_draft();
        assert!(
            rb.check_video_retention(30, false).is_ok(),
            "30 days is not less than 30 (Art. 47)"
        );
        let e = rb.check_video_retention(29, false).unwrap_err();
        assert_eq!(
            (e.min_days, e.rule_id.as_str(), e.article.as_str()),
            (30, "art32.video_retention_min", "Art. 32")
        );
        assert!(
            e.to_string().contains("Art. 32") && e.to_string().contains("Art. 47"),
            "{e}"
        );
        assert!(rb.check_video_retention(90, true).is_ok());
        assert_eq!(
            rb.check_video_retention(89, true).unwrap_err().rule_id,
            "art32.key_target_video_retention_min"
        );
        assert!(rb.check_log_retention(180).is_ok());
        assert_eq!(rb.check_log_retention(179).unwrap_err().min_days, 180);
    }

    #[test]
    fn malformed_rulebooks_are_refused() {
        assert!(Rulebook::parse("nonsense = [").is_err());
        let dup = format!(
            "{SHENZHEN_DRAFT}\n[[retention]]\nid = \"art32.video_retention_min\"\nsubject = \"video\"\ncamera_category = \"any\"\nmin_days = 1\narticle = \"x\"\ntext = \"x\"\n"
        );
        assert!(matches!(
            Rulebook::parse(&dup),
            Err(RulebookError::DuplicateId(_))
        ));
    }

    proptest! {
        #[test]
        fn never_below_the_minimum(days in 0u32..400, key in any::<bool>()) {
            let rb = Rulebook::shenzhen_draft();
            let min = if key { 90 } else { 30 };
            prop_assert_eq!(rb.check_video_retention(days, key).is_ok(), days >= min);
        }
    }
}
