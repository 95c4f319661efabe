//! Site health for operators: active alarms (disk full, capacity), whether recording
//! is paused, free space and the capacity forecast — `GET /api/status` for the
//! console's banner, and the same facts as Prometheus metrics.

use crate::AppState;
use crate::auth::AuthUser;
use axum::Json;
use axum::extract::State;
use std::fmt::Write;

/// An active alarm.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AlarmInfo {
    /// `disk_full` or `capacity`.
    pub id: String,
    /// `critical` or `warning`.
    pub severity: String,
    pub message: String,
    /// When it was raised (RFC 3339).
    pub since: String,
    /// Whether this user acknowledged it (since it was raised).
    pub acknowledged: bool,
    /// What it means here, when the site says (the demo explains its capacity alarm).
    pub note: Option<String>,
}

/// The capacity forecast.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CapacityInfo {
    /// `ok`, `below_configured_retention` or `below_legal_minimum`.
    pub status: String,
    /// Days of all cameras the store holds at the measured bitrates (null: nothing
    /// recorded yet).
    pub days_storable: Option<f64>,
    pub bytes_per_day: f64,
    pub capacity_bytes: u64,
    /// The longest legal minimum among the cameras, and the margin added to each.
    pub longest_legal_days: u32,
    pub margin_days: u32,
    pub message: String,
}

