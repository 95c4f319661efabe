//! `vidimus publish --camera C --from T --to T --out BUNDLE --purpose P`: a recorded
//! range made publishable (Art. 31). The recorded samples are read from the store one
//! by one (no copy of them is written anywhere), decoded, anonymized and re-checked
//! (`anonymizing::Pass`), re-encoded into a new MP4, registered as a reproduction whose
//! whereabouts are a public broadcast, logged as a publication leaf naming its source
//! segments' leaves, the process and the output's digest, and written as a
//! publication bundle (`vidimus_integrity::publication`) that `vidimus verify` checks.
//! A clip whose re-check left a face or plate unmasked is not written, not logged and
//! not registered; the report says where.

use crate::anonymizing::{Engine, Mode, Pass, anonymizer_version};
use anyhow::{Context, bail};
use std::path::Path;
use vidimus_core::time::Wall90k;
use vidimus_integrity::publication::Process;
use vidimus_store::SegmentFiles;
use vidimus_store::index::{IndexOp, MetadataStore};
use vidimus_store::publication::{
    Derived, Destination, PublicationRequest, PublicationSource, new_id, prepare_publication,
    write_publication,
};

pub(crate) struct PublishArgs<'a> {
    pub camera: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub out: &'a Path,
    pub models: &'a Path,
    pub purpose: &'a str,
    pub publisher: Option<&'a str>,
    pub report: Option<&'a Path>,
    pub mode: Mode,
    pub force: bool,
    pub json: bool,
}

pub(crate) fn publish(target: &crate::Target, a: &PublishArgs<'_>) -> anyhow::Result<()> {
    let (dir, mut ix) = target.index()?;
    let cam = ix.camera_by_name(a.camera)?;
    let (from, to) = (Wall90k::parse(a.from)?, Wall90k::parse(a.to)?);
    if to <= from {
        bail!("--to ({}) must be after --from ({})", a.to, a.from);
    }
    if a.out.exists() && !a.force {
        bail!(
            "{} exists; choose another --out or add --force",
            a.out.display()
        );
    }
    // The weights first: without them nothing is read.
    let engine = Engine::load(a.models)?;
    let files = SegmentFiles::open(&dir)?;
    let seed = vidimus_store::log::site_key(&dir)?;
    let publisher = a
        .publisher
        .map(str::to_owned)
        .unwrap_or_else(crate::cli_actor);
    let now = vidimus_core::clock::Clocks::realtime(&vidimus_core::clock::RealClocks);
    let req = PublicationRequest {
        publication_id: new_id()?,
        camera_id: cam.id,
        camera: &cam.name,
        from,
        to,
        publisher: &publisher,
        purpose: a.purpose,
        now,
        request_id: None,
        grant_id: None,
        within: None,
    };
    let source = prepare_publication(&ix, &files, &req)?;
    let what = format!("camera {} from {} to {}", cam.name, from, to);
    let destination = format!(
        "{} ({})",
        a.out.display(),
        vidimus_integrity::publication::MP4
    );
    // The camera's privacy mask is burned in: a publication never lifts it.
    let mode = Mode {
        privacy_mask: ix.privacy_mask(cam.id)?.map(|m| m.mask),
        ..a.mode.clone()
    };
    let derived = derive(
        &engine,
        &source,
        &files,
        (from, to),
        mode,
        &what,
        &destination,
        &|_, _| true,
    )?;
    let (derived, frames_with_masks) = match derived {
        Derivation::Released {
            derived,
            frames_with_masks,
        } => {
            if let Some(r) = a.report {
                std::fs::write(r, &derived.report)
                    .with_context(|| format!("cannot write {}", r.display()))?;
            }
            (derived, frames_with_masks)
        }
        Derivation::Blocked(b) => {
            if let Some(r) = a.report {
                std::fs::write(r, &b.report)
                    .with_context(|| format!("cannot write {}", r.display()))?;
            }
            return Err(b.error(&a.out.display().to_string(), a.report));
        }
    };

    // Registered once the clip is on disk and before it is logged or put in place:
    // a bundle without its register entry cannot exist.
    let out_display = a.out.display().to_string();
    let register = |ix: &mut vidimus_store::SqliteIndex,
                    m: &vidimus_integrity::publication::Manifest|
     -> vidimus_store::Result<()> {
        let entry = serde_json::json!({
            "v": 1, "kind": "access", "at": now.to_string(), "user": crate::cli_actor(),
            "via": "command line (direct access to the data directory)",
            "action": "reproduce", "camera_id": cam.id, "camera": cam.name,
            "from": from.to_string(), "to": to.to_string(), "allowed": true,
            "purpose": m.purpose, "publisher": m.publisher, "anonymized": true,
            "publication_id": m.publication_id,
            "whereabouts": {"medium": m.whereabouts, "destination": out_display},
            "bytes": m.mp4.bytes,
        });
        ix.apply(&[IndexOp::AppendLeaf {
            at_90k: now.0,
            kind: "access".into(),
            data: serde_json::to_vec(&entry).expect("entry serializes"),
        }])?;
        Ok(())
    };
    let s = write_publication(
        &mut ix,
        &seed,
        &req,
        source,
        &derived,
        Destination {
            out: a.out,
            replace: a.force,
        },
        register,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let m = &s.manifest;
        let (rechecked, found) = m.recheck.as_ref().map_or((0, 0), |r| (r.frames, r.found));
        println!(
            "published {:.2} s ({} frames, {} with masks) of camera {} from {} to {} into {} ({:.1} MB); re-checked {} frames, {} more masked, none left",
            m.duration_secs,
            m.frames,
            frames_with_masks,
            m.camera,
            m.start,
            m.end,
            a.out.display(),
            s.bytes as f64 / 1e6,
            rechecked,
            found,
        );
        println!(
            "publication {} logged as leaf {} (from {} recorded fragments of {} segments), covered by a checkpoint of {} leaves; key fingerprint {}",
            m.publication_id,
            s.leaf_index,
            m.source.len(),
            m.segments.len(),
            s.checkpoint_size,
            m.key_fingerprint
        );
    }
    Ok(())
}

