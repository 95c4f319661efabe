//! The registry and the compliance engine on the live system.
//!
//! The registry (systems, cameras, products, contractors, testing bodies, documents,
//! persons, dated events) is kept in the index as documents of the compliance facts
//! format; every write is checked against the facts types (unknown fields refused)
//! and, for systems and cameras, against the rulebook's registration rules (Art. 10,
//! 11): a camera in a hotel guest room is refused with the article cited. Evaluations
//! build the same facts document `vidimus compliance evaluate` reads, adding what the
//! recorder measured for cameras it records (retention configured and actually held,
//! recording gaps), and run the same pure engine.
//!
//! Who may do what: the system manager's administrators keep the registry and record
//! its events; the system manager's other users read it; public security users read
//! the systems of their districts (all, if their organisation names none) and record
//! inspections, correction notices and findings of serious consequences; testing
//! bodies read and record testing reports. Everyone else is refused.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use vidimus_compliance::engine::Upcoming;
use vidimus_compliance::facts::{
    Camera, Contractor, Document, Event, EventKind, Facts, Measured, Person, Product, System,
    TestingBody,
};
use vidimus_compliance::{Date, Report, check_registration_in, evaluate_in};
use vidimus_core::lang::Lang;
use vidimus_core::time::{TIME_UNITS_PER_SEC, Wall90k};
use vidimus_store::SqliteIndex;
use vidimus_store::registry::NewRegistrySystem;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;

/// What the asking user may see and do.
#[derive(Clone, Debug)]
enum Role {
    Manager { admin: bool },
    Psb { districts: Vec<String> },
    TestingBody,
    Other,
}

fn role(ix: &SqliteIndex, user: &AuthUser) -> Result<Role, ApiError> {
    let u = ix
        .user_by_id(user.user_id)?
        .ok_or_else(ApiError::unauthenticated)?;
    let Some(org) = ix.org(u.org_id)? else {
        return Ok(Role::Other);
    };
    Ok(match org.kind.as_str() {
        "system_manager" => Role::Manager {
            admin: u.role == "admin",
        },
        "public_security" => Role::Psb {
            districts: org.regions,
        },
        "testing_body" => Role::TestingBody,
        _ => Role::Other,
    })
}

fn forbidden(what: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", what.to_owned())
}

fn may_read(role: &Role, district: Option<&str>) -> bool {
    match role {
        Role::Manager { .. } | Role::TestingBody => true,
        Role::Psb { districts } => {
            districts.is_empty()
                || district
                    .is_some_and(|d| districts.iter().any(|x| vidimus_core::district::same(x, d)))
        }
        Role::Other => false,
    }
}

fn require_admin(role: &Role) -> Result<(), ApiError> {
    match role {
        Role::Manager { admin: true } => Ok(()),
        _ => Err(forbidden(
            "only an administrator of the system manager keeps the registry",
        )),
    }
}

/// The system, if the user may read it.
fn readable(
    ix: &SqliteIndex,
    user: &AuthUser,
    id: &str,
) -> Result<(Role, vidimus_store::registry::RegistrySystemRow), ApiError> {
    let role = role(ix, user)?;
    let row = ix.registry_system(id)?.ok_or_else(|| not_found(id))?;
    if !may_read(&role, row.district.as_deref()) {
        // Not "forbidden": a PSB of another district is not told the system exists.
        return Err(not_found(id));
    }
    Ok((role, row))
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "system_not_found",
        format!("no system {id:?} in the registry"),
    )
}

fn invalid(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_registry_entry",
        format!("{what} is not valid (docs/compliance/facts.schema.json): {e}"),
    )
}

/// A registration the rulebook refuses, with its findings (evaluated in `lang`).
fn refused(findings: &[vidimus_compliance::Finding], lang: Lang) -> ApiError {
    let text = findings
        .iter()
        .map(|f| match lang {
            Lang::En => format!(
                "refused ({}; penalty {}): {}",
                f.article,
                f.penalty_article.as_deref().unwrap_or("none"),
                f.explanation
            ),
            Lang::Zh => format!(
                "不予登记（{}；罚则：{}）：{}",
                f.cite,
                f.penalty_cite.as_deref().unwrap_or("无"),
                f.explanation
            ),
        })
        .collect::<Vec<_>>()
        .join(" | ");
    let e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "refused_by_rulebook",
        text.clone(),
    );
    if lang == Lang::Zh { e.zh(text) } else { e }
}

