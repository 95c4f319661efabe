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
use std::sync::Arc;
use std::time::{Duration, Instant};
use vidimus_anonymize::detect::{FaceDetector, PlateDetector};
use vidimus_anonymize::models;
use vidimus_anonymize::pipeline::{Anonymizer, Detectors, Params};
use vidimus_codec::{
    AccessUnit, EncodedFrame, Encoder, EncoderSettings, Ffmpeg, H264Encoder, NalFraming,
    ParameterSets, open_decoder,
};
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
        if size < 8 || size > len - at {
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
    anonymizer: String,
    input: String,
    output: Option<String>,
    output_sha256: Option<String>,
    released: bool,
    models: Vec<serde_json::Value>,
    params: &'a Params,
    frames: usize,
    frames_with_masks: usize,
    /// Frames the re-check looked at (each counted once).
    rechecked: usize,
    seconds: f64,
    frames_per_second: f64,
    timings_s: serde_json::Value,
    findings: &'a [vidimus_anonymize::pipeline::Finding],
    /// What the re-check saw that the masks made, not the source (it does not block).
    artifacts: &'a [vidimus_anonymize::pipeline::Artifact],
    masks: &'a [Vec<vidimus_anonymize::pipeline::Masked>],
    /// Per frame, the regions whose pixels were destroyed.
    regions: &'a [Vec<vidimus_anonymize::Rect>],
}

/// The weights checked and the detectors compiled: what every run needs.
pub(crate) struct Engine {
    checked: Vec<models::Checked>,
    det: Arc<Detectors>,
}

impl Engine {
    /// Loads and checks both models from `dir` (a clear error says how to get them).
    pub fn load(dir: &Path) -> anyhow::Result<Engine> {
        let mut checked = Vec::new();
        for m in models::ALL {
            checked.push(models::load(dir, m)?);
        }
        let det = Detectors {
            faces: FaceDetector::new(&checked[0])?,
            plates: PlateDetector::new(&checked[1])?,
        };
        Ok(Engine {
            checked,
            det: Arc::new(det),
        })
    }

    /// The models by file, package and digest (for reports and provenance).
    pub fn models(&self) -> Vec<vidimus_integrity::publication::Model> {
        self.checked
            .iter()
            .map(|c| vidimus_integrity::publication::Model {
                file: c.model.file.into(),
                package: c.model.package.into(),
                sha256: c.model.sha256.into(),
            })
            .collect()
    }
}

/// What the anonymizer is, by name and version (for provenance).
pub(crate) fn anonymizer_version() -> String {
    format!("vidimus-anonymize {}", env!("CARGO_PKG_VERSION"))
}

/// One clip through the anonymizer: recorded samples in (each with its sample
/// entry), masked, re-checked and re-encoded pictures out, then a new MP4.
pub(crate) struct Pass {
    anon: Anonymizer,
    params: Params,
    ffmpeg: Ffmpeg,
    /// The decoder, and the sample entry it was opened for.
    dec: Option<(Vec<u8>, NalFraming, Box<dyn vidimus_codec::Decoder>)>,
    enc: H264Encoder,
    encoded: Vec<EncodedFrame>,
    started: Instant,
    decoding: Duration,
    encoding: Duration,
    /// Only pictures presented in [from, to) (90 kHz) are kept; the others are decoded
    /// (a range starts after its key frame) and dropped.
    window: Option<(i64, i64)>,
    /// The picture size, from the first picture kept: one clip has one.
    dims: Option<(usize, usize)>,
    mask: Option<(
        vidimus_core::privacy::PrivacyMask,
        vidimus_codec::MaskBurner,
    )>,
}

/// A pass finished.
pub(crate) struct Outcome {
    pub report: vidimus_anonymize::pipeline::Report,
    pub params: Params,
    /// The privacy mask burned in first, if any.
    pub privacy_mask: Option<vidimus_core::privacy::PrivacyMask>,
    /// The new MP4 (header and sample data), when the re-check left nothing.
    pub mp4: Option<Vec<u8>>,
    pub seconds: f64,
    pub decoding: Duration,
    pub encoding: Duration,
    /// Presentation time of the last frame and just after it (90 kHz, from the first).
    pub duration_90k: i64,
}

