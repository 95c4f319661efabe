//! Access requests through the API (Art. 33–35): an officer files one naming the
//! persons acting; each person confirms with their own password and work ID (the
//! two-person rule, Art. 34); managers and the PSB give the approvals the kind needs
//! (Art. 33 ¶3, 35); when nothing is missing the request becomes a grant at once.
//! Grants are listed and revoked here. What a request lacks is computed by the pure
//! rules in `vidimus_access::request` and shown with each request, article by article.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use vidimus_access::org::{Jurisdiction, OrgKind};
use vidimus_access::request::{
    self, Action, ApprovalKind, Person, RequestFacts, RequestKind, Unmet,
};
use vidimus_core::time::{Duration90k, Wall90k};
use vidimus_store::access::{NewRequest, RequestRow};
use vidimus_store::users::AccessStore;
use vidimus_store::{MetadataStore, SqliteIndex};

/// The longest a grant may last.
pub const MAX_GRANT_DAYS: i64 = 366;

/// One person acting on a request.
#[derive(serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct PersonIn {
    pub username: String,
    /// Work ID (state organs) or identity document number (interested parties). It is
    /// always the one on the person's account; one given here must match it.
    pub work_id: Option<String>,
}

/// A request to file.
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct NewRequestIn {
    /// `law_enforcement`, `public_emergency`, `administrative_in_jurisdiction`,
    /// `administrative_outside_jurisdiction`, `interested_party_emergency`,
    /// `system_operation`.
    pub kind: String,
    pub purpose: String,
    pub cameras: Vec<i64>,
    /// Recorded range asked for (RFC 3339 or Unix seconds); omit for live only.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `view_live`, `view_recorded`, `reproduce`.
    pub actions: Vec<String>,
    /// Days until the grant expires (default 7, at most 366).
    pub days: Option<i64>,
    /// The persons acting, the filer among them.
    pub persons: Vec<PersonIn>,
}

/// A request as shown, with what it still lacks.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RequestOut {
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    /// What is missing before it becomes a grant, each with its article (empty once
    /// granted).
    #[schema(value_type = Vec<Object>)]
    pub missing: Vec<Unmet>,
    /// The approvals it can use.
    pub approvals_possible: Vec<String>,
    /// What the user asking may do with it now (the console offers only these).
    pub may: Doors,
}

/// What one user may do with a request now: each is what the server would accept.
#[derive(serde::Serialize, utoipa::ToSchema, Default)]
pub struct Doors {
    /// Approvals this user may give (not yet given).
    pub approve: Vec<String>,
    /// Confirm their own part (a person on it who has not confirmed).
    pub confirm: bool,
    /// `withdraw` (its filer) or `refuse` (an approver), while pending.
    pub close: Option<&'static str>,
    /// Revoke its grant.
    pub revoke: bool,
    /// Attach a document (everyone who sees it may: a warrant, an ID, a decision).
    pub attach: bool,
}

/// The would-be approver `me` of request `r`, as `request::may_approve` sees them.
fn approver_of(
    ix: &SqliteIndex,
    me: &vidimus_store::users::UserRow,
    r: &RequestRow,
) -> Result<request::Approver, ApiError> {
    let (org, jur) = org_kind(ix, me.org_id)?;
    Ok(request::Approver {
        user_id: me.id,
        is_admin: me.role == "admin",
        org,
        covers_cameras: if org == OrgKind::PublicSecurity {
            district_covers_all(ix, &jur, &r.cameras)?
        } else {
            covers_all(ix, &jur, &r.cameras)?
        },
    })
}

fn persons_of(r: &RequestRow) -> Vec<Person> {
    r.persons
        .iter()
        .map(|p| Person {
            user_id: p.user_id,
            work_id: p.work_id.clone(),
            confirmed: p.confirmed_90k.is_some(),
        })
        .collect()
}