/// Today in Shenzhen, by the server's clock.
fn today(state: &AppState) -> Date {
    Date::from_unix_secs_cst(state.clocks.realtime().0.div_euclid(TIME_UNITS_PER_SEC))
}

fn day_of(t: Wall90k) -> Date {
    Date::from_unix_secs_cst(t.0.div_euclid(TIME_UNITS_PER_SEC))
}

/// `as_of` from a query, else today.
fn as_of(state: &AppState, q: &AsOf) -> Result<Date, ApiError> {
    match &q.as_of {
        Some(d) => Date::parse(d).map_err(|e| ApiError::bad_request(e.to_string())),
        None => Ok(today(state)),
    }
}

/// `?as_of=YYYY-MM-DD`: the day to evaluate on (default today).
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct AsOf {
    pub as_of: Option<String>,
}

/// Parses one stored entry into the facts types (they were checked when written).
fn parse<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, ApiError> {
    serde_json::from_str(doc).map_err(ApiError::internal)
}

/// The access register's recent entries, read once per request however many systems
/// it evaluates.
#[derive(Default)]
struct Register(std::cell::OnceCell<Vec<Value>>);

/// How far back the register is read for compliance: the system log's minimum
/// retention (Art. 32), 180 days.
const REGISTER_DAYS: i64 = 180;

impl Register {
    fn entries(&self, ix: &SqliteIndex, now: Wall90k) -> Result<&[Value], ApiError> {
        if let Some(v) = self.0.get() {
            return Ok(v);
        }
        let since = Wall90k(now.0 - REGISTER_DAYS * 86_400 * TIME_UNITS_PER_SEC);
        let v = ix.register_entries(since, 1_000_000)?;
        Ok(self.0.get_or_init(|| v))
    }
}

/// The facts document of a system as the engine reads it, with measured state for
/// cameras recorded here.
fn facts_of(ix: &SqliteIndex, state: &AppState, id: &str) -> Result<Facts, ApiError> {
    facts_with(ix, state, id, &Register::default())
}

fn facts_with(
    ix: &SqliteIndex,
    state: &AppState,
    id: &str,
    register: &Register,
) -> Result<Facts, ApiError> {
    let mut facts = registry_facts(ix, state, id)?;
    measure(ix, state, &mut facts)?;
    accesses(ix, state, &mut facts, register)?;
    Ok(facts)
}

/// The registry's part of the facts only: enough for the registration rules, which
/// look at entries, not at what was measured or accessed.
fn registry_facts(ix: &SqliteIndex, state: &AppState, id: &str) -> Result<Facts, ApiError> {
    let row = ix.registry_system(id)?.ok_or_else(|| not_found(id))?;
    let mut facts = Facts {
        system: parse::<System>(&row.doc)?,
        ..Facts::default()
    };
    facts.regulation.effective_date = state.effective_date;
    for e in ix.registry_entries(id)? {
        match e.collection.as_str() {
            "cameras" => facts.cameras.push(parse::<Camera>(&e.doc)?),
            "products" => facts.products.push(parse::<Product>(&e.doc)?),
            "contractors" => facts.contractors.push(parse::<Contractor>(&e.doc)?),
            "testing_bodies" => facts.testing_bodies.push(parse::<TestingBody>(&e.doc)?),
            "documents" => facts.documents.push(parse::<Document>(&e.doc)?),
            "persons" => facts.persons.push(parse::<Person>(&e.doc)?),
            _ => {}
        }
    }
    for e in ix.registry_events(id)? {
        facts.events.push(parse::<Event>(&e.doc)?);
    }
    Ok(facts)
}

