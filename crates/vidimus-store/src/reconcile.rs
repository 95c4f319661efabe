//! Keeping the index and the files in agreement.
//!
//! - [`recover`] runs at every recorder start (and `fsck --repair`): each segment the
//!   index still calls open — the previous run died while writing it — is truncated to
//!   its last complete fragment, re-read and closed; files the index does not know are
//!   adopted if readable, else moved to `quarantine/`. Nothing is silently dropped:
//!   every action is in the returned report (logged and stored with the run).
//! - [`check`] (`vidimus fsck`) compares every index row with its file and every file
//!   with the index, read-only, and names each disagreement.
//! - [`reindex`] (`vidimus fsck --reindex`) rebuilds the segment rows from the files.

use crate::files::SegmentFiles;
use crate::fragment_index::{self, FragmentEntry};
use crate::index::{IndexOp, MetadataStore, SegmentRow, SegmentState};
use crate::{Result, SegmentMetadata, StoreError};
use vidimus_core::time::Wall90k;
use vidimus_media::scan::{Scan, ScanError, scan};

/// Builds the index row a scanned segment file deserves.
pub fn row_from_scan(
    rel: &str,
    s: &Scan,
    meta: &SegmentMetadata,
    state: SegmentState,
) -> SegmentRow {
    let start = s
        .fragments
        .first()
        .and_then(|f| f.wall_90k)
        .unwrap_or(meta.start_90k);
    let end = s
        .fragments
        .last()
        .map(|f| f.wall_90k.unwrap_or(start) + f.duration as i64)
        .unwrap_or(start)
        .max(start);
    let mut fragment_index = Vec::with_capacity(s.fragments.len() * 8);
    for f in &s.fragments {
        fragment_index::push(
            &mut fragment_index,
            &FragmentEntry {
                len: f.len,
                media_duration: f.duration,
                frames: u64::from(f.samples),
                wall_offset: f.wall_90k.map_or(0, |w| (w - start).max(0) as u64),
            },
        );
    }
    SegmentRow {
        id: 0,
        camera_id: meta.camera_id,
        path: rel.to_owned(),
        state,
        run_id: None,
        start_90k: start,
        end_90k: end,
        media_duration_90k: s.duration() as i64,
        bytes: s.complete_len as i64,
        frames: s.samples() as i64,
        fragments: s.fragments.len() as i64,
        codec: s.init.codec.as_str().to_owned(),
        width: i64::from(s.init.width),
        height: i64::from(s.init.height),
        sample_entry: s.init.sample_entry.clone(),
        init_len: s.init.len as i64,
        fragment_index,
        fragment_hashes: Vec::new(),
    }
}

/// SHA-256 of a segment's init segment and of each complete fragment, read from the
/// file (for rows built by recovery or re-indexing).
pub fn file_hashes(files: &SegmentFiles, rel: &str, s: &Scan) -> Result<Vec<u8>> {
    let r = files.open_read(rel)?;
    let read = |off: u64, len: u64| {
        r.read_range(off, len as usize)
            .map_err(StoreError::io(format!("reading segment {rel}")))
    };
    let mut out = Vec::with_capacity(32 * (s.fragments.len() + 1));
    out.extend_from_slice(&vidimus_integrity::sha256_parts([
        read(0, s.init.len)?.as_slice()
    ]));
    for f in &s.fragments {
        out.extend_from_slice(&vidimus_integrity::sha256_parts([
            read(f.offset, f.len)?.as_slice()
        ]));
    }
    Ok(out)
}

/// The operations that index a closed segment known only from its file (adopted or
/// re-indexed): ensures its camera, hashes it from the file, inserts the row and
/// appends its log leaf.
fn index_file(
    index: &mut dyn MetadataStore,
    files: &SegmentFiles,
    rel: &str,
    s: &Scan,
    meta: &SegmentMetadata,
) -> Result<[IndexOp; 2]> {
    index.ensure_camera(meta.camera_id, &meta.camera_name, Wall90k(meta.start_90k))?;
    let mut row = row_from_scan(rel, s, meta, SegmentState::Closed);
    row.fragment_hashes = file_hashes(files, rel, s)?;
    let leaf = crate::log::segment_leaf_op(&row);
    Ok([IndexOp::InsertSegment(row), leaf])
}

