//! Exporting a camera's recording over a time range as one progressive MP4.
//!
//! The samples are copied byte for byte from the segment files (never transcoded):
//! playback starts at the key frame at or before `from`, and an edit list hides the
//! part before `from`. Recordings separated by gaps are joined back to back; the gaps
//! are listed in the summary and in the file's metadata. The output is written to
//! `<out>.partial` and renamed into place only when complete.
//!
//! Signed export bundles (the integrity issue) wrap this.

use crate::files::SegmentFiles;
use crate::index::MetadataStore;
use crate::{Result, StoreError};
use std::io::Write;
use std::path::Path;
use vidimus_core::camera::CameraId;
use vidimus_core::time::{Duration90k, Wall90k};
use vidimus_media::export::{ChunkIn, ExportParams, ExportPlan, plan};
use vidimus_media::fmp4::Sample;
use vidimus_media::scan::{fragment_samples, scan};

/// The longest range one export may cover.
pub const MAX_EXPORT: Duration90k = Duration90k::from_secs(24 * 3600);

/// What an export will contain, before any byte is copied.
#[derive(Debug)]
pub struct PreparedExport {
    pub plan: ExportPlan,
    /// Segment paths, indexed by the plan's `source`.
    pub sources: Vec<String>,
    /// The samples themselves, for reading them one by one ([`read_samples`]).
    pub samples: Samples,
    pub summary: ExportSummary,
    /// The segment fragments whose samples the file carries, in file order.
    pub fragments: Vec<ExportedFragment>,
}

/// A recorded fragment carried by an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFragment {
    /// Index into [`PreparedExport::sources`].
    pub source: usize,
    /// 0-based position among the segment's fragments (its hash is number `index + 1`
    /// in the segment's hash list, after the init segment's).
    pub index: usize,
    /// Where the fragment starts in the segment file, and where its sample data is.
    pub offset: u64,
    pub data_offset: u64,
    pub data_len: u64,
    /// Whether every sample of the fragment is in the export.
    pub whole: bool,
}

/// How to cut the export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Carry whole fragments (so their recorded hashes can be re-derived from the
    /// file, as bundles need); an edit list still presents only `[from, to)`.
    pub whole_fragments: bool,
    /// Who the copy was made for, written into the file's metadata so that a leaked
    /// copy can be traced to its register entry and request.
    pub trace: Option<Trace>,
    /// The bounds no sample of the copy may lie outside (the grant's range). Without
    /// them playback starts at the key frame before `from` (its frames hidden by the
    /// edit list); with them, when that key frame lies before the bounds, the copy
    /// starts at the first key frame inside them instead, and whole fragments
    /// (bundles) that reach past the end are left out: the frames before a grant's
    /// start are not in the file at all, not merely hidden.
    pub within: Option<(Wall90k, Wall90k)>,
}

/// The traceability mark of a copy.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Trace {
    /// Also in the access register entry (and a bundle's manifest).
    pub export_id: String,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    pub user: String,
}

/// Facts about an export, also stored as JSON in the file's metadata box.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportSummary {
    pub camera_id: CameraId,
    pub camera: String,
    pub requested_from: String,
    pub requested_to: String,
    /// Wall time of the first presented frame and just after the last.
    pub start: String,
    pub end: String,
    pub frames: u64,
    pub duration_secs: f64,
    pub bytes: u64,
    pub segments: Vec<String>,
    /// Unrecorded stretches inside the range, joined over in the file.
    pub gaps: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Trace>,
}

struct Picked {
    source: usize,
    wall: i64,
    sample: Sample,
    offset: u64,
    entry: usize,
    fragment: usize,
}

/// Selects the samples of `camera` in `[from, to)` and plans the file.
pub fn prepare(
    index: &dyn MetadataStore,
    files: &SegmentFiles,
    camera_id: CameraId,
    camera_name: &str,
    from: Wall90k,
    to: Wall90k,
) -> Result<PreparedExport> {
    prepare_with(
        index,
        files,
        camera_id,
        camera_name,
        from,
        to,
        ExportOptions::default(),
    )
}