/// Adds the register's allowed accesses to the system's recorded cameras by other
/// parties as `access` events (one per request, action and day): who (the kind of
/// organisation), how many persons with work IDs, whether it was a reproduction and
/// the PSB's approval of it. Being in the register, each is `registered`.
fn accesses(
    ix: &SqliteIndex,
    state: &AppState,
    facts: &mut Facts,
    register: &Register,
) -> Result<(), ApiError> {
    use std::collections::BTreeSet;
    let linked: BTreeSet<&str> = facts
        .cameras
        .iter()
        .filter_map(|c| c.recorder_camera.as_deref())
        .collect();
    if linked.is_empty() {
        return Ok(());
    }
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    for e in register.entries(ix, state.clocks.realtime())? {
        let party = match e["org_kind"].as_str() {
            Some("public_security") => "psb",
            Some("state_security") => "state_security",
            Some("state_organ") | Some("data_department") => "state_organ",
            Some("interested_party") => "interested_party",
            _ => continue,
        };
        if e["allowed"] != true || !e["camera"].as_str().is_some_and(|c| linked.contains(c)) {
            continue;
        }
        let Some(at) = e["at"].as_str().and_then(|t| Wall90k::parse(t).ok()) else {
            continue;
        };
        let date = day_of(at);
        let action = e["action"].as_str().unwrap_or("");
        let request = e["request_id"].as_i64();
        if !seen.insert((request, action.to_owned(), date)) {
            continue;
        }
        let persons = e["persons"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let reproduced = action == "reproduce";
        let approval = match (reproduced, request) {
            (true, Some(r)) => ix.request(r)?.and_then(|r| {
                r.approvals
                    .iter()
                    .find(|a| {
                        a.kind
                            == vidimus_access::request::ApprovalKind::PsbReproductionApproval
                                .as_str()
                    })
                    .map(|a| format!("request #{} approved by {}", r.id, a.username))
            }),
            _ => None,
        };
        let event = serde_json::json!({
            "kind": "access", "date": date, "party": party,
            "staff": persons.len(),
            "work_ids": !persons.is_empty() && persons.iter().all(|p| p["work_id"].is_string()),
            "registered": true, "reproduced": reproduced, "psb_approval": approval,
            "note": format!("{} {} by {} (register leaf {})",
                action.replace('_', " "), e["camera"].as_str().unwrap_or(""),
                e["org"].as_str().unwrap_or(""), e["leaf_index"]),
        });
        events.push(serde_json::from_value::<Event>(event).map_err(ApiError::internal)?);
    }
    facts.events.extend(events);
    Ok(())
}

/// Fills in what the recorder knows for registry cameras linked to recorded cameras.
fn measure(ix: &SqliteIndex, state: &AppState, facts: &mut Facts) -> Result<(), ApiError> {
    use vidimus_store::MetadataStore;
    let recorded = ix.cameras(false)?;
    let now = state.clocks.realtime();
    let mut any = false;
    for c in &mut facts.cameras {
        let Some(cam) = c
            .recorder_camera
            .as_ref()
            .and_then(|n| recorded.iter().find(|r| &r.name == n))
        else {
            continue;
        };
        any = true;
        let key_target = cam.key_target || c.counter_terrorism_key_target;
        c.counter_terrorism_key_target = key_target;
        // None means "the rulebook minimum" in the recorder.
        let min = state
            .rulebook
            .min_retention(vidimus_core::rulebook::RetentionSubject::Video, key_target)
            .map_or(0, |r| r.min_days);
        let days = cam.retention_days.map_or(min, |d| d.max(0) as u32);
        c.retention_days = Some(days);
        let Some(oldest) = ix.oldest_recording(cam.id)? else {
            c.measured = None;
            continue;
        };
        let window_start = Wall90k(now.0 - i64::from(days) * 86_400 * TIME_UNITS_PER_SEC);
        let (mut longest, mut total) = (0i64, 0i64);
        for g in ix.gaps(cam.id, window_start, now)? {
            let s = g.start_90k.max(window_start.0);
            let e = g.end_90k.unwrap_or(now.0).min(now.0);
            if e > s {
                let secs = (e - s) / TIME_UNITS_PER_SEC;
                longest = longest.max(secs);
                total += secs;
            }
        }
        c.measured = Some(Measured {
            recording_since: day_of(Wall90k(cam.created_90k)),
            oldest_kept: day_of(oldest),
            longest_gap_seconds: longest as u64,
            gap_seconds_total: total as u64,
            // The store refuses deletions inside the retention period; deletions
            // behind its back are what `vidimus verify` reports.
            deleted_within_retention: 0,
        });
    }
    if any && facts.system.log_retention_days.is_none() {
        // This system's log is Vidimus's integrity log, whose leaves are never
        // deleted: kept indefinitely (written as 100 years).
        facts.system.log_retention_days = Some(36_500);
    }
    Ok(())
}

/// A system the user may read, its facts and their evaluation on `day`.
fn evaluated(
    ix: &SqliteIndex,
    state: &AppState,
    user: &AuthUser,
    id: &str,
    day: Date,
) -> Result<(Facts, Report), ApiError> {
    readable(ix, user, id)?;
    let facts = facts_of(ix, state, id)?;
    let report = evaluate_in(&state.compliance, &facts, day, user.lang);
    Ok((facts, report))
}

/// One system on the dashboard.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SystemSummary {
    pub id: String,
    pub name: String,
    pub district: Option<String>,
    pub site_category: String,
    /// `compliant` or `findings`.
    pub status: String,
    /// The open findings: rule id, article, penalty article, tier and the fine ranges
    /// of the tier applied (or, at the first instance, of refusing to correct).
    #[schema(value_type = Vec<Object>)]
    pub findings: Vec<Value>,
    /// Dated duties not yet due, soonest first.
    #[schema(value_type = Vec<Object>)]
    pub upcoming: Vec<Upcoming>,
}

