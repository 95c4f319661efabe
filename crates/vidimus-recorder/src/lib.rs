//! Vidimus recorder: cameras in, durable segments out.
//!
//! - [`stream`]: one supervised RTSP session per camera (retina), with back-off and gaps.
//! - [`live`]: the per-camera broadcast of received frames to live viewers.
//! - [`segmenter`]: frames → GOP fragments → ~60 s segments (sans-IO).
//! - [`writer`]: the one disk writer per data directory, with batched fsync.
//! - [`stats`]: per-stream counters for `/metrics`.
//! - [`status`]: alarms, the disk-full pause and the capacity forecast.
//!
//! [`Recorder::start`] locks the data directory, runs crash recovery, records a new
//! run, starts the writer, and supervises one stream task per camera in the index
//! (cameras added or removed while running are picked up within `camera_poll`).

pub mod live;
pub mod segmenter;
pub mod stats;
pub mod status;
pub mod stream;
pub mod writer;

use stats::StatsRegistry;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use vidimus_core::camera::{CameraId, SourceUrl};
use vidimus_core::clock::Clocks;
use vidimus_store::files::DataDirLock;
use vidimus_store::index::{CameraRow, MetadataStore, SqliteIndex};
use vidimus_store::reconcile::{self, RecoveryReport};
use vidimus_store::{SegmentFiles, StoreError};

/// Recorder settings (see the configuration reference in `docs/configuration.md`).
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    pub data_dir: PathBuf,
    pub sync_interval: Duration,
    pub segmenter: segmenter::SegmenterConfig,
    pub connect_timeout: Duration,
    pub stall_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub camera_poll: Duration,
    pub writer_queue: usize,
    /// Frames a live viewer may fall behind before it skips to the next key frame.
    pub live_buffer_frames: usize,
    /// The rules retention is checked against.
    pub rulebook: Arc<vidimus_core::rulebook::Rulebook>,
    /// How often the retention cleaner runs.
    pub cleaner_interval: Duration,
    /// Free space kept on the segment filesystem (recording pauses below it). None:
    /// 1 GiB, but at most 2 % of the filesystem.
    pub disk_reserve: Option<u64>,
    /// Days added to each camera's legal minimum before the capacity alarm sounds.
    pub capacity_margin_days: u32,
    /// How often the capacity forecast is recomputed.
    pub capacity_interval: Duration,
    /// How often open segments' new fragments are logged and a checkpoint signed.
    pub checkpoint_interval: Duration,
    /// The log's signing key, from the configuration (None: where the data directory
    /// says it is, for tests and tools). Read once at start: a file swapped later is
    /// not picked up.
    pub key_file: Option<PathBuf>,
}

impl RecorderConfig {
    pub fn new(data_dir: PathBuf) -> Self {
        RecorderConfig {
            data_dir,
            sync_interval: Duration::from_secs(2),
            segmenter: Default::default(),
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            camera_poll: Duration::from_secs(2),
            writer_queue: 4096,
            live_buffer_frames: live::LiveHub::CAPACITY,
            rulebook: Arc::new(vidimus_core::rulebook::Rulebook::shenzhen_draft()),
            cleaner_interval: Duration::from_secs(600),
            disk_reserve: None,
            capacity_margin_days: 7,
            capacity_interval: Duration::from_secs(60),
            key_file: None,
            checkpoint_interval: Duration::from_secs(30),
        }
    }
}

/// Errors starting or stopping the recorder.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("recorder task failed: {0}")]
    Task(String),
}

/// A running recorder.
pub struct Recorder {
    stats: StatsRegistry,
    live: live::LiveHub,
    stop: watch::Sender<bool>,
    supervisor: tokio::task::JoinHandle<()>,
    writer_join: std::thread::JoinHandle<Box<dyn MetadataStore>>,
    run_id: i64,
    recovery: RecoveryReport,
    clocks: Arc<dyn Clocks>,
    data_dir: PathBuf,
    /// The signing key, read once at start.
    seed: [u8; 32],
    status: status::SiteStatus,
    _lock: DataDirLock,
}

