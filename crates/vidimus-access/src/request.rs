//! Access requests (sans-IO): which organisations may file which kind of request,
//! and what a request still lacks before it may become a grant — the two-person rule
//! and work IDs (Art. 34), manager consent or PSB permission outside a jurisdiction
//! (Art. 33 ¶3), manager approval for interested parties and PSB approval for any
//! reproduction by them (Art. 35). Each refusal and each missing piece names its
//! article.

use crate::org::OrgKind;
use serde::{Deserialize, Serialize};

/// The legal basis of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// The system manager's own staff operating the system (Art. 24).
    SystemOperation,
    /// Law enforcement by a public or state security organ (Art. 33 ¶1).
    LawEnforcement,
    /// A public safety emergency, by the organs investigating it (Art. 33 ¶2).
    PublicEmergency,
    /// Administrative law enforcement within the organ's jurisdiction (Art. 33 ¶3).
    AdministrativeInJurisdiction,
    /// Administrative law enforcement outside it (Art. 33 ¶3: manager consent or PSB
    /// permission).
    AdministrativeOutsideJurisdiction,
    /// An interested party's emergency access (Art. 35).
    InterestedPartyEmergency,
    /// Open sharing with a data department or another state organ (Art. 22): only
    /// video with its sensitive information removed (Art. 23 ¶2), i.e. publication.
    OpenSharing,
}

impl RequestKind {
    pub const ALL: [RequestKind; 7] = [
        RequestKind::SystemOperation,
        RequestKind::LawEnforcement,
        RequestKind::PublicEmergency,
        RequestKind::AdministrativeInJurisdiction,
        RequestKind::AdministrativeOutsideJurisdiction,
        RequestKind::InterestedPartyEmergency,
        RequestKind::OpenSharing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::SystemOperation => "system_operation",
            RequestKind::LawEnforcement => "law_enforcement",
            RequestKind::PublicEmergency => "public_emergency",
            RequestKind::AdministrativeInJurisdiction => "administrative_in_jurisdiction",
            RequestKind::AdministrativeOutsideJurisdiction => "administrative_outside_jurisdiction",
            RequestKind::InterestedPartyEmergency => "interested_party_emergency",
            RequestKind::OpenSharing => "open_sharing",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The article that founds this kind of access.
    pub fn article(self) -> &'static str {
        match self {
            RequestKind::SystemOperation => "Art. 24",
            RequestKind::LawEnforcement => "Art. 33 ¶1",
            RequestKind::PublicEmergency => "Art. 33 ¶2",
            RequestKind::AdministrativeInJurisdiction
            | RequestKind::AdministrativeOutsideJurisdiction => "Art. 33 ¶3",
            RequestKind::InterestedPartyEmergency => "Art. 35",
            RequestKind::OpenSharing => "Art. 22",
        }
    }

    /// Whether the persons must be at least two, each with a work ID (Art. 34).
    pub fn two_person_rule(self) -> bool {
        matches!(
            self,
            RequestKind::LawEnforcement
                | RequestKind::PublicEmergency
                | RequestKind::AdministrativeInJurisdiction
                | RequestKind::AdministrativeOutsideJurisdiction
        )
    }
}

/// What a grant may allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ViewLive,
    ViewRecorded,
    /// Export, copy, snapshot: any copy leaving the system.
    Reproduce,
    /// An anonymized copy for public broadcast (Art. 31): faces and plates made
    /// unidentifiable and re-checked. A grant that allows only this never yields the
    /// recorded pixels.
    Publish,
    /// The camera's static privacy masks lifted (Art. 10, 30) for what else the grant
    /// allows: never a hand-out of its own. Without it, masked cameras are served with
    /// their masks burned in.
    Unmask,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::ViewLive,
        Action::ViewRecorded,
        Action::Reproduce,
        Action::Publish,
        Action::Unmask,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::ViewLive => "view_live",
            Action::ViewRecorded => "view_recorded",
            Action::Reproduce => "reproduce",
            Action::Publish => "publish",
            Action::Unmask => "unmask",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// An approval a request may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// The system manager's consent to access outside a jurisdiction (Art. 33 ¶3).
    ManagerConsent,
    /// The PSB's permission to access outside a jurisdiction (Art. 33 ¶3).
    PsbPermission,
    /// The system manager's approval of an interested party's viewing (Art. 35), or of
    /// the manager's own staff operating the system (Art. 24).
    ManagerApproval,
    /// The PSB's approval of a reproduction by an interested party (Art. 35).
    PsbReproductionApproval,
}

