//! The disk writer: one thread per data directory, owning every open segment file and
//! the index connection.
//!
//! Stream tasks send it [`Output`]s. It appends each fragment with one vectored write
//! (header, then the frames' buffers as received — no copy), and every `sync_interval`
//! it makes everything durable in one batch:
//!
//! 1. `fdatasync` every file written since the last batch; for a new file also fsync
//!    its directory (and the parents of directories created for it);
//! 2. then one index transaction: insert new segments, update progress, close closed
//!    segments, record gap changes.
//!
//! So the index never claims bytes that are not on disk. After a crash the files may
//! hold more than the index says; start-up recovery reads that from the files.
//! A failed write truncates the file back to its last complete fragment, closes the
//! segment and opens a gap with the error as cause: the file stays playable.

use crate::stats::{StatsRegistry, StreamStats};
use crate::status::{Severity, SiteStatus};
use std::collections::HashMap;
use std::io::{IoSlice, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use vidimus_core::camera::CameraId;
use vidimus_core::clock::Clocks;
use vidimus_core::time::{Duration90k, Wall90k};
use vidimus_media::VideoCodec;
use vidimus_store::files::{NewFile, SegmentFiles};
use vidimus_store::fragment_index::{self, FragmentEntry};
use vidimus_store::index::{IndexOp, MetadataStore, SegmentRow, SegmentState};

/// Opens a segment.
#[derive(Debug)]
pub struct OpenMsg {
    pub camera_id: CameraId,
    pub start: Wall90k,
    /// The init segment bytes (ftyp + moov).
    pub init: Vec<u8>,
    pub codec: VideoCodec,
    pub width: u16,
    pub height: u16,
    pub sample_entry: Vec<u8>,
}

/// Appends one fragment to the camera's open segment.
#[derive(Debug)]
pub struct FragmentMsg {
    pub camera_id: CameraId,
    /// prft + moof + mdat header.
    pub header: Vec<u8>,
    /// The samples, in order, as received.
    pub frames: Vec<bytes::Bytes>,
    /// The fragment's `mfhd` sequence number (1 for a segment's first fragment).
    pub sequence: u32,
    /// Header plus sample bytes.
    pub len: u64,
    pub media_duration: u64,
    pub samples: u64,
    pub wall_start: Wall90k,
    pub wall_duration: Duration90k,
}

/// A command for the writer.
#[derive(Debug)]
pub enum Output {
    Open(OpenMsg),
    Fragment(FragmentMsg),
    Close {
        camera_id: CameraId,
    },
    /// A gap change, applied with the next batch.
    Index(IndexOp),
    /// Makes everything durable now and acknowledges.
    Sync(std::sync::mpsc::Sender<()>),
}

/// Why a command was not queued.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("writer backlog is full")]
    Full,
    #[error("writer has stopped")]
    Stopped,
}

/// Sends commands to the writer thread.
///
/// Control commands (open, close, index changes, sync) are always queued, so segment
/// boundaries and gaps are never lost. Fragments are bounded: when more than
/// `queue_len` wait (the disk is slower than the cameras), [`WriterHandle::try_send`]
/// refuses them and the stream records the loss as a gap.
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: Sender<Output>,
    backlog: Arc<AtomicUsize>,
    limit: usize,
}

impl WriterHandle {
    /// Queues a command; a fragment is refused when the backlog is full.
    pub fn try_send(&self, o: Output) -> Result<(), SendError> {
        if matches!(o, Output::Fragment(_)) {
            if self.backlog.fetch_add(1, Ordering::AcqRel) >= self.limit {
                self.backlog.fetch_sub(1, Ordering::AcqRel);
                return Err(SendError::Full);
            }
            return self.tx.send(o).map_err(|_| {
                self.backlog.fetch_sub(1, Ordering::AcqRel);
                SendError::Stopped
            });
        }
        self.tx.send(o).map_err(|_| SendError::Stopped)
    }

    /// Makes all written data durable and indexed; returns when done.
    pub fn sync(&self) -> Result<(), SendError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.try_send(Output::Sync(tx))?;
        rx.recv().map_err(|_| SendError::Stopped)
    }
}