/// What recovery did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RecoveryReport {
    /// Open segments closed, with the bytes cut from their incomplete tails.
    pub closed: Vec<ClosedSegment>,
    /// Segments that held no complete fragment, removed (file and row).
    pub removed_empty: Vec<String>,
    /// Files the index did not know, now indexed.
    pub adopted: Vec<String>,
    /// Unreadable files moved to quarantine, with why.
    pub quarantined: Vec<(String, String)>,
    /// Open segments whose file is gone (kept in the index; fsck reports them).
    pub missing: Vec<String>,
}

impl RecoveryReport {
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty()
            && self.removed_empty.is_empty()
            && self.adopted.is_empty()
            && self.quarantined.is_empty()
            && self.missing.is_empty()
    }
}

/// One segment closed by recovery.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClosedSegment {
    pub path: String,
    pub fragments: usize,
    pub truncated_bytes: u64,
    /// The wall-clock end of what was kept.
    pub end_90k: i64,
}

/// Reads a segment file: its scan and its metadata.
pub fn read_segment(files: &SegmentFiles, rel: &str) -> Result<(Scan, SegmentMetadata)> {
    let r = files.open_read(rel)?;
    let s = scan(&r).map_err(|e| match e {
        ScanError::Io(e) => StoreError::io(format!("reading segment {rel}"))(e),
        ScanError::Invalid(m) => StoreError::Invalid(format!("segment {rel}: {m}")),
    })?;
    let meta = SegmentMetadata::from_bytes(&s.init.metadata)
        .map_err(|e| StoreError::Invalid(format!("segment {rel}: {e}")))?;
    Ok((s, meta))
}

/// Closes what a dead recorder left open and adopts unknown files. Call with the data
/// directory locked, before recording starts.
pub fn recover(index: &mut dyn MetadataStore, files: &SegmentFiles) -> Result<RecoveryReport> {
    let mut report = RecoveryReport::default();
    for seg in index.open_segments()? {
        if !files.path(&seg.path).exists() {
            tracing::error!(segment = %seg.path, "open segment's file is missing; keeping its index row");
            let mut closed = seg.clone();
            closed.state = SegmentState::Closed;
            index.apply(&[IndexOp::UpdateSegment(closed)])?;
            report.missing.push(seg.path);
            continue;
        }
        match read_segment(files, &seg.path) {
            Ok((s, meta)) if !s.fragments.is_empty() => {
                let truncated = s.source_len - s.complete_len;
                if truncated > 0 {
                    files.truncate(&seg.path, s.complete_len)?;
                }
                let mut row = row_from_scan(&seg.path, &s, &meta, SegmentState::Closed);
                row.id = seg.id;
                // Keep the writer's hashes for the fragments it indexed; hash the rest
                // (written but not yet indexed when the recorder died) from the file.
                let from_file = file_hashes(files, &seg.path, &s)?;
                let keep = seg.fragment_hashes.len().min(from_file.len());
                row.fragment_hashes = seg.fragment_hashes[..keep].to_vec();
                row.fragment_hashes.extend_from_slice(&from_file[keep..]);
                index.apply(&[
                    IndexOp::UpdateSegment(row.clone()),
                    crate::log::segment_leaf_op(&row),
                ])?;
                tracing::info!(segment = %seg.path, fragments = s.fragments.len(), truncated, "recovered open segment");
                report.closed.push(ClosedSegment {
                    path: seg.path,
                    fragments: s.fragments.len(),
                    truncated_bytes: truncated,
                    end_90k: row.end_90k,
                });
            }
            Ok(_) => {
                files.remove_empty(&seg.path)?;
                index.delete_segment_row(seg.id)?;
                tracing::info!(segment = %seg.path, "removed open segment with no complete fragment");
                report.removed_empty.push(seg.path);
            }
            Err(e) => {
                let dest = files.quarantine(&seg.path)?;
                index.delete_segment_row(seg.id)?;
                tracing::error!(segment = %seg.path, error = %e, quarantine = %dest.display(), "unreadable open segment quarantined");
                report.quarantined.push((seg.path, e.to_string()));
            }
        }
    }
    // Cost follows the files on disk, not the size of the index.
    for rel in files.list()? {
        if index.segment_exists(&rel)? {
            continue;
        }
        match read_segment(files, &rel) {
            Ok((s, meta)) if !s.fragments.is_empty() => {
                if s.complete_len < s.source_len {
                    files.truncate(&rel, s.complete_len)?;
                }
                let mut ops = index_file(index, files, &rel, &s, &meta)?.to_vec();
                // Adoption is an act of the system log: a file the index did not know
                // (e.g. one a restored older index forgot) is never taken in silently.
                let now = vidimus_core::time::Wall90k::from_system(std::time::SystemTime::now());
                ops.push(IndexOp::AppendLeaf {
                    at_90k: now.0,
                    kind: "event".into(),
                    data: crate::log::event_leaf(
                        now,
                        "segment_adopted",
                        "recovery",
                        Some(meta.camera_id),
                        &serde_json::json!({"path": rel, "start_90k": meta.start_90k}),
                    ),
                });
                index.apply(&ops)?;
                tracing::warn!(segment = %rel, "adopted a segment file the index did not know");
                report.adopted.push(rel);
            }
            Ok(_) => {
                files.remove_empty(&rel)?;
                tracing::info!(segment = %rel, "removed unindexed segment with no complete fragment");
                report.removed_empty.push(rel);
            }
            Err(e) => {
                let dest = files.quarantine(&rel)?;
                tracing::error!(segment = %rel, error = %e, quarantine = %dest.display(), "unreadable file quarantined");
                report.quarantined.push((rel, e.to_string()));
            }
        }
    }
    Ok(report)
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One disagreement found by [`check`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub path: String,
    pub problem: String,
}

/// The result of [`check`].
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FsckReport {
    pub segments_checked: usize,
    pub files_on_disk: usize,
    pub findings: Vec<Finding>,
}

impl FsckReport {
    /// Whether there is no error (warnings allowed).
    pub fn is_clean(&self) -> bool {
        self.findings.iter().all(|f| f.severity != Severity::Error)
    }
    fn error(&mut self, path: &str, problem: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Error,
            path: path.to_owned(),
            problem: problem.into(),
        });
    }
    fn warn(&mut self, path: &str, problem: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Warning,
            path: path.to_owned(),
            problem: problem.into(),
        });
    }
}