/// [`prepare`], with options.
pub fn prepare_with(
    index: &dyn MetadataStore,
    files: &SegmentFiles,
    camera_id: CameraId,
    camera_name: &str,
    from: Wall90k,
    to: Wall90k,
    opts: ExportOptions,
) -> Result<PreparedExport> {
    if to <= from {
        return Err(StoreError::Invalid(
            "the export range is empty: `to` must be after `from`".into(),
        ));
    }
    if to - from > MAX_EXPORT {
        return Err(StoreError::Invalid(format!(
            "the export range is {}; export at most 24 h at a time",
            to - from
        )));
    }
    // A segment that starts before `from` may hold the key frame playback starts at.
    let segs = index.segments(camera_id, from, to)?;
    let mut sources = Vec::new();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut picked: Vec<Picked> = Vec::new();
    // (source, index in segment, info, samples) of every fragment picked from.
    let mut frags: Vec<(usize, usize, vidimus_media::scan::FragmentInfo)> = Vec::new();
    let (mut width, mut height) = (0, 0);
    for seg in &segs {
        let r = files.open_read(&seg.path)?;
        let s = scan(&r).map_err(|e| StoreError::Invalid(format!("segment {}: {e}", seg.path)))?;
        let entry = match entries.iter().position(|e| *e == s.init.sample_entry) {
            Some(i) => i,
            None => {
                entries.push(s.init.sample_entry.clone());
                entries.len() - 1
            }
        };
        if width == 0 {
            (width, height) = (s.init.width, s.init.height);
        }
        let source = sources.len();
        sources.push(seg.path.clone());
        for (fi, f) in s.fragments.iter().enumerate() {
            let mut wall = f.wall_90k.unwrap_or(seg.start_90k);
            if wall >= to.0 {
                break;
            }
            let samples = fragment_samples(&r, f)
                .map_err(|e| StoreError::Invalid(format!("segment {}: {e}", seg.path)))?;
            let mut offset = f.data_offset;
            let fragment = frags.len();
            frags.push((source, fi, f.clone()));
            // A whole fragment reaching past the bounds' end is not served at all.
            if let Some((_, hi)) = opts.within
                && opts.whole_fragments
                && wall + samples.iter().map(|s| i64::from(s.duration)).sum::<i64>() > hi.0
            {
                frags.pop();
                break;
            }
            for sample in samples {
                if wall >= to.0 && !opts.whole_fragments {
                    break;
                }
                if let Some((_, hi)) = opts.within
                    && wall >= hi.0
                {
                    break;
                }
                picked.push(Picked {
                    source,
                    wall,
                    sample,
                    offset,
                    entry,
                    fragment,
                });
                wall += i64::from(sample.duration);
                offset += u64::from(sample.size);
            }
        }
    }
    // Start at the last key frame at or before `from`, else the first key frame after;
    // never at one before the bounds.
    let lo = opts.within.map_or(i64::MIN, |(lo, _)| lo.0);
    let start = picked
        .iter()
        .rposition(|p| p.sample.is_key && p.wall <= from.0 && p.wall >= lo)
        .or_else(|| picked.iter().position(|p| p.sample.is_key && p.wall >= lo))
        .ok_or_else(|| {
            StoreError::Invalid(format!(
                "camera {camera_name:?} has no recording between {from} and {to}"
            ))
        })?;
    let picked = &picked[start..];
    let trim = (from.0 - picked[0].wall).max(0) as u64;
    let last = picked.last().expect("non-empty");
    let last_end = last.wall + i64::from(last.sample.duration);
    let trim_end = (last_end - to.0).max(0) as u64;
    // Picked samples of one fragment are consecutive: group them.
    let mut fragments: Vec<ExportedFragment> = Vec::new();
    let mut carried: Vec<(usize, u64, u64)> = Vec::new(); // fragment, first offset, bytes
    for p in picked {
        match carried.last_mut() {
            Some(c) if c.0 == p.fragment => c.2 += u64::from(p.sample.size),
            _ => carried.push((p.fragment, p.offset, u64::from(p.sample.size))),
        }
    }
    for (fragment, first, bytes) in carried {
        let (source, index, info) = &frags[fragment];
        fragments.push(ExportedFragment {
            source: *source,
            index: *index,
            offset: info.offset,
            data_offset: info.data_offset,
            data_len: info.data_len,
            whole: first == info.data_offset && bytes == info.data_len,
        });
    }
    // Contiguous samples of one source become one chunk.
    let mut chunks: Vec<ChunkIn> = Vec::new();
    let mut gaps = Vec::new();
    for (i, p) in picked.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &picked[j]);
        if let Some(q) = prev {
            let expected = q.wall + i64::from(q.sample.duration);
            if p.wall - expected > 90_000 / 2 {
                gaps.push((Wall90k(expected).to_string(), Wall90k(p.wall).to_string()));
            }
        }
        let contiguous = chunks.last().is_some_and(|c| {
            c.source == p.source && c.offset + c.len == p.offset && c.sample_entry == p.entry
        });
        if !contiguous {
            chunks.push(ChunkIn {
                source: p.source,
                offset: p.offset,
                len: 0,
                samples: Vec::new(),
                sample_entry: p.entry,
            });
        }
        let c = chunks.last_mut().expect("pushed");
        c.len += u64::from(p.sample.size);
        c.samples.push(p.sample);
    }
    let mut summary = ExportSummary {
        camera_id,
        camera: camera_name.to_owned(),
        requested_from: from.to_string(),
        requested_to: to.to_string(),
        start: Wall90k(picked[0].wall + trim as i64).to_string(),
        end: Wall90k(last_end.min(to.0)).to_string(),
        frames: picked.len() as u64,
        duration_secs: 0.0,
        bytes: 0,
        segments: sources.clone(),
        gaps,
        trace: opts.trace.clone(),
    };
    let meta = serde_json::to_vec(&summary).expect("summary serializes");
    let plan = plan(
        &ExportParams {
            sample_entries: &entries,
            width,
            height,
            trim,
            trim_end,
            metadata: &meta,
        },
        &chunks,
    )
    .map_err(|e| StoreError::Invalid(format!("cannot export: {e}")))?;
    summary.duration_secs = plan.presented_duration as f64 / 90_000.0;
    summary.bytes = plan.total_len;
    Ok(PreparedExport {
        plan,
        sources,
        summary,
        fragments,
        samples: Samples {
            entries,
            chunks,
            start_90k: picked[0].wall,
            walls: picked.iter().map(|p| p.wall).collect(),
            trim,
            width,
            height,
        },
    })
}

