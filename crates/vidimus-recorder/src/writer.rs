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
use std::collections::HashMap;
use std::io::{IoSlice, Write};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};
use vidimus_core::camera::CameraId;
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
    pub frames: Vec<Vec<u8>>,
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
#[derive(Clone, Debug)]
pub struct WriterHandle {
    tx: SyncSender<Output>,
}

impl WriterHandle {
    /// Queues a command without blocking.
    pub fn try_send(&self, o: Output) -> Result<(), SendError> {
        self.tx.try_send(o).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Full,
            TrySendError::Disconnected(_) => SendError::Stopped,
        })
    }

    /// Queues a command, waiting while the backlog is full (for control commands).
    pub fn send(&self, o: Output) -> Result<(), SendError> {
        self.tx.send(o).map_err(|_| SendError::Stopped)
    }

    /// Makes all written data durable and indexed; returns when done.
    pub fn sync(&self) -> Result<(), SendError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.send(Output::Sync(tx))?;
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
    stats: std::sync::Arc<StreamStats>,
}

/// Writer settings.
#[derive(Clone, Copy, Debug)]
pub struct WriterConfig {
    pub sync_interval: Duration,
    /// Commands that may wait in the queue before stream tasks start dropping.
    pub queue_len: usize,
}

/// Starts the writer thread. It stops (after a final sync) when every handle is dropped.
pub fn spawn(
    index: Box<dyn MetadataStore>,
    files: SegmentFiles,
    run_id: i64,
    cfg: WriterConfig,
    stats: StatsRegistry,
) -> (
    WriterHandle,
    std::thread::JoinHandle<Box<dyn MetadataStore>>,
) {
    let (tx, rx) = std::sync::mpsc::sync_channel(cfg.queue_len);
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
    };
    let join = std::thread::Builder::new()
        .name("vidimus-writer".into())
        .spawn(move || w.run(rx))
        .expect("spawning writer thread");
    (WriterHandle { tx }, join)
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
            Output::Fragment(f) => self.append(f),
            Output::Close { camera_id } => self.close(camera_id),
            Output::Index(op) => self.ops.push(op),
            Output::Sync(ack) => self.waiters.push(ack),
        }
    }

    fn open_segment(&mut self, m: OpenMsg) {
        self.close(m.camera_id);
        let stats = self.stats.stream(m.camera_id, "");
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
                of.dirty = true;
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

    /// Makes written data durable, then records it in the index.
    fn sync(&mut self) {
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
        }
        let n_row_ops = ops.len();
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