/// What a user chooses about a pass, and the camera's privacy mask.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mode {
    /// Also mask whatever moves, whole (figures, Art. 31 体貌).
    pub figures: bool,
    /// Anything the re-check finds blocks release (for a person to look at), instead
    /// of being masked and looked at again.
    pub strict: bool,
    /// The camera's static privacy mask (Art. 10, 30), burned into every picture
    /// before anything else; a publication never lifts it.
    pub privacy_mask: Option<vidimus_core::privacy::PrivacyMask>,
}

impl Mode {
    /// The anonymizer's parameters for this mode.
    fn params(&self) -> Params {
        let mut params = Params {
            figures: self.figures,
            ..Params::default()
        };
        if self.strict {
            params.recheck_rounds = 0;
            params.recheck_source = false;
        }
        params
    }
}

/// The anonymizer as a stage of a live feed's transcoder (Art. 22, 23): it holds
/// pictures until their detection frame, hands them on masked and re-checked, and
/// withholds every picture of a round that was not re-checked (the first frame, a
/// short last round) or whose re-check left a face or plate unmasked — and, after a
/// withheld round, every round until one is re-checked and found clean (nothing
/// found, masked or not): a live feed has no one to look at it before it goes out.
/// Its report is taken after every round, so its memory stays bounded however long
/// the feed runs.
pub(crate) struct LiveStage {
    anon: Anonymizer,
    counts: Arc<vidimus_server::publication::LiveCounts>,
    /// A round was withheld and no clean round has followed yet.
    doubtful: bool,
}

impl LiveStage {
    /// `mode.privacy_mask` is not used here: the transcoder burns it in first.
    pub fn new(
        engine: &Engine,
        mode: &Mode,
        counts: Arc<vidimus_server::publication::LiveCounts>,
    ) -> LiveStage {
        let mut params = mode.params();
        // Every round is re-checked, in its middle (a clip's every 25th frame would
        // leave two rounds in three unchecked, and a live round is released at once).
        params.recheck_every = params.detect_every.max(1);
        params.recheck_phase = params.recheck_every / 2;
        Self::with_params(engine, params, counts)
    }

    fn with_params(
        engine: &Engine,
        params: Params,
        counts: Arc<vidimus_server::publication::LiveCounts>,
    ) -> LiveStage {
        LiveStage {
            anon: Anonymizer::new(engine.det.clone(), params),
            counts,
            doubtful: false,
        }
    }

    fn release(
        &mut self,
        frames: Vec<vidimus_codec::Frame>,
    ) -> Result<Vec<vidimus_codec::Frame>, vidimus_codec::CodecError> {
        use vidimus_server::publication::LiveCounts;
        let report = self.anon.take_report();
        let c = &self.counts;
        let n = frames.len() as u64;
        LiveCounts::add(&c.masks, report.masks.iter().map(|m| m.len() as u64).sum());
        if frames.is_empty() {
            return Ok(frames);
        }
        let (release, doubtful) = live_release(
            self.doubtful,
            report.rechecked > 0,
            report.released(),
            report.findings.is_empty(),
        );
        self.doubtful = doubtful;
        if release {
            LiveCounts::add(&c.released, n);
            Ok(frames)
        } else {
            LiveCounts::add(&c.withheld, n);
            Ok(Vec::new())
        }
    }
}

/// Whether a live round goes out, and whether the feed is in doubt after it: a round
/// not re-checked is withheld (the first frame, a short last round); one whose
/// re-check left anything unmasked is withheld and puts the feed in doubt; in doubt,
/// only a re-checked round with nothing found at all goes out (and ends the doubt).
fn live_release(doubtful: bool, rechecked: bool, released: bool, clean: bool) -> (bool, bool) {
    match (rechecked, released) {
        (false, _) => (false, doubtful),
        (true, false) => (false, true),
        (true, true) if doubtful => (clean, !clean),
        (true, true) => (true, false),
    }
}

