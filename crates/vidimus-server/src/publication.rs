//! Publication from the console (Art. 31): a recorded range made publishable under a
//! grant for publication — anonymized, re-checked, re-encoded, registered as a
//! reproduction for public broadcast, logged as a publication leaf and written as a
//! publication bundle (`vidimus_store::publication`).
//!
//! A publication takes about as long as the clip lasts or longer, so it is a job:
//! `POST /api/cameras/{id}/publications` decides the access and plans the source,
//! then answers 202 while the clip is anonymized on the blocking pool (one at a time:
//! it uses every core); `GET /api/publications/{id}` says how far it is and what came
//! of it; `GET /api/publications/{id}/publication.mp4` and `…/publication.vpub` hand
//! out the clip and its bundle, each decided again under the grant and registered.
//!
//! The anonymizer itself is not this crate's (it pays for the detectors' build): the
//! binary supplies it as a [`PublicationEngine`]. Nothing here reads the recorded
//! pixels but the engine, and nothing here serves them: the only files served are
//! the anonymized clip and its bundle. A clip whose re-check left anything unmasked
//! is never written; its job says what was found where, and its download is refused.

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::grants::{Ask, Whereabouts};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use vidimus_access::request::Action;
use vidimus_core::time::Wall90k;
use vidimus_store::SegmentFiles;
use vidimus_store::publication::{Derived, PublicationSource};

/// What a user chooses about a publication.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct PublicationMode {
    /// Also mask whatever moves, whole (figures, Art. 31 体貌).
    #[serde(default)]
    pub figures: bool,
    /// Anything the re-check finds blocks release (for a person to look at), instead
    /// of being masked and checked again.
    #[serde(default)]
    pub strict: bool,
}

/// What the anonymizer made of a source.
pub enum Derivation {
    Released(Derived),
    /// The re-check left `left` finds unmasked: nothing may be written. `report` is
    /// the anonymizer's report (boxes and scores, no pixels).
    Blocked {
        left: u64,
        report: Vec<u8>,
    },
}

/// The anonymizer, as the binary supplies it.
pub trait PublicationEngine: Send + Sync {
    /// Whether it can run (its weights are there and check): else why not and how to
    /// mend it.
    fn ready(&self) -> Result<(), String>;

    /// Reads `source`'s samples from `files`, anonymizes, re-checks and re-encodes the
    /// pictures presented in `range`; `what` names the source in the report and
    /// `destination` the clip; `progress(done, total)` is told of each sample, and
    /// when it returns false (the server is stopping) the derivation stops with an
    /// error. The camera's privacy mask, if any, is burned into every picture first
    /// (a publication never lifts it) and named in the process's parameters.
    #[allow(clippy::too_many_arguments)]
    fn derive(
        &self,
        source: &PublicationSource,
        files: &SegmentFiles,
        range: (Wall90k, Wall90k),
        mode: PublicationMode,
        mask: Option<&vidimus_core::privacy::PrivacyMask>,
        what: &str,
        destination: &str,
        progress: &(dyn Fn(usize, usize) -> bool + Sync),
    ) -> Result<Derivation, String>;

    /// The anonymizer as a stage of a live feed's transcoder (Art. 22, 23): decoded
    /// pictures in, anonymized and re-checked ones out, a few frames later; a run of
    /// frames whose re-check left anything unmasked is withheld, never handed on.
    /// `counts` is told what it did.
    fn live_stage(
        &self,
        mode: PublicationMode,
        counts: Arc<LiveCounts>,
    ) -> Result<Box<dyn vidimus_codec::FrameStage>, String>;
}

/// What a live anonymized feed's anonymizer has done, for the end of its register
/// entry.
#[derive(Debug, Default)]
pub struct LiveCounts {
    /// Pictures it was given.
    pub frames_in: std::sync::atomic::AtomicU64,
    /// Pictures it handed on, anonymized and re-checked.
    pub released: std::sync::atomic::AtomicU64,
    /// Pictures it withheld: their re-check still found a face or plate outside the
    /// masks.
    pub withheld: std::sync::atomic::AtomicU64,
    /// Masks applied (one per face, plate or figure per picture).
    pub masks: std::sync::atomic::AtomicU64,
}