fn summary(row: &vidimus_store::registry::RegistrySystemRow, r: &Report) -> SystemSummary {
    SystemSummary {
        id: row.id.clone(),
        name: row.name.clone(),
        district: row.district.clone(),
        site_category: row.site_category.clone(),
        status: r.status.to_owned(),
        findings: r
            .findings
            .iter()
            .map(|f| {
                let fines = if f.fines.is_empty() {
                    f.escalation
                        .iter()
                        .find(|t| !t.fines.is_empty())
                        .map(|t| (Some(t.tier), t.fines.clone()))
                        .unwrap_or((None, Vec::new()))
                } else {
                    (f.tier, f.fines.clone())
                };
                serde_json::json!({
                    "rule_id": f.rule_id,
                    "article": f.article,
                    "cite": f.cite,
                    "penalty_article": f.penalty_article,
                    "penalty_cite": f.penalty_cite,
                    "summary": f.summary,
                    "tier": f.tier,
                    "subject": f.subject.label,
                    "deadline": f.correction_deadline.or(f.deadline),
                    "fines_tier": fines.0,
                    "fines": fines.1,
                    "explanation": f.explanation,
                })
            })
            .collect(),
        upcoming: r.upcoming.clone(),
    }
}

/// `?district=`: only systems of that district.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct Overview {
    pub district: Option<String>,
    pub as_of: Option<String>,
}

/// The compliance dashboard: every system the user may see, evaluated.
#[utoipa::path(get, path = "/api/compliance/systems", params(Overview),
    responses((status = 200, body = [SystemSummary])))]
pub async fn overview(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<Overview>,
) -> Result<Json<Vec<SystemSummary>>, ApiError> {
    let day = as_of(
        &state,
        &AsOf {
            as_of: q.as_of.clone(),
        },
    )?;
    let st = state.clone();
    let out = state
        .db
        .run(move |ix| {
            let role = role(ix, &user)?;
            if matches!(role, Role::Other) {
                return Err(forbidden("the registry is for the system manager, the public security organs and testing bodies"));
            }
            let mut out = Vec::new();
            let register = Register::default();
            for row in ix.registry_systems()? {
                if !may_read(&role, row.district.as_deref())
                    || q.district
                        .as_ref()
                        .is_some_and(|d| {
                            !row
                                .district
                                .as_deref()
                                .is_some_and(|r| vidimus_core::district::same(r, d))
                        })
                {
                    continue;
                }
                let facts = facts_with(ix, &st, &row.id, &register)?;
                let r = evaluate_in(&st.compliance, &facts, day, user.lang);
                out.push(summary(&row, &r));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(out))
}

/// One system's evaluation (docs/compliance/report.schema.json).
#[utoipa::path(get, path = "/api/compliance/systems/{id}", params(AsOf),
    responses((status = 200, description = "The report", body = Object)))]
pub async fn system_report(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<Report>, ApiError> {
    let day = as_of(&state, &q)?;
    let st = state.clone();
    let r = state
        .db
        .run(move |ix| Ok(evaluated(ix, &st, &user, &id, day)?.1))
        .await?;
    Ok(Json(r))
}

/// The facts document of a system: the input `vidimus compliance evaluate` takes, for
/// evaluating offline exactly what the live system evaluates.
#[utoipa::path(get, path = "/api/compliance/systems/{id}/facts",
    responses((status = 200, description = "docs/compliance/facts.schema.json", body = Object)))]