impl ApprovalKind {
    pub const ALL: [ApprovalKind; 4] = [
        ApprovalKind::ManagerConsent,
        ApprovalKind::PsbPermission,
        ApprovalKind::ManagerApproval,
        ApprovalKind::PsbReproductionApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::ManagerConsent => "manager_consent",
            ApprovalKind::PsbPermission => "psb_permission",
            ApprovalKind::ManagerApproval => "manager_approval",
            ApprovalKind::PsbReproductionApproval => "psb_reproduction_approval",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalKind> {
        ApprovalKind::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The kind of organisation whose administrators give this approval.
    pub fn approver(self) -> OrgKind {
        match self {
            ApprovalKind::ManagerConsent | ApprovalKind::ManagerApproval => OrgKind::SystemManager,
            ApprovalKind::PsbPermission | ApprovalKind::PsbReproductionApproval => {
                OrgKind::PublicSecurity
            }
        }
    }
}

/// A refusal or a missing piece, with the article behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} ({article})")]
pub struct Unmet {
    /// Stable id, e.g. `two_officers`.
    pub id: &'static str,
    pub article: &'static str,
    pub message: String,
}

fn unmet(id: &'static str, article: &'static str, message: impl Into<String>) -> Unmet {
    Unmet {
        id,
        article,
        message: message.into(),
    }
}

/// Whether an organisation of `org` may file a request of `kind` at all.
pub fn may_file(kind: RequestKind, org: OrgKind) -> Result<(), Unmet> {
    use OrgKind as O;
    use RequestKind as K;
    let ok = match kind {
        K::SystemOperation => org == O::SystemManager,
        K::LawEnforcement => matches!(org, O::PublicSecurity | O::StateSecurity),
        K::PublicEmergency => org.is_state_organ(),
        K::AdministrativeInJurisdiction | K::AdministrativeOutsideJurisdiction => {
            matches!(org, O::StateOrgan | O::DataDepartment)
        }
        K::InterestedPartyEmergency => org == O::InterestedParty,
        K::OpenSharing => matches!(org, O::DataDepartment | O::StateOrgan),
    };
    if ok {
        Ok(())
    } else {
        Err(unmet(
            "kind_not_for_org",
            kind.article(),
            format!(
                "a {} organisation cannot make a {} request",
                org.as_str(),
                kind.as_str()
            ),
        ))
    }
}

/// One person named on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub user_id: i64,
    /// Work ID (state organs) or identity document number (interested parties).
    pub work_id: Option<String>,
    /// Confirmed with the person's own credentials.
    pub confirmed: bool,
}

/// What is known about a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    pub kind: RequestKind,
    pub org: OrgKind,
    pub purpose: &'a str,
    pub actions: &'a [Action],
    pub persons: &'a [Person],
    pub approvals: &'a [ApprovalKind],
    /// Every camera asked for lies within the requesting organ's jurisdiction.
    pub all_in_jurisdiction: bool,
}