impl LiveCounts {
    pub fn add(n: &std::sync::atomic::AtomicU64, by: u64) {
        n.fetch_add(by, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn json(&self) -> serde_json::Value {
        let g = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        serde_json::json!({"frames_in": g(&self.frames_in), "released": g(&self.released),
            "withheld": g(&self.withheld), "masks": g(&self.masks)})
    }
}

/// How a publication stands.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum JobState {
    /// Being anonymized: `done` of `total` recorded samples read.
    Running { done: usize, total: usize },
    /// Published: its clip and bundle may be downloaded under the grant.
    Published {
        frames: u64,
        duration_secs: f64,
        /// The clip's SHA-256 and size.
        sha256: String,
        mp4_bytes: u64,
        bundle_bytes: u64,
        /// The publication's leaf in the log, and its register entry.
        leaf_index: u64,
        register_entry: i64,
        /// What the re-check looked at and masked.
        rechecked_frames: u64,
        recheck_found: u64,
    },
    /// Not released: the re-check still found faces or plates outside the masks.
    Blocked {
        left: u64,
        /// Where (frame, kind, box, score), from the anonymizer's report.
        findings: serde_json::Value,
        register_entry: i64,
    },
    /// It could not be made (the error says why).
    Failed { error: String },
}

/// A publication job: whose, under which grant, of what.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub publication_id: String,
    #[serde(skip)]
    pub user_id: i64,
    pub grant_id: i64,
    pub camera_id: i64,
    pub camera: String,
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub from_90k: i64,
    #[serde(skip)]
    pub to_90k: i64,
    pub purpose: String,
    /// Who broadcasts it (the register's recipient).
    pub recipient: String,
    #[serde(flatten)]
    pub mode: PublicationMode,
    /// The version of the camera's privacy mask (when it was set) the publication was
    /// made under, if it had one: a publication is released and downloaded only while
    /// it is still the camera's mask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_mask_set_90k: Option<i64>,
    #[serde(flatten)]
    pub state: JobState,
}

/// The jobs of this run, by id (finished ones are also kept on disk beside their
/// files, so their downloads outlive a restart).
#[derive(Clone)]
pub struct Jobs {
    jobs: Arc<Mutex<HashMap<String, Job>>>,
    /// One publication (or anonymized live feed) at a time: it uses every core.
    running: Arc<tokio::sync::Semaphore>,
    /// Set when the server stops: a publication being made stops at its next sample.
    stopping: Arc<std::sync::atomic::AtomicBool>,
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new()
    }
}

impl Jobs {
    pub fn new() -> Self {
        Jobs {
            jobs: Arc::default(),
            running: Arc::new(tokio::sync::Semaphore::new(1)),
            stopping: Arc::default(),
        }
    }

    /// The one anonymizer this server runs at a time (a publication or a live
    /// anonymized feed), if it is free.
    pub(crate) fn try_run(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.running.clone().try_acquire_owned().ok()
    }

    /// The server is stopping: publications being made stop (their jobs then read as
    /// interrupted), so that stopping does not wait for them.
    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn set(&self, job: Job) {
        let mut jobs = self.jobs.lock().expect("jobs lock");
        // Finished jobs are on disk too: past a few hundred, only running ones are kept
        // in memory.
        if jobs.len() >= 256 {
            jobs.retain(|_, j| matches!(j.state, JobState::Running { .. }));
        }
        jobs.insert(job.publication_id.clone(), job);
    }

    fn progress(&self, id: &str, done: usize, total: usize) {
        if let Some(j) = self.jobs.lock().expect("jobs lock").get_mut(id) {
            j.state = JobState::Running { done, total };
        }
    }
}