/// A recorded range through the anonymizer.
pub(crate) enum Derivation {
    /// The clip may be published.
    Released {
        derived: Derived,
        frames_with_masks: usize,
    },
    /// The re-check left a face or plate unmasked: nothing may be written.
    Blocked(Blocked),
}

/// A clip the re-check did not release.
pub(crate) struct Blocked {
    /// The anonymizer's report (JSON): what was found where.
    pub report: Vec<u8>,
    /// Finds left unmasked, and the first frame with one.
    pub left: u64,
    pub first_frame: usize,
}

impl Blocked {
    /// The refusal: `what` was not written; the report is at `report`, if written.
    pub fn error(&self, what: &str, report: Option<&Path>) -> anyhow::Error {
        crate::anonymizing::blocked_error(self.left, self.first_frame, what, report)
    }
}

/// Reads `source`'s samples from the store one by one, decodes them from the
/// fragments' key frames on, anonymizes and re-checks the pictures presented in
/// `[from, to)`, and re-encodes them. `what` names the source in the report,
/// `destination` the clip's place; `progress(done, total)` is told of each sample and
/// stops the derivation (an error) by returning false.
#[allow(clippy::too_many_arguments)]
pub(crate) fn derive(
    engine: &Engine,
    source: &PublicationSource,
    files: &SegmentFiles,
    (from, to): (Wall90k, Wall90k),
    mode: Mode,
    what: &str,
    destination: &str,
    progress: &(dyn Fn(usize, usize) -> bool + Sync),
) -> anyhow::Result<Derivation> {
    let mut pass = Pass::new(engine, mode)?;
    let samples = &source.prepared.samples;
    let start = samples.start_90k;
    let total = samples.walls.len();
    pass.keep(from.0 - start, to.0 - start);
    let mut failed = None;
    let mut done = 0;
    let mut stopped = false;
    vidimus_store::export::read_samples(&source.prepared, files, |s| {
        done += 1;
        if !progress(done, total) {
            stopped = true;
            return Ok(false);
        }
        match pass.sample(
            &samples.entries[s.sample_entry],
            &s.data,
            s.wall_90k - start,
        ) {
            Ok(()) => Ok(true),
            Err(e) => {
                failed = Some(e);
                Ok(false)
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e.context(format!("anonymizing {what}")));
    }
    if stopped {
        bail!(
            "interrupted: the server stopped after {done} of {total} samples of {what}; nothing was published"
        );
    }
    let outcome = pass.finish()?;
    let output_sha = outcome
        .mp4
        .as_deref()
        .map(|m| hex::encode(vidimus_integrity::sha256_parts([m])));
    let report = outcome.report_json(
        engine,
        what,
        outcome.mp4.is_some().then(|| destination.to_owned()),
        output_sha,
    )?;
    let Some(mp4) = outcome.mp4.clone() else {
        let r = &outcome.report;
        return Ok(Derivation::Blocked(Blocked {
            report,
            left: outcome.recheck().left,
            first_frame: r
                .findings
                .iter()
                .find(|f| !f.masked_after)
                .map_or(0, |f| f.frame),
        }));
    };
    if outcome.report.frames == 0 {
        bail!("no recorded picture of {what} lies in the range");
    }
    Ok(Derivation::Released {
        frames_with_masks: outcome.frames_with_masks(),
        derived: Derived {
            frames: outcome.report.frames as u64,
            duration_secs: outcome.duration_90k as f64 / 90_000.0,
            mp4,
            report,
            process: Process {
                anonymizer: anonymizer_version(),
                models: engine.models(),
                params: outcome.params_json()?,
            },
            kind: vidimus_store::publication::DerivedKind::Anonymized(outcome.recheck()),
        },
    })
}

/// The anonymizer `vidimus serve` makes publications with: its weights are loaded and
/// checked at the first publication (a server without them serves everything else).
pub(crate) struct ServedEngine {
    models: std::path::PathBuf,
    engine: std::sync::Mutex<Option<std::sync::Arc<Engine>>>,
}

impl ServedEngine {
    pub fn new(models: std::path::PathBuf) -> Self {
        ServedEngine {
            models,
            engine: std::sync::Mutex::new(None),
        }
    }

    fn engine(&self) -> Result<std::sync::Arc<Engine>, String> {
        // A load that panicked leaves nothing in the slot: the next one tries again.
        let mut e = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = &*e {
            return Ok(e.clone());
        }
        let loaded = std::sync::Arc::new(Engine::load(&self.models).map_err(|e| format!("{e:#}"))?);
        *e = Some(loaded.clone());
        Ok(loaded)
    }
}

impl vidimus_server::publication::PublicationEngine for ServedEngine {
    fn ready(&self) -> Result<(), String> {
        self.engine().map(|_| ())
    }

    fn derive(
        &self,
        source: &PublicationSource,
        files: &SegmentFiles,
        range: (Wall90k, Wall90k),
        mode: vidimus_server::publication::PublicationMode,
        mask: Option<&vidimus_core::privacy::PrivacyMask>,
        what: &str,
        destination: &str,
        progress: &(dyn Fn(usize, usize) -> bool + Sync),
    ) -> Result<vidimus_server::publication::Derivation, String> {
        use vidimus_server::publication::Derivation as D;
        let engine = self.engine()?;
        let mode = Mode {
            figures: mode.figures,
            strict: mode.strict,
            privacy_mask: mask.cloned(),
        };
        match derive(
            &engine,
            source,
            files,
            range,
            mode,
            what,
            destination,
            progress,
        ) {
            Ok(Derivation::Released { derived, .. }) => Ok(D::Released(derived)),
            Ok(Derivation::Blocked(b)) => Ok(D::Blocked {
                left: b.left,
                report: b.report,
            }),
            Err(e) => Err(format!("{e:#}")),
        }
    }

    fn live_stage(
        &self,
        mode: vidimus_server::publication::PublicationMode,
        counts: std::sync::Arc<vidimus_server::publication::LiveCounts>,
    ) -> Result<Box<dyn vidimus_codec::FrameStage>, String> {
        let engine = self.engine()?;
        let mode = Mode {
            figures: mode.figures,
            strict: mode.strict,
            privacy_mask: None,
        };
        Ok(Box::new(crate::anonymizing::LiveStage::new(
            &engine, &mode, counts,
        )))
    }
}