/// Options for [`check`].
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// A recorder holds the data directory: open segments and files newer than
    /// `grace` that are not yet indexed are expected.
    pub recorder_running: bool,
    pub grace: std::time::Duration,
}

/// Checks index against files and files against index, read-only.
pub fn check(
    index: &dyn MetadataStore,
    files: &SegmentFiles,
    opts: CheckOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<FsckReport> {
    let mut rep = FsckReport::default();
    let segments = index.all_segments()?;
    let on_disk = files.list()?;
    rep.files_on_disk = on_disk.len();
    let total = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        progress(i, total);
        rep.segments_checked += 1;
        check_segment(files, seg, opts, &mut rep);
    }
    progress(total, total);
    // Overlaps between consecutive segments of a camera (more than one 25 fps frame).
    for w in segments.windows(2) {
        if w[0].camera_id == w[1].camera_id && w[1].start_90k < w[0].end_90k - 3600 {
            rep.warn(
                &w[1].path,
                format!(
                    "starts {} s before the previous segment {} ends",
                    (w[0].end_90k - w[1].start_90k) as f64 / 90_000.0,
                    w[0].path
                ),
            );
        }
    }
    let known: std::collections::HashSet<&str> = segments.iter().map(|s| s.path.as_str()).collect();
    for rel in &on_disk {
        if known.contains(rel.as_str()) {
            continue;
        }
        if opts.recorder_running {
            let young = std::fs::metadata(files.path(rel))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < opts.grace);
            if young {
                continue; // being written; indexed at the next sync
            }
        }
        rep.error(rel, "file is not in the index (orphan): start the recorder or run fsck --repair to adopt it");
    }
    Ok(rep)
}

