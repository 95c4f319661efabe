//! The gate in front of every video-serving endpoint: the access policy decides, under
//! one of the user's grants, and every decision — allowed or refused — becomes an
//! entry of the access register (Art. 24(3), 35 ¶2): a leaf of the integrity log, so
//! it is tamper-evident and kept with the log.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use axum::http::StatusCode;
use serde_json::json;
use vidimus_access::org::OrgKind;
use vidimus_access::request::{Action, ApprovalKind, RequestKind};
use vidimus_core::time::Wall90k;
use vidimus_policy::{CameraFacts, GrantFacts, Query, UserFacts};
use vidimus_store::access::RequestRow;
use vidimus_store::{MetadataStore, SqliteIndex};

/// Where a reproduction goes (Art. 24(3) "whereabouts").
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct Whereabouts {
    /// Who receives the copy.
    pub recipient: Option<String>,
    /// On what (e.g. "USB disk", "download").
    pub medium: Option<String>,
    /// Where it goes (e.g. a case file).
    pub destination: Option<String>,
}

/// What was asked.
pub struct Ask<'a> {
    pub action: Action,
    pub camera_id: i64,
    /// Recorded range (ignored for live).
    pub from: Wall90k,
    pub to: Wall90k,
    pub whereabouts: Option<&'a Whereabouts>,
    /// The grant (case) the access is made under, as the user chose it; `None` when
    /// the user holds exactly one grant that allows it.
    pub grant_id: Option<i64>,
    /// The mark written into the copy served (see `vidimus_store::export::Trace`).
    pub export_id: Option<String>,
}

/// Whether a request's grant is view only (Art. 35): an interested party's emergency
/// request that does not also allow reproduction. Watched, watermarked, never copied.
pub fn view_only(kind: &str, actions: &[String]) -> bool {
    kind == RequestKind::InterestedPartyEmergency.as_str()
        && !actions.iter().any(|a| a == "reproduce")
}

/// What an endpoint hands out that a view-only grant must not give.
#[derive(Clone, Copy, Debug)]
pub enum NotViewOnly {
    /// Recorded video as a file (playback, export).
    File,
    /// The live stream: the camera's own bytes.
    Live,
    /// Timeline thumbnails: pictures to keep.
    Thumbnails,
}

/// An allowed access.
#[derive(Clone, Debug)]
pub struct Authorized {
    pub grant_id: i64,
    pub request_id: i64,
    pub purpose: String,
    pub camera: String,
    /// Interested parties may watch but never copy: the console draws who, which
    /// request and when over the video.
    pub view_only: bool,
    /// When the grant expires (90 kHz): no hand-out under it goes on past this.
    pub expires_90k: i64,
    /// The recorded range the grant covers: no sample outside it is served.
    pub within: (Wall90k, Wall90k),
    /// The camera's privacy mask, to be burned into whatever is handed out; `None`
    /// when the camera has none or the grant lifts it (`unmask`). A publication always
    /// keeps it.
    pub mask: Option<vidimus_core::privacy::PrivacyMask>,
    /// The camera and the version of its privacy mask (when it was set; `None`: no
    /// mask) this access was decided under: a hand-out stops when it changes.
    pub mask_version: (i64, Option<i64>),
    /// The register entry (its log leaf, 0-based), once registered.
    pub leaf_index: i64,
    /// Everything the register needs to add the end of a session.
    pub entry: serde_json::Value,
}

fn grant_facts(r: &RequestRow) -> Option<GrantFacts> {
    let g = r.grant.as_ref()?;
    Some(GrantFacts {
        id: g.id,
        kind: RequestKind::parse(&r.kind)?,
        persons: r.persons.iter().map(|p| p.user_id).collect(),
        officers: r
            .persons
            .iter()
            .filter(|p| {
                p.confirmed_90k.is_some()
                    && p.work_id.as_deref().is_some_and(|w| !w.trim().is_empty())
            })
            .count() as i64,
        cameras: r.cameras.clone(),
        all_cameras: r.cameras.is_empty(),
        actions: r.actions.iter().filter_map(|a| Action::parse(a)).collect(),
        live: r.live,
        from_90k: r.from_90k,
        to_90k: r.to_90k,
        expires_90k: g.expires_90k,
        revoked: g.revoked_90k.is_some(),
        approvals: r
            .approvals
            .iter()
            .filter_map(|a| ApprovalKind::parse(&a.kind))
            .collect(),
    })
}