/// `POST /api/cameras/{id}/publications`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPublication {
    /// RFC 3339 or Unix seconds.
    pub from: String,
    pub to: String,
    /// Why it is published (the manifest and the register).
    pub purpose: String,
    /// Who broadcasts it (e.g. a television station, the PSB's press office).
    pub recipient: String,
    /// The grant it is published under; needed when several allow it.
    #[serde(default)]
    pub grant: Option<i64>,
    #[serde(flatten)]
    pub mode: PublicationMode,
}

/// The longest range published from the console at once (the clip is re-encoded in
/// memory; `vidimus publish` takes up to an hour).
pub const MAX_RANGE_SECS: i64 = 600;

/// Findings of a blocked publication kept in its job (the report has them all).
const MAX_FINDINGS: usize = 50;

/// How long a finished publication's files and record are kept for download.
pub const KEPT: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

fn time(s: &str) -> Result<Wall90k, ApiError> {
    Wall90k::parse(s).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_time", e.to_string()))
}

fn dir(state: &AppState) -> std::path::PathBuf {
    state.data_dir.join("publications")
}

fn valid_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Starts a publication of a recorded range under a grant for publication (Art. 31).
/// The access is decided and the source planned at once (a refusal, or a range with
/// no closed recording, is answered now); the anonymization runs after the answer.
#[utoipa::path(post, path = "/api/cameras/{id}/publications", params(("id" = i64, Path,)),
    request_body = NewPublication,
    responses((status = 202, body = Job), (status = 403, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
    Json(req): Json<NewPublication>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let camera_id = crate::api::camera_id(&id)?;
    let (from, to) = (time(&req.from)?, time(&req.to)?);
    if to <= from {
        return Err(ApiError::bad_request("`to` must be after `from`"));
    }
    if to.0 - from.0 > MAX_RANGE_SECS * 90_000 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "range_too_large",
            format!(
                "a publication from the console covers at most {} minutes: publish a longer range in parts",
                MAX_RANGE_SECS / 60
            ),
        ));
    }
    if req.purpose.trim().is_empty() {
        return Err(ApiError::bad_request(
            "a publication must state its purpose",
        ));
    }
    if req.recipient.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "whereabouts_required",
            "say who broadcasts it (`recipient`): reproductions are registered with their whereabouts (Art. 24(3))",
        ));
    }
    let w = Whereabouts {
        medium: Some("public broadcast".into()),
        recipient: Some(req.recipient.trim().to_owned()),
        destination: None,
    };
    let granted = crate::grants::authorize(
        &state,
        &user,
        Ask {
            action: Action::Publish,
            camera_id,
            from,
            to,
            whereabouts: Some(&w),
            grant_id: req.grant,
            export_id: None,
        },
    )
    .await?;
    let mut granted = granted;
    open_sharing(&mut granted);
    let (engine, mut granted) = ready_engine(&state, granted).await?;
    let Some(permit) = state.publications.try_run() else {
        // Allowed, but not made now: registered as such (not as a refusal, which
        // would count towards the user's refusal burst).
        let why = BUSY;
        granted.register_failed(&state, why).await;
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "busy", why));
    };
    let publication_id = vidimus_store::publication::new_id()?;
    let now = state.clocks.realtime();
    let (files, within) = (state.files.clone(), granted.within);
    let (request_id, grant_id) = (granted.request_id, granted.grant_id);
    // The source first: a range with nothing closed in it is answered now.
    let planned = {
        let (files, camera, purpose, publisher, pid) = (
            files.clone(),
            granted.camera.clone(),
            req.purpose.trim().to_owned(),
            user.username.clone(),
            publication_id.clone(),
        );
        state
            .db
            .run(move |ix| {
                let r = vidimus_store::publication::PublicationRequest {
                    publication_id: pid,
                    camera_id,
                    camera: &camera,
                    from,
                    to,
                    publisher: &publisher,
                    purpose: &purpose,
                    now,
                    request_id: Some(request_id),
                    grant_id: Some(grant_id),
                    within: Some(within),
                };
                Ok(vidimus_store::publication::prepare_publication(
                    ix, &files, &r,
                )?)
            })
            .await
    };
    let source = match planned {
        Ok(s) => s,
        Err(e) => {
            granted.register_failed(&state, &e.message).await;
            return Err(e);
        }
    };
    let job = Job {
        publication_id: publication_id.clone(),
        user_id: user.user_id,
        grant_id,
        camera_id,
        camera: granted.camera.clone(),
        from: from.to_string(),
        to: to.to_string(),
        from_90k: from.0,
        to_90k: to.0,
        purpose: req.purpose.trim().to_owned(),
        recipient: req.recipient.trim().to_owned(),
        mode: req.mode,
        privacy_mask_set_90k: granted.mask_version.1,
        state: JobState::Running {
            done: 0,
            total: source.prepared.samples.walls.len(),
        },
    };
    // Registered before a sample is read: the recording is decoded under this grant
    // from now on, whatever becomes of the job (a restart, a crash).
    granted
        .register(
            &state,
            serde_json::json!({"outcome": "started", "publication_id": publication_id,
                "anonymized": true, "figures": req.mode.figures, "strict": req.mode.strict}),
        )
        .await?;
    // Publications (files, records, abandoned partial files) older than KEPT.
    crate::custody::forget_older_than(&dir(&state), KEPT);
    remember(&state, &job).await;
    state.publications.set(job.clone());
    let answer = job.clone();
    let st = state.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let fallback = job.clone();
        let s = st.clone();
        let job = match tokio::spawn(
            async move { run(&s, job, source, engine, granted, user).await },
        )
        .await
        {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(publication = %fallback.publication_id, error = %e, "publication job panicked");
                Job {
                    state: JobState::Failed {
                        error: "internal error while making the publication".into(),
                    },
                    ..fallback
                }
            }
        };
        remember(&st, &job).await;
        st.publications.set(job);
    });
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// A publication under an open-sharing grant (Art. 22) is shared openly rather than
/// broadcast: registered as such.
pub(crate) fn open_sharing(granted: &mut crate::grants::Authorized) {
    if granted.entry["request_kind"] == "open_sharing" {
        granted.entry["whereabouts"]["medium"] = serde_json::json!("open sharing");
    }
}