/// Everything a request still lacks before it may be granted (empty: grantable).
pub fn missing(f: &RequestFacts<'_>) -> Vec<Unmet> {
    use RequestKind as K;
    let mut out = Vec::new();
    if let Err(e) = may_file(f.kind, f.org) {
        out.push(e);
        return out;
    }
    if f.purpose.trim().is_empty() {
        out.push(unmet(
            "purpose",
            "Art. 24(3)",
            "the purpose must be stated (it is registered)",
        ));
    }
    if f.actions.is_empty() {
        out.push(unmet("actions", f.kind.article(), "no action asked for"));
    } else if f
        .actions
        .iter()
        .all(|a| matches!(a, Action::Unmask | Action::Publish))
        && f.actions.contains(&Action::Unmask)
    {
        out.push(unmet(
            "unmask_alone",
            "Art. 30",
            "`unmask` lifts a camera's privacy masks for viewing or reproducing; ask for those too (a publication always keeps the masks)",
        ));
    }
    if f.persons.is_empty() {
        out.push(unmet(
            "persons",
            "Art. 24(3)",
            "the persons involved must be named (they are registered)",
        ));
    }
    if f.kind.two_person_rule() {
        if f.persons.len() < 2 {
            out.push(unmet(
                "two_officers",
                "Art. 34(1)",
                format!(
                    "at least two staff members are required; {} named",
                    f.persons.len()
                ),
            ));
        }
        if f.persons
            .iter()
            .any(|p| p.work_id.as_deref().is_none_or(|w| w.trim().is_empty()))
        {
            out.push(unmet(
                "work_ids",
                "Art. 34(2)",
                "every staff member must present a work ID",
            ));
        }
    }
    if f.kind == K::InterestedPartyEmergency
        && f.persons
            .iter()
            .any(|p| p.work_id.as_deref().is_none_or(|w| w.trim().is_empty()))
    {
        out.push(unmet(
            "identification",
            "Art. 35 ¶2",
            "every person's identification must be registered",
        ));
    }
    if f.persons.iter().any(|p| !p.confirmed) {
        out.push(unmet(
            "confirmations",
            "Art. 34(3)",
            format!(
                "{} of {} persons have not confirmed with their own credentials",
                f.persons.iter().filter(|p| !p.confirmed).count(),
                f.persons.len()
            ),
        ));
    }
    let has = |a: ApprovalKind| f.approvals.contains(&a);
    match f.kind {
        K::SystemOperation if !has(ApprovalKind::ManagerApproval) => out.push(unmet(
            "manager_approval",
            "Art. 24(1)",
            "the system manager must approve its staff's access",
        )),
        K::AdministrativeInJurisdiction if !f.all_in_jurisdiction => out.push(unmet(
            "jurisdiction",
            "Art. 33 ¶3",
            "some cameras lie outside the organ's jurisdiction: request them as administrative_outside_jurisdiction",
        )),
        K::AdministrativeOutsideJurisdiction
            if !has(ApprovalKind::ManagerConsent) && !has(ApprovalKind::PsbPermission) =>
        {
            out.push(unmet(
                "consent_or_permission",
                "Art. 33 ¶3",
                "outside its jurisdiction an organ needs the system manager's consent or the PSB's permission",
            ))
        }
        K::OpenSharing => {
            if f.actions.iter().any(|a| *a != Action::Publish) {
                out.push(unmet(
                    "anonymized_only",
                    "Art. 23 ¶2",
                    "openly shared video has its sensitive information removed: an open-sharing request asks only for anonymized publication (`publish`)",
                ));
            }
            if !has(ApprovalKind::ManagerConsent) {
                out.push(unmet(
                    "manager_consent",
                    "Art. 22",
                    "the system manager must consent to share its video",
                ));
            }
        }
        K::InterestedPartyEmergency => {
            if !has(ApprovalKind::ManagerApproval) {
                out.push(unmet(
                    "manager_approval",
                    "Art. 35 ¶1",
                    "an interested party may view only upon the system manager's approval",
                ));
            }
            if f.actions.contains(&Action::Publish) {
                out.push(unmet(
                    "no_publication",
                    "Art. 35 ¶1",
                    "an interested party may not reproduce video for publication: only the PSB may approve a reproduction, and only as evidence",
                ));
            }
            if f.actions.contains(&Action::Unmask) {
                out.push(unmet(
                    "no_unmask",
                    "Art. 30",
                    "a camera's privacy masks protect third parties' privacy; they are not lifted for an interested party",
                ));
            }
            if f.actions.contains(&Action::Reproduce)
                && !has(ApprovalKind::PsbReproductionApproval)
            {
                out.push(unmet(
                    "psb_reproduction_approval",
                    "Art. 35 ¶1",
                    "an interested party may reproduce video only upon the approval of the PSB where the system is located",
                ));
            }
        }
        _ => {}
    }
    out
}

impl ApprovalKind {
    /// The article that asks for this approval.
    pub fn article(self) -> &'static str {
        match self {
            ApprovalKind::ManagerConsent | ApprovalKind::PsbPermission => "Art. 33 ¶3",
            ApprovalKind::ManagerApproval => "Art. 24(1)",
            ApprovalKind::PsbReproductionApproval => "Art. 35 ¶1",
        }
    }
}

/// Who would give an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    pub user_id: i64,
    pub is_admin: bool,
    pub org: OrgKind,
    /// The approver's organisation's jurisdiction covers every camera the request
    /// names (for a PSB: the district where the system is located).
    pub covers_cameras: bool,
}