/// What `viewer` may do with `r` now, by the same rules the handlers apply.
fn doors(ix: &SqliteIndex, viewer: &AuthUser, r: &RequestRow) -> Result<Doors, ApiError> {
    let me = me(ix, viewer)?;
    let pending = r.status == "pending";
    let person = r.persons.iter().find(|p| p.user_id == me.id);
    let mut d = Doors {
        confirm: pending && person.is_some_and(|p| p.confirmed_90k.is_none()),
        close: if !pending {
            None
        } else if r.created_by == me.id {
            Some("withdraw")
        } else if me.role == "admin" && person.is_none() {
            Some("refuse")
        } else {
            None
        },
        attach: true,
        ..Doors::default()
    };
    let (org, _) = org_kind(ix, me.org_id)?;
    d.revoke = r.grant.as_ref().is_some_and(|g| g.revoked_90k.is_none())
        && me.role == "admin"
        && (org == OrgKind::SystemManager || me.org_id == r.org_id);
    if pending && let Some(rk) = RequestKind::parse(&r.kind) {
        let actions: Vec<Action> = r.actions.iter().filter_map(|x| Action::parse(x)).collect();
        let who = approver_of(ix, &me, r)?;
        let persons = persons_of(r);
        for k in request::useful_approvals(rk, &actions) {
            if r.approvals.iter().any(|a| a.kind == k.as_str()) {
                continue;
            }
            if request::may_approve(k, &who, rk, &actions, r.created_by, &persons).is_ok() {
                d.approve.push(k.as_str().to_owned());
            }
        }
    }
    Ok(d)
}

/// The logged-in user's row.
fn me(ix: &SqliteIndex, user: &AuthUser) -> Result<vidimus_store::users::UserRow, ApiError> {
    ix.user_by_id(user.user_id)?
        .ok_or_else(ApiError::unauthenticated)
}

fn unprocessable(u: &Unmet) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_allowed",
        u.to_string(),
    )
}

fn org_kind(ix: &SqliteIndex, org_id: i64) -> Result<(OrgKind, Jurisdiction), ApiError> {
    let o = ix
        .org(org_id)?
        .ok_or_else(|| ApiError::internal("user without organisation"))?;
    Ok((
        OrgKind::parse(&o.kind).ok_or_else(|| ApiError::internal("bad organisation kind"))?,
        Jurisdiction {
            regions: o.regions,
            industries: o.industries,
        },
    ))
}

/// Whether a PSB's district — its regions only: a PSB's jurisdiction is territorial
/// (Art. 33 ¶3, 35 ¶1) — holds every camera in `cameras` (none named: not covered).
fn district_covers_all(
    ix: &SqliteIndex,
    jur: &Jurisdiction,
    cameras: &[i64],
) -> Result<bool, ApiError> {
    let cams = ix.cameras(true)?;
    Ok(!cameras.is_empty()
        && cameras.iter().all(|id| {
            cams.iter().find(|c| c.id == *id).is_some_and(|c| {
                c.region.as_deref().is_some_and(|r| {
                    jur.regions
                        .iter()
                        .any(|x| vidimus_core::district::same(x, r))
                })
            })
        }))
}

/// Whether `jur` covers every camera in `cameras` (none named: not covered).
fn covers_all(ix: &SqliteIndex, jur: &Jurisdiction, cameras: &[i64]) -> Result<bool, ApiError> {
    let cams = ix.cameras(true)?;
    Ok(!cameras.is_empty()
        && cameras.iter().all(|id| {
            cams.iter()
                .find(|c| c.id == *id)
                .is_some_and(|c| jur.covers(c.region.as_deref(), c.industry.as_deref()))
        }))
}

/// The work ID of `u`'s account (None: none on it); a different one `given` in a
/// request or confirmation is refused, citing `article`, never taken.
fn account_work_id(
    u: &vidimus_store::users::UserRow,
    given: Option<&str>,
    article: &str,
) -> Result<Option<String>, ApiError> {
    let account = u.work_id.clone().filter(|w| !w.trim().is_empty());
    if let Some(given) = given.filter(|w| !w.trim().is_empty())
        && account.as_deref() != Some(given)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_allowed",
            format!(
                "work ID {given:?} is not {}'s: the work ID is the one on the person's account ({article})",
                u.username
            ),
        ));
    }
    Ok(account)
}