impl Recorder {
    /// Locks the data directory, recovers from any crash, and starts recording.
    pub async fn start(
        cfg: RecorderConfig,
        clocks: Arc<dyn Clocks>,
    ) -> Result<Self, RecorderError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(StoreError::io(format!(
            "creating data directory {}",
            cfg.data_dir.display()
        )))?;
        let lock = DataDirLock::acquire(&cfg.data_dir)?;
        let files = SegmentFiles::open(&cfg.data_dir)?;
        let mut index = SqliteIndex::open(&cfg.data_dir.join("index.db"))?;
        let recovery = reconcile::recover(&mut index, &files)?;
        let (run_id, prev) = index.start_run(clocks.realtime())?;
        let prev_clean = prev.as_ref().is_none_or(|p| p.ended_90k.is_some());
        if !recovery.is_empty() || !prev_clean {
            tracing::warn!(
                closed = recovery.closed.len(),
                adopted = recovery.adopted.len(),
                quarantined = recovery.quarantined.len(),
                missing = recovery.missing.len(),
                "the previous run did not shut down cleanly; recovered"
            );
        }
        index.set_run_recovery(
            run_id,
            &serde_json::to_string(&recovery).unwrap_or_default(),
        )?;
        let stats = StatsRegistry::default();
        let status = status::SiteStatus::default();
        let (free, total) = files.space()?;
        status.set_disk_space(free, total);
        let reserve_bytes = cfg.disk_reserve.unwrap_or((1 << 30).min(total / 50));
        let (writer, writer_join) = writer::spawn(
            Box::new(index),
            files,
            run_id,
            writer::WriterConfig {
                sync_interval: cfg.sync_interval,
                queue_len: cfg.writer_queue,
                reserve_bytes,
            },
            stats.clone(),
            status.clone(),
            clocks.clone(),
        );
        let (stop, stop_rx) = watch::channel(false);
        let live = live::LiveHub::new(cfg.live_buffer_frames);
        let restart_cause = if prev_clean {
            "recorder was not running".to_owned()
        } else {
            "recorder stopped unexpectedly (crash or power loss); recovered at start-up".to_owned()
        };
        tokio::spawn(clean_periodically(
            cfg.clone(),
            clocks.clone(),
            stop_rx.clone(),
        ));
        let seed = match &cfg.key_file {
            Some(k) => vidimus_store::log::read_key(k)?,
            None => vidimus_store::log::site_key(&cfg.data_dir)?,
        };
        tokio::spawn(checkpoint_periodically(
            cfg.data_dir.clone(),
            seed,
            cfg.checkpoint_interval,
            clocks.clone(),
            stop_rx.clone(),
        ));
        tokio::spawn(capacity_periodically(
            cfg.clone(),
            reserve_bytes,
            status.clone(),
            clocks.clone(),
            stop_rx.clone(),
        ));
        let data_dir = cfg.data_dir.clone();
        let supervisor = tokio::spawn(supervise(
            cfg,
            Shared {
                writer,
                stats: stats.clone(),
                live: live.clone(),
                status: status.clone(),
                clocks: clocks.clone(),
            },
            restart_cause,
            stop_rx,
        ));
        Ok(Recorder {
            stats,
            live,
            stop,
            supervisor,
            writer_join,
            run_id,
            recovery,
            clocks,
            data_dir,
            seed,
            status,
            _lock: lock,
        })
    }

    /// Alarms, the disk-full pause, the capacity forecast.
    pub fn status(&self) -> &status::SiteStatus {
        &self.status
    }

    /// Per-stream counters.
    pub fn stats(&self) -> &StatsRegistry {
        &self.stats
    }

    /// The live fan-out, for viewers.
    pub fn live(&self) -> &live::LiveHub {
        &self.live
    }

    /// What start-up recovery did.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Stops every stream (writing what each has received), syncs, and marks the run
    /// as cleanly ended.
    pub async fn shutdown(self) -> Result<(), RecorderError> {
        let _ = self.stop.send(true);
        self.supervisor
            .await
            .map_err(|e| RecorderError::Task(e.to_string()))?;
        let run_id = self.run_id;
        let now = self.clocks.realtime();
        let writer_join = self.writer_join;
        let (data_dir, seed) = (self.data_dir, self.seed);
        tokio::task::spawn_blocking(move || {
            let mut index = writer_join
                .join()
                .map_err(|_| RecorderError::Task("writer thread panicked".into()))?;
            index.end_run(run_id, now)?;
            drop(index);
            // A final checkpoint covers the segments closed at shutdown.
            let mut ix = SqliteIndex::open(&data_dir.join("index.db"))?;
            ix.checkpoint(&seed, now)?;
            Ok::<_, RecorderError>(())
        })
        .await
        .map_err(|e| RecorderError::Task(e.to_string()))??;
        tracing::info!("recorder stopped cleanly");
        Ok(())
    }
}