/// The server's anonymizer, its weights loaded and checked; else the refusal (503),
/// registered.
pub(crate) async fn ready_engine(
    state: &AppState,
    granted: crate::grants::Authorized,
) -> Result<(Arc<dyn PublicationEngine>, crate::grants::Authorized), ApiError> {
    let Some(engine) = state.publisher.clone() else {
        return Err(granted
            .refuse_with(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "anonymizer_unavailable",
                "this server has no anonymizer: publication is not offered",
            )
            .await);
    };
    let e = engine.clone();
    let ready = tokio::task::spawn_blocking(move || e.ready())
        .await
        .unwrap_or_else(|e| Err(format!("the anonymizer could not be loaded: {e}")));
    if let Err(why) = ready {
        return Err(granted
            .refuse_with(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "models_missing",
                &why,
            )
            .await);
    }
    Ok((engine, granted))
}

/// Why a publication or an anonymized feed is not made now.
pub(crate) const BUSY: &str = "the anonymizer is busy with another publication or anonymized live feed: try again when it is done";

/// Anonymizes, then (released) writes and registers the publication, or (blocked,
/// failed) registers the attempt as what it was.
async fn run(
    state: &AppState,
    mut job: Job,
    source: PublicationSource,
    engine: Arc<dyn PublicationEngine>,
    mut granted: crate::grants::Authorized,
    user: AuthUser,
) -> Job {
    let (from, to) = (Wall90k(job.from_90k), Wall90k(job.to_90k));
    let what = format!("camera {} from {} to {}", job.camera, job.from, job.to);
    let destination = format!(
        "{} ({})",
        job.recipient,
        vidimus_integrity::publication::MP4
    );
    let (jobs, id, files, mode) = (
        state.publications.clone(),
        job.publication_id.clone(),
        state.files.clone(),
        job.mode,
    );
    let mask = granted.mask.clone();
    let derived = crate::background::below_recording("publication", move || {
        let progress = |done: usize, total: usize| {
            if done.is_multiple_of(25) || done == total {
                jobs.progress(&id, done, total);
            }
            !jobs.stopping.load(std::sync::atomic::Ordering::SeqCst)
        };
        let d = engine.derive(
            &source,
            &files,
            (from, to),
            mode,
            mask.as_ref(),
            &what,
            &destination,
            &progress,
        );
        (source, d)
    })
    .await;
    let (source, derived) = match derived {
        Ok((s, Ok(d))) => (s, d),
        Ok((_, Err(e))) => return failed(state, job, granted, e).await,
        Err(e) => return failed(state, job, granted, e.to_string()).await,
    };
    let derived = match derived {
        Derivation::Released(d) => d,
        Derivation::Blocked { left, report } => {
            let findings = serde_json::from_slice::<serde_json::Value>(&report)
                .ok()
                .map(|r| {
                    serde_json::Value::Array(
                        r["findings"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter(|f| f["masked_after"] == false)
                            .take(MAX_FINDINGS)
                            .cloned()
                            .collect(),
                    )
                })
                .unwrap_or_default();
            let reason = format!(
                "not released: the re-check still finds {left} face(s) or plate(s) outside the masks; nothing was written"
            );
            let _ = granted
                .register(
                    state,
                    serde_json::json!({"outcome": "blocked", "publication_id": job.publication_id,
                        "anonymized": true, "reason": reason, "bytes": 0}),
                )
                .await;
            job.state = JobState::Blocked {
                left,
                findings,
                register_entry: granted.leaf_index,
            };
            return job;
        }
    };
    // Decided again before anything is logged: a grant revoked or expired while the
    // clip was being made publishes nothing (the refusal is registered).
    let w = Whereabouts {
        medium: Some("public broadcast".into()),
        recipient: Some(job.recipient.clone()),
        destination: None,
    };
    let again = crate::grants::authorize(
        state,
        &user,
        Ask {
            action: Action::Publish,
            camera_id: job.camera_id,
            from,
            to,
            whereabouts: Some(&w),
            grant_id: Some(job.grant_id),
            export_id: None,
        },
    )
    .await;
    let granted = match again {
        Ok(mut g) => {
            open_sharing(&mut g);
            // A mask set, changed or removed while the clip was made: not what the
            // camera's mask is now, so not released.
            if g.mask_version.1 != job.privacy_mask_set_90k {
                return failed(
                    state,
                    job,
                    g,
                    "not published: the camera's privacy mask changed while the publication was made; publish it again".into(),
                )
                .await;
            }
            g
        }
        Err(e) => {
            job.state = JobState::Failed {
                error: format!("not published: {}", e.message),
            };
            return job;
        }
    };
    let out_dir = dir(state);
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        return failed(state, job, granted, e.to_string()).await;
    }
    let bundle = out_dir.join(format!("{}.vpub", job.publication_id));
    let clip = out_dir.join(format!("{}.mp4", job.publication_id));
    let key = state.signing_key;
    let data_dir = state.data_dir.clone();
    let (j, mut entry) = (job.clone(), granted.entry.clone());
    let publisher = entry["user"].as_str().unwrap_or_default().to_owned();
    let now = state.clocks.realtime();
    let written = state
        .db
        .run(move |ix| {
            let seed = match key {
                Some(k) => k,
                None => vidimus_store::log::site_key(&data_dir)?,
            };
            let req = vidimus_store::publication::PublicationRequest {
                publication_id: j.publication_id.clone(),
                camera_id: j.camera_id,
                camera: &j.camera,
                from,
                to,
                publisher: &publisher,
                purpose: &j.purpose,
                now,
                request_id: entry["request_id"].as_i64(),
                grant_id: Some(j.grant_id),
                within: None,
            };
            // The clip alone, beside its bundle (the same bytes as its first member):
            // on disk before the publication is registered and logged, put in place
            // once the bundle is.
            let tmp = clip.with_extension("mp4.partial");
            std::fs::write(&tmp, &derived.mp4)
                .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
                .map_err(ApiError::internal)?;
            let mut leaf = -1;
            let s = vidimus_store::publication::write_publication(
                ix,
                &seed,
                &req,
                source,
                &derived,
                vidimus_store::publication::Destination {
                    out: &bundle,
                    replace: false,
                },
                |ix, m| {
                    entry["at"] = serde_json::json!(now.to_string());
                    entry["outcome"] = serde_json::json!("published");
                    entry["anonymized"] = serde_json::json!(true);
                    entry["publication_id"] = serde_json::json!(m.publication_id);
                    entry["bytes"] = serde_json::json!(m.mp4.bytes);
                    leaf = crate::grants::register(ix, now, &entry)
                        .map_err(|e| vidimus_store::StoreError::Invalid(e.message))?;
                    Ok(())
                },
            );
            let s = match s {
                Ok(s) => s,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            };
            std::fs::rename(&tmp, &clip).map_err(ApiError::internal)?;
            Ok((s, leaf, derived))
        })
        .await;
    match written {
        Ok((s, leaf, derived)) => {
            state.checkpoint_soon.notify_one();
            job.state = JobState::Published {
                frames: derived.frames,
                duration_secs: derived.duration_secs,
                sha256: s.manifest.mp4.sha256.clone(),
                mp4_bytes: s.manifest.mp4.bytes,
                bundle_bytes: s.bytes,
                leaf_index: s.leaf_index,
                register_entry: leaf,
                rechecked_frames: derived.recheck().map_or(0, |r| r.frames),
                recheck_found: derived.recheck().map_or(0, |r| r.found),
            };
            job
        }
        Err(e) => failed(state, job, granted, e.message).await,
    }
}