/// The samples an export carries, as chunks of the sources.
#[derive(Debug)]
pub struct Samples {
    /// Sample entries (`avc1`/`hvc1` boxes), indexed by the chunks.
    pub entries: Vec<Vec<u8>>,
    pub chunks: Vec<ChunkIn>,
    /// Wall-clock time of the first sample (90 kHz).
    pub start_90k: i64,
    /// Wall-clock time of every sample, in the order of the chunks' samples (gaps in
    /// the recording are jumps here, not in the MP4's joined timeline).
    pub walls: Vec<i64>,
    /// How much of the start the edit list hides (90 kHz).
    pub trim: u64,
    pub width: u16,
    pub height: u16,
}

/// One recorded sample, for streaming frame by frame (view-only playback).
#[derive(Debug)]
pub struct SampleData {
    /// Its bytes as recorded (length-prefixed NAL units).
    pub data: Vec<u8>,
    /// Wall-clock time it was recorded (90 kHz): after a gap in the recording, later
    /// than `media_90k` says.
    pub wall_90k: i64,
    /// Its time on the joined timeline an MP4 of these samples plays (the first
    /// sample's wall time plus the durations before it: gaps joined over), for streams
    /// that must not jump.
    pub media_90k: i64,
    pub duration: u32,
    pub is_key: bool,
    /// Index into [`Samples::entries`].
    pub sample_entry: usize,
}