/// Whether `who` may give approval `kind` on a request of `request_kind` asking for
/// `actions`, filed by `filer` and naming `persons`. The one rule for every door (the
/// API's approvals, the command line's duty grants): it is given by an administrator
/// of the kind of organisation the article names; never on one's own request (filed by
/// or naming the approver); it must be an approval the request can use; and a PSB
/// approves only for cameras in its own district (Art. 33 ¶3, 35 ¶1).
pub fn may_approve(
    kind: ApprovalKind,
    who: &Approver,
    request_kind: RequestKind,
    actions: &[Action],
    filer: i64,
    persons: &[Person],
) -> Result<(), Unmet> {
    if !who.is_admin || who.org != kind.approver() {
        return Err(unmet(
            "approver",
            kind.article(),
            format!(
                "{} is given by an administrator of a {}",
                kind.as_str(),
                kind.approver().as_str()
            ),
        ));
    }
    if filer == who.user_id || persons.iter().any(|p| p.user_id == who.user_id) {
        return Err(unmet(
            "own_request",
            kind.article(),
            "no one approves their own request: the approver must be another person",
        ));
    }
    if !useful_approvals(request_kind, actions).contains(&kind) {
        return Err(unmet(
            "approval_not_applicable",
            kind.article(),
            format!(
                "a {} request does not take {}",
                request_kind.as_str(),
                kind.as_str()
            ),
        ));
    }
    if kind.approver() == OrgKind::PublicSecurity && !who.covers_cameras {
        return Err(unmet(
            "psb_jurisdiction",
            kind.article(),
            "only the public security organ where the system is located approves: some cameras lie outside this PSB's district",
        ));
    }
    Ok(())
}