/// What a stored request lacks.
fn missing_of(ix: &SqliteIndex, r: &RequestRow) -> Result<Vec<Unmet>, ApiError> {
    let kind = RequestKind::parse(&r.kind).ok_or_else(|| ApiError::internal("bad request kind"))?;
    let (org, jur) = org_kind(ix, r.org_id)?;
    let all_in = covers_all(ix, &jur, &r.cameras)?;
    let actions: Vec<Action> = r.actions.iter().filter_map(|a| Action::parse(a)).collect();
    let persons: Vec<Person> = r
        .persons
        .iter()
        .map(|p| Person {
            user_id: p.user_id,
            work_id: p.work_id.clone(),
            confirmed: p.confirmed_90k.is_some(),
        })
        .collect();
    let approvals: Vec<ApprovalKind> = r
        .approvals
        .iter()
        .filter_map(|a| ApprovalKind::parse(&a.kind))
        .collect();
    Ok(request::missing(&RequestFacts {
        kind,
        org,
        purpose: &r.purpose,
        actions: &actions,
        persons: &persons,
        approvals: &approvals,
        all_in_jurisdiction: all_in,
    }))
}

/// Grants a pending request if it lacks nothing; returns the request as shown.
fn settle(
    ix: &mut SqliteIndex,
    viewer: &AuthUser,
    id: i64,
    by: Option<i64>,
    now: Wall90k,
) -> Result<RequestOut, ApiError> {
    let r = ix.request(id)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no request {id}"),
        )
    })?;
    let missing = missing_of(ix, &r)?;
    let r = if r.status == "pending" && missing.is_empty() {
        let gid = ix.grant_request(id, by, now)?;
        ix.log_event(
            now,
            "grant_issued",
            "access rules",
            None,
            serde_json::json!({"grant": gid, "request": id, "kind": r.kind}),
        )?;
        ix.request(id)?.expect("just granted")
    } else {
        r
    };
    let kind = RequestKind::parse(&r.kind).unwrap_or(RequestKind::SystemOperation);
    let actions: Vec<Action> = r.actions.iter().filter_map(|a| Action::parse(a)).collect();
    let may = doors(ix, viewer, &r)?;
    Ok(RequestOut {
        may,
        missing: if r.status == "pending" {
            missing
        } else {
            Vec::new()
        },
        approvals_possible: request::useful_approvals(kind, &actions)
            .into_iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        request: serde_json::to_value(&r).map_err(ApiError::internal)?,
    })
}