async fn failed(
    state: &AppState,
    mut job: Job,
    mut granted: crate::grants::Authorized,
    error: String,
) -> Job {
    tracing::warn!(publication = %job.publication_id, %error, "publication failed");
    granted.register_failed(state, &error).await;
    job.state = JobState::Failed { error };
    job
}

/// Keeps a finished job on disk (`<id>.job`), so its downloads outlive a restart.
async fn remember(state: &AppState, job: &Job) {
    #[derive(Serialize)]
    struct Kept<'a> {
        user_id: i64,
        from_90k: i64,
        to_90k: i64,
        #[serde(flatten)]
        job: &'a Job,
    }
    let d = dir(state);
    let kept = Kept {
        user_id: job.user_id,
        from_90k: job.from_90k,
        to_90k: job.to_90k,
        job,
    };
    let r = async {
        tokio::fs::create_dir_all(&d).await?;
        let bytes = serde_json::to_vec(&kept).map_err(std::io::Error::other)?;
        tokio::fs::write(d.join(format!("{}.job", job.publication_id)), bytes).await
    };
    if let Err(e) = r.await {
        tracing::warn!(publication = %job.publication_id, error = %e, "cannot keep the publication's record");
    }
}

/// The job `id`, if it is `user`'s (others' are not found: least privilege).
async fn job_of(state: &AppState, user: &AuthUser, id: &str) -> Result<Job, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such publication");
    if !valid_id(id) {
        return Err(not_found());
    }
    let job = state
        .publications
        .jobs
        .lock()
        .expect("jobs lock")
        .get(id)
        .cloned();
    let job = match job {
        Some(j) => j,
        None => {
            #[derive(Deserialize)]
            struct Kept {
                user_id: i64,
                from_90k: i64,
                to_90k: i64,
                #[serde(flatten)]
                job: Job,
            }
            let b = tokio::fs::read(dir(state).join(format!("{id}.job")))
                .await
                .map_err(|_| not_found())?;
            let k: Kept = serde_json::from_slice(&b).map_err(|_| not_found())?;
            let mut job = Job {
                user_id: k.user_id,
                from_90k: k.from_90k,
                to_90k: k.to_90k,
                ..k.job
            };
            // On disk as running, not running in this server: the server stopped while
            // it was being made (its start is registered). Nothing was published.
            if matches!(job.state, JobState::Running { .. }) {
                for ext in ["mp4.partial", "vpub.partial"] {
                    let _ = tokio::fs::remove_file(dir(state).join(format!("{id}.{ext}"))).await;
                }
                job.state = JobState::Failed {
                    error: "interrupted: the server stopped while it was being made; nothing was published".into(),
                };
            }
            job
        }
    };
    if job.user_id != user.user_id {
        return Err(not_found());
    }
    Ok(job)
}

