//! Organisations: who a user works for decides which kinds of access they may ask for
//! (Art. 33–35), whether they carry work IDs (Art. 34(2)), and where their
//! jurisdiction lies (regions and industries, Art. 33 ¶3).

use serde::{Deserialize, Serialize};

/// The kind of an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// Runs the system (the unit responsible for it and its staff, Art. 9, 24).
    SystemManager,
    /// A public security organ (PSB).
    PublicSecurity,
    /// A state security organ.
    StateSecurity,
    /// Another state organ or relevant department, with a jurisdiction (Art. 33 ¶3).
    StateOrgan,
    /// A government data department (open sharing, Art. 22).
    DataDepartment,
    /// A person or unit whose rights suffered major injury (Art. 35).
    InterestedParty,
    /// A testing body (Art. 14, 27).
    TestingBody,
    /// A design, construction or maintenance contractor (Art. 17, 25).
    Contractor,
}

impl OrgKind {
    pub const ALL: [OrgKind; 8] = [
        OrgKind::SystemManager,
        OrgKind::PublicSecurity,
        OrgKind::StateSecurity,
        OrgKind::StateOrgan,
        OrgKind::DataDepartment,
        OrgKind::InterestedParty,
        OrgKind::TestingBody,
        OrgKind::Contractor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::SystemManager => "system_manager",
            OrgKind::PublicSecurity => "public_security",
            OrgKind::StateSecurity => "state_security",
            OrgKind::StateOrgan => "state_organ",
            OrgKind::DataDepartment => "data_department",
            OrgKind::InterestedParty => "interested_party",
            OrgKind::TestingBody => "testing_body",
            OrgKind::Contractor => "contractor",
        }
    }

    pub fn parse(s: &str) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// State organs and relevant departments: their staff act in pairs with work IDs
    /// (Art. 34).
    pub fn is_state_organ(self) -> bool {
        matches!(
            self,
            OrgKind::PublicSecurity
                | OrgKind::StateSecurity
                | OrgKind::StateOrgan
                | OrgKind::DataDepartment
        )
    }
}

impl std::fmt::Display for OrgKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a state organ's administrative jurisdiction lies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jurisdiction {
    pub regions: Vec<String>,
    pub industries: Vec<String>,
}

impl Jurisdiction {
    /// Whether a camera in `region` serving `industry` lies within it (either suffices:
    /// "in the industry or region of their jurisdiction").
    pub fn covers(&self, region: Option<&str>, industry: Option<&str>) -> bool {
        region.is_some_and(|r| {
            self.regions
                .iter()
                .any(|x| vidimus_core::district::same(x, r))
        }) || industry.is_some_and(|i| self.industries.iter().any(|x| x == i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_state_organs() {
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(k));
        }
        assert!(OrgKind::PublicSecurity.is_state_organ());
        assert!(!OrgKind::InterestedParty.is_state_organ());
        assert!(!OrgKind::SystemManager.is_state_organ());
    }

    #[test]
    fn jurisdiction_is_region_or_industry() {
        let j = Jurisdiction {
            regions: vec!["futian".into()],
            industries: vec!["transport".into()],
        };
        assert!(j.covers(Some("futian"), Some("banking")));
        assert!(j.covers(Some("nanshan"), Some("transport")));
        assert!(!j.covers(Some("nanshan"), Some("banking")));
        assert!(!j.covers(None, None));
    }
}