/// Files a request.
#[utoipa::path(post, path = "/api/requests", request_body = NewRequestIn,
    responses((status = 201, body = RequestOut), (status = 400, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn file(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<NewRequestIn>,
) -> Result<(StatusCode, Json<RequestOut>), ApiError> {
    let now = state.clocks.realtime();
    let kind = RequestKind::parse(&req.kind)
        .ok_or_else(|| ApiError::bad_request(format!("unknown request kind {:?}", req.kind)))?;
    let mut actions = Vec::new();
    for a in &req.actions {
        actions.push(
            Action::parse(a)
                .ok_or_else(|| ApiError::bad_request(format!("unknown action {a:?}")))?,
        );
    }
    let t = |s: &Option<String>| {
        s.as_deref()
            .map(Wall90k::parse)
            .transpose()
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))
    };
    let (from, to) = (t(&req.from)?, t(&req.to)?);
    let recorded = actions.iter().any(|a| *a != Action::ViewLive);
    let (from, to) = match (from, to) {
        (Some(a), Some(b)) if b > a => (a, b),
        (None, None) if !recorded => (now, now),
        _ => {
            return Err(ApiError::bad_request(
                "viewing or reproducing recorded video needs a range: `from` before `to`",
            ));
        }
    };
    let days = req.days.unwrap_or(7);
    if !(1..=MAX_GRANT_DAYS).contains(&days) {
        return Err(ApiError::bad_request(format!(
            "`days` must be 1..{MAX_GRANT_DAYS}"
        )));
    }
    if req.cameras.is_empty() {
        return Err(ApiError::bad_request("name the cameras"));
    }
    let out = state
        .db
        .run(move |ix| {
            let me = me(ix, &user)?;
            let (org, _) = org_kind(ix, me.org_id)?;
            request::may_file(kind, org).map_err(|u| unprocessable(&u))?;
            let cams = ix.cameras(true)?;
            if let Some(c) = req
                .cameras
                .iter()
                .find(|c| !cams.iter().any(|x| x.id == **c))
            {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "camera_not_found",
                    format!("no camera {c}"),
                ));
            }
            // Persons are accounts of the filing organisation; their work IDs are their
            // accounts' (Art. 34(2)), never words in the request.
            let needs_id = kind.two_person_rule() || kind == RequestKind::InterestedPartyEmergency;
            let id_article = if kind == RequestKind::InterestedPartyEmergency {
                "Art. 35 ¶2"
            } else {
                "Art. 34(2)"
            };
            let mut persons: Vec<(i64, Option<String>)> = Vec::new();
            for p in &req.persons {
                let u = ix.user_by_name(&p.username)?.ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "not_allowed",
                        format!(
                            "{:?} has no account: every person acting is a user who confirms with their own credentials ({})",
                            p.username,
                            kind.article()
                        ),
                    )
                })?;
                if u.org_id != me.org_id {
                    return Err(ApiError::bad_request(format!(
                        "{} is not of the filing organisation",
                        p.username
                    )));
                }
                if persons.iter().any(|(id, _)| *id == u.id) {
                    return Err(ApiError::bad_request(format!(
                        "{} is named twice: each person acts once",
                        p.username
                    )));
                }
                let account = account_work_id(&u, p.work_id.as_deref(), id_article)?;
                if needs_id && account.is_none() {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "not_allowed",
                        format!(
                            "{} has no work ID on their account: every person must present one ({id_article})",
                            p.username
                        ),
                    ));
                }
                // Two officers are two people: one work ID cannot act twice.
                if let Some(w) = &account
                    && persons.iter().any(|(_, other)| other.as_deref() == Some(w.as_str()))
                {
                    return Err(ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "not_allowed",
                        format!(
                            "work ID {w:?} of {} is already on this request: each person acting is a different officer ({id_article})",
                            p.username
                        ),
                    ));
                }
                persons.push((u.id, account));
            }
            if !persons.iter().any(|(id, _)| *id == me.id) {
                return Err(ApiError::bad_request(
                    "the filer must be one of the persons acting",
                ));
            }
            let action_names: Vec<String> = actions.iter().map(|a| a.as_str().to_owned()).collect();
            let id = ix.file_request(
                &NewRequest {
                    kind: kind.as_str(),
                    org_id: me.org_id,
                    purpose: &req.purpose,
                    cameras: &req.cameras,
                    from_90k: from.0,
                    to_90k: to.0,
                    live: actions.contains(&Action::ViewLive),
                    actions: &action_names,
                    expires_90k: (now + Duration90k::from_secs(days * 86_400)).0,
                    created_by: me.id,
                    persons: &persons,
                },
                now,
            )?;
            settle(ix, &user, id, None, now)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// One request (its filer, persons and approvers may see it).
#[utoipa::path(get, path = "/api/requests/{id}", params(("id" = i64, Path,)),
    responses((status = 200, body = RequestOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<RequestOut>, ApiError> {
    let now = state.clocks.realtime();
    state
        .db
        .run(move |ix| {
            visible(ix, &user, id)?;
            settle(ix, &user, id, None, now)
        })
        .await
        .map(Json)
}

/// Whether `user` may see request `id`: its persons, its filer, and administrators of
/// the system manager or of a PSB (the approvers).
fn visible(ix: &SqliteIndex, user: &AuthUser, id: i64) -> Result<RequestRow, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no request {id}"),
        )
    };
    let r = ix.request(id)?.ok_or_else(not_found)?;
    let me = me(ix, user)?;
    let (org, jur) = org_kind(ix, me.org_id)?;
    // Approvers: the system manager's administrators see every request; a PSB's see
    // their own organisation's and those whose cameras all lie in their district (the
    // ones they may approve) — another PSB's requests are not found.
    let approver = me.role == "admin"
        && match org {
            OrgKind::SystemManager => true,
            OrgKind::PublicSecurity => r.org_id == me.org_id || covers_all(ix, &jur, &r.cameras)?,
            _ => false,
        };
    if r.created_by == me.id || r.persons.iter().any(|p| p.user_id == me.id) || approver {
        Ok(r)
    } else {
        Err(not_found())
    }
}

