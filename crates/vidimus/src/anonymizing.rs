//! `vidimus anonymize IN.mp4 --out OUT.mp4 [--models DIR] [--report REPORT.json]`: the
//! anonymizer of publications (Art. 31) run on a file, for auditors and tests. It reads
//! the file's video track (H.264 or H.265), decodes it, masks faces and plates
//! (`vidimus-anonymize`), re-encodes to H.264 and writes a new MP4 that carries nothing
//! of the original but the masked pictures and their times: no original parameter sets,
//! SEI, audio, thumbnails or metadata. If the re-check still finds a face or plate,
//! nothing is written but the report, which says where.

use anyhow::{Context, bail};
use sha2::Digest;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vidimus_anonymize::detect::{FaceDetector, PlateDetector};
use vidimus_anonymize::models;
use vidimus_anonymize::pipeline::{Anonymizer, Detectors, Params};
use vidimus_codec::{
    AccessUnit, EncodedFrame, Encoder, EncoderSettings, Ffmpeg, H264Encoder, NalFraming,
    ParameterSets, open_decoder,
};
use vidimus_media::export::{ChunkIn, ExportParams, plan};
use vidimus_media::fmp4::Sample;
use vidimus_media::mp4file;

/// The largest sample read (a 4K key frame is a few MB): a file claiming more is
/// refused, not allocated.
const MAX_SAMPLE: u32 = 64 << 20;

/// Where `models fetch` keeps the weights unless told otherwise.
pub fn default_models_dir() -> PathBuf {
    std::env::var_os("VIDIMUS_MODELS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/vidimus/models"))
        })
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// The `moov` box of an MP4 file, read box by box from the start (the samples are
/// read later, each at its offset).
fn read_moov(file: &mut std::fs::File, path: &Path) -> anyhow::Result<Vec<u8>> {
    let len = file.metadata()?.len();
    let mut at = 0u64;
    let mut head = [0u8; 16];
    while at < len {
        file.seek(SeekFrom::Start(at))?;
        let n = file.read(&mut head)?;
        let Some(h) = mp4file::box_header(&head[..n])? else {
            break;
        };
        let (kind, size) = (h.kind, h.size.unwrap_or(len - at));
        if size < 8 || at + size > len {
            bail!(
                "{}: a box at byte {at} claims {size} bytes, past the end of the file ({len} bytes)",
                path.display()
            );
        }
        if &kind == b"moov" {
            if size > 256 << 20 {
                bail!(
                    "{}: its moov box is {size} bytes; at most 256 MiB is read",
                    path.display()
                );
            }
            let mut moov = vec![0u8; size as usize];
            file.seek(SeekFrom::Start(at))?;
            file.read_exact(&mut moov)?;
            return Ok(moov);
        }
        at += size;
    }
    bail!(
        "{}: no moov box: not an MP4 file, or a fragmented one (give an ordinary MP4, e.g. a `vidimus export`)",
        path.display()
    )
}

/// What the report says (JSON).
#[derive(serde::Serialize)]
struct FileReport<'a> {
    anonymizer: &'static str,
    input: String,
    output: Option<String>,
    output_sha256: Option<String>,
    released: bool,
    models: Vec<serde_json::Value>,
    params: &'a Params,
    frames: usize,
    frames_with_masks: usize,
    seconds: f64,
    frames_per_second: f64,
    timings_s: serde_json::Value,
    findings: &'a [vidimus_anonymize::pipeline::Finding],
    masks: &'a [Vec<vidimus_anonymize::pipeline::Masked>],
    /// Per frame, the regions whose pixels were destroyed.
    regions: &'a [Vec<vidimus_anonymize::Rect>],
}

/// What to anonymize and how.
pub struct Job<'a> {
    pub input: &'a Path,
    pub out: &'a Path,
    pub models: &'a Path,
    pub report: Option<&'a Path>,
    pub force: bool,
    /// Mask whatever moves too (the figure mode, Art. 31 体貌).
    pub figures: bool,
}