/// How a publication stands (its maker's only).
#[utoipa::path(get, path = "/api/publications/{id}", params(("id" = String, Path,)),
    responses((status = 200, body = Job), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: AuthUser,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(job_of(&state, &user, &id).await?))
}

/// Downloads a publication's clip (`publication.mp4`) or bundle (`publication.vpub`):
/// decided again under the grant it was made under, registered with the bytes served.
/// A publication the re-check blocked has neither: refused and registered.
#[utoipa::path(get, path = "/api/publications/{id}/{file}",
    params(("id" = String, Path,), ("file" = String, Path, description = "`publication.mp4` or `publication.vpub`")),
    responses((status = 200, description = "The anonymized clip or its bundle"),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    user: AuthUser,
) -> Result<Response, ApiError> {
    let (ext, content_type) = match file.as_str() {
        "publication.mp4" => ("mp4", "video/mp4"),
        "publication.vpub" => ("vpub", "application/x-tar"),
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "a publication has publication.mp4 and publication.vpub",
            ));
        }
    };
    let job = job_of(&state, &user, &id).await?;
    let w = Whereabouts {
        medium: Some("publication download".into()),
        recipient: Some(job.recipient.clone()),
        destination: None,
    };
    let mut granted = crate::grants::authorize(
        &state,
        &user,
        Ask {
            action: Action::Publish,
            camera_id: job.camera_id,
            from: Wall90k(job.from_90k),
            to: Wall90k(job.to_90k),
            whereabouts: Some(&w),
            grant_id: Some(job.grant_id),
            export_id: None,
        },
    )
    .await?;
    granted.entry["publication_id"] = serde_json::json!(job.publication_id);
    granted.entry["anonymized"] = serde_json::json!(true);
    let refused = match &job.state {
        JobState::Published { .. } => None,
        JobState::Blocked { .. } => Some((
            "not_released",
            "the re-check found faces or plates outside the masks: this publication was not released and has nothing to download (Art. 31)",
        )),
        JobState::Running { .. } => Some(("not_ready", "the publication is still being made")),
        JobState::Failed { .. } => Some((
            "failed",
            "the publication failed: there is nothing to download",
        )),
    };
    let refused = refused.or_else(|| {
        (granted.mask_version.1 != job.privacy_mask_set_90k).then_some((
            "mask_changed",
            "the camera's privacy mask changed since this publication was made: it is not handed out any more; publish the range again",
        ))
    });
    if let Some((code, reason)) = refused {
        return Err(granted
            .refuse_with(&state, StatusCode::CONFLICT, code, reason)
            .await);
    }
    let path = dir(&state).join(format!("{}.{ext}", job.publication_id));
    let f = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            granted.register_failed(&state, &e.to_string()).await;
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the publication's file is gone",
            ));
        }
    };
    crate::custody::serve_file(
        &state,
        granted,
        f,
        content_type,
        &format!("publication-{}.{ext}", job.publication_id),
        serde_json::json!({"outcome": "served", "file": file}),
    )
    .await
}