struct OpenFile {
    file: std::fs::File,
    /// Set until the file's directory entries have been made durable.
    new_dirs: Option<Vec<std::path::PathBuf>>,
    row: SegmentRow,
    /// The index row id, once inserted.
    id: Option<i64>,
    dirty: bool,
    /// A write failed: further fragments of this segment are dropped.
    failed: bool,
    /// The sequence number the next fragment must carry.
    next_sequence: u32,
    stats: Arc<StreamStats>,
}

/// Writer settings.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    pub sync_interval: Duration,
    /// Commands that may wait in the queue before stream tasks start dropping.
    pub queue_len: usize,
    /// Free bytes kept on the segment filesystem: below this, recording pauses
    /// (segments closed cleanly at their last fragment); it resumes at 1.5 × this.
    pub reserve_bytes: u64,
}

/// Starts the writer thread. It stops (after a final sync) when every handle is dropped.
pub fn spawn(
    index: Box<dyn MetadataStore>,
    files: SegmentFiles,
    run_id: i64,
    cfg: WriterConfig,
    stats: StatsRegistry,
    status: SiteStatus,
    clocks: Arc<dyn Clocks>,
) -> (
    WriterHandle,
    std::thread::JoinHandle<Box<dyn MetadataStore>>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let backlog = Arc::new(AtomicUsize::new(0));
    let w = Writer {
        index,
        files,
        run_id,
        cfg,
        stats,
        open: HashMap::new(),
        closing: Vec::new(),
        ops: Vec::new(),
        waiters: Vec::new(),
        backlog: backlog.clone(),
        status,
        clocks,
    };
    let join = std::thread::Builder::new()
        .name("vidimus-writer".into())
        .spawn(move || w.run(rx))
        .expect("spawning writer thread");
    (
        WriterHandle {
            tx,
            backlog,
            limit: cfg.queue_len,
        },
        join,
    )
}