pub fn run(job: Job<'_>) -> anyhow::Result<()> {
    let Job {
        input,
        out,
        models: models_dir,
        report: report_path,
        force,
        figures,
    } = job;
    if out.exists() && !force {
        bail!("{} exists (add --force to replace it)", out.display());
    }
    let mut checked = Vec::new();
    for m in models::ALL {
        checked.push(models::load(models_dir, m)?);
    }
    let det = Detectors {
        faces: FaceDetector::new(&checked[0])?,
        plates: PlateDetector::new(&checked[1])?,
    };
    let mut file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let moov = read_moov(&mut file, input)?;
    let track = mp4file::video_track(&moov).with_context(|| format!("{}", input.display()))?;
    if track.samples.is_empty() {
        bail!("{}: its video track has no samples", input.display());
    }
    let (codec, params) = ParameterSets::from_sample_entry(&track.sample_entry)
        .with_context(|| format!("{}: the video track's sample entry", input.display()))?;
    let framing = NalFraming::LengthPrefixed(params.nal_length_size);
    let mut dec = open_decoder(codec, &params, &Ffmpeg::find())?;
    let p = Params {
        figures,
        ..Params::default()
    };
    let mut anon = Anonymizer::new(&det, p.clone());
    let mut enc = H264Encoder::new(EncoderSettings::default())?;
    let mut encoded: Vec<EncodedFrame> = Vec::new();
    let ts = track.timescale.max(1) as i64;
    let started = Instant::now();
    let (mut decoding, mut encoding) = (Duration::ZERO, Duration::ZERO);
    let mut buf = Vec::new();
    let mut encode =
        |frames: Vec<vidimus_codec::Frame>, encoding: &mut Duration| -> anyhow::Result<()> {
            let t = Instant::now();
            for f in frames {
                encoded.extend(enc.encode(&f)?);
            }
            *encoding += t.elapsed();
            Ok(())
        };
    for s in &track.samples {
        if s.size > MAX_SAMPLE {
            bail!(
                "{}: a sample of {} bytes at byte {}; a video frame is at most {MAX_SAMPLE} bytes",
                input.display(),
                s.size,
                s.offset
            );
        }
        buf.resize(s.size as usize, 0);
        file.seek(SeekFrom::Start(s.offset))?;
        file.read_exact(&mut buf).with_context(|| {
            format!(
                "{}: sample at byte {} ({} bytes) is past the end",
                input.display(),
                s.offset,
                s.size
            )
        })?;
        let t = Instant::now();
        let frames = dec.decode(&AccessUnit {
            data: &buf,
            framing,
            pts: s.pts * 90_000 / ts,
        })?;
        decoding += t.elapsed();
        for f in frames {
            let masked = anon.push(f)?;
            encode(masked, &mut encoding)?;
        }
    }
    let t = Instant::now();
    let rest = dec.finish()?;
    decoding += t.elapsed();
    for f in rest {
        let masked = anon.push(f)?;
        encode(masked, &mut encoding)?;
    }
    let last = anon.finish()?;
    encode(last, &mut encoding)?;
    let ps = enc.parameter_sets().cloned();
    let report = anon.into_report();
    let seconds = started.elapsed().as_secs_f64();
    let released = report.released();

    let mut output_sha256 = None;
    if released {
        let ps = ps.context("no frame was decoded from the input")?;
        let entry = ps.avc1_sample_entry(track.width, track.height);
        let mut data = Vec::new();
        let mut samples = Vec::with_capacity(encoded.len());
        for (i, e) in encoded.iter().enumerate() {
            let bytes = e.mp4_sample();
            let next = encoded.get(i + 1).map(|n| n.pts);
            let prev = i.checked_sub(1).map(|j| e.pts - encoded[j].pts);
            let duration = next
                .map(|n| n - e.pts)
                .or(prev)
                .unwrap_or(3600)
                .clamp(1, u32::MAX as i64) as u32;
            samples.push(Sample {
                duration,
                size: bytes.len() as u32,
                is_key: e.is_key,
            });
            data.extend_from_slice(&bytes);
        }
        let plan = plan(
            &ExportParams {
                sample_entries: std::slice::from_ref(&entry),
                width: track.width,
                height: track.height,
                trim: 0,
                trim_end: 0,
                metadata: b"",
            },
            &[ChunkIn {
                source: 0,
                offset: 0,
                len: data.len() as u64,
                samples,
                sample_entry: 0,
            }],
        )?;
        let tmp = out.with_extension("mp4.partial");
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(&plan.header)?;
        f.write_all(&data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, out)?;
        let mut h = sha2::Sha256::new();
        h.update(&plan.header);
        h.update(&data);
        output_sha256 = Some(hex::encode(h.finalize()));
    }
    let secs = |d: Duration| d.as_secs_f64();
    let doc = FileReport {
        anonymizer: env!("CARGO_PKG_VERSION"),
        input: input.display().to_string(),
        output: released.then(|| out.display().to_string()),
        output_sha256: output_sha256.clone(),
        released,
        models: checked
            .iter()
            .map(|c| serde_json::json!({"file": c.model.file, "package": c.model.package, "sha256": c.model.sha256}))
            .collect(),
        params: &p,
        frames: report.frames,
        frames_with_masks: report.regions.iter().filter(|r| !r.is_empty()).count(),
        seconds,
        frames_per_second: report.frames as f64 / seconds.max(1e-9),
        timings_s: serde_json::json!({
            "decode": secs(decoding),
            "detect": secs(report.timings.detect),
            "track": secs(report.timings.track),
            "motion": secs(report.timings.motion),
            "mask": secs(report.timings.mask),
            "recheck": secs(report.timings.recheck),
            "encode": secs(encoding),
        }),
        findings: &report.findings,
        masks: &report.masks,
        regions: &report.regions,
    };
    if let Some(r) = report_path {
        std::fs::write(r, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("cannot write {}", r.display()))?;
    }
    let blocked = report.findings.iter().filter(|f| !f.masked_after).count();
    if !released {
        bail!(
            "not released: the re-check still finds {blocked} face(s) or plate(s) outside the masks (first in frame {}); nothing was written to {}{}",
            report
                .findings
                .iter()
                .find(|f| !f.masked_after)
                .map_or(0, |f| f.frame),
            out.display(),
            report_path.map_or(String::new(), |r| format!(
                "; the report is {}",
                r.display()
            ))
        );
    }
    println!(
        "anonymized {} frames ({} with masks) in {seconds:.1} s ({:.1} frames/s); re-checked {} frames, {} more masked; wrote {} (sha256 {})",
        report.frames,
        doc.frames_with_masks,
        doc.frames_per_second,
        report.rechecked,
        report.findings.len(),
        out.display(),
        output_sha256.unwrap_or_default()
    );
    Ok(())
}