fn check_segment(files: &SegmentFiles, seg: &SegmentRow, opts: CheckOptions, rep: &mut FsckReport) {
    let p = seg.path.as_str();
    if !files.path(p).exists() {
        rep.error(p, "file is missing");
        return;
    }
    let (s, meta) = match read_segment(files, p) {
        Ok(v) => v,
        Err(e) => {
            rep.error(p, format!("unreadable: {e}"));
            return;
        }
    };
    if meta.camera_id != seg.camera_id {
        rep.error(
            p,
            format!(
                "file belongs to camera {} but the index says {}",
                meta.camera_id, seg.camera_id
            ),
        );
    }
    if s.init.len as i64 != seg.init_len || s.init.sample_entry != seg.sample_entry {
        rep.error(p, "init segment differs from the index (codec parameters)");
    }
    let Some(entries) = fragment_index::decode(&seg.fragment_index) else {
        rep.error(p, "index row's fragment table is malformed");
        return;
    };
    if entries.len() as i64 != seg.fragments {
        rep.error(
            p,
            "index row's fragment count disagrees with its fragment table",
        );
    }
    if s.fragments.len() < entries.len() {
        rep.error(
            p,
            format!(
                "index lists {} fragments but the file has {} complete ({})",
                entries.len(),
                s.fragments.len(),
                s.tail_problem.as_deref().unwrap_or("file too short")
            ),
        );
        return;
    }
    let mut offset = seg.init_len as u64;
    for (i, (e, f)) in entries.iter().zip(&s.fragments).enumerate() {
        if e.len != f.len
            || offset != f.offset
            || e.media_duration != f.duration
            || e.frames != u64::from(f.samples)
        {
            rep.error(
                p,
                format!("fragment {} differs between index and file", i + 1),
            );
            return;
        }
        offset += e.len;
    }
    if !s.fragments.first().is_some_and(|f| f.first_is_key) {
        rep.error(p, "does not start with a key frame");
    }
    let sum_frames: u64 = entries.iter().map(|e| e.frames).sum();
    let sum_dur: u64 = entries.iter().map(|e| e.media_duration).sum();
    if sum_frames as i64 != seg.frames
        || sum_dur as i64 != seg.media_duration_90k
        || offset as i64 != seg.bytes
    {
        rep.error(p, "index row's totals disagree with its fragment table");
    }
    match seg.state {
        SegmentState::Closed => {
            if s.fragments.len() != entries.len() {
                rep.error(
                    p,
                    format!(
                        "closed segment's file has {} fragments, the index {}",
                        s.fragments.len(),
                        entries.len()
                    ),
                );
            } else if let Some(t) = &s.tail_problem {
                rep.error(p, format!("bytes after the last fragment: {t}"));
            }
        }
        SegmentState::Open if !opts.recorder_running => {
            rep.error(p, "segment is open but no recorder is running: start the recorder or run fsck --repair");
        }
        SegmentState::Open => {}
    }
}

/// What [`reindex`] did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReindexReport {
    pub indexed: usize,
    pub truncated: Vec<String>,
    pub removed_empty: Vec<String>,
    pub quarantined: Vec<(String, String)>,
}

/// Rebuilds every segment row from the files alone. Call with the data directory locked.
pub fn reindex(index: &mut dyn MetadataStore, files: &SegmentFiles) -> Result<ReindexReport> {
    let mut rep = ReindexReport::default();
    let mut ops = Vec::new();
    for rel in files.list()? {
        match read_segment(files, &rel) {
            Ok((s, meta)) if !s.fragments.is_empty() => {
                if s.complete_len < s.source_len {
                    files.truncate(&rel, s.complete_len)?;
                    rep.truncated.push(rel.clone());
                }
                ops.extend(index_file(index, files, &rel, &s, &meta)?);
            }
            Ok(_) => {
                files.remove_empty(&rel)?;
                rep.removed_empty.push(rel);
            }
            Err(e) => {
                files.quarantine(&rel)?;
                rep.quarantined.push((rel, e.to_string()));
            }
        }
    }
    index.delete_all_segment_rows()?;
    rep.indexed = ops
        .iter()
        .filter(|o| matches!(o, IndexOp::InsertSegment(_)))
        .count();
    index.apply(&ops)?;
    Ok(rep)
}

/// A fragment (or init segment) whose bytes no longer match the hash recorded when it
/// was written, or another reason a segment cannot be verified.
#[derive(Clone, Debug, serde::Serialize)]
pub struct VerifyFinding {
    pub path: String,
    pub camera_id: i64,
    /// 0 for the init segment, else the fragment's number (from 1).
    pub fragment: Option<usize>,
    pub byte_range: Option<(u64, u64)>,
    pub problem: String,
}

/// The result of [`verify`].
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    pub segments: usize,
    pub fragments: usize,
    pub bytes: u64,
    pub findings: Vec<VerifyFinding>,
    /// Segments recorded before hashing existed (nothing to verify against).
    pub unhashed: usize,
}