/// The site's health.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SiteStatusInfo {
    pub alarms: Vec<AlarmInfo>,
    /// Recording is paused because the disk is full.
    pub recording_paused: bool,
    pub disk_free_bytes: u64,
    pub disk_total_bytes: u64,
    /// Null until the first forecast (within `capacity_interval` of start).
    pub capacity: Option<CapacityInfo>,
    /// The HTTPS certificate's SHA-256 fingerprint (null over plain HTTP), to compare
    /// with what the browser shows; `tls_self_signed` when it was generated here.
    pub tls_fingerprint: Option<String>,
    pub tls_self_signed: bool,
    /// The site's time zone (IANA, `[site] time_zone`): the console shows every time
    /// in it, with the zone beside it.
    pub time_zone: String,
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Alarms, disk and capacity.
#[utoipa::path(get, path = "/api/status", responses(
    (status = 200, body = SiteStatusInfo), (status = 401, body = crate::error::ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<SiteStatusInfo>, crate::error::ApiError> {
    let s = &state.status;
    let (free, total) = s.disk_space();
    let acts = may_act(&state, &user).await?;
    let acks = state.alarm_acks.lock().expect("acks lock").clone();
    Ok(Json(SiteStatusInfo {
        alarms: s
            .alarms()
            .into_iter()
            // Shown to those who can act on it: the system manager's administrators
            // (storage, cameras); a paused recording concerns everyone.
            .filter(|a| acts || a.id == "disk_full")
            .map(|a| AlarmInfo {
                severity: snake(&a.severity),
                acknowledged: acks.contains(&(user.user_id, a.id.clone(), a.since.clone())),
                note: (state.demo && a.id == "capacity").then(|| {
                    user.lang.pick(
                        "this is the demo: its simulated cameras record onto whatever disk it runs on, and a small disk cannot hold four cameras for the legal 30 days — expected here; on a real site add storage or lower bitrates",
                        "这是演示：模拟摄像机录制到运行它的磁盘上，小磁盘无法保存四台摄像机法定的30日录像——在此属于预期情况；实际场所请增加存储或降低码率",
                    ).to_owned()
                }),
                id: a.id,
                message: user.lang.pick(&a.message, &a.message_zh).to_owned(),
                since: a.since,
            })
            .collect(),
        recording_paused: s.disk_full(),
        disk_free_bytes: free,
        disk_total_bytes: total,
        capacity: s.capacity().map(|f| CapacityInfo {
            status: snake(&f.status),
            days_storable: f.days_storable,
            bytes_per_day: f.bytes_per_day,
            capacity_bytes: f.capacity_bytes,
            longest_legal_days: f.longest_legal_days,
            margin_days: f.margin_days,
            message: user.lang.pick(&f.message, &f.message_zh).to_owned(),
        }),
        tls_fingerprint: state.tls.as_ref().map(|t| t.fingerprint.clone()),
        tls_self_signed: state.tls.as_ref().is_some_and(|t| t.self_signed),
        time_zone: state.time_zone.clone(),
    }))
}

/// Whether `user` can act on the site's alarms: an administrator of the system
/// manager.
pub(crate) async fn may_act(
    state: &AppState,
    user: &AuthUser,
) -> Result<bool, crate::error::ApiError> {
    if user.role != "admin" {
        return Ok(false);
    }
    let uid = user.user_id;
    state
        .db
        .run(move |ix| {
            let u = ix.user_by_id(uid)?;
            let kind = match u {
                Some(u) => ix.org(u.org_id)?.map(|o| o.kind),
                None => None,
            };
            Ok(kind.is_none_or(|k| k == "system_manager"))
        })
        .await
}

/// Acknowledges an alarm for this user (until it is raised again); the system log
/// records who acknowledged what.
#[utoipa::path(post, path = "/api/alarms/{id}/ack", params(("id" = String, Path,)),
    responses((status = 204, description = "Acknowledged"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn acknowledge(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, crate::error::ApiError> {
    let acts = may_act(&state, &user).await?;
    let Some(a) = state
        .status
        .alarms()
        .into_iter()
        .find(|a| a.id == id && (acts || a.id == "disk_full"))
    else {
        return Err(crate::error::ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no active alarm {id:?}"),
        ));
    };
    state.alarm_acks.lock().expect("acks lock").insert((
        user.user_id,
        a.id.clone(),
        a.since.clone(),
    ));
    let now = state.clocks.realtime();
    let who = user.username.clone();
    state
        .db
        .run(move |ix| {
            ix.log_event(
                now,
                "alarm_acknowledged",
                &who,
                None,
                serde_json::json!({"alarm": a.id, "since": a.since}),
            )?;
            Ok(())
        })
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The status as Prometheus metrics (appended to the per-stream ones).
pub fn prometheus(state: &AppState, out: &mut String) {
    let s = &state.status;
    let (free, total) = s.disk_space();
    let _ = writeln!(
        out,
        "# HELP vidimus_disk_free_bytes Free bytes on the segment filesystem.\n# TYPE vidimus_disk_free_bytes gauge\nvidimus_disk_free_bytes {free}"
    );
    let _ = writeln!(
        out,
        "# HELP vidimus_disk_total_bytes Size of the segment filesystem.\n# TYPE vidimus_disk_total_bytes gauge\nvidimus_disk_total_bytes {total}"
    );
    let _ = writeln!(
        out,
        "# HELP vidimus_recording_paused 1 while recording is paused because the disk is full.\n# TYPE vidimus_recording_paused gauge\nvidimus_recording_paused {}",
        u8::from(s.disk_full())
    );
    if let Some(d) = s.capacity().and_then(|f| f.days_storable) {
        let _ = writeln!(
            out,
            "# HELP vidimus_capacity_days Days of video the store holds at the measured bitrates.\n# TYPE vidimus_capacity_days gauge\nvidimus_capacity_days {d:.3}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP vidimus_alarm Active alarms (1 each).\n# TYPE vidimus_alarm gauge"
    );
    for a in s.alarms() {
        let _ = writeln!(
            out,
            "vidimus_alarm{{alarm=\"{}\",severity=\"{}\"}} 1",
            a.id,
            snake(&a.severity)
        );
    }
}

/// The districts (Shenzhen's), the one list organisations' regions, cameras' regions
/// and systems' districts come from: id, English and Chinese names.
#[utoipa::path(get, path = "/api/districts", responses((status = 200, description = "[{id, en, zh}]")))]
pub async fn districts(
    _user: crate::auth::AuthUser,
) -> axum::Json<&'static [vidimus_core::district::District]> {
    axum::Json(vidimus_core::district::DISTRICTS)
}

/// One place type of the rulebook, for people.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PlaceInfo {
    pub id: String,
    pub en: String,
    pub zh: String,
    /// Art. 10 (or a reading of its "such as") prohibits installing a system there.
    pub prohibited: bool,
}

/// The place types a camera's `location_type` may take (the rulebook's closed
/// vocabulary): what the console offers and how it names them.
#[utoipa::path(get, path = "/api/places", responses((status = 200, body = Vec<PlaceInfo>)))]
pub async fn places(State(state): State<AppState>, _user: AuthUser) -> Json<Vec<PlaceInfo>> {
    Json(
        state
            .compliance
            .places
            .iter()
            .map(|p| PlaceInfo {
                id: p.id.clone(),
                en: p.en.clone(),
                zh: p.zh.clone(),
                prohibited: p.prohibited,
            })
            .collect(),
    )
}