pub async fn system_facts(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Facts>, ApiError> {
    let st = state.clone();
    let f = state
        .db
        .run(move |ix| {
            readable(ix, &user, &id)?;
            facts_of(ix, &st, &id)
        })
        .await?;
    Ok(Json(f))
}

/// The inspection checklist (Art. 36 ¶2), pre-filled.
#[utoipa::path(get, path = "/api/compliance/systems/{id}/inspection", params(AsOf),
    responses((status = 200, body = Object)))]
pub async fn inspection(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<Value>, ApiError> {
    let day = as_of(&state, &q)?;
    let st = state.clone();
    let v = state
        .db
        .run(move |ix| {
            let (facts, r) = evaluated(ix, &st, &user, &id, day)?;
            Ok(serde_json::json!({
                "checklist": vidimus_compliance::inspection::checklist_in(&st.compliance, &facts, &r, user.lang),
                "report": r,
            }))
        })
        .await?;
    Ok(Json(v))
}

/// `?kind=filing|inspection`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct Printable {
    pub kind: String,
    pub as_of: Option<String>,
}

/// A printable report (HTML): the filing declaration with its materials, or the
/// inspection report.
#[utoipa::path(get, path = "/api/compliance/systems/{id}/report.html", params(Printable),
    responses((status = 200, content_type = "text/html")))]
pub async fn printable(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<Printable>,
) -> Result<Response, ApiError> {
    let day = as_of(
        &state,
        &AsOf {
            as_of: q.as_of.clone(),
        },
    )?;
    if q.kind != "filing" && q.kind != "inspection" {
        return Err(ApiError::bad_request("kind is filing or inspection"));
    }
    let st = state.clone();
    let page = state
        .db
        .run(move |ix| {
            let (facts, r) = evaluated(ix, &st, &user, &id, day)?;
            let (book, lang) = (&st.compliance, user.lang);
            Ok(if q.kind == "filing" {
                vidimus_compliance::printable::filing_report_in(book, &facts, &r, lang)
            } else {
                vidimus_compliance::printable::inspection_report_in(book, &facts, &r, lang)
            })
        })
        .await?;
    let mut resp = Html(page).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(resp)
}

/// A system with its registry entries (with ids) and events.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RegistryView {
    #[schema(value_type = Object)]
    pub system: Value,
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
    /// Recorded cameras registry cameras may link to (`recorder_camera`).
    pub recorder_cameras: Vec<String>,
}

/// One system's registry.
#[utoipa::path(get, path = "/api/registry/systems/{id}",
    responses((status = 200, body = RegistryView)))]
pub async fn get_system(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<RegistryView>, ApiError> {
    let v = state
        .db
        .run(move |ix| {
            use vidimus_store::MetadataStore;
            let (_, row) = readable(ix, &user, &id)?;
            let entries = ix
                .registry_entries(&id)?
                .into_iter()
                .map(|e| {
                    serde_json::json!({ "id": e.id, "collection": e.collection,
                        "doc": serde_json::from_str::<Value>(&e.doc).unwrap_or_default() })
                })
                .collect();
            let events = ix
                .registry_events(&id)?
                .into_iter()
                .map(|e| {
                    serde_json::json!({ "id": e.id, "kind": e.kind, "date": e.date,
                        "recorded_by": e.recorded_by,
                        "recorded_at": Wall90k(e.recorded_90k).to_string(),
                        "doc": serde_json::from_str::<Value>(&e.doc).unwrap_or_default() })
                })
                .collect();
            Ok(RegistryView {
                system: serde_json::from_str(&row.doc).unwrap_or_default(),
                entries,
                events,
                recorder_cameras: ix.cameras(false)?.into_iter().map(|c| c.name).collect(),
            })
        })
        .await?;
    Ok(Json(v))
}

/// Registers a system, or changes its description (`PUT`). Systems outside Art. 9 ¶1
/// must declare their personal security purpose (Art. 11): refused with 422 if not.
#[utoipa::path(post, path = "/api/registry/systems", request_body = Object,
    responses((status = 201, description = "Registered"), (status = 422, description = "Refused by the rulebook (Art. 11)")))]
pub async fn add_system(
    State(state): State<AppState>,
    user: AuthUser,
    Json(doc): Json<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    put(state, user, None, doc).await
}

#[utoipa::path(put, path = "/api/registry/systems/{id}", request_body = Object,
    responses((status = 200, description = "Changed"), (status = 422, description = "Refused by the rulebook (Art. 11)")))]