/// Requests the user filed, acts in, or (approvers) all of them, newest first.
#[utoipa::path(get, path = "/api/requests", responses((status = 200, body = [RequestOut])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<RequestOut>>, ApiError> {
    let now = state.clocks.realtime();
    state
        .db
        .run(move |ix| {
            let mut out = Vec::new();
            for id in ix.request_ids(None, None)? {
                if visible(ix, &user, id).is_ok() {
                    out.push(settle(ix, &user, id, None, now)?);
                }
            }
            Ok(out)
        })
        .await
        .map(Json)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct Confirm {
    /// The person's own password, entered again.
    pub password: String,
    pub work_id: Option<String>,
}

/// A person on the request confirms their part with their own password (and work ID).
#[utoipa::path(post, path = "/api/requests/{id}/confirm", params(("id" = i64, Path,)), request_body = Confirm,
    responses((status = 200, body = RequestOut), (status = 403, body = crate::error::ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<i64>,
    Json(c): Json<Confirm>,
) -> Result<Json<RequestOut>, ApiError> {
    let now = state.clocks.realtime();
    crate::auth::check_own_password(&state, &user, peer, c.password, "confirm a request").await?;
    state
        .db
        .run(move |ix| {
            let r = visible(ix, &user, id)?;
            if r.status != "pending" {
                return Err(ApiError::bad_request(format!(
                    "request {id} is {}",
                    r.status
                )));
            }
            // The work ID confirmed is the account's; another one is refused, never
            // written over it.
            let me = me(ix, &user)?;
            let account = account_work_id(&me, c.work_id.as_deref(), "Art. 34(2)")?;
            ix.confirm_person(id, user.user_id, account.as_deref(), now)?;
            settle(ix, &user, id, None, now)
        })
        .await
        .map(Json)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct Approve {
    /// `manager_consent`, `psb_permission`, `manager_approval`,
    /// `psb_reproduction_approval`.
    pub kind: String,
    pub note: Option<String>,
}

/// An approver (an administrator of the system manager or of the PSB, as the kind
/// requires, and not a person on the request) gives an approval.
#[utoipa::path(post, path = "/api/requests/{id}/approve", params(("id" = i64, Path,)), request_body = Approve,
    responses((status = 200, body = RequestOut), (status = 403, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(a): Json<Approve>,
) -> Result<Json<RequestOut>, ApiError> {
    let now = state.clocks.realtime();
    let kind = ApprovalKind::parse(&a.kind)
        .ok_or_else(|| ApiError::bad_request(format!("unknown approval {:?}", a.kind)))?;
    state
        .db
        .run(move |ix| {
            let r = visible(ix, &user, id)?;
            if r.status != "pending" {
                return Err(ApiError::bad_request(format!(
                    "request {id} is {}",
                    r.status
                )));
            }
            let me = me(ix, &user)?;
            let rk = RequestKind::parse(&r.kind).ok_or_else(|| ApiError::internal("bad kind"))?;
            let actions: Vec<Action> = r.actions.iter().filter_map(|x| Action::parse(x)).collect();
            let persons = persons_of(&r);
            let who = approver_of(ix, &me, &r)?;
            request::may_approve(kind, &who, rk, &actions, r.created_by, &persons).map_err(
                |u| {
                    let status = if u.id == "approval_not_applicable" {
                        StatusCode::UNPROCESSABLE_ENTITY
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    let code = if u.id == "approval_not_applicable" {
                        u.id
                    } else {
                        "forbidden"
                    };
                    ApiError::new(status, code, u.to_string())
                },
            )?;
            ix.add_approval(id, kind.as_str(), me.id, a.note.as_deref(), now)?;
            settle(ix, &user, id, Some(me.id), now)
        })
        .await
        .map(Json)
}

/// Revokes a grant (an administrator of the system manager, or of the organisation
/// that holds it).
#[utoipa::path(post, path = "/api/grants/{id}/revoke", params(("id" = i64, Path,)),
    responses((status = 204, description = "Revoked"), (status = 403, body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let now = state.clocks.realtime();
    let status = state
        .db
        .run(move |ix| {
            let me = me(ix, &user)?;
            let (org, _) = org_kind(ix, me.org_id)?;
            let rid: Option<i64> = ix
                .request_ids(None, Some("granted"))?
                .into_iter()
                .find(|r| {
                    ix.request(*r)
                        .ok()
                        .flatten()
                        .and_then(|x| x.grant)
                        .is_some_and(|g| g.id == id)
                });
            let r = rid
                .and_then(|r| ix.request(r).ok().flatten())
                .ok_or_else(|| {
                    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no grant {id}"))
                })?;
            if me.role != "admin" || (org != OrgKind::SystemManager && me.org_id != r.org_id) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "only an administrator of the system manager or of the holder revokes a grant",
                ));
            }
            ix.revoke_grant(id, me.id, now)?;
            ix.log_event(
                now,
                "grant_revoked",
                &me.username,
                None,
                serde_json::json!({"grant": id, "request": r.id}),
            )?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await?;
    // Live views and downloads under it end now (the watcher would within a second).
    state.handouts.end_grant(id, crate::handout::Stop::Revoked);
    Ok(status)
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct Close {
    pub reason: String,
}

/// Refuses a pending request (an approver) or withdraws it (its filer).
#[utoipa::path(post, path = "/api/requests/{id}/close", params(("id" = i64, Path,)), request_body = Close,
    responses((status = 200, body = RequestOut), (status = 403, body = crate::error::ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(c): Json<Close>,
) -> Result<Json<RequestOut>, ApiError> {
    let now = state.clocks.realtime();
    if c.reason.trim().is_empty() {
        return Err(ApiError::bad_request("say why"));
    }
    state
        .db
        .run(move |ix| {
            let r = visible(ix, &user, id)?;
            let status = if r.created_by == user.user_id {
                "withdrawn"
            } else if user.role == "admin" && !r.persons.iter().any(|p| p.user_id == user.user_id) {
                "refused"
            } else {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "only its filer withdraws a request, and only an approver refuses it",
                ));
            };
            ix.close_request(id, status, user.user_id, &c.reason, now)?;
            settle(ix, &user, id, None, now)
        })
        .await
        .map(Json)
}

/// Attaches a document (a warrant, a letter) to a request: the raw body, at most
/// 8 MiB; `name` in the query. Its SHA-256 is kept with it.
#[utoipa::path(post, path = "/api/requests/{id}/attachments", params(("id" = i64, Path,), ("name" = String, Query,)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = RequestOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn attach(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Json<RequestOut>, ApiError> {
    let now = state.clocks.realtime();
    let name = q
        .get("name")
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && n.len() <= 200)
        .ok_or_else(|| ApiError::bad_request("`name` (1-200 characters) is required"))?;
    if body.is_empty() {
        return Err(ApiError::bad_request("the attachment is empty"));
    }
    state
        .db
        .run(move |ix| {
            visible(ix, &user, id)?;
            ix.add_attachment(id, &name, &body, user.user_id, now)?;
            settle(ix, &user, id, None, now)
        })
        .await
        .map(Json)
}

/// One of the user's active grants, as the console needs it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct GrantInfo {
    pub id: i64,
    pub request_id: i64,
    pub kind: String,
    pub purpose: String,
    /// Camera ids (empty: every camera).
    pub cameras: Vec<i64>,
    pub actions: Vec<String>,
    pub live: bool,
    pub from: String,
    /// Null: no end (duty grants cover all recorded video).
    pub to: Option<String>,
    pub expires: String,
    /// Interested parties may watch but not copy: the console overlays the viewer's
    /// name, the request and the time, and offers no export.
    pub view_only: bool,
}

/// The logged-in user's active grants.
#[utoipa::path(get, path = "/api/grants", responses((status = 200, body = [GrantInfo])))]
pub async fn my_grants(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<GrantInfo>>, ApiError> {
    let now = state.clocks.realtime();
    state
        .db
        .run(move |ix| {
            Ok(ix
                .active_grants_for(user.user_id, now)?
                .into_iter()
                .filter_map(|r| {
                    let g = r.grant.clone()?;
                    let view_only = crate::grants::view_only(&r.kind, &r.actions);
                    Some(GrantInfo {
                        id: g.id,
                        request_id: r.id,
                        kind: r.kind,
                        purpose: r.purpose,
                        cameras: r.cameras,
                        actions: r.actions,
                        live: r.live,
                        from: Wall90k(r.from_90k).to_string(),
                        to: (r.to_90k != i64::MAX).then(|| Wall90k(r.to_90k).to_string()),
                        expires: Wall90k(g.expires_90k).to_string(),
                        view_only,
                    })
                })
                .collect())
        })
        .await
        .map(Json)
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct RegisterQuery {
    /// Only entries at or after this time (RFC 3339 or Unix seconds).
    pub since: Option<String>,
    /// Only entries before this time.
    pub until: Option<String>,
    /// Only this camera (its name).
    pub camera: Option<String>,
    /// Only this user (a person acting, by user name).
    pub user: Option<String>,
    /// Only this organisation (its name).
    pub org: Option<String>,
    /// Only this kind of request (`law_enforcement`, …).
    pub kind: Option<String>,
    /// Only allowed (`true`) or refused (`false`) accesses.
    pub allowed: Option<bool>,
    /// Pagination (JSON): skip this many of the matching entries, newest first...
    pub offset: Option<usize>,
    /// ... and give at most this many (default: all). The total is in `X-Total-Count`.
    pub limit: Option<usize>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The access register (administrators of the system manager, and of a PSB for
/// inspections): every access and refused attempt, newest last, as JSON or CSV.
#[utoipa::path(get, path = "/api/register", params(RegisterQuery),
    responses((status = 200, description = "JSON array or CSV"), (status = 403, body = crate::error::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::Query(q): axum::extract::Query<RegisterQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let since = q
        .since
        .as_deref()
        .map(Wall90k::parse)
        .transpose()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))?
        .unwrap_or(Wall90k(i64::MIN));
    let until = q
        .until
        .as_deref()
        .map(Wall90k::parse)
        .transpose()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))?
        .map(|t| t.to_string());
    let entries = state
        .db
        .run(move |ix| {
            let me = me(ix, &user)?;
            let (org, jur) = org_kind(ix, me.org_id)?;
            if me.role != "admin"
                || !matches!(org, OrgKind::SystemManager | OrgKind::PublicSecurity)
            {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "the register is for administrators of the system manager and of the PSB",
                ));
            }
            // A PSB supervises its district: the accesses to cameras there (Art. 36),
            // not other districts' cases.
            let in_district: Option<std::collections::HashSet<i64>> =
                (org == OrgKind::PublicSecurity).then(|| {
                    ix.cameras(true)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|c| {
                            c.region.as_deref().is_some_and(|r| {
                                jur.regions
                                    .iter()
                                    .any(|x| vidimus_core::district::same(x, r))
                            })
                        })
                        .map(|c| c.id)
                        .collect()
                });
            Ok(ix
                .register_entries(since, 100_000)?
                .into_iter()
                .filter(|e| {
                    in_district
                        .as_ref()
                        .is_none_or(|d| e["camera_id"].as_i64().is_some_and(|c| d.contains(&c)))
                })
                .filter(|e| q.camera.as_deref().is_none_or(|c| e["camera"] == c))
                .filter(|e| q.user.as_deref().is_none_or(|u| e["user"] == u))
                .filter(|e| q.org.as_deref().is_none_or(|o| e["org"] == o))
                .filter(|e| q.kind.as_deref().is_none_or(|k| e["request_kind"] == k))
                .filter(|e| q.allowed.is_none_or(|a| e["allowed"] == a))
                // Entries' times are RFC 3339 UTC with the same precision: ordered as text.
                .filter(|e| {
                    until
                        .as_deref()
                        .is_none_or(|u| e["at"].as_str().is_some_and(|at| at < u))
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let total = entries.len();
    if q.format.as_deref() == Some("csv") {
        Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"access-register.csv\"",
                ),
            ],
            register_csv(&entries),
        )
            .into_response())
    } else {
        // Newest first, a page at a time when asked.
        let page: Vec<serde_json::Value> = entries
            .into_iter()
            .rev()
            .skip(q.offset.unwrap_or(0))
            .take(q.limit.unwrap_or(usize::MAX))
            .collect();
        let mut r = Json(page).into_response();
        r.headers_mut()
            .insert("x-total-count", axum::http::HeaderValue::from(total as u64));
        Ok(r)
    }
}