/// Reads the prepared samples one at a time, in order, until `sink` says stop.
pub fn read_samples(
    prepared: &PreparedExport,
    files: &SegmentFiles,
    mut sink: impl FnMut(SampleData) -> Result<bool>,
) -> Result<()> {
    let s = &prepared.samples;
    let mut media = s.start_90k;
    let mut walls = s.walls.iter();
    let mut readers: Vec<Option<crate::files::SegmentReader>> =
        prepared.sources.iter().map(|_| None).collect();
    for c in &s.chunks {
        let r = match &mut readers[c.source] {
            Some(r) => r,
            slot => slot.insert(files.open_read(&prepared.sources[c.source])?),
        };
        let mut offset = c.offset;
        for sample in &c.samples {
            let data = r
                .read_range(offset, sample.size as usize)
                .map_err(StoreError::io(format!(
                    "reading segment {}",
                    prepared.sources[c.source]
                )))?;
            offset += u64::from(sample.size);
            let wall = walls.next().copied().unwrap_or(media);
            let go = sink(SampleData {
                data,
                wall_90k: wall,
                media_90k: media,
                duration: sample.duration,
                is_key: sample.is_key,
                sample_entry: c.sample_entry,
            })?;
            media += i64::from(sample.duration);
            if !go {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Writes a prepared export to `out` (via `<out>.partial`), reporting bytes written.
pub fn write(
    prepared: &PreparedExport,
    files: &SegmentFiles,
    out: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<()> {
    let partial = out.with_extension(match out.extension() {
        Some(e) => format!("{}.partial", e.to_string_lossy()),
        None => "partial".to_owned(),
    });
    let result = (|| -> Result<()> {
        let f = std::fs::File::create(&partial)
            .map_err(StoreError::io(format!("creating {}", partial.display())))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let err = |e| StoreError::io(format!("writing {}", partial.display()))(e);
        let total = prepared.plan.total_len;
        let mut done = 0u64;
        read_range(prepared, files, 0, total.saturating_sub(1), |chunk| {
            w.write_all(&chunk).map_err(err)?;
            done += chunk.len() as u64;
            progress(done, total);
            Ok(true)
        })?;
        let f = w.into_inner().map_err(|e| err(e.into_error()))?;
        f.sync_all().map_err(err)?;
        Ok(())
    })();
    match result {
        Ok(()) => std::fs::rename(&partial, out)
            .map_err(StoreError::io(format!("renaming to {}", out.display()))),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Feeds bytes `start..=end` of the planned file — the header, then the samples read
/// from the segment files — to `sink` in order, in chunks of at most 1 MiB. The sink
/// returns `Ok(false)` to stop early (e.g. the client went away).
pub fn read_range(
    prepared: &PreparedExport,
    files: &SegmentFiles,
    start: u64,
    end: u64,
    mut sink: impl FnMut(Vec<u8>) -> Result<bool>,
) -> Result<()> {
    // The part of [pos, pos + len) inside [start, end], relative to pos.
    let want = |pos: u64, len: u64| -> Option<(u64, u64)> {
        let (a, b) = (start.max(pos), end.min((pos + len).saturating_sub(1)));
        (len > 0 && a <= b).then(|| (a - pos, b - a + 1))
    };
    let header = &prepared.plan.header;
    if let Some((off, n)) = want(0, header.len() as u64)
        && !sink(header[off as usize..(off + n) as usize].to_vec())?
    {
        return Ok(());
    }
    let mut pos = header.len() as u64;
    let mut readers: Vec<Option<crate::files::SegmentReader>> =
        prepared.sources.iter().map(|_| None).collect();
    for &(source, offset, len) in &prepared.plan.copies {
        if pos > end {
            break;
        }
        if let Some((off, n)) = want(pos, len) {
            let r = match &mut readers[source] {
                Some(r) => r,
                slot => slot.insert(files.open_read(&prepared.sources[source])?),
            };
            let mut done = 0;
            while done < n {
                let k = (n - done).min(1 << 20) as usize;
                let chunk = r
                    .read_range(offset + off + done, k)
                    .map_err(StoreError::io(format!(
                        "reading segment {}",
                        prepared.sources[source]
                    )))?;
                if !sink(chunk)? {
                    return Ok(());
                }
                done += k as u64;
            }
        }
        pos += len;
    }
    Ok(())
}