pub async fn change_system(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(doc): Json<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    put(state, user, Some(id), doc).await
}

async fn put(
    state: AppState,
    user: AuthUser,
    id: Option<String>,
    doc: Value,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut system: System =
        vidimus_compliance::facts::from_value(doc).map_err(|e| invalid("the system", e))?;
    // The district is one of the list, stored by id (a PSB's region is compared with it).
    if let Some(d) = &system.district {
        let found = vidimus_core::district::parse(d).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "unknown_district", e.to_string())
        })?;
        system.district = Some(found.id.to_owned());
    }
    if let Some(id) = &id
        && &system.id != id
    {
        return Err(ApiError::bad_request(format!(
            "the document's id {:?} is not the system {id:?}",
            system.id
        )));
    }
    if system.id.is_empty()
        || system.id.len() > 64
        || !system
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ApiError::bad_request(
            "a system id is 1-64 letters, digits, '-', '_' or '.'",
        ));
    }
    let now = state.clocks.realtime();
    let day = today(&state);
    let st = state.clone();
    let created = state
        .db
        .run(move |ix| {
            require_admin(&role(ix, &user)?)?;
            let exists = ix.registry_system(&system.id)?.is_some();
            match (&id, exists) {
                (None, true) => {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "system_exists",
                        format!(
                            "system {:?} is already registered; PUT changes it",
                            system.id
                        ),
                    ));
                }
                (Some(i), false) => return Err(not_found(i)),
                _ => {}
            }
            let mut facts = if exists {
                registry_facts(ix, &st, &system.id)?
            } else {
                Facts::default()
            };
            facts.system = system.clone();
            let found: Vec<_> = check_registration_in(&st.compliance, &facts, day, user.lang)
                .map_err(|e| invalid("the system", e))?
                .into_iter()
                .filter(|f| f.subject.kind == "system")
                .collect();
            if !found.is_empty() {
                return Err(refused(&found, user.lang));
            }
            let doc = serde_json::to_string(&system).expect("serializes");
            let category = serde_json::to_value(system.site_category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Ok(ix.put_registry_system(
                &NewRegistrySystem {
                    id: &system.id,
                    name: &system.name,
                    district: system.district.as_deref(),
                    site_category: &category,
                    doc: &doc,
                },
                &user.username,
                now,
            )?)
        })
        .await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(serde_json::json!({ "created": created })),
    ))
}

/// Checks an entry document against its collection's type; a camera is also checked
/// against the registration rules (Art. 10).
fn check_entry(
    st: &AppState,
    ix: &SqliteIndex,
    system: &str,
    collection: &str,
    doc: &Value,
    replacing: Option<i64>,
    lang: Lang,
) -> Result<String, ApiError> {
    let what = format!("the {} entry", collection.trim_end_matches('s'));
    let text = match collection {
        "cameras" => {
            let cam: Camera = vidimus_compliance::facts::from_value(doc.clone())
                .map_err(|e| invalid(&what, e))?;
            if cam.measured.is_some() {
                return Err(ApiError::bad_request(
                    "`measured` is filled in by the recorder, not entered",
                ));
            }
            let mut facts = registry_facts(ix, st, system)?;
            // The facts hold the other cameras; the new or changed one is checked alone.
            let others: Vec<i64> = ix
                .registry_entries(system)?
                .into_iter()
                .filter(|e| e.collection == "cameras")
                .map(|e| e.id)
                .collect();
            if let Some(r) = replacing
                && let Some(pos) = others.iter().position(|x| *x == r)
            {
                facts.cameras.remove(pos);
            }
            facts.cameras.push(cam.clone());
            let idx = facts.cameras.len() - 1;
            let found: Vec<_> = check_registration_in(&st.compliance, &facts, today(st), lang)
                .map_err(|e| invalid(&what, e))?
                .into_iter()
                .filter(|f| f.subject.kind == "camera" && f.subject.index == Some(idx))
                .collect();
            if !found.is_empty() {
                return Err(refused(&found, lang));
            }
            serde_json::to_string(&cam)
        }
        "products" => vidimus_compliance::facts::from_value::<Product>(doc.clone())
            .map_err(|e| invalid(&what, e))
            .map(|v| serde_json::to_string(&v))?,
        "contractors" => vidimus_compliance::facts::from_value::<Contractor>(doc.clone())
            .map_err(|e| invalid(&what, e))
            .map(|v| serde_json::to_string(&v))?,
        "testing_bodies" => vidimus_compliance::facts::from_value::<TestingBody>(doc.clone())
            .map_err(|e| invalid(&what, e))
            .map(|v| serde_json::to_string(&v))?,
        "documents" => vidimus_compliance::facts::from_value::<Document>(doc.clone())
            .map_err(|e| invalid(&what, e))
            .map(|v| serde_json::to_string(&v))?,
        "persons" => vidimus_compliance::facts::from_value::<Person>(doc.clone())
            .map_err(|e| invalid(&what, e))
            .map(|v| serde_json::to_string(&v))?,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "no_such_collection",
                format!(
                    "no registry collection {other:?} (cameras, products, contractors, testing_bodies, documents, persons)"
                ),
            ));
        }
    };
    Ok(text.expect("serializes"))
}