/// What identifies a camera's sources: a change restarts its tasks.
type Fingerprint = (String, Option<String>, Option<String>, Option<String>);

struct Running {
    fingerprint: Fingerprint,
    stop: watch::Sender<bool>,
    /// The recording task, and the live sub-stream task if the camera has one.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What every stream task shares.
struct Shared {
    writer: writer::WriterHandle,
    stats: StatsRegistry,
    live: live::LiveHub,
    status: status::SiteStatus,
    clocks: Arc<dyn Clocks>,
}

/// Keeps one stream task per camera in the index.
async fn supervise(
    cfg: RecorderConfig,
    shared: Shared,
    restart_cause: String,
    mut stop: watch::Receiver<bool>,
) {
    let Shared {
        writer,
        stats,
        live,
        status,
        clocks,
    } = shared;
    let group = Arc::new(retina::client::SessionGroup::default());
    let db = cfg.data_dir.join("index.db");
    let mut running: HashMap<CameraId, Running> = HashMap::new();
    let mut first_pass = true;
    loop {
        let db2 = db.clone();
        let listed = tokio::task::spawn_blocking(
            move || -> Result<Vec<(CameraRow, Option<vidimus_core::time::Wall90k>)>, StoreError> {
                let ix = SqliteIndex::open(&db2)?;
                let cams = ix.cameras(false)?;
                cams.into_iter()
                    .map(|c| {
                        let end = ix.last_recorded_end(c.id)?;
                        Ok((c, end))
                    })
                    .collect()
            },
        )
        .await;
        match listed {
            Ok(Ok(cams)) => {
                let wanted: std::collections::HashSet<CameraId> =
                    cams.iter().map(|(c, _)| c.id).collect();
                for (cam, last_end) in cams {
                    let fp = (
                        cam.url.clone(),
                        cam.username.clone(),
                        cam.password.clone(),
                        cam.live_url.clone(),
                    );
                    if running.get(&cam.id).is_some_and(|r| r.fingerprint == fp) {
                        continue;
                    }
                    if let Some(old) = running.remove(&cam.id) {
                        let _ = old.stop.send(true);
                        for t in old.tasks {
                            let _ = t.await;
                        }
                    }
                    let source = match SourceUrl::parse(
                        &cam.url,
                        cam.username.clone(),
                        cam.password.clone(),
                    ) {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::error!(camera = %cam.name, error = %e, "camera URL unusable; not recording it");
                            continue;
                        }
                    };
                    let initial_gap = last_end.map(|t| {
                        (
                            t,
                            if first_pass {
                                restart_cause.clone()
                            } else {
                                "camera source changed".to_owned()
                            },
                        )
                    });
                    let scfg = stream::StreamConfig {
                        camera_id: cam.id,
                        name: cam.name.clone(),
                        source,
                        segmenter: cfg.segmenter,
                        connect_timeout: cfg.connect_timeout,
                        stall_timeout: cfg.stall_timeout,
                        backoff_initial: cfg.backoff_initial,
                        backoff_max: cfg.backoff_max,
                        publish_live: cam.live_url.is_none(),
                    };
                    let live_cfg = cam.live_url.as_deref().and_then(|u| {
                        match SourceUrl::parse(u, cam.username.clone(), cam.password.clone()) {
                            Ok(source) => Some(stream::StreamConfig { source, publish_live: true, ..scfg.clone() }),
                            Err(e) => {
                                tracing::error!(camera = %cam.name, error = %e, "live sub-stream URL unusable");
                                None
                            }
                        }
                    });
                    let ctx = stream::StreamContext {
                        writer: writer.clone(),
                        stats: stats.stream(cam.id, &cam.name),
                        live: live.sender(cam.id),
                        clocks: clocks.clone(),
                        group: group.clone(),
                        status: status.clone(),
                    };
                    let (tx, rx) = watch::channel(false);
                    tracing::info!(camera = %cam.name, url = %cam.url, "starting stream");
                    let mut tasks = Vec::new();
                    if let Some(lc) = live_cfg {
                        tasks.push(tokio::spawn(stream::run_live_only(
                            lc,
                            ctx.clone(),
                            rx.clone(),
                        )));
                    }
                    tasks.push(tokio::spawn(stream::run(scfg, ctx, initial_gap, rx)));
                    running.insert(
                        cam.id,
                        Running {
                            fingerprint: fp,
                            stop: tx,
                            tasks,
                        },
                    );
                }
                let gone: Vec<CameraId> = running
                    .keys()
                    .filter(|k| !wanted.contains(k))
                    .copied()
                    .collect();
                for id in gone {
                    if let Some(r) = running.remove(&id) {
                        tracing::info!(camera_id = id, "camera removed; stopping its stream");
                        let _ = r.stop.send(true);
                        for t in r.tasks {
                            let _ = t.await;
                        }
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot read cameras from the index"),
            Err(e) => tracing::error!(error = %e, "camera listing task failed"),
        }
        first_pass = false;
        tokio::select! {
            _ = tokio::time::sleep(cfg.camera_poll) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    for r in running.values() {
        let _ = r.stop.send(true);
    }
    for (_, r) in running {
        for t in r.tasks {
            let _ = t.await;
        }
    }
}

/// Runs the retention cleaner every `cleaner_interval` (the first pass a minute after
/// start), on its own index connection.
async fn clean_periodically(
    cfg: RecorderConfig,
    clocks: Arc<dyn Clocks>,
    mut stop: watch::Receiver<bool>,
) {
    let mut wait = Duration::from_secs(60).min(cfg.cleaner_interval);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        wait = cfg.cleaner_interval;
        let (dir, rulebook, now) = (
            cfg.data_dir.clone(),
            cfg.rulebook.clone(),
            clocks.realtime(),
        );
        let r = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let files = SegmentFiles::open(&dir)?;
            let mut ix = SqliteIndex::open(&dir.join("index.db"))?;
            ix.clean(&files, &rulebook, now)
        })
        .await;
        match r {
            Ok(Ok(rep)) if !rep.deleted.is_empty() => {
                tracing::info!(
                    deleted = rep.deleted.len(),
                    bytes = rep.bytes_freed,
                    kept_by_hold = rep.kept_by_hold,
                    "retention: deleted expired segments"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "retention cleaner failed"),
            Err(e) => tracing::error!(error = %e, "retention cleaner task failed"),
        }
    }
}

/// Recomputes the capacity forecast from the last day's measured bitrates, and raises
/// or clears the `capacity` alarm (each transition recorded in the system log).
async fn capacity_periodically(
    cfg: RecorderConfig,
    reserve_bytes: u64,
    status: status::SiteStatus,
    clocks: Arc<dyn Clocks>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(cfg.capacity_interval) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (cfg2, status2, now) = (cfg.clone(), status.clone(), clocks.realtime());
        let r = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            use vidimus_core::capacity;
            use vidimus_core::rulebook::RetentionSubject;
            let ix = SqliteIndex::open(&cfg2.data_dir.join("index.db"))?;
            let files = SegmentFiles::open(&cfg2.data_dir)?;
            let rates: HashMap<CameraId, (i64, i64)> = ix
                .recent_rates(now - vidimus_core::retention::DAY)?
                .into_iter()
                .map(|(c, b, d)| (c, (b, d)))
                .collect();
            let streams: Vec<capacity::StreamRate> = ix
                .cameras(false)?
                .into_iter()
                .filter_map(|c| {
                    let &(bytes, dur) = rates.get(&c.id)?;
                    let legal = cfg2
                        .rulebook
                        .min_retention(RetentionSubject::Video, c.key_target)
                        .map_or(0, |r| r.min_days);
                    (dur > 0).then(|| capacity::StreamRate {
                        camera_id: c.id,
                        bytes_per_day: bytes as f64 * (86_400.0 * 90_000.0) / dur as f64,
                        retention_days: vidimus_core::retention::effective_days(
                            c.retention_days.and_then(|d| u32::try_from(d).ok()),
                            legal,
                        ),
                        legal_min_days: legal,
                    })
                })
                .collect();
            let (free, total) = files.space()?;
            let f = capacity::forecast(
                &streams,
                &capacity::DiskUsage {
                    total_bytes: total,
                    free_bytes: free,
                    recorded_bytes: ix.recorded_bytes()?.max(0) as u64,
                    reserve_bytes,
                },
                cfg2.capacity_margin_days,
            );
            let transition = match f.status {
                capacity::CapacityStatus::Ok => {
                    status2.clear("capacity").then_some("alarm_cleared")
                }
                s => {
                    let sev = if s == capacity::CapacityStatus::BelowLegalMinimum {
                        status::Severity::Critical
                    } else {
                        status::Severity::Warning
                    };
                    status2
                        .raise(
                            "capacity",
                            sev,
                            vidimus_core::lang::Text::new(f.message.clone(), f.message_zh.clone()),
                            now,
                        )
                        .then_some("alarm_raised")
                }
            };
            if let Some(event) = transition {
                tracing::warn!(message = %f.message, "{event}: capacity");
                ix.log_event(
                    now,
                    event,
                    "recorder",
                    None,
                    serde_json::json!({"alarm": "capacity", "message": f.message}),
                )?;
            }
            status2.set_capacity(f);
            Ok(())
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "capacity forecast failed"),
            Err(e) => tracing::error!(error = %e, "capacity task failed"),
        }
    }
}