/// Appends a register entry; returns its leaf index.
pub fn register(
    ix: &mut SqliteIndex,
    now: Wall90k,
    entry: &serde_json::Value,
) -> Result<i64, ApiError> {
    let data = serde_json::to_vec(entry).map_err(ApiError::internal)?;
    let idx = ix.apply(&[vidimus_store::index::IndexOp::AppendLeaf {
        at_90k: now.0,
        kind: "access".into(),
        data,
    }])?[0]
        .unwrap_or(0);
    Ok(idx - 1)
}

/// Decides `ask` for `user` under their grants and returns the grant it is allowed
/// under, or an error naming the reason. A refusal is registered at once; an allowed
/// access is registered by the handler with what it hands out
/// ([`Authorized::register`]) before the first byte, or as failed
/// ([`Authorized::register_failed`]) if nothing could be handed out.
pub async fn authorize(
    state: &AppState,
    user: &AuthUser,
    ask: Ask<'_>,
) -> Result<Authorized, ApiError> {
    let now = state.clocks.realtime();
    let policy = state.policy.clone();
    let q = Decide {
        user_id: user.user_id,
        action: ask.action,
        camera_id: ask.camera_id,
        from: ask.from,
        to: ask.to,
        whereabouts: ask.whereabouts.cloned(),
        grant_id: ask.grant_id,
        export_id: ask.export_id.clone(),
    };
    // A user refused too often in a burst is counted, not asked about again (see
    // `refusals`): the register gets their count, not a flood of entries.
    if let Err(wait) =
        state
            .refusals
            .admit(user.user_id, &user.username, std::time::Instant::now(), now)
    {
        let secs = wait.as_secs().max(1);
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_refusals",
            format!(
                "{} was refused more than {} times in a burst; further attempts are counted in the register, not answered; try again in {secs} s",
                user.username,
                crate::refusals::BURST as u64
            ),
        );
        e.retry_after = Some(secs);
        return Err(e);
    }
    let r = state.db.run(move |ix| decide(ix, &policy, &q, now)).await;
    if r.is_err() {
        state
            .refusals
            .refused(user.user_id, &user.username, std::time::Instant::now());
    }
    r
}

/// How soon after a hand-out is registered a checkpoint covering it is signed (many
/// hand-outs in that time share one).
pub const CHECKPOINT_AFTER_HANDOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Signs a checkpoint [`CHECKPOINT_AFTER_HANDOUT`] after hand-outs are registered,
/// until the server stops.
pub async fn checkpoint_hand_outs(state: AppState) {
    loop {
        state.checkpoint_soon.notified().await;
        tokio::time::sleep(CHECKPOINT_AFTER_HANDOUT).await;
        let now = state.clocks.realtime();
        let (key, dir) = (state.signing_key, state.data_dir.clone());
        let r = state
            .db
            .run(move |ix| {
                let seed = match key {
                    Some(k) => k,
                    None => vidimus_store::log::site_key(&dir)?,
                };
                Ok(ix.checkpoint(&seed, now)?)
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = ?e.message, "could not sign a checkpoint after a hand-out");
        }
    }
}