/// Adds an entry (camera, product, contractor, testing body, document, person). A
/// camera in a place Art. 10 prohibits is refused with 422.
#[utoipa::path(post, path = "/api/registry/systems/{id}/{collection}", request_body = Object,
    responses((status = 201, description = "Added"), (status = 422, description = "Refused by the rulebook (Art. 10)")))]
pub async fn add_entry(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, collection)): Path<(String, String)>,
    Json(doc): Json<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let now = state.clocks.realtime();
    let st = state.clone();
    let entry = state
        .db
        .run(move |ix| {
            let (role, _) = readable(ix, &user, &id)?;
            require_admin(&role)?;
            let text = check_entry(&st, ix, &id, &collection, &doc, None, user.lang)?;
            Ok(ix.add_registry_entry(&id, &collection, &text, &user.username, now)?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": entry })),
    ))
}

/// Replaces an entry.
#[utoipa::path(put, path = "/api/registry/systems/{id}/{collection}/{entry}", request_body = Object,
    responses((status = 200), (status = 422, description = "Refused by the rulebook (Art. 10)")))]
pub async fn change_entry(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, collection, entry)): Path<(String, String, i64)>,
    Json(doc): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let now = state.clocks.realtime();
    let st = state.clone();
    state
        .db
        .run(move |ix| {
            let (role, _) = readable(ix, &user, &id)?;
            require_admin(&role)?;
            let text = check_entry(&st, ix, &id, &collection, &doc, Some(entry), user.lang)?;
            Ok(ix.update_registry_entry(&id, entry, &text, &user.username, now)?)
        })
        .await?;
    Ok(Json(serde_json::json!({ "id": entry })))
}

/// Removes an entry (a correction; record a `move_or_removal` event for a camera taken
/// down).
#[utoipa::path(delete, path = "/api/registry/systems/{id}/{collection}/{entry}",
    responses((status = 204)))]