/// Which approvals a request of this kind can use (others are refused when given).
pub fn useful_approvals(kind: RequestKind, actions: &[Action]) -> Vec<ApprovalKind> {
    match kind {
        RequestKind::SystemOperation => vec![ApprovalKind::ManagerApproval],
        RequestKind::AdministrativeOutsideJurisdiction => {
            vec![ApprovalKind::ManagerConsent, ApprovalKind::PsbPermission]
        }
        RequestKind::OpenSharing => vec![ApprovalKind::ManagerConsent],
        RequestKind::InterestedPartyEmergency => {
            let mut v = vec![ApprovalKind::ManagerApproval];
            if actions.contains(&Action::Reproduce) {
                v.push(ApprovalKind::PsbReproductionApproval);
            }
            v
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod approval_tests {
    use super::*;

    fn who(user_id: i64, org: OrgKind, covers: bool) -> Approver {
        Approver {
            user_id,
            is_admin: true,
            org,
            covers_cameras: covers,
        }
    }

    #[test]
    fn approvals_are_given_by_another_administrator_of_the_right_organ_in_its_district() {
        let me = Person {
            user_id: 1,
            work_id: None,
            confirmed: true,
        };
        let duty = |a: &Approver| {
            may_approve(
                ApprovalKind::ManagerApproval,
                a,
                RequestKind::SystemOperation,
                &[Action::ViewLive],
                1,
                std::slice::from_ref(&me),
            )
        };
        assert!(duty(&who(2, OrgKind::SystemManager, true)).is_ok());
        // Self-approval, from whatever door.
        assert_eq!(
            duty(&who(1, OrgKind::SystemManager, true)).unwrap_err().id,
            "own_request"
        );
        assert_eq!(
            duty(&who(2, OrgKind::PublicSecurity, true)).unwrap_err().id,
            "approver"
        );
        let mut op = who(2, OrgKind::SystemManager, true);
        op.is_admin = false;
        assert_eq!(duty(&op).unwrap_err().id, "approver");
        // A PSB approves reproduction only in its own district (Art. 35 ¶1).
        let repro = |a: &Approver| {
            may_approve(
                ApprovalKind::PsbReproductionApproval,
                a,
                RequestKind::InterestedPartyEmergency,
                &[Action::ViewRecorded, Action::Reproduce],
                1,
                std::slice::from_ref(&me),
            )
        };
        assert!(repro(&who(3, OrgKind::PublicSecurity, true)).is_ok());
        let e = repro(&who(3, OrgKind::PublicSecurity, false)).unwrap_err();
        assert_eq!((e.id, e.article), ("psb_jurisdiction", "Art. 35 ¶1"));
        // Approvals the request cannot use.
        let e = may_approve(
            ApprovalKind::PsbPermission,
            &who(3, OrgKind::PublicSecurity, true),
            RequestKind::LawEnforcement,
            &[Action::ViewRecorded],
            1,
            &[],
        )
        .unwrap_err();
        assert_eq!(e.id, "approval_not_applicable");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use ApprovalKind as A;
    use OrgKind as O;
    use RequestKind as K;

    fn officer(id: i64, work: Option<&str>, confirmed: bool) -> Person {
        Person {
            user_id: id,
            work_id: work.map(str::to_owned),
            confirmed,
        }
    }

    fn ids(
        kind: K,
        org: O,
        actions: &[Action],
        persons: &[Person],
        approvals: &[A],
        inside: bool,
    ) -> Vec<&'static str> {
        missing(&RequestFacts {
            kind,
            org,
            purpose: "case 2026-117",
            actions,
            persons,
            approvals,
            all_in_jurisdiction: inside,
        })
        .into_iter()
        .map(|u| u.id)
        .collect()
    }

    #[test]
    fn psb_needs_two_confirmed_officers_with_work_ids() {
        let two = [
            officer(1, Some("PSB-0001"), true),
            officer(2, Some("PSB-0002"), true),
        ];
        assert!(
            ids(
                K::LawEnforcement,
                O::PublicSecurity,
                &[ViewRecorded, Reproduce],
                &two,
                &[],
                false
            )
            .is_empty()
        );
        // One officer: refused by Art. 34(1).
        assert_eq!(
            ids(
                K::LawEnforcement,
                O::PublicSecurity,
                &[ViewRecorded],
                &two[..1],
                &[],
                false
            ),
            ["two_officers"]
        );
        // No work ID: Art. 34(2).
        let no_id = [officer(1, Some("PSB-0001"), true), officer(2, None, true)];
        assert_eq!(
            ids(
                K::LawEnforcement,
                O::StateSecurity,
                &[ViewLive],
                &no_id,
                &[],
                false
            ),
            ["work_ids"]
        );
        // The second officer has not confirmed yet.
        let pending = [officer(1, Some("a"), true), officer(2, Some("b"), false)];
        assert_eq!(
            ids(
                K::LawEnforcement,
                O::PublicSecurity,
                &[ViewLive],
                &pending,
                &[],
                false
            ),
            ["confirmations"]
        );
        let e = &missing(&RequestFacts {
            kind: K::LawEnforcement,
            org: O::PublicSecurity,
            purpose: "x",
            actions: &[ViewLive],
            persons: &two[..1],
            approvals: &[],
            all_in_jurisdiction: false,
        })[0];
        assert_eq!(e.article, "Art. 34(1)");
        assert!(e.to_string().contains("at least two"), "{e}");
    }

    #[test]
    fn who_may_file_what() {
        assert!(may_file(K::LawEnforcement, O::PublicSecurity).is_ok());
        assert!(may_file(K::LawEnforcement, O::StateOrgan).is_err());
        assert!(may_file(K::PublicEmergency, O::StateOrgan).is_ok());
        assert!(may_file(K::PublicEmergency, O::InterestedParty).is_err());
        assert!(may_file(K::InterestedPartyEmergency, O::PublicSecurity).is_err());
        assert!(may_file(K::SystemOperation, O::Contractor).is_err());
        assert_eq!(
            may_file(K::LawEnforcement, O::TestingBody)
                .unwrap_err()
                .article,
            "Art. 33 ¶1"
        );
    }

    #[test]
    fn other_state_organs_outside_their_jurisdiction_need_consent_or_permission() {
        let two = [officer(1, Some("A1"), true), officer(2, Some("A2"), true)];
        assert!(
            ids(
                K::AdministrativeInJurisdiction,
                O::StateOrgan,
                &[ViewRecorded],
                &two,
                &[],
                true
            )
            .is_empty()
        );
        assert_eq!(
            ids(
                K::AdministrativeInJurisdiction,
                O::StateOrgan,
                &[ViewRecorded],
                &two,
                &[],
                false
            ),
            ["jurisdiction"]
        );
        assert_eq!(
            ids(
                K::AdministrativeOutsideJurisdiction,
                O::StateOrgan,
                &[ViewRecorded],
                &two,
                &[],
                false
            ),
            ["consent_or_permission"]
        );
        assert!(
            ids(
                K::AdministrativeOutsideJurisdiction,
                O::StateOrgan,
                &[ViewRecorded],
                &two,
                &[A::ManagerConsent],
                false
            )
            .is_empty()
        );
        assert!(
            ids(
                K::AdministrativeOutsideJurisdiction,
                O::StateOrgan,
                &[ViewRecorded],
                &two,
                &[A::PsbPermission],
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn interested_parties_view_with_manager_approval_and_reproduce_with_psb_approval() {
        let p = [officer(9, Some("ID 4403xxxx"), true)];
        assert_eq!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded],
                &p,
                &[],
                false
            ),
            ["manager_approval"]
        );
        assert!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded],
                &p,
                &[A::ManagerApproval],
                false
            )
            .is_empty()
        );
        assert_eq!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded, Reproduce],
                &p,
                &[A::ManagerApproval],
                false
            ),
            ["psb_reproduction_approval"]
        );
        assert!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded, Reproduce],
                &p,
                &[A::ManagerApproval, A::PsbReproductionApproval],
                false
            )
            .is_empty()
        );
        // Never for publication, whatever the PSB approved.
        assert_eq!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded, Publish],
                &p,
                &[A::ManagerApproval, A::PsbReproductionApproval],
                false
            ),
            ["no_publication"]
        );
        // Identification is registered (Art. 35 ¶2).
        assert_eq!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded],
                &[officer(9, None, true)],
                &[A::ManagerApproval],
                false
            ),
            ["identification"]
        );
        assert_eq!(
            useful_approvals(K::InterestedPartyEmergency, &[ViewRecorded, Reproduce]),
            [A::ManagerApproval, A::PsbReproductionApproval]
        );
    }

    #[test]
    fn unmask_is_asked_beside_a_view_and_never_by_an_interested_party() {
        let p = [officer(5, None, true)];
        let staff = |actions: &[Action]| {
            ids(
                K::SystemOperation,
                O::SystemManager,
                actions,
                &p,
                &[A::ManagerApproval],
                false,
            )
        };
        assert!(staff(&[ViewLive, Unmask]).is_empty());
        assert!(staff(&[ViewRecorded, Reproduce, Unmask]).is_empty());
        assert_eq!(staff(&[Unmask]), ["unmask_alone"]);
        assert_eq!(staff(&[Publish, Unmask]), ["unmask_alone"]);
        assert!(
            ids(
                K::InterestedPartyEmergency,
                O::InterestedParty,
                &[ViewRecorded, Unmask],
                &p,
                &[A::ManagerApproval],
                false
            )
            .contains(&"no_unmask")
        );
        assert_eq!(Action::parse("unmask"), Some(Unmask));
    }

    #[test]
    fn open_sharing_is_anonymized_only_and_needs_the_managers_consent() {
        let p = [officer(5, None, true)];
        assert!(may_file(K::OpenSharing, O::DataDepartment).is_ok());
        assert!(may_file(K::OpenSharing, O::StateOrgan).is_ok());
        assert!(may_file(K::OpenSharing, O::InterestedParty).is_err());
        assert!(may_file(K::OpenSharing, O::SystemManager).is_err());
        let d = O::DataDepartment;
        assert_eq!(
            ids(K::OpenSharing, d, &[Publish], &p, &[], false),
            ["manager_consent"]
        );
        assert!(
            ids(
                K::OpenSharing,
                d,
                &[Publish],
                &p,
                &[A::ManagerConsent],
                false
            )
            .is_empty()
        );
        for raw in [ViewLive, ViewRecorded, Reproduce] {
            assert_eq!(
                ids(
                    K::OpenSharing,
                    d,
                    &[Publish, raw],
                    &p,
                    &[A::ManagerConsent],
                    false
                ),
                ["anonymized_only"],
                "{raw:?}"
            );
        }
        assert_eq!(
            useful_approvals(K::OpenSharing, &[Publish]),
            [A::ManagerConsent]
        );
    }

    #[test]
    fn own_staff_need_the_managers_approval_and_a_purpose() {
        let p = [officer(3, None, true)];
        assert_eq!(
            ids(
                K::SystemOperation,
                O::SystemManager,
                &[ViewLive],
                &p,
                &[],
                false
            ),
            ["manager_approval"]
        );
        assert!(
            ids(
                K::SystemOperation,
                O::SystemManager,
                &[ViewLive],
                &p,
                &[A::ManagerApproval],
                false
            )
            .is_empty()
        );
        let m = missing(&RequestFacts {
            kind: K::SystemOperation,
            org: O::SystemManager,
            purpose: " ",
            actions: &[],
            persons: &[],
            approvals: &[A::ManagerApproval],
            all_in_jurisdiction: false,
        });
        let ids: Vec<_> = m.iter().map(|u| u.id).collect();
        assert_eq!(ids, ["purpose", "actions", "persons"]);
    }
}