/// The register as CSV (RFC 4180, written by the `csv` crate), one line per entry.
/// Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return) are prefixed with `'`, so a user name or purpose
/// like `=HYPERLINK(…)` is shown, never executed.
pub fn register_csv(entries: &[serde_json::Value]) -> String {
    const COLS: [&str; 26] = [
        "leaf_index",
        "kind",
        "at",
        "allowed",
        "outcome",
        "action",
        "camera_id",
        "camera",
        "from",
        "to",
        "user",
        "work_id",
        "org",
        "org_kind",
        "persons",
        "request_id",
        "grant_id",
        "purpose",
        "policies",
        "reason",
        "whereabouts",
        "export_id",
        "served",
        "seconds",
        "bytes",
        "ended",
    ];
    let cell = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
                format!("'{s}")
            }
            serde_json::Value::String(s) => s.clone(),
            // Numbers and booleans as they are; objects and arrays as JSON (which
            // starts with `{` or `[`).
            other => other.to_string(),
        }
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = std::iter::once(COLS.map(str::to_owned).to_vec()).chain(
        entries
            .iter()
            .map(|e| COLS.iter().map(|c| cell(&e[*c])).collect()),
    );
    rows.try_for_each(|r: Vec<String>| w.write_record(&r))
        .and_then(|_| w.flush().map_err(csv::Error::from))
        .expect("writing CSV to memory");
    String::from_utf8(w.into_inner().expect("flushed")).expect("UTF-8 cells")
}