impl vidimus_codec::FrameStage for LiveStage {
    fn push(
        &mut self,
        frame: vidimus_codec::Frame,
    ) -> Result<Vec<vidimus_codec::Frame>, vidimus_codec::CodecError> {
        vidimus_server::publication::LiveCounts::add(&self.counts.frames_in, 1);
        let out = self
            .anon
            .push(frame)
            .map_err(|e| vidimus_codec::CodecError::Stage(e.to_string()))?;
        self.release(out)
    }

    fn finish(&mut self) -> Result<Vec<vidimus_codec::Frame>, vidimus_codec::CodecError> {
        let out = self
            .anon
            .finish()
            .map_err(|e| vidimus_codec::CodecError::Stage(e.to_string()))?;
        self.release(out)
    }
}

impl Pass {
    pub fn new(engine: &Engine, mode: Mode) -> anyhow::Result<Pass> {
        let params = mode.params();
        Ok(Pass {
            anon: Anonymizer::new(engine.det.clone(), params.clone()),
            params,
            ffmpeg: Ffmpeg::find(),
            dec: None,
            enc: H264Encoder::new(EncoderSettings::default())?,
            encoded: Vec::new(),
            started: Instant::now(),
            decoding: Duration::ZERO,
            encoding: Duration::ZERO,
            window: None,
            dims: None,
            mask: mode
                .privacy_mask
                .map(|m| (m.clone(), vidimus_codec::MaskBurner::new(m))),
        })
    }

    /// Keeps only pictures presented in [from, to) (90 kHz).
    pub fn keep(&mut self, from: i64, to: i64) {
        self.window = Some((from, to));
    }

    fn pictures(&mut self, frames: Vec<vidimus_codec::Frame>) -> anyhow::Result<()> {
        for f in frames {
            if self.window.is_some_and(|(a, b)| f.pts < a || f.pts >= b) {
                continue;
            }
            let d = (f.width(), f.height());
            match self.dims {
                None => self.dims = Some(d),
                Some(first) if first != d => bail!(
                    "the picture size changes from {}x{} to {}x{} at {:.2} s (the camera was reconfigured): anonymize the parts before and after it separately",
                    first.0,
                    first.1,
                    d.0,
                    d.1,
                    f.pts as f64 / 90_000.0
                ),
                Some(_) => {}
            }
            let mut f = f;
            if let Some((_, m)) = &mut self.mask {
                m.burn(&mut f);
            }
            let masked = self.anon.push(f)?;
            self.encode(masked)?;
        }
        Ok(())
    }

    fn encode(&mut self, frames: Vec<vidimus_codec::Frame>) -> anyhow::Result<()> {
        let t = Instant::now();
        for f in frames {
            self.encoded.extend(self.enc.encode(&f)?);
        }
        self.encoding += t.elapsed();
        Ok(())
    }

    /// Drains the decoder (at the end, or before a new sample entry).
    fn drain(&mut self) -> anyhow::Result<()> {
        if let Some((_, _, mut d)) = self.dec.take() {
            let t = Instant::now();
            let rest = d.finish()?;
            self.decoding += t.elapsed();
            self.pictures(rest)?;
        }
        Ok(())
    }

    /// One sample: its sample entry (`avc1`/`hvc1` box), its bytes as recorded, its
    /// presentation time (90 kHz).
    pub fn sample(&mut self, entry: &[u8], data: &[u8], pts: i64) -> anyhow::Result<()> {
        if self.dec.as_ref().is_none_or(|(e, _, _)| e != entry) {
            self.drain()?;
            let (codec, params) =
                ParameterSets::from_sample_entry(entry).context("the video's sample entry")?;
            let framing = NalFraming::LengthPrefixed(params.nal_length_size);
            let d = open_decoder(codec, &params, &self.ffmpeg)?;
            self.dec = Some((entry.to_vec(), framing, d));
        }
        let (_, framing, d) = self.dec.as_mut().expect("opened above");
        let t = Instant::now();
        let frames = d.decode(&AccessUnit {
            data,
            framing: *framing,
            pts,
        })?;
        self.decoding += t.elapsed();
        self.pictures(frames)
    }

