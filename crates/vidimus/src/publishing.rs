//! `vidimus publish --camera C --from T --to T --out BUNDLE --purpose P`: a recorded
//! range made publishable (Art. 31). The recorded samples are read from the store one
//! by one (no copy of them is written anywhere), decoded, anonymized and re-checked
//! (`anonymizing::Pass`), re-encoded into a new MP4, registered as a reproduction whose
//! whereabouts are a public broadcast, logged as a publication leaf naming its source
//! segments' leaves, the process and the output's digest, and written as a
//! publication bundle (`vidimus_integrity::publication`) that `vidimus verify` checks.
//! A clip whose re-check left a face or plate unmasked is not written, not logged and
//! not registered; the report says where.

use crate::anonymizing::{Engine, Pass, anonymizer_version};
use anyhow::{Context, bail};
use std::path::Path;
use vidimus_core::time::Wall90k;
use vidimus_integrity::publication::Process;
use vidimus_store::SegmentFiles;
use vidimus_store::index::{IndexOp, MetadataStore};
use vidimus_store::publication::{
    Derived, Destination, PublicationRequest, new_id, prepare_publication, write_publication,
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
    pub figures: bool,
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

    // Decode every sample from the fragments' key frames on; keep the pictures of the
    // requested range.
    let mut pass = Pass::new(&engine, a.figures)?;
    let samples = &source.prepared.samples;
    let start = samples.start_90k;
    pass.keep(from.0 - start, to.0 - start);
    let mut failed = None;
    vidimus_store::export::read_samples(&source.prepared, &files, |s| {
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
        return Err(e.context(format!(
            "anonymizing camera {} from {} to {}",
            cam.name, a.from, a.to
        )));
    }
    let outcome = pass.finish()?;
    let what = format!("camera {} from {} to {}", cam.name, from, to);
    let output_sha = outcome
        .mp4
        .as_deref()
        .map(|m| hex::encode(vidimus_integrity::sha256_parts([m])));
    let report = outcome.report_json(
        &engine,
        &what,
        outcome.mp4.is_some().then(|| {
            format!(
                "{} ({})",
                a.out.display(),
                vidimus_integrity::publication::MP4
            )
        }),
        output_sha,
    )?;
    if let Some(r) = a.report {
        std::fs::write(r, &report).with_context(|| format!("cannot write {}", r.display()))?;
    }
    let Some(mp4) = outcome.mp4.clone() else {
        return Err(outcome.blocked(&a.out.display().to_string(), a.report));
    };
    if outcome.report.frames == 0 {
        bail!(
            "no recorded picture of camera {} lies in {}–{}",
            cam.name,
            from,
            to
        );
    }
    let derived = Derived {
        frames: outcome.report.frames as u64,
        duration_secs: outcome.duration_90k as f64 / 90_000.0,
        mp4,
        report,
        process: Process {
            anonymizer: anonymizer_version(),
            models: engine.models(),
            params: serde_json::to_value(&outcome.params)?,
        },
        recheck: outcome.recheck(),
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
        println!(
            "published {:.2} s ({} frames, {} with masks) of camera {} from {} to {} into {} ({:.1} MB); re-checked {} frames, {} more masked, none left",
            m.duration_secs,
            m.frames,
            outcome.frames_with_masks(),
            m.camera,
            m.start,
            m.end,
            a.out.display(),
            s.bytes as f64 / 1e6,
            m.recheck.frames,
            m.recheck.found,
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