#[cfg(test)]
mod tests {
    use super::register_csv;
    use serde_json::json;

    #[test]
    fn register_csv_quotes_and_defuses_formulas() {
        let csv = register_csv(&[json!({
            "leaf_index": 3, "kind": "access", "allowed": false,
            "user": "=HYPERLINK(\"http://evil\",\"x\")", "purpose": "+1, \"quoted\"\nnext",
            "reason": "@SUM(A1)", "org": "-2+3", "work_id": "\tW",
            "served": {"start": 0, "end": 9, "total": 10}, "bytes": 0,
        })]);
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let head = r.headers().unwrap().clone();
        let row = r.records().next().unwrap().unwrap();
        let get = |c: &str| &row[head.iter().position(|h| h == c).unwrap()];
        assert_eq!(get("user"), "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(get("purpose"), "'+1, \"quoted\"\nnext");
        assert_eq!(get("reason"), "'@SUM(A1)");
        assert_eq!(get("org"), "'-2+3");
        assert_eq!(get("work_id"), "'\tW");
        assert_eq!(get("leaf_index"), "3");
        assert_eq!(get("allowed"), "false");
        assert_eq!(get("served"), r#"{"start":0,"end":9,"total":10}"#);
        // No cell of any row starts a formula.
        for rec in csv::Reader::from_reader(csv.as_bytes()).records() {
            for cell in rec.unwrap().iter() {
                assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
            }
        }
    }
}
