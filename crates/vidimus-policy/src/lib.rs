//! Vidimus policy: the access decisions as Cedar policies (pure, no IO).
//!
//! The policy file (`policy/access.cedar`) and its schema (`policy/access.cedarschema`)
//! are compiled in and may be replaced by files named in the configuration; both are
//! validated at start-up ([`AccessPolicy::new`]) so a broken policy never runs. Every
//! policy carries a stable `@id`, which becomes its Cedar policy id and is reported in
//! each [`Decision`] (and so in the access register).
//!
//! The application supplies the facts ([`Query`]): the user and their organisation,
//! the camera, the action, the range asked for, the time, and the grant the user acts
//! under. Video is served only under a grant: with no grant no policy permits.

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use std::str::FromStr;
use vidimus_access::org::OrgKind;
use vidimus_access::request::{Action, ApprovalKind, RequestKind};

/// The compiled-in policy and schema.
pub const POLICY: &str = include_str!("../policy/access.cedar");
pub const SCHEMA: &str = include_str!("../policy/access.cedarschema");

/// A policy or schema that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy schema does not parse: {0}")]
    Schema(String),
    #[error("the policy file does not parse: {0}")]
    Parse(String),
    #[error("policy {0} has no @id annotation (every policy needs a stable id)")]
    NoId(String),
    #[error("the policy file is not valid against its schema: {0}")]
    Invalid(String),
    #[error("cannot build the request: {0}")]
    Request(String),
}

/// The user asking.
#[derive(Clone, Debug)]
pub struct UserFacts {
    pub id: i64,
    pub org_id: i64,
    pub org_kind: OrgKind,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    pub work_id: Option<String>,
}

/// The camera asked about.
#[derive(Clone, Debug, Default)]
pub struct CameraFacts {
    pub id: i64,
    pub region: Option<String>,
    pub industry: Option<String>,
    pub system: Option<String>,
}

/// A grant, as the policy sees it.
#[derive(Clone, Debug)]
pub struct GrantFacts {
    pub id: i64,
    pub kind: RequestKind,
    pub persons: Vec<i64>,
    /// Persons confirmed with their own credentials and a work ID.
    pub officers: i64,
    pub cameras: Vec<i64>,
    /// Every camera (duty grants of the system manager's own staff).
    pub all_cameras: bool,
    pub actions: Vec<Action>,
    pub live: bool,
    pub from_90k: i64,
    pub to_90k: i64,
    pub expires_90k: i64,
    pub revoked: bool,
    pub approvals: Vec<ApprovalKind>,
}

/// One question: may `user` do `action` on `camera` (over `[from, to)` for recorded
/// video) at `now`, under `grant`?
#[derive(Clone, Debug)]
pub struct Query<'a> {
    pub user: &'a UserFacts,
    pub action: Action,
    pub camera: &'a CameraFacts,
    pub from_90k: i64,
    pub to_90k: i64,
    pub now_90k: i64,
    pub grant: Option<&'a GrantFacts>,
}

/// The answer, with the ids of the policies that decided it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// Permits that allowed it, or forbids that refused it (empty: nothing permits,
    /// e.g. no grant or a grant that does not cover this).
    pub policies: Vec<String>,
    /// Evaluation errors (a policy that failed to evaluate is skipped by Cedar).
    pub errors: Vec<String>,
}

impl Decision {
    /// Why it was refused, in words.
    pub fn refusal(&self) -> String {
        if self.policies.is_empty() {
            "no grant covers this camera, action and time".to_owned()
        } else {
            format!("refused by policy {}", self.policies.join(", "))
        }
    }
}

/// A validated policy set and its schema.
pub struct AccessPolicy {
    policies: PolicySet,
    schema: Schema,
    authorizer: Authorizer,
    ids: Vec<String>,
    names: Names,
}

/// The entity types and actions of the schema, parsed once.
struct Names {
    user: EntityTypeName,
    org: EntityTypeName,
    camera: EntityTypeName,
    grant: EntityTypeName,
    actions: [EntityUid; Action::ALL.len()],
}