/// Recomputes the SHA-256 of every indexed segment's init segment and fragments (of one
/// camera, or all) and names each one that differs from the hash recorded at writing.
pub fn verify(
    index: &dyn MetadataStore,
    files: &SegmentFiles,
    camera: Option<i64>,
    range: Option<(Wall90k, Wall90k)>,
    mut progress: impl FnMut(u64, u64),
) -> Result<VerifyReport> {
    let segs: Vec<SegmentRow> = index
        .all_segments()?
        .into_iter()
        .filter(|s| camera.is_none_or(|c| c == s.camera_id))
        .filter(|s| range.is_none_or(|(a, b)| s.end_90k > a.0 && s.start_90k < b.0))
        .collect();
    let total: u64 = segs.iter().map(|s| s.bytes as u64).sum();
    let mut rep = VerifyReport::default();
    let mut done = 0u64;
    for seg in &segs {
        rep.segments += 1;
        let finding =
            |fragment: Option<usize>, range: Option<(u64, u64)>, problem: String| VerifyFinding {
                path: seg.path.clone(),
                camera_id: seg.camera_id,
                fragment,
                byte_range: range,
                problem,
            };
        if seg.fragment_hashes.is_empty() {
            rep.unhashed += 1;
            continue;
        }
        let Some(entries) = fragment_index::decode(&seg.fragment_index) else {
            rep.findings.push(finding(
                None,
                None,
                "index row's fragment table is malformed".into(),
            ));
            continue;
        };
        let hashes: Vec<&[u8]> = seg.fragment_hashes.chunks(32).collect();
        if hashes.len() != entries.len() + 1 {
            rep.findings.push(finding(
                None,
                None,
                format!(
                    "{} hashes recorded for {} fragments",
                    hashes.len(),
                    entries.len()
                ),
            ));
            continue;
        }
        let r = match files.open_read(&seg.path) {
            Ok(r) => r,
            Err(e) => {
                rep.findings
                    .push(finding(None, None, format!("cannot read the segment: {e}")));
                continue;
            }
        };
        let mut ranges = vec![(0u64, seg.init_len as u64)];
        let mut off = seg.init_len as u64;
        for e in &entries {
            ranges.push((off, e.len));
            off += e.len;
        }
        for (i, ((start, len), want)) in ranges.iter().zip(&hashes).enumerate() {
            rep.fragments += usize::from(i > 0);
            let what = if i == 0 {
                "the init segment".to_owned()
            } else {
                format!("fragment {i}")
            };
            match r.read_range(*start, *len as usize) {
                Ok(bytes) => {
                    if vidimus_integrity::sha256_parts([bytes.as_slice()]).as_slice() != *want {
                        rep.findings.push(finding(
                            Some(i),
                            Some((*start, start + len)),
                            format!("{what} (bytes {start}..{}) was modified: its SHA-256 differs from the one recorded when it was written", start + len),
                        ));
                    }
                }
                Err(_) => rep.findings.push(finding(
                    Some(i),
                    Some((*start, start + len)),
                    format!(
                        "{what} (bytes {start}..{}) is missing: the file was truncated",
                        start + len
                    ),
                )),
            }
            done += len;
            rep.bytes += len;
            progress(done, total);
        }
    }
    // A modified segment may hold another segment's video (files swapped, moved or
    // reordered): say whose.
    let mut altered: Vec<&str> = rep.findings.iter().map(|f| f.path.as_str()).collect();
    altered.dedup();
    if !altered.is_empty() {
        let all = index.all_segments()?;
        let recorded: std::collections::HashMap<&[u8], &str> = all
            .iter()
            .filter(|s| !s.fragment_hashes.is_empty())
            .map(|s| (s.fragment_hashes.as_slice(), s.path.as_str()))
            .collect();
        let mut moved = Vec::new();
        for path in altered {
            let Ok(r) = files.open_read(path) else {
                continue;
            };
            let Ok(sc) = scan(&r) else { continue };
            let Ok(h) = file_hashes(files, path, &sc) else {
                continue;
            };
            if let Some(other) = recorded.get(h.as_slice()).filter(|o| **o != path) {
                let seg = segs
                    .iter()
                    .find(|s| s.path == path)
                    .expect("verified above");
                moved.push(VerifyFinding {
                    path: path.to_owned(),
                    camera_id: seg.camera_id,
                    fragment: None,
                    byte_range: None,
                    problem: format!(
                        "the file holds the video recorded as segment {other}: segments were swapped, moved or reordered"
                    ),
                });
            }
        }
        rep.findings.extend(moved);
    }
    Ok(rep)
}