/// How soon after start-up a run's first video is checkpointed: until the first
/// fragments of this run are logged, checkpoints come this often (not every
/// `checkpoint_interval`), so a run that crashes within seconds leaves its leaves
/// signed.
pub const FIRST_CHECKPOINTS_EVERY: Duration = Duration::from_secs(2);

/// At start-up, and then every `interval`: logs the new fragments of segments still
/// being written (so a fragment is covered within `sync_interval` + `interval` of
/// being written, not only when its segment closes), then signs a checkpoint of the
/// log if it grew. The first checkpoint is signed at once (it covers recovery and the
/// run's start); until the run's first fragments are logged, every
/// [`FIRST_CHECKPOINTS_EVERY`].
async fn checkpoint_periodically(
    dir: PathBuf,
    seed: [u8; 32],
    interval: Duration,
    clocks: Arc<dyn Clocks>,
    mut stop: watch::Receiver<bool>,
) {
    let logged = Arc::new(std::sync::Mutex::new(HashMap::new()));
    let mut first = true;
    let mut video_logged = false;
    loop {
        if !first {
            let wait = if video_logged {
                interval
            } else {
                interval.min(FIRST_CHECKPOINTS_EVERY)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        first = false;
        let (dir, now, logged) = (dir.clone(), clocks.realtime(), logged.clone());
        let r = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let mut ix = SqliteIndex::open(&dir.join("index.db"))?;
            let n = ix.log_open_segments(now, &mut logged.lock().expect("logged lock"))?;
            Ok((n, ix.checkpoint(&seed, now)?))
        })
        .await;
        if let Ok(Ok((n, _))) = &r {
            video_logged |= *n > 0;
        }
        let r = r.map(|r| r.map(|(_, c)| c));
        match r {
            Ok(Ok(Some(c))) => tracing::debug!(size = c.size, "signed a log checkpoint"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "checkpoint failed"),
            Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
        }
    }
}