impl Names {
    fn new() -> Names {
        let ty = |t: &str| EntityTypeName::from_str(&format!("Vidimus::{t}")).expect("a type name");
        let action =
            |a: Action| EntityUid::from_type_name_and_id(ty("Action"), EntityId::new(a.as_str()));
        Names {
            user: ty("User"),
            org: ty("Org"),
            camera: ty("Camera"),
            grant: ty("Grant"),
            actions: Action::ALL.map(action),
        }
    }

    fn uid(ty: &EntityTypeName, id: i64) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id.to_string()))
    }

    fn action(&self, a: Action) -> &EntityUid {
        let i = Action::ALL
            .iter()
            .position(|x| *x == a)
            .expect("every action");
        &self.actions[i]
    }
}

fn string(s: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(s.to_owned())
}

fn strings<'a>(v: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(v.into_iter().map(string))
}

fn entity(
    uid: EntityUid,
    attrs: Vec<(&str, RestrictedExpression)>,
    parents: impl IntoIterator<Item = EntityUid>,
) -> Result<Entity, PolicyError> {
    Entity::new(
        uid,
        attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        parents.into_iter().collect(),
    )
    .map_err(|e| PolicyError::Request(format!("entity: {e}")))
}

impl AccessPolicy {
    /// The compiled-in policy.
    pub fn builtin() -> AccessPolicy {
        AccessPolicy::new(POLICY, SCHEMA).expect("the compiled-in policy is valid")
    }