/// Writes the attempts counted past a burst of refusals to the register, every
/// [`crate::refusals::SUMMARY_EVERY`], until the server stops.
pub async fn register_counted_refusals(state: AppState) {
    let mut tick = tokio::time::interval(crate::refusals::SUMMARY_EVERY);
    loop {
        tick.tick().await;
        let counted = state.refusals.take_counted(std::time::Instant::now());
        if counted.is_empty() {
            continue;
        }
        let now = state.clocks.realtime();
        let r = state
            .db
            .run(move |ix| {
                for c in &counted {
                    register(ix, now, &crate::refusals::Refusals::entry(c, now))?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = ?e.message, "could not register counted refusals");
        }
    }
}

/// What [`decide`] is asked (owned, for the blocking pool).
#[derive(Clone, Debug)]
pub struct Decide {
    pub user_id: i64,
    pub action: Action,
    pub camera_id: i64,
    pub from: Wall90k,
    pub to: Wall90k,
    pub whereabouts: Option<Whereabouts>,
    pub grant_id: Option<i64>,
    pub export_id: Option<String>,
}

/// The gate itself, on an index connection: the user's active grants, the policy's
/// decision under each, and the register entry. Public for the access benchmark.
pub fn decide(
    ix: &mut SqliteIndex,
    policy: &vidimus_policy::AccessPolicy,
    q: &Decide,
    now: Wall90k,
) -> Result<Authorized, ApiError> {
    let (uid, action, camera_id, from, to) = (q.user_id, q.action, q.camera_id, q.from, q.to);
    let whereabouts = q.whereabouts.clone();
    let u = ix.user_by_id(uid)?.ok_or_else(ApiError::unauthenticated)?;
    let org = ix
        .org(u.org_id)?
        .ok_or_else(|| ApiError::internal("user without organisation"))?;
    let cam = ix.camera_by_id(camera_id)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "camera_not_found",
            format!("no camera {camera_id}"),
        )
    })?;
    let facts = UserFacts {
        id: u.id,
        org_id: org.id,
        org_kind: OrgKind::parse(&org.kind)
            .ok_or_else(|| ApiError::internal("bad organisation kind"))?,
        // Districts compared by id, however they were stored.
        regions: org
            .regions
            .iter()
            .map(|r| vidimus_core::district::normalize(r))
            .collect(),
        industries: org.industries.clone(),
        work_id: u.work_id.clone(),
    };
    let camera = CameraFacts {
        id: cam.id,
        region: cam.region.as_deref().map(vidimus_core::district::normalize),
        industry: cam.industry.clone(),
        system: cam.system.clone(),
    };
    let (qfrom, qto) = if action == Action::ViewLive {
        (now.0, now.0)
    } else {
        (from.0, to.0)
    };
    // Only grants naming this camera (or every camera) and this action could allow it;
    // the policy decides under each of them, and with none, without a grant. If the
    // user named the grant (the case they work on), only that one.
    let mut grants = ix.candidate_grants_for(u.id, camera_id, action.as_str(), now)?;
    let mut refusals: Vec<String> = Vec::new();
    let mut reason: Option<(StatusCode, &'static str, String)> = None;
    if let Some(want) = q.grant_id {
        grants.retain(|r| r.grant.as_ref().is_some_and(|g| g.id == want));
        if grants.is_empty() {
            reason = Some((
                StatusCode::FORBIDDEN,
                "no_grant",
                format!(
                    "grant {want} is not an active grant of {} that covers this camera and action",
                    u.username
                ),
            ));
        }
    }
    let mut allowing: Vec<(&RequestRow, vidimus_policy::Decision)> = Vec::new();
    for r in &grants {
        let Some(g) = grant_facts(r) else { continue };
        let d = state_policy_decide(policy, &facts, action, &camera, qfrom, qto, now, Some(&g))?;
        if d.allowed {
            allowing.push((r, d));
        } else {
            refusals.extend(d.policies);
        }
    }
    if grants.is_empty() && reason.is_none() {
        let d = state_policy_decide(policy, &facts, action, &camera, qfrom, qto, now, None)?;
        debug_assert!(!d.allowed, "nothing permits without a grant");
        refusals.extend(d.policies);
    }
    refusals.sort();
    refusals.dedup();
    if allowing.len() > 1 {
        // Each access is registered under the case it is made for: never a guess.
        let ids: Vec<String> = allowing
            .iter()
            .filter_map(|(r, _)| r.grant.as_ref().map(|g| g.id.to_string()))
            .collect();
        reason = Some((
            StatusCode::CONFLICT,
            "grant_ambiguous",
            format!(
                "several grants allow this (grants {}): name the one it is made under (`grant`)",
                ids.join(", ")
            ),
        ));
        allowing.clear();
    }
    let allowed = allowing.into_iter().next();
    let mut entry = json!({
        "v": 1,
        "kind": "access",
        "at": now.to_string(),
        "user_id": u.id,
        "user": u.username,
        "work_id": u.work_id,
        "org_id": org.id,
        "org": org.name,
        "org_kind": org.kind,
        "action": action.as_str(),
        "camera_id": cam.id,
        "camera": cam.name,
        "from": (action != Action::ViewLive).then(|| from.to_string()),
        "to": (action != Action::ViewLive).then(|| to.to_string()),
        "whereabouts": whereabouts,
        "export_id": q.export_id,
    });
    match allowed {
        Some((r, d)) => {
            let g = r.grant.as_ref().expect("active grants have a grant");
            entry["allowed"] = json!(true);
            entry["policies"] = json!(d.policies);
            // A masked camera (Art. 10, 30): the mask is lifted only when the same
            // grant allows `unmask` too; the register says which it was.
            let row = ix.privacy_mask(cam.id)?;
            let mask_version = (cam.id, row.as_ref().map(|m| m.set_90k));
            if let Some(m) = &row {
                entry["privacy_mask_set_at"] = json!(Wall90k(m.set_90k).to_string());
            }
            let mut mask = row.map(|m| m.mask);
            if mask.is_some() {
                let lifted = action != Action::Publish
                    && match grant_facts(r) {
                        Some(gf) => {
                            let d = state_policy_decide(
                                policy,
                                &facts,
                                Action::Unmask,
                                &camera,
                                qfrom,
                                qto,
                                now,
                                Some(&gf),
                            )?;
                            if d.allowed {
                                entry["unmask_policies"] = json!(d.policies);
                            }
                            d.allowed
                        }
                        None => false,
                    };
                entry["privacy_mask"] = json!(if lifted { "lifted" } else { "burned" });
                if lifted {
                    mask = None;
                }
            }
            entry["grant_id"] = json!(g.id);
            entry["request_id"] = json!(r.id);
            entry["request_kind"] = json!(r.kind);
            entry["purpose"] = json!(r.purpose);
            entry["persons"] = json!(
                r.persons
                    .iter()
                    .map(|p| json!({"user": p.username, "work_id": p.work_id}))
                    .collect::<Vec<_>>()
            );
            let view_only = view_only(&r.kind, &r.actions);
            Ok(Authorized {
                grant_id: g.id,
                request_id: r.id,
                purpose: r.purpose.clone(),
                camera: cam.name.clone(),
                view_only,
                mask,
                mask_version,
                expires_90k: g.expires_90k,
                within: (Wall90k(r.from_90k), Wall90k(r.to_90k)),
                leaf_index: -1,
                entry,
            })
        }
        None => {
            let (status, code, reason) = reason.unwrap_or_else(|| {
                if refusals.is_empty() {
                    (
                        StatusCode::FORBIDDEN,
                        "no_grant",
                        "no grant covers this camera, action and time".to_owned(),
                    )
                } else {
                    (
                        StatusCode::FORBIDDEN,
                        "refused_by_policy",
                        format!("refused by policy {}", refusals.join(", ")),
                    )
                }
            });
            entry["allowed"] = json!(false);
            entry["policies"] = json!(refusals);
            entry["reason"] = json!(reason);
            // A refusal serves nothing: it need not wait for the disk (see
            // `with_lazy_sync`); the next hand-out's synced commit carries it.
            ix.with_lazy_sync(|ix| register(ix, now, &entry))?;
            tracing::warn!(user = %u.username, camera = cam.id, action = action.as_str(), %reason, "access refused");
            Err(ApiError::new(
                status,
                code,
                format!(
                    "{} {} of camera {:?}: {reason} (the attempt is registered)",
                    u.username,
                    action.as_str(),
                    cam.name
                ),
            ))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn state_policy_decide(
    policy: &vidimus_policy::AccessPolicy,
    user: &UserFacts,
    action: Action,
    camera: &CameraFacts,
    from: i64,
    to: i64,
    now: Wall90k,
    grant: Option<&GrantFacts>,
) -> Result<vidimus_policy::Decision, ApiError> {
    policy
        .decide(&Query {
            user,
            action,
            camera,
            from_90k: from,
            to_90k: to,
            now_90k: now.0,
            grant,
        })
        .map_err(ApiError::internal)
}

impl Authorized {
    /// Registers the allowed access with what is handed out (`handed`: fields such as
    /// the byte range served), durably, before the first byte is served.
    pub async fn register(
        &mut self,
        state: &AppState,
        handed: serde_json::Value,
    ) -> Result<(), ApiError> {
        let now = state.clocks.realtime();
        let mut entry = self.entry.clone();
        entry["at"] = json!(now.to_string());
        if let serde_json::Value::Object(m) = handed {
            for (k, v) in m {
                entry[k] = v;
            }
        }
        let e = entry.clone();
        self.leaf_index = state.db.run(move |ix| register(ix, now, &e)).await?;
        self.entry = entry;
        // Signed within a second, not at the recorder's next checkpoint: a hand-out's
        // entry cannot be removed unseen for long.
        state.checkpoint_soon.notify_one();
        Ok(())
    }

    /// Registers an allowed access that handed nothing out, with why: the attempt is
    /// registered as what it was.
    pub async fn register_failed(&mut self, state: &AppState, error: &str) {
        let r = self
            .register(
                state,
                json!({"outcome": "failed", "error": error, "bytes": 0}),
            )
            .await;
        if let Err(e) = r {
            tracing::error!(error = ?e.message, "could not register a failed access");
        }
    }

    /// The grant itself, unless it is view only (Art. 35): then what `what` hands out
    /// (a copy, or the camera's own bytes) is refused and the refusal registered.
    pub async fn not_view_only(
        self,
        state: &AppState,
        what: NotViewOnly,
    ) -> Result<Self, ApiError> {
        if !self.view_only {
            return Ok(self);
        }
        let reason = match what {
            NotViewOnly::File => {
                "this grant is view only: recorded video is shown as a watermarked stream (GET /api/cameras/{id}/view), never served as a file (Art. 35)"
            }
            NotViewOnly::Live => {
                "this grant is view only: live video is not offered under it, only recorded video as a watermarked stream (Art. 35)"
            }
            NotViewOnly::Thumbnails => {
                "this grant is view only: recorded video is shown only as a watermarked stream, without thumbnails (Art. 35)"
            }
        };
        Err(self.refuse(state, "view_only", reason).await)
    }

    /// The grant itself, unless the camera has a privacy mask the grant does not lift:
    /// the recorded bytes `what` hands out as they are (a file, a bundle of them) would
    /// show what the mask hides, so it is refused (409 `privacy_masked`) and the
    /// refusal registered. Masked cameras are watched through the server's masked
    /// streams (live, `/view`), which burn the mask in.
    pub async fn not_masked(mut self, state: &AppState, what: &str) -> Result<Self, ApiError> {
        if self.mask.is_none() {
            return Ok(self);
        }
        // Nothing was served, so nothing was burned.
        self.entry["privacy_mask"] = json!("refused");
        let reason = format!(
            "camera {:?} has privacy masks and grant {} does not lift them (`unmask`): {what} would show the recorded pixels under the masks, so it is not served; watch it through the masked stream (GET /api/cameras/{{id}}/view), or ask for a grant that includes unmask (Art. 10, 30)",
            self.camera, self.grant_id
        );
        Err(self
            .refuse_with(state, StatusCode::CONFLICT, "privacy_masked", &reason)
            .await)
    }

    /// Refuses what the grant would allow but the endpoint must not hand out under it
    /// (a file, or the raw live stream, under a view-only grant): registered as
    /// refused, with the reason.
    pub async fn refuse(self, state: &AppState, code: &'static str, reason: &str) -> ApiError {
        self.refuse_with(state, StatusCode::FORBIDDEN, code, reason)
            .await
    }

    /// Like [`Authorized::refuse`], with another status.
    pub async fn refuse_with(
        mut self,
        state: &AppState,
        status: StatusCode,
        code: &'static str,
        reason: &str,
    ) -> ApiError {
        // A refusal like the gate's: it counts towards the user's burst, so a loop of
        // refused hand-outs is summed up in the register, not an entry each.
        if let (Some(id), Some(name)) =
            (self.entry["user_id"].as_i64(), self.entry["user"].as_str())
        {
            state.refusals.refused(id, name, std::time::Instant::now());
        }
        let r = self
            .register(
                state,
                json!({"allowed": false, "outcome": "refused", "reason": reason}),
            )
            .await;
        if let Err(e) = r {
            tracing::error!(error = ?e.message, "could not register a refusal");
        }
        ApiError::new(status, code, reason)
    }

    /// Starts watching the hand-out (it must stop when the grant is revoked or
    /// expires), unless the user has too many in progress or (a `transcode`) the
    /// server is at its transcoding capacity: then a registered refusal (429).
    pub async fn watch(
        self,
        state: &AppState,
        transcode: bool,
    ) -> Result<(Self, crate::handout::Handout), ApiError> {
        let user_id = self.entry["user_id"].as_i64().unwrap_or(-1);
        match state.handouts.admit(
            user_id,
            self.grant_id,
            self.expires_90k,
            transcode,
            Some(self.mask_version),
        ) {
            Some(h) => Ok((self, h)),
            None => Err(self
                .refuse_with(
                    state,
                    StatusCode::TOO_MANY_REQUESTS,
                    "busy",
                    if transcode {
                        "the server is at its capacity of view-only streams; try again shortly"
                    } else {
                        "too many video hand-outs in progress for this user; finish some first"
                    },
                )
                .await),
        }
    }
}

/// Registers the end of an allowed hand-out (live viewing, a download): its length,
/// the bytes served and how it ended (`completed`, `client closed`, `grant revoked`,
/// `grant expired`, ...).
pub async fn register_end(
    state: &AppState,
    a: &Authorized,
    started: std::time::Instant,
    bytes: u64,
    ended: &str,
) {
    let now = state.clocks.realtime();
    let mut entry = a.entry.clone();
    entry["kind"] = json!("access_end");
    entry["at"] = json!(now.to_string());
    entry["started_leaf"] = json!(a.leaf_index);
    entry["seconds"] = json!((started.elapsed().as_secs_f64() * 10.0).round() / 10.0);
    entry["bytes"] = json!(bytes);
    entry["ended"] = json!(ended);
    let r = state
        .db
        .run(move |ix| register(ix, now, &entry).map(|_| ()))
        .await;
    if let Err(e) = r {
        tracing::error!(error = ?e.message, "could not register the end of an access");
    }
}

/// The end of a live hand-out (a WebSocket view or feed), registered once: by
/// [`LiveEnd::finish`] when the view ends, or — the upgrade never completed, or the
/// task was dropped — when this is dropped, as `not opened`. Made before the upgrade,
/// right after the hand-out's start is registered, so no start goes without an end.
pub struct LiveEnd {
    state: AppState,
    granted: Option<Authorized>,
    started: std::time::Instant,
}

impl LiveEnd {
    pub fn new(state: &AppState, granted: Authorized) -> Self {
        LiveEnd {
            state: state.clone(),
            granted: Some(granted),
            started: std::time::Instant::now(),
        }
    }

    /// The access, to add to what its end says.
    pub fn entry_mut(&mut self) -> &mut serde_json::Value {
        &mut self.granted.as_mut().expect("not yet finished").entry
    }

    /// Registers the end now.
    pub async fn finish(mut self, bytes: u64, ended: &str) {
        if let Some(g) = self.granted.take() {
            register_end(&self.state, &g, self.started, bytes, ended).await;
        }
    }
}

impl Drop for LiveEnd {
    fn drop(&mut self) {
        if let Some(g) = self.granted.take() {
            let (state, started) = (self.state.clone(), self.started);
            tokio::spawn(async move {
                register_end(&state, &g, started, 0, "not opened").await;
            });
        }
    }
}

/// The end of a file hand-out (a playback, a download, a bundle), registered once:
/// when the body has given out everything, when the grant's end cuts it, or — the
/// client gone — when the body is dropped. Counts the bytes the body gave out.
pub struct HandoutEnd {
    state: AppState,
    granted: Authorized,
    started: std::time::Instant,
    sent: u64,
    len: u64,
    done: bool,
}

impl HandoutEnd {
    pub fn new(state: &AppState, granted: Authorized, len: u64) -> Self {
        HandoutEnd {
            state: state.clone(),
            granted,
            started: std::time::Instant::now(),
            sent: 0,
            len,
            done: false,
        }
    }

    /// Registers the end now.
    pub async fn finish(mut self, ended: &str) {
        register_end(&self.state, &self.granted, self.started, self.sent, ended).await;
        self.done = true;
    }
}

impl Drop for HandoutEnd {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let ended = if self.sent >= self.len {
            "completed"
        } else {
            "client closed"
        };
        let (state, granted, started, sent) = (
            self.state.clone(),
            self.granted.clone(),
            self.started,
            self.sent,
        );
        tokio::spawn(async move {
            register_end(&state, &granted, started, sent, ended).await;
        });
    }
}

/// A response body fed from `rx` that stops the moment `handout` must (before any
/// chunk still queued), and registers its end through `ending`.
pub fn guarded_body(
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
    handout: crate::handout::Handout,
    ending: HandoutEnd,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    futures::stream::unfold(
        (rx, handout, Some(ending)),
        |(mut rx, mut handout, ending)| async move {
            let mut ending = ending?;
            let next = tokio::select! {
                biased;
                why = handout.wait() => {
                    ending.finish(why.as_str()).await;
                    return Some((Err(std::io::Error::other(why.as_str())), (rx, handout, None)));
                }
                item = rx.recv() => item,
            };
            match next {
                Some(Ok(chunk)) => {
                    ending.sent += chunk.len() as u64;
                    Some((Ok(chunk), (rx, handout, Some(ending))))
                }
                Some(Err(e)) => {
                    ending.finish("failed").await;
                    Some((Err(e), (rx, handout, None)))
                }
                None => {
                    let ended = if ending.sent >= ending.len {
                        "completed"
                    } else {
                        "client closed"
                    };
                    ending.finish(ended).await;
                    None
                }
            }
        },
    )
}