    /// Ends the pass: the last pictures, the report, and the MP4 if released.
    pub fn finish(mut self) -> anyhow::Result<Outcome> {
        self.drain()?;
        let last = self.anon.finish()?;
        self.encode(last)?;
        let ps = self.enc.parameter_sets().cloned();
        let report = self.anon.into_report();
        let seconds = self.started.elapsed().as_secs_f64();
        let encoded = self.encoded;
        let duration_90k = match (encoded.first(), encoded.last()) {
            (Some(a), Some(b)) if encoded.len() > 1 => {
                (b.pts - a.pts) * encoded.len() as i64 / (encoded.len() as i64 - 1)
            }
            (Some(_), _) => 3600,
            _ => 0,
        };
        let mp4 = if report.released() {
            let ps = ps.context("no frame was decoded from the input")?;
            let (w, h) = self.dims.context("no picture was decoded")?;
            let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h)) else {
                bail!("a {w}x{h} picture is too large for an MP4 track header");
            };
            Some(vidimus_codec::mp4::write(&ps, &encoded, w, h, b"")?)
        } else {
            None
        };
        Ok(Outcome {
            report,
            params: self.params,
            privacy_mask: self.mask.map(|(m, _)| m),
            mp4,
            seconds,
            decoding: self.decoding,
            encoding: self.encoding,
            duration_90k,
        })
    }
}

impl Outcome {
    /// The process's parameters for provenance: the anonymizer's, and the privacy mask
    /// burned in first, if any.
    pub fn params_json(&self) -> anyhow::Result<serde_json::Value> {
        let mut v = serde_json::to_value(&self.params)?;
        if let Some(m) = &self.privacy_mask {
            v["privacy_mask"] = serde_json::to_value(m)?;
        }
        Ok(v)
    }

    /// The report as JSON: `input` names what was anonymized.
    pub fn report_json(
        &self,
        engine: &Engine,
        input: &str,
        output: Option<String>,
        output_sha256: Option<String>,
    ) -> anyhow::Result<Vec<u8>> {
        let secs = |d: Duration| d.as_secs_f64();
        let r = &self.report;
        let doc = FileReport {
            anonymizer: anonymizer_version(),
            input: input.to_owned(),
            output,
            output_sha256,
            released: r.released(),
            models: engine
                .models()
                .iter()
                .map(|m| serde_json::json!({"file": m.file, "package": m.package, "sha256": m.sha256}))
                .collect(),
            params: &self.params,
            frames: r.frames,
            frames_with_masks: self.frames_with_masks(),
            rechecked: r.rechecked,
            seconds: self.seconds,
            frames_per_second: r.frames as f64 / self.seconds.max(1e-9),
            timings_s: serde_json::json!({
                "decode": secs(self.decoding),
                "detect": secs(r.timings.detect),
                "track": secs(r.timings.track),
                "motion": secs(r.timings.motion),
                "mask": secs(r.timings.mask),
                "recheck": secs(r.timings.recheck),
                "encode": secs(self.encoding),
            }),
            findings: &r.findings,
            artifacts: &r.artifacts,
            masks: &r.masks,
            regions: &r.regions,
        };
        Ok(serde_json::to_vec_pretty(&doc)?)
    }

    pub fn frames_with_masks(&self) -> usize {
        self.report.regions.iter().filter(|r| !r.is_empty()).count()
    }

    /// What the re-check found and left.
    pub fn recheck(&self) -> vidimus_integrity::publication::Recheck {
        let r = &self.report;
        vidimus_integrity::publication::Recheck {
            frames: r.rechecked as u64,
            found: r.findings.len() as u64,
            left: r.findings.iter().filter(|f| !f.masked_after).count() as u64,
        }
    }

    /// The refusal when the re-check left something unmasked.
    pub fn blocked(&self, what: &str, report: Option<&Path>) -> anyhow::Error {
        let first = self
            .report
            .findings
            .iter()
            .find(|f| !f.masked_after)
            .map_or(0, |f| f.frame);
        blocked_error(self.recheck().left, first, what, report)
    }
}