    /// Parses and validates (strictly) a policy file against a schema; every policy
    /// must carry a unique `@id`.
    pub fn new(policy_text: &str, schema_text: &str) -> Result<AccessPolicy, PolicyError> {
        let (schema, _warnings) = Schema::from_cedarschema_str(schema_text)
            .map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let parsed =
            PolicySet::from_str(policy_text).map_err(|e| PolicyError::Parse(format!("{e}")))?;
        let mut renamed = Vec::new();
        let mut ids = Vec::new();
        for p in parsed.policies() {
            let id = p
                .annotation("id")
                .ok_or_else(|| PolicyError::NoId(p.id().to_string()))?
                .to_owned();
            ids.push(id.clone());
            renamed.push(p.new_id(PolicyId::new(&id)));
        }
        let policies =
            PolicySet::from_policies(renamed).map_err(|e| PolicyError::Parse(format!("{e}")))?;
        let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errs: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errs.join("; ")));
        }
        Ok(AccessPolicy {
            policies,
            schema,
            authorizer: Authorizer::new(),
            ids,
            names: Names::new(),
        })
    }

    /// The ids of the policies, in file order.
    pub fn policy_ids(&self) -> &[String] {
        &self.ids
    }

    /// Decides a query.
    ///
    /// The entities are built natively (no JSON): this is on the path of every video
    /// request, and building them from JSON cost as much as the decision itself.
    pub fn decide(&self, q: &Query<'_>) -> Result<Decision, PolicyError> {
        let n = &self.names;
        let u = q.user;
        let org_uid = Names::uid(&n.org, u.org_id);
        let org_ref = || RestrictedExpression::new_entity_uid(org_uid.clone());
        let org = entity(
            org_uid.clone(),
            vec![
                ("kind", string(u.org_kind.as_str())),
                ("regions", strings(u.regions.iter().map(String::as_str))),
                (
                    "industries",
                    strings(u.industries.iter().map(String::as_str)),
                ),
            ],
            [],
        )?;
        let principal = Names::uid(&n.user, u.id);
        let mut user_attrs = vec![("org", org_ref())];
        if let Some(w) = u.work_id.as_deref().filter(|w| !w.trim().is_empty()) {
            user_attrs.push(("workId", string(w)));
        }
        let user = entity(principal.clone(), user_attrs, [org_uid.clone()])?;
        let resource = Names::uid(&n.camera, q.camera.id);
        let c = q.camera;
        let camera_attrs = [
            ("region", &c.region),
            ("industry", &c.industry),
            ("system", &c.system),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, string(v))))
        .collect();
        let mut entities = vec![org, user, entity(resource.clone(), camera_attrs, [])?];
        let mut context = vec![
            ("now".to_owned(), RestrictedExpression::new_long(q.now_90k)),
            (
                "from".to_owned(),
                RestrictedExpression::new_long(q.from_90k),
            ),
            ("to".to_owned(), RestrictedExpression::new_long(q.to_90k)),
        ];
        if let Some(g) = q.grant {
            // Persons and cameras of the grant other than the ones asked about need
            // no attributes of their own: only their identity matters.
            let persons: Vec<EntityUid> =
                g.persons.iter().map(|p| Names::uid(&n.user, *p)).collect();
            let cameras: Vec<EntityUid> = g
                .cameras
                .iter()
                .map(|c| Names::uid(&n.camera, *c))
                .collect();
            for p in persons.iter().filter(|p| **p != principal) {
                entities.push(entity(p.clone(), vec![("org", org_ref())], [])?);
            }
            for c in cameras.iter().filter(|c| **c != resource) {
                entities.push(Entity::new_no_attrs(c.clone(), Default::default()));
            }
            let set = |v: Vec<EntityUid>| {
                RestrictedExpression::new_set(
                    v.into_iter().map(RestrictedExpression::new_entity_uid),
                )
            };
            let grant_uid = Names::uid(&n.grant, g.id);
            entities.push(entity(
                grant_uid.clone(),
                vec![
                    ("kind", string(g.kind.as_str())),
                    ("persons", set(persons)),
                    ("officers", RestrictedExpression::new_long(g.officers)),
                    ("allCameras", RestrictedExpression::new_bool(g.all_cameras)),
                    ("cameras", set(cameras)),
                    ("actions", strings(g.actions.iter().map(|a| a.as_str()))),
                    ("live", RestrictedExpression::new_bool(g.live)),
                    ("from", RestrictedExpression::new_long(g.from_90k)),
                    ("to", RestrictedExpression::new_long(g.to_90k)),
                    ("expires", RestrictedExpression::new_long(g.expires_90k)),
                    ("revoked", RestrictedExpression::new_bool(g.revoked)),
                    ("approvals", strings(g.approvals.iter().map(|a| a.as_str()))),
                ],
                [],
            )?);
            context.push((
                "grant".to_owned(),
                RestrictedExpression::new_entity_uid(grant_uid),
            ));
        }
        // The facts are built here, by construction of the schema's types; the policies
        // were validated against the schema at start-up. Validating every request's
        // entities again would cost more than the decision, so only debug builds (every
        // test) check them against the schema.
        let schema = cfg!(debug_assertions).then_some(&self.schema);
        let entities = Entities::from_entities(entities, schema)
            .map_err(|e| PolicyError::Request(format!("entities: {e}")))?;
        let action = n.action(q.action).clone();
        let context = Context::from_pairs(context)
            .map_err(|e| PolicyError::Request(format!("context: {e}")))?;
        let request = Request::new(principal, action, resource, context, schema)
            .map_err(|e| PolicyError::Request(e.to_string()))?;
        let r = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let mut policies: Vec<String> = r.diagnostics().reason().map(|p| p.to_string()).collect();
        policies.sort();
        Ok(Decision {
            allowed: r.decision() == cedar_policy::Decision::Allow,
            policies,
            errors: r.diagnostics().errors().map(|e| e.to_string()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use ApprovalKind as A;
    use RequestKind as K;

    const NOW: i64 = 1_000_000;
    const DAY: i64 = 86_400 * 90_000;

    fn user(id: i64, org: OrgKind, work: Option<&str>) -> UserFacts {
        UserFacts {
            id,
            org_id: 100 + org as i64,
            org_kind: org,
            regions: vec!["futian".into()],
            industries: vec!["transport".into()],
            work_id: work.map(str::to_owned),
        }
    }

    fn cam(id: i64, region: &str) -> CameraFacts {
        CameraFacts {
            id,
            region: Some(region.into()),
            industry: Some("banking".into()),
            system: Some("branch-7".into()),
        }
    }

    fn grant(kind: K, persons: &[i64], actions: &[Action], approvals: &[A]) -> GrantFacts {
        GrantFacts {
            id: 1,
            kind,
            persons: persons.to_vec(),
            officers: persons.len() as i64,
            cameras: vec![7, 8],
            all_cameras: false,
            actions: actions.to_vec(),
            live: true,
            from_90k: 0,
            to_90k: 500_000,
            expires_90k: NOW + DAY,
            revoked: false,
            approvals: approvals.to_vec(),
        }
    }

    fn ask(
        p: &AccessPolicy,
        u: &UserFacts,
        action: Action,
        c: &CameraFacts,
        g: Option<&GrantFacts>,
    ) -> Decision {
        p.decide(&Query {
            user: u,
            action,
            camera: c,
            from_90k: 100_000,
            to_90k: 200_000,
            now_90k: NOW,
            grant: g,
        })
        .unwrap()
    }

    #[test]
    fn the_builtin_policy_validates_and_every_policy_has_an_id() {
        let p = AccessPolicy::builtin();
        assert!(p.policy_ids().contains(&"art34.two-officers".to_owned()));
        assert!(p.policy_ids().len() >= 10);
    }

    #[test]
    fn broken_policies_are_refused_at_start_up() {
        let no_id = "permit (principal, action, resource);";
        assert!(matches!(
            AccessPolicy::new(no_id, SCHEMA),
            Err(PolicyError::NoId(_))
        ));
        let bad_attr =
            "@id(\"x\") permit (principal, action, resource) when { resource.colour == \"red\" };";
        assert!(matches!(
            AccessPolicy::new(bad_attr, SCHEMA),
            Err(PolicyError::Invalid(_))
        ));
        assert!(matches!(
            AccessPolicy::new("permit (", SCHEMA),
            Err(PolicyError::Parse(_))
        ));
        assert!(matches!(
            AccessPolicy::new(POLICY, "namespace {"),
            Err(PolicyError::Schema(_))
        ));
    }

    #[test]
    fn no_grant_no_video() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::PublicSecurity, Some("PSB-1"));
        let d = ask(&p, &u, ViewLive, &cam(7, "futian"), None);
        assert!(!d.allowed);
        assert!(d.policies.is_empty());
        assert!(d.refusal().contains("no grant"));
    }

    #[test]
    fn psb_grant_with_two_officers_allows_what_it_names() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::PublicSecurity, Some("PSB-1"));
        let g = grant(K::LawEnforcement, &[1, 2], &[ViewRecorded, Reproduce], &[]);
        let d = ask(&p, &u, ViewRecorded, &cam(7, "nanshan"), Some(&g));
        assert!(d.allowed, "{d:?}");
        assert_eq!(d.policies, ["grant.view_recorded"]);
        assert!(ask(&p, &u, Reproduce, &cam(7, "nanshan"), Some(&g)).allowed);
        // Not live (not granted), not another camera, not another person.
        assert!(!ask(&p, &u, ViewLive, &cam(7, "nanshan"), Some(&g)).allowed);
        assert!(!ask(&p, &u, ViewRecorded, &cam(9, "nanshan"), Some(&g)).allowed);
        let stranger = user(3, OrgKind::PublicSecurity, Some("PSB-3"));
        assert!(!ask(&p, &stranger, ViewRecorded, &cam(7, "nanshan"), Some(&g)).allowed);
        // One officer: the forbid names Art. 34.
        let one = GrantFacts {
            officers: 1,
            ..g.clone()
        };
        let d = ask(&p, &u, ViewRecorded, &cam(7, "nanshan"), Some(&one));
        assert!(!d.allowed);
        assert_eq!(d.policies, ["art34.two-officers"]);
        // Expired, revoked, outside the time range.
        let expired = GrantFacts {
            expires_90k: NOW,
            ..g.clone()
        };
        assert!(!ask(&p, &u, ViewRecorded, &cam(7, "x"), Some(&expired)).allowed);
        let revoked = GrantFacts {
            revoked: true,
            ..g.clone()
        };
        assert!(!ask(&p, &u, ViewRecorded, &cam(7, "x"), Some(&revoked)).allowed);
        let narrow = GrantFacts {
            to_90k: 150_000,
            ..g.clone()
        };
        assert!(!ask(&p, &u, ViewRecorded, &cam(7, "x"), Some(&narrow)).allowed);
        // A law-enforcement grant held by someone outside the security organs.
        let other = user(1, OrgKind::StateOrgan, Some("A-1"));
        assert_eq!(
            ask(&p, &other, ViewRecorded, &cam(7, "x"), Some(&g)).policies,
            ["art33.1.security-organs"]
        );
    }

    #[test]
    fn state_organs_in_and_out_of_jurisdiction() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::StateOrgan, Some("A-1"));
        let g = grant(
            K::AdministrativeInJurisdiction,
            &[1, 2],
            &[ViewRecorded],
            &[],
        );
        assert!(ask(&p, &u, ViewRecorded, &cam(7, "futian"), Some(&g)).allowed);
        assert_eq!(
            ask(&p, &u, ViewRecorded, &cam(7, "nanshan"), Some(&g)).policies,
            ["art33.3.jurisdiction"]
        );
        let out = grant(
            K::AdministrativeOutsideJurisdiction,
            &[1, 2],
            &[ViewRecorded],
            &[],
        );
        assert_eq!(
            ask(&p, &u, ViewRecorded, &cam(7, "nanshan"), Some(&out)).policies,
            ["art33.3.outside-jurisdiction"]
        );
        let consented = grant(
            K::AdministrativeOutsideJurisdiction,
            &[1, 2],
            &[ViewRecorded],
            &[A::ManagerConsent],
        );
        assert!(ask(&p, &u, ViewRecorded, &cam(7, "nanshan"), Some(&consented)).allowed);
    }

    /// A grant for publication (Art. 31) allows that and nothing that serves the
    /// recorded pixels; a grant for anything else does not allow publication; and no
    /// interested party publishes, whatever the PSB approved.
    #[test]
    fn a_publication_grant_publishes_and_yields_no_raw_video() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::SystemManager, None);
        let g = grant(K::SystemOperation, &[1], &[Publish], &[A::ManagerApproval]);
        assert!(ask(&p, &u, Publish, &cam(7, "x"), Some(&g)).allowed);
        for a in [ViewLive, ViewRecorded, Reproduce] {
            assert!(!ask(&p, &u, a, &cam(7, "x"), Some(&g)).allowed, "{a:?}");
        }
        let copy = grant(
            K::SystemOperation,
            &[1],
            &[ViewRecorded, Reproduce],
            &[A::ManagerApproval],
        );
        assert!(!ask(&p, &u, Publish, &cam(7, "x"), Some(&copy)).allowed);
        let party = user(2, OrgKind::InterestedParty, Some("ID-4403"));
        let theirs = grant(
            K::InterestedPartyEmergency,
            &[2],
            &[ViewRecorded, Publish],
            &[A::ManagerApproval, A::PsbReproductionApproval],
        );
        let d = ask(&p, &party, Publish, &cam(7, "x"), Some(&theirs));
        assert!(!d.allowed);
        assert_eq!(d.policies, ["art35.no-publication"]);
    }

    /// Open sharing (Art. 22, 23 ¶2): a data department's grant publishes, anonymized,
    /// with the manager's consent, and never yields raw video, even if it names more.
    #[test]
    fn open_sharing_publishes_anonymized_only() {
        let p = AccessPolicy::builtin();
        let u = user(3, OrgKind::DataDepartment, None);
        let g = grant(
            K::OpenSharing,
            &[3],
            &[Publish, ViewLive, ViewRecorded, Reproduce],
            &[A::ManagerConsent],
        );
        assert!(ask(&p, &u, Publish, &cam(7, "x"), Some(&g)).allowed);
        for a in [ViewLive, ViewRecorded, Reproduce] {
            let d = ask(&p, &u, a, &cam(7, "x"), Some(&g));
            assert!(!d.allowed, "{a:?}");
            assert_eq!(d.policies, ["art23.open-sharing-anonymized-only"], "{a:?}");
        }
        let unconsented = grant(K::OpenSharing, &[3], &[Publish], &[]);
        assert!(!ask(&p, &u, Publish, &cam(7, "x"), Some(&unconsented)).allowed);
        let party = user(3, OrgKind::InterestedParty, Some("ID-1"));
        assert!(!ask(&p, &party, Publish, &cam(7, "x"), Some(&g)).allowed);
    }

    /// Unmasking (Art. 10, 30) is allowed only by a grant that names it, never on its
    /// own range, never for an interested party or under open sharing.
    #[test]
    fn unmasking_needs_a_grant_that_names_it() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::SystemManager, None);
        let plain = grant(K::SystemOperation, &[1], &[ViewLive], &[A::ManagerApproval]);
        let d = ask(&p, &u, Unmask, &cam(7, "x"), Some(&plain));
        assert!(!d.allowed);
        let lifted = grant(
            K::SystemOperation,
            &[1],
            &[ViewLive, Unmask],
            &[A::ManagerApproval],
        );
        let d = ask(&p, &u, Unmask, &cam(7, "x"), Some(&lifted));
        assert!(d.allowed);
        assert_eq!(d.policies, ["grant.unmask"]);
        // Someone else on no grant: nothing.
        let other = user(9, OrgKind::SystemManager, None);
        assert!(!ask(&p, &other, Unmask, &cam(7, "x"), Some(&lifted)).allowed);
        assert!(!ask(&p, &u, Unmask, &cam(7, "x"), None).allowed);
        let party = user(2, OrgKind::InterestedParty, Some("ID-4403"));
        let theirs = grant(
            K::InterestedPartyEmergency,
            &[2],
            &[ViewRecorded, Unmask],
            &[A::ManagerApproval],
        );
        let d = ask(&p, &party, Unmask, &cam(7, "x"), Some(&theirs));
        assert!(!d.allowed);
        assert_eq!(d.policies, ["art30.no-unmask-for-interested-parties"]);
        let data = user(3, OrgKind::DataDepartment, None);
        let shared = grant(
            K::OpenSharing,
            &[3],
            &[Publish, Unmask],
            &[A::ManagerConsent],
        );
        assert!(!ask(&p, &data, Unmask, &cam(7, "x"), Some(&shared)).allowed);
    }

    #[test]
    fn interested_parties_view_but_reproduce_only_with_psb_approval() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::InterestedParty, Some("ID-4403"));
        let g = grant(
            K::InterestedPartyEmergency,
            &[1],
            &[ViewRecorded, Reproduce],
            &[A::ManagerApproval],
        );
        assert!(ask(&p, &u, ViewRecorded, &cam(7, "x"), Some(&g)).allowed);
        let d = ask(&p, &u, Reproduce, &cam(7, "x"), Some(&g));
        assert!(!d.allowed);
        assert_eq!(d.policies, ["art35.no-reproduction"]);
        let psb = grant(
            K::InterestedPartyEmergency,
            &[1],
            &[ViewRecorded, Reproduce],
            &[A::ManagerApproval, A::PsbReproductionApproval],
        );
        assert!(ask(&p, &u, Reproduce, &cam(7, "x"), Some(&psb)).allowed);
        let unapproved = grant(K::InterestedPartyEmergency, &[1], &[ViewRecorded], &[]);
        assert_eq!(
            ask(&p, &u, ViewRecorded, &cam(7, "x"), Some(&unapproved)).policies,
            ["art35.manager-approval"]
        );
    }

    #[test]
    fn own_staff_under_a_duty_grant() {
        let p = AccessPolicy::builtin();
        let u = user(1, OrgKind::SystemManager, None);
        let g = grant(
            K::SystemOperation,
            &[1],
            &[ViewLive, ViewRecorded, Reproduce],
            &[A::ManagerApproval],
        );
        for a in [ViewLive, ViewRecorded, Reproduce] {
            assert!(ask(&p, &u, a, &cam(7, "x"), Some(&g)).allowed, "{a:?}");
        }
        // Publication is a right of its own, not part of duty.
        assert!(!ask(&p, &u, Publish, &cam(7, "x"), Some(&g)).allowed);
        let every = GrantFacts {
            all_cameras: true,
            cameras: vec![],
            ..g.clone()
        };
        assert!(ask(&p, &u, ViewLive, &cam(99, "x"), Some(&every)).allowed);
        let psb = user(1, OrgKind::PublicSecurity, Some("P-1"));
        let wide = GrantFacts {
            all_cameras: true,
            ..grant(K::LawEnforcement, &[1, 2], &[ViewLive], &[])
        };
        assert_eq!(
            ask(&p, &psb, ViewLive, &cam(99, "x"), Some(&wide)).policies,
            ["all-cameras.own-staff-only"]
        );
        let contractor = user(1, OrgKind::Contractor, None);
        assert_eq!(
            ask(&p, &contractor, ViewLive, &cam(7, "x"), Some(&g)).policies,
            ["art24.own-staff"]
        );
    }
}