struct Writer {
    index: Box<dyn MetadataStore>,
    files: SegmentFiles,
    run_id: i64,
    cfg: WriterConfig,
    stats: StatsRegistry,
    open: HashMap<CameraId, OpenFile>,
    closing: Vec<OpenFile>,
    ops: Vec<IndexOp>,
    waiters: Vec<std::sync::mpsc::Sender<()>>,
    backlog: Arc<AtomicUsize>,
    status: SiteStatus,
    clocks: Arc<dyn Clocks>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Output>) -> Box<dyn MetadataStore> {
        let mut next_sync = Instant::now() + self.cfg.sync_interval;
        loop {
            let timeout = next_sync.saturating_duration_since(Instant::now());
            match rx.recv_timeout(timeout) {
                Ok(msg) => self.handle(msg),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= next_sync || !self.waiters.is_empty() {
                self.sync();
                next_sync = Instant::now() + self.cfg.sync_interval;
            }
        }
        // Shutting down: everything still open is closed and made durable.
        let open: Vec<CameraId> = self.open.keys().copied().collect();
        for c in open {
            self.close(c);
        }
        self.sync();
        self.index
    }

    fn handle(&mut self, msg: Output) {
        match msg {
            Output::Open(m) => self.open_segment(m),
            Output::Fragment(f) => {
                self.backlog.fetch_sub(1, Ordering::AcqRel);
                self.append(f)
            }
            Output::Close { camera_id } => self.close(camera_id),
            Output::Index(op) => self.ops.push(op),
            Output::Sync(ack) => self.waiters.push(ack),
        }
    }

    fn open_segment(&mut self, m: OpenMsg) {
        self.close(m.camera_id);
        let stats = self.stats.stream(m.camera_id, "");
        if self.status.disk_full() {
            // Paused: the stream records the gap; no file is created on a full disk.
            return;
        }
        let created = self.files.create(m.camera_id, m.start).and_then(|nf| {
            let NewFile {
                rel,
                mut file,
                new_dirs,
            } = nf;
            file.write_all(&m.init)
                .map_err(vidimus_store::StoreError::io(format!(
                    "writing init segment of {rel}"
                )))?;
            Ok((rel, file, new_dirs))
        });
        let (rel, file, new_dirs) = match created {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(camera_id = m.camera_id, error = %e, "cannot create segment file");
                self.write_failed_gap(m.camera_id, m.start, &e.to_string(), &stats);
                return;
            }
        };
        StreamStats::add(&stats.bytes_written, m.init.len() as u64);
        let row = SegmentRow {
            id: 0,
            camera_id: m.camera_id,
            path: rel,
            state: SegmentState::Open,
            run_id: Some(self.run_id),
            start_90k: m.start.0,
            end_90k: m.start.0,
            media_duration_90k: 0,
            bytes: m.init.len() as i64,
            frames: 0,
            fragments: 0,
            codec: m.codec.as_str().to_owned(),
            width: i64::from(m.width),
            height: i64::from(m.height),
            sample_entry: m.sample_entry,
            init_len: m.init.len() as i64,
            fragment_index: Vec::new(),
            fragment_hashes: vidimus_integrity::sha256_parts([m.init.as_slice()]).to_vec(),
        };
        self.open.insert(
            m.camera_id,
            OpenFile {
                file,
                new_dirs: Some(new_dirs),
                row,
                id: None,
                dirty: false,
                failed: false,
                next_sequence: 1,
                stats,
            },
        );
    }

    fn append(&mut self, f: FragmentMsg) {
        let Some(of) = self.open.get_mut(&f.camera_id) else {
            let stats = self.stats.stream(f.camera_id, "");
            StreamStats::add(&stats.frames_dropped, f.samples);
            return;
        };
        if of.failed {
            StreamStats::add(&of.stats.frames_dropped, f.samples);
            return;
        }
        if f.sequence != of.next_sequence {
            // A fragment was lost before it reached the writer; appending this one would
            // break the segment's sequence. The stream starts a new segment.
            tracing::error!(segment = %of.row.path, got = f.sequence, want = of.next_sequence, "out-of-sequence fragment dropped");
            StreamStats::add(&of.stats.frames_dropped, f.samples);
            return;
        }
        let mut slices = Vec::with_capacity(f.frames.len() + 1);
        slices.push(IoSlice::new(&f.header));
        slices.extend(f.frames.iter().map(|d| IoSlice::new(d)));
        match write_all_vectored(&mut of.file, &mut slices) {
            Ok(()) => {
                let r = &mut of.row;
                fragment_index::push(
                    &mut r.fragment_index,
                    &FragmentEntry {
                        len: f.len,
                        media_duration: f.media_duration,
                        frames: f.samples,
                        wall_offset: (f.wall_start.0 - r.start_90k).max(0) as u64,
                    },
                );
                r.bytes += f.len as i64;
                r.frames += f.samples as i64;
                r.fragments += 1;
                r.media_duration_90k += f.media_duration as i64;
                r.end_90k = (f.wall_start + f.wall_duration).0;
                let parts =
                    std::iter::once(f.header.as_slice()).chain(f.frames.iter().map(|b| b.as_ref()));
                r.fragment_hashes
                    .extend_from_slice(&vidimus_integrity::sha256_parts(parts));
                of.dirty = true;
                of.next_sequence += 1;
                StreamStats::add(&of.stats.bytes_written, f.len);
                StreamStats::add(&of.stats.frames_written, f.samples);
                StreamStats::add(&of.stats.fragments_written, 1);
            }
            Err(e) => {
                // Put the file back to its last complete fragment, keep it, stop
                // writing to it. The gap says why.
                let good = of.row.bytes as u64;
                let _ = of.file.set_len(good);
                of.failed = true;
                StreamStats::add(&of.stats.frames_dropped, f.samples);
                let msg = format!("write failed on {}: {e}", of.row.path);
                tracing::error!(camera_id = f.camera_id, error = %msg, "segment write failed; segment closed at its last complete fragment");
                let stats = of.stats.clone();
                self.close(f.camera_id);
                self.write_failed_gap(f.camera_id, f.wall_start, &msg, &stats);
                if e.kind() == std::io::ErrorKind::StorageFull {
                    let free = self.files.space().map_or(0, |s| s.0);
                    self.pause(free);
                }
            }
        }
    }

    fn write_failed_gap(
        &mut self,
        camera_id: CameraId,
        at: Wall90k,
        msg: &str,
        stats: &StreamStats,
    ) {
        StreamStats::add(&stats.gaps, 1);
        self.ops.push(IndexOp::OpenGap {
            camera_id,
            start_90k: at.0,
            cause: msg.to_owned(),
        });
    }

    fn close(&mut self, camera_id: CameraId) {
        if let Some(mut of) = self.open.remove(&camera_id) {
            of.row.state = SegmentState::Closed;
            of.dirty = true;
            self.closing.push(of);
        }
    }

    /// Pauses or resumes recording by the free space left (checked every batch).
    fn check_space(&mut self) {
        let (free, total) = match self.files.space() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot measure free space");
                return;
            }
        };
        self.status.set_disk_space(free, total);
        let reserve = self.cfg.reserve_bytes;
        if !self.status.disk_full() && free < reserve {
            self.pause(free);
        } else if self.status.disk_full() && free >= reserve + reserve / 2 {
            self.status.set_disk_full(false);
            let now = self.clocks.realtime();
            tracing::warn!(free, "disk space available again: recording resumes");
            if self.status.clear("disk_full") {
                self.ops.push(alarm_leaf(
                    now,
                    "alarm_cleared",
                    "disk_full",
                    &format!("{} MiB free again; recording resumed", free >> 20),
                ));
            }
        }
    }

    /// The disk is (nearly) full: close every open segment at its last complete
    /// fragment, create no new ones, and alarm. Nothing is deleted to make room:
    /// video within retention is kept, and the cleaner frees only what has expired.
    fn pause(&mut self, free: u64) {
        self.status.set_disk_full(true);
        let now = self.clocks.realtime();
        let open: Vec<CameraId> = self.open.keys().copied().collect();
        for c in open {
            self.close(c);
        }
        let msg = format!(
            "disk full: {} MiB free, below the {} MiB reserve; recording is paused (every segment closed intact, nothing deleted early) and resumes when space is freed",
            free >> 20,
            self.cfg.reserve_bytes >> 20
        );
        tracing::error!("{msg}");
        let zh = format!(
            "磁盘已满：剩余 {} MiB，低于预留的 {} MiB；录像已暂停（每段录像均已完整关闭，没有提前删除任何录像），腾出空间后自动恢复",
            free >> 20,
            self.cfg.reserve_bytes >> 20
        );
        if self.status.raise(
            "disk_full",
            Severity::Critical,
            vidimus_core::lang::Text::new(msg.clone(), zh),
            now,
        ) {
            self.ops
                .push(alarm_leaf(now, "alarm_raised", "disk_full", &msg));
        }
    }

    /// Makes written data durable, then records it in the index.
    fn sync(&mut self) {
        self.check_space();
        let files = &self.files;
        // 1. Durability first: file data, then new directory entries.
        let durable = |of: &mut OpenFile| -> bool {
            let r = match of.new_dirs.as_ref() {
                Some(dirs) => of
                    .file
                    .sync_all()
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        files
                            .sync_new_dirs(&of.row.path, dirs)
                            .map_err(|e| e.to_string())
                    }),
                None => of.file.sync_data().map_err(|e| e.to_string()),
            };
            match r {
                Ok(()) => {
                    of.new_dirs = None;
                    true
                }
                Err(e) => {
                    // Not durable: the index must not claim it. Retried next batch.
                    tracing::error!(segment = %of.row.path, error = %e, "fsync failed");
                    false
                }
            }
        };
        enum Target {
            Open(CameraId),
            Closing(usize),
        }
        let mut ops = Vec::new();
        let mut targets = Vec::new();
        for (cam, of) in self.open.iter_mut() {
            if of.dirty && of.row.fragments > 0 && durable(of) {
                ops.push(row_op(of));
                targets.push(Target::Open(*cam));
            }
        }
        let mut done = vec![false; self.closing.len()];
        let mut leaf_ops = Vec::new();
        for (i, of) in self.closing.iter_mut().enumerate() {
            if !durable(of) {
                continue;
            }
            if of.row.fragments == 0 {
                // Nothing but an init segment (never indexed): no video to keep.
                if let Err(e) = files.remove_empty(&of.row.path) {
                    tracing::warn!(error = %e, "could not remove empty segment");
                }
                done[i] = true;
                continue;
            }
            ops.push(row_op(of));
            targets.push(Target::Closing(i));
            // A closed segment becomes a leaf of the integrity log, in the same transaction.
            leaf_ops.push(vidimus_store::log::segment_leaf_op(&of.row));
        }
        let n_row_ops = ops.len();
        ops.extend(leaf_ops);
        ops.extend(self.ops.iter().cloned());
        // 2. Then the index, in one transaction.
        if !ops.is_empty() {
            match self.index.apply(&ops) {
                Ok(ids) => {
                    for (t, id) in targets.iter().zip(&ids[..n_row_ops]) {
                        match t {
                            Target::Open(cam) => {
                                let of = self.open.get_mut(cam).expect("target is open");
                                of.id = of.id.or(*id);
                                of.dirty = false;
                            }
                            Target::Closing(i) => done[*i] = true,
                        }
                    }
                    self.ops.clear();
                }
                Err(e) => {
                    tracing::error!(error = %e, "index update failed; retrying at the next sync")
                }
            }
        }
        let mut i = 0;
        self.closing.retain(|_| {
            i += 1;
            !done[i - 1]
        });
        for w in self.waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