/// The refusal of a clip whose re-check left `left` finds unmasked, the first in
/// frame `first`: `what` was not written.
pub(crate) fn blocked_error(
    left: u64,
    first: usize,
    what: &str,
    report: Option<&Path>,
) -> anyhow::Error {
    anyhow::anyhow!(
        "not released: the re-check still finds {left} face(s) or plate(s) outside the masks (first in frame {first}); {what} was not written{}",
        report.map_or(String::new(), |p| format!(
            "; the report is {}",
            p.display()
        ))
    )
}

/// What to anonymize and how.
pub struct Job<'a> {
    pub input: &'a Path,
    pub out: &'a Path,
    pub models: &'a Path,
    pub report: Option<&'a Path>,
    pub force: bool,
    pub mode: Mode,
}

pub fn run(job: Job<'_>) -> anyhow::Result<()> {
    let Job {
        input,
        out,
        models: models_dir,
        report: report_path,
        force,
        mode,
    } = job;
    if out.exists() && !force {
        bail!("{} exists (add --force to replace it)", out.display());
    }
    let engine = Engine::load(models_dir)?;
    let mut file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let moov = read_moov(&mut file, input)?;
    let track = mp4file::video_track(&moov).with_context(|| format!("{}", input.display()))?;
    if track.samples.is_empty() {
        bail!("{}: its video track has no samples", input.display());
    }
    let mut pass = Pass::new(&engine, mode)?;
    let ts = track.timescale.max(1) as i64;
    let mut buf = Vec::new();
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
        let pts = i64::try_from(s.pts as i128 * 90_000 / ts as i128).map_err(|_| {
            anyhow::anyhow!(
                "{}: a sample's time ({} at timescale {ts}) is out of range",
                input.display(),
                s.pts
            )
        })?;
        pass.sample(&track.sample_entry, &buf, pts)
            .with_context(|| format!("{}", input.display()))?;
    }
    let outcome = pass.finish()?;

    let mut output_sha256 = None;
    if let Some(mp4) = &outcome.mp4 {
        let tmp = out.with_extension("mp4.partial");
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(mp4)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, out)?;
        output_sha256 = Some(hex::encode(sha2::Sha256::digest(mp4)));
    }
    if let Some(r) = report_path {
        let doc = outcome.report_json(
            &engine,
            &input.display().to_string(),
            outcome.mp4.is_some().then(|| out.display().to_string()),
            output_sha256.clone(),
        )?;
        std::fs::write(r, doc).with_context(|| format!("cannot write {}", r.display()))?;
    }
    if outcome.mp4.is_none() {
        return Err(outcome.blocked(&out.display().to_string(), report_path));
    }
    let r = &outcome.report;
    println!(
        "anonymized {} frames ({} with masks) in {:.1} s ({:.1} frames/s); re-checked {} frames, {} more masked ({} made by the masks, not in the source); wrote {} (sha256 {})",
        r.frames,
        outcome.frames_with_masks(),
        outcome.seconds,
        r.frames as f64 / outcome.seconds.max(1e-9),
        r.rechecked,
        r.findings.len(),
        r.artifacts.len(),
        out.display(),
        output_sha256.unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;
    use vidimus_codec::{FrameStage, Plane};
    use vidimus_server::publication::LiveCounts;

    fn shared() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
    }

    /// The first `n` pictures of the scene clip (faces, a plate), decoded by ffmpeg.
    fn scene(n: usize) -> Vec<vidimus_codec::Frame> {
        let clip = shared().join("testdata/clips/scene-faces-plate-720p25.mp4");
        let out = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(&clip)
            .args([
                "-frames:v",
                &n.to_string(),
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-",
            ])
            .output()
            .expect("ffmpeg");
        let (w, h) = (1280, 720);
        out.stdout
            .chunks_exact(w * h * 3 / 2)
            .enumerate()
            .map(|(i, p)| {
                let (y, uv) = p.split_at(w * h);
                let (u, v) = uv.split_at(w * h / 4);
                vidimus_codec::Frame::from_planes(
                    w,
                    h,
                    i as i64 * 3600,
                    (w, w / 2),
                    [y.to_vec(), u.to_vec(), v.to_vec()],
                )
                .unwrap()
            })
            .collect()
    }

    fn run(stage: &mut LiveStage, frames: &[vidimus_codec::Frame]) -> Vec<vidimus_codec::Frame> {
        let mut out = Vec::new();
        for f in frames {
            out.extend(stage.push(f.clone()).unwrap());
        }
        out.extend(stage.finish().unwrap());
        out
    }

    fn count(c: &LiveCounts) -> (u64, u64, u64) {
        (
            c.frames_in.load(Relaxed),
            c.released.load(Relaxed),
            c.withheld.load(Relaxed),
        )
    }

    /// The large face's luma (176..243 × 104..194) is flat: destroyed.
    fn large_face_flat(f: &vidimus_codec::Frame) -> bool {
        let (s, y) = (f.stride(Plane::Y), f.plane(Plane::Y));
        let px = (104..194).flat_map(|r| (176..243).map(move |c| y[r * s + c]));
        let (lo, hi) = px.fold((255, 0), |(lo, hi), v| (v.min(lo), v.max(hi)));
        hi - lo <= 2
    }

    #[test]
    fn a_live_round_goes_out_only_rechecked_and_clean_after_a_doubt() {
        // (doubtful, rechecked, released, clean) -> (goes out, doubtful after)
        assert_eq!(live_release(false, false, true, true), (false, false));
        assert_eq!(live_release(true, false, true, true), (false, true));
        assert_eq!(live_release(false, true, true, true), (true, false));
        assert_eq!(live_release(false, true, true, false), (true, false));
        assert_eq!(live_release(false, true, false, false), (false, true));
        assert_eq!(live_release(true, true, true, false), (false, true));
        assert_eq!(live_release(true, true, true, true), (true, false));
        assert_eq!(live_release(true, true, false, false), (false, true));
    }

    #[test]
    fn a_live_stage_releases_masked_frames_and_withholds_each_round_its_recheck_did_not_clear() {
        let engine = Engine::load(&shared().join("models")).unwrap();
        let frames = scene(30);
        assert_eq!(frames.len(), 30);

        // As served: every round re-checked in its middle (frames 4, 12, 20, 28) and
        // released, the faces destroyed, in order; frame 0, a round of its own that
        // nothing re-checks, is withheld.
        let counts = Arc::new(LiveCounts::default());
        let mut stage = LiveStage::new(&engine, &Mode::default(), counts.clone());
        let out = run(&mut stage, &frames);
        assert_eq!(count(&counts), (30, 29, 1));
        assert!(counts.masks.load(Relaxed) >= 3 * 29);
        assert_eq!(
            out.iter().map(|f| f.pts).collect::<Vec<_>>(),
            frames[1..].iter().map(|f| f.pts).collect::<Vec<_>>()
        );
        assert!(out.iter().all(large_face_flat));

        // A detector that finds nothing (no score reaches its threshold): the re-check
        // finds the faces in every round; strict, nothing is masked after, so every
        // round is withheld.
        let strict = Mode {
            strict: true,
            ..Mode::default()
        };
        let broken = |mode: &Mode| {
            let counts = Arc::new(LiveCounts::default());
            let mut stage = LiveStage::new(&engine, mode, counts.clone());
            stage.anon.params_mut().face_threshold = 1.01;
            stage.anon.params_mut().plate_threshold = 1.01;
            let out = run(&mut stage, &frames);
            (count(&counts), out)
        };
        let (n, out) = broken(&strict);
        assert_eq!(n, (30, 0, 30));
        assert!(out.is_empty());

        // Not strict: the re-check masks what it finds and looks again, so rounds go
        // out masked — every face still destroyed.
        let (n, out) = broken(&Mode::default());
        assert_eq!(n.0, 30);
        assert!(n.1 > 0, "{n:?}");
        assert!(out.iter().all(large_face_flat));

        // Re-checked as a clip is (every 25th frame), the rounds nothing re-checks
        // would be released unmasked: the live stage withholds them.
        let counts = Arc::new(LiveCounts::default());
        let mut params = strict.params();
        params.face_threshold = 1.01;
        params.plate_threshold = 1.01;
        let mut stage = LiveStage::with_params(&engine, params, counts.clone());
        assert!(run(&mut stage, &frames).is_empty());
        assert_eq!(count(&counts), (30, 0, 30));
    }
}