pub async fn delete_entry(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, _collection, entry)): Path<(String, String, i64)>,
) -> Result<StatusCode, ApiError> {
    let now = state.clocks.realtime();
    state
        .db
        .run(move |ix| {
            let (role, _) = readable(ix, &user, &id)?;
            require_admin(&role)?;
            Ok(ix.delete_registry_entry(&id, entry, &user.username, now)?)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records a dated event: filing, testing report, move or removal, assessment,
/// training, emergency plan, incident, inspection, correction notice, ...
/// Inspections, correction notices and findings of serious consequences are recorded
/// by the public security organs; testing reports by testing bodies or the manager;
/// the rest by the manager's administrators.
#[utoipa::path(post, path = "/api/registry/systems/{id}/events", request_body = Object,
    responses((status = 201, description = "Recorded")))]
pub async fn add_event(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(doc): Json<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let event: Event =
        vidimus_compliance::facts::from_value(doc).map_err(|e| invalid("the event", e))?;
    if matches!(
        event.kind,
        EventKind::CorrectionNotice | EventKind::SeriousConsequences
    ) {
        // The rule named must exist (else its tier would be silently lost) and a
        // correction notice sets its period (Art. 36 ¶1); the engine says which.
        if let Some(p) = vidimus_compliance::facts::event_problem(&state.compliance, &event) {
            return Err(ApiError::bad_request(format!("event{p}")));
        }
    }
    let now = state.clocks.realtime();
    let id2 = id.clone();
    let event_id = state
        .db
        .run(move |ix| {
            let (role, _) = readable(ix, &user, &id2)?;
            let allowed = match event.kind {
                EventKind::Inspection
                | EventKind::FilingAcknowledged
                | EventKind::CorrectionNotice
                | EventKind::SeriousConsequences => matches!(role, Role::Psb { .. }),
                EventKind::TestingReport => {
                    matches!(role, Role::TestingBody | Role::Manager { admin: true })
                }
                _ => matches!(role, Role::Manager { admin: true }),
            };
            // An acknowledgement is of a filing: there must be one on or before it.
            if allowed && event.kind == EventKind::FilingAcknowledged {
                let filed = ix.registry_events(&id2)?.into_iter().any(|e| {
                    e.kind == "filing"
                        && vidimus_compliance::Date::parse(&e.date).is_ok_and(|d| d <= event.date)
                });
                if !filed {
                    return Err(ApiError::bad_request(format!(
                        "no filing on or before {} to acknowledge",
                        event.date
                    ))
                    .zh(format!("{} 及之前没有可确认的备案。", event.date)));
                }
            }
            if !allowed {
                return Err(forbidden(&format!(
                    "a {} is not recorded by your organisation",
                    serde_json::to_value(event.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                        .unwrap_or_default()
                )));
            }
            let kind = serde_json::to_value(event.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let doc = serde_json::to_string(&event).expect("serializes");
            Ok(ix.add_registry_event(
                &id2,
                &kind,
                &event.date.to_string(),
                &doc,
                &user.username,
                now,
            )?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": event_id })),
    ))
}

/// `?name=`: the file's name.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct FileName {
    pub name: String,
}

/// Largest document file kept in the registry.
pub const MAX_DOCUMENT_FILE: usize = 8 << 20;

/// Keeps the file of a document entry (the raw body, at most 8 MiB; `name` in the
/// query): its SHA-256 and name go into the entry, so the facts and the printed
/// reports name the exact file. Administrators of the system manager.
#[utoipa::path(post, path = "/api/registry/systems/{id}/documents/{entry}/file", params(FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "Kept: {\"sha256\", \"bytes\"}")))]
pub async fn put_document_file(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, entry)): Path<(String, i64)>,
    Query(q): Query<FileName>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let name = q.name.trim().to_owned();
    if name.is_empty()
        || name.len() > 200
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
    {
        return Err(ApiError::bad_request(
            "`name` is a file name of 1-200 characters, without '/' or control characters",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request("the file is empty"));
    }
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&body);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let now = state.clocks.realtime();
    let bytes = body.len();
    let sha2 = sha.clone();
    state
        .db
        .run(move |ix| {
            let (role, _) = readable(ix, &user, &id)?;
            require_admin(&role)?;
            let e = ix
                .registry_entries(&id)?
                .into_iter()
                .find(|e| e.id == entry && e.collection == "documents")
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "not_found",
                        format!("no document {entry} in system {id:?}"),
                    )
                })?;
            let mut doc: Document = parse(&e.doc)?;
            doc.sha256 = Some(sha2.clone());
            doc.file = Some(name.clone());
            let text = serde_json::to_string(&doc).expect("serializes");
            Ok(ix.put_registry_file(&id, entry, &name, &sha2, &body, &text, &user.username, now)?)
        })
        .await?;
    Ok(Json(serde_json::json!({ "sha256": sha, "bytes": bytes })))
}

/// Downloads a document entry's file (`x-content-sha256` carries its SHA-256).
#[utoipa::path(get, path = "/api/registry/systems/{id}/documents/{entry}/file",
    responses((status = 200, content_type = "application/octet-stream")))]
pub async fn get_document_file(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, entry)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let (name, sha, data) = state
        .db
        .run(move |ix| {
            readable(ix, &user, &id)?;
            ix.registry_file(&id, entry)?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("document {entry} of system {id:?} has no file"),
                )
            })
        })
        .await?;
    // The name was checked when kept; quotes are dropped for the header.
    let safe: String = name.chars().filter(|c| *c != '"').collect();
    let mut r = Response::new(axum::body::Body::from(data));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_str(&format!("attachment; filename=\"{safe}\""))
            .unwrap_or_else(|_| header::HeaderValue::from_static("attachment")),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    if let Ok(v) = header::HeaderValue::from_str(&sha) {
        h.insert("x-content-sha256", v);
    }
    Ok(r)
}