/// A system-log event for an alarm transition.
fn alarm_leaf(now: Wall90k, event: &str, alarm: &str, message: &str) -> IndexOp {
    IndexOp::AppendLeaf {
        at_90k: now.0,
        kind: "event".into(),
        data: vidimus_store::log::event_leaf(
            now,
            event,
            "recorder",
            None,
            &serde_json::json!({"alarm": alarm, "message": message}),
        ),
    }
}

/// The index operation recording a file's current state.
fn row_op(of: &OpenFile) -> IndexOp {
    match of.id {
        None => IndexOp::InsertSegment(of.row.clone()),
        Some(id) => {
            let mut r = of.row.clone();
            r.id = id;
            IndexOp::UpdateSegment(r)
        }
    }
}

/// Writes every slice, retrying short writes.
fn write_all_vectored(
    file: &mut std::fs::File,
    mut slices: &mut [IoSlice<'_>],
) -> std::io::Result<()> {
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmenter::{Frame, Segmenter, SegmenterConfig, StreamParams};
    use std::sync::{Arc, Mutex};
    use vidimus_store::index::*;
    use vidimus_store::{Result, SqliteIndex};

    /// Wraps the SQLite index and checks, at every transaction, that each segment row
    /// claims no more bytes than its file holds: the index never leads the disk.
    struct CheckingStore {
        inner: SqliteIndex,
        files: SegmentFiles,
        violations: Arc<Mutex<Vec<String>>>,
        applies: Arc<Mutex<usize>>,
    }

    impl MetadataStore for CheckingStore {
        fn apply(&mut self, ops: &[IndexOp]) -> Result<Vec<Option<i64>>> {
            for op in ops {
                if let IndexOp::InsertSegment(r) | IndexOp::UpdateSegment(r) = op {
                    let on_disk =
                        std::fs::metadata(self.files.path(&r.path)).map_or(0, |m| m.len());
                    if (on_disk as i64) < r.bytes {
                        self.violations
                            .lock()
                            .unwrap()
                            .push(format!("{}: index {} > file {on_disk}", r.path, r.bytes));
                    }
                }
            }
            *self.applies.lock().unwrap() += 1;
            self.inner.apply(ops)
        }
        fn add_camera(&mut self, c: &NewCamera<'_>, now: Wall90k) -> Result<CameraId> {
            self.inner.add_camera(c, now)
        }
        fn upsert_config_camera(&mut self, c: &NewCamera<'_>, now: Wall90k) -> Result<CameraId> {
            self.inner.upsert_config_camera(c, now)
        }
        fn ensure_camera(&mut self, id: CameraId, name: &str, now: Wall90k) -> Result<()> {
            self.inner.ensure_camera(id, name, now)
        }
        fn remove_camera(&mut self, name: &str, now: Wall90k) -> Result<CameraRow> {
            self.inner.remove_camera(name, now)
        }
        fn cameras(&self, all: bool) -> Result<Vec<CameraRow>> {
            self.inner.cameras(all)
        }
        fn camera_by_name(&self, name: &str) -> Result<CameraRow> {
            self.inner.camera_by_name(name)
        }
        fn segments(&self, c: CameraId, f: Wall90k, t: Wall90k) -> Result<Vec<SegmentRow>> {
            self.inner.segments(c, f, t)
        }
        fn all_segments(&self) -> Result<Vec<SegmentRow>> {
            self.inner.all_segments()
        }
        fn open_segments(&self) -> Result<Vec<SegmentRow>> {
            self.inner.open_segments()
        }
        fn segment_exists(&self, p: &str) -> Result<bool> {
            self.inner.segment_exists(p)
        }
        fn segment_spans(&self, c: CameraId, f: Wall90k, t: Wall90k) -> Result<Vec<(i64, i64)>> {
            self.inner.segment_spans(c, f, t)
        }
        fn delete_segment_row(&mut self, id: i64) -> Result<()> {
            self.inner.delete_segment_row(id)
        }
        fn delete_all_segment_rows(&mut self) -> Result<()> {
            self.inner.delete_all_segment_rows()
        }
        fn last_recorded_end(&self, c: CameraId) -> Result<Option<Wall90k>> {
            self.inner.last_recorded_end(c)
        }
        fn gaps(&self, c: CameraId, f: Wall90k, t: Wall90k) -> Result<Vec<GapRow>> {
            self.inner.gaps(c, f, t)
        }
        fn start_run(&mut self, now: Wall90k) -> Result<(i64, Option<RunRow>)> {
            self.inner.start_run(now)
        }
        fn set_run_recovery(&mut self, run: i64, j: &str) -> Result<()> {
            self.inner.set_run_recovery(run, j)
        }
        fn end_run(&mut self, run: i64, now: Wall90k) -> Result<()> {
            self.inner.end_run(run, now)
        }
    }

    fn params() -> StreamParams {
        let mut e = vec![0, 0, 0, 36];
        e.extend_from_slice(b"avc1");
        e.extend_from_slice(&[0; 28]);
        StreamParams {
            codec: VideoCodec::H264,
            rfc6381: "avc1.64001f".into(),
            sample_entry: e,
            width: 1280,
            height: 720,
        }
    }

    #[test]
    fn out_of_sequence_fragments_are_refused_and_the_segment_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let files = SegmentFiles::open(dir.path()).unwrap();
        let mut index = SqliteIndex::open_in_memory().unwrap();
        let cam = index
            .add_camera(
                &NewCamera {
                    name: "c",
                    url: "rtsp://h/x",
                    live_url: None,
                    retention_days: None,
                    key_target: false,
                    username: None,
                    password: None,
                    source: CameraSource::Cli,
                },
                Wall90k(0),
            )
            .unwrap();
        let (run, _) = index.start_run(Wall90k(0)).unwrap();
        let stats = StatsRegistry::default();
        let (w, join) = spawn(
            Box::new(index),
            files.clone(),
            run,
            WriterConfig {
                sync_interval: Duration::from_millis(5),
                queue_len: 1024,
                reserve_bytes: 0,
            },
            stats.clone(),
            SiteStatus::default(),
            Arc::new(vidimus_core::clock::RealClocks),
        );
        let mut seg = Segmenter::new(cam, "c", SegmenterConfig::default());
        seg.set_params(params());
        let mut out = Vec::new();
        for i in 0..=200i64 {
            seg.push(
                Frame {
                    ts: i * 3600,
                    is_key: i % 50 == 0,
                    data: vec![1; 500].into(),
                },
                Wall90k(i * 3600),
                &mut out,
            );
        }
        // Lose the second fragment on the way to the writer.
        let mut n = 0;
        for o in out.drain(..) {
            if matches!(o, Output::Fragment(_)) {
                n += 1;
                if n == 2 {
                    continue;
                }
            }
            w.try_send(o).unwrap();
        }
        w.sync().unwrap();
        drop(w);
        let index = join.join().unwrap();
        let segs = index.all_segments().unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(
            segs[0].fragments, 1,
            "fragments after the lost one are refused"
        );
        let scan = vidimus_store::reconcile::read_segment(&files, &segs[0].path)
            .unwrap()
            .0;
        assert_eq!(scan.tail_problem, None);
        assert_eq!(StreamStats::get(&stats.stream(cam, "").frames_dropped), 100);
    }

    #[test]
    fn index_never_claims_bytes_not_yet_written() {
        let dir = tempfile::tempdir().unwrap();
        let files = SegmentFiles::open(dir.path()).unwrap();
        let violations = Arc::new(Mutex::new(Vec::new()));
        let applies = Arc::new(Mutex::new(0));
        let mut inner = SqliteIndex::open_in_memory().unwrap();
        let cam = inner
            .add_camera(
                &NewCamera {
                    name: "c",
                    url: "rtsp://h/x",
                    live_url: None,
                    retention_days: None,
                    key_target: false,
                    username: None,
                    password: None,
                    source: CameraSource::Cli,
                },
                Wall90k(0),
            )
            .unwrap();
        let (run, _) = inner.start_run(Wall90k(0)).unwrap();
        let store = CheckingStore {
            inner,
            files: files.clone(),
            violations: violations.clone(),
            applies: applies.clone(),
        };
        let (w, join) = spawn(
            Box::new(store),
            files.clone(),
            run,
            WriterConfig {
                sync_interval: Duration::from_millis(5),
                queue_len: 1024,
                reserve_bytes: 0,
            },
            StatsRegistry::default(),
            SiteStatus::default(),
            Arc::new(vidimus_core::clock::RealClocks),
        );
        let cfg = SegmenterConfig {
            segment_duration: Duration90k::from_secs(4),
            ..Default::default()
        };
        let mut seg = Segmenter::new(cam, "c", cfg);
        seg.set_params(params());
        let mut out = Vec::new();
        for i in 0..500i64 {
            let f = Frame {
                ts: i * 3600,
                is_key: i % 50 == 0,
                data: vec![i as u8; 1000 + (i as usize % 7) * 100].into(),
            };
            seg.push(f, Wall90k(1_000_000 + i * 3600), &mut out);
            for o in out.drain(..) {
                w.try_send(o).unwrap();
            }
            if i % 37 == 0 {
                w.sync().unwrap(); // batches interleave with appends, whatever the scheduling
            }
        }
        seg.finish(Wall90k(1_000_000 + 500 * 3600), &mut out);
        for o in out.drain(..) {
            w.try_send(o).unwrap();
        }
        w.sync().unwrap();
        drop(w);
        let index = join.join().unwrap();
        assert!(
            violations.lock().unwrap().is_empty(),
            "{:?}",
            violations.lock().unwrap()
        );
        assert!(*applies.lock().unwrap() > 3, "expected several batches");
        let segs = index.all_segments().unwrap();
        assert_eq!(segs.len(), 5, "20 s in 4 s segments");
        assert!(segs.iter().all(|s| s.state == SegmentState::Closed));
        assert_eq!(segs.iter().map(|s| s.frames).sum::<i64>(), 500);
        for s in &segs {
            assert_eq!(
                std::fs::metadata(files.path(&s.path)).unwrap().len() as i64,
                s.bytes,
                "{}",
                s.path
            );
            let scan = vidimus_store::reconcile::read_segment(&files, &s.path)
                .unwrap()
                .0;
            assert_eq!(scan.tail_problem, None);
            assert_eq!(scan.samples() as i64, s.frames);
        }
    }
}
