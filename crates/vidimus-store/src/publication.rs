//! Writing publication bundles (Art. 31; format and verification:
//! `vidimus_integrity::publication`).
//!
//! Two steps, with the anonymizer between them (it is not this crate's to run):
//! [`prepare_publication`] plans the source — whole recorded fragments, every segment
//! closed and in the log — and the caller reads its samples
//! (`export::read_samples`), anonymizes and re-encodes them; [`write_publication`]
//! then refuses a clip whose re-check left anything unmasked, appends the
//! publication's leaf to the log, signs a checkpoint, and writes the bundle into
//! `<out>.partial`, fsyncs and renames it into place. No byte of the recorded video
//! is written anywhere on the way.

use crate::bundle::{
    BundleRequest, SegmentEvidence, leaf_proof, log_and_sign, segment_evidence, witnessed,
};
use crate::export::{ExportOptions, PreparedExport, prepare_with};
use crate::files::SegmentFiles;
use crate::index::SqliteIndex;
use crate::{Result, StoreError};
use std::io::Write;
use std::path::Path;
use vidimus_core::camera::CameraId;
use vidimus_core::time::Wall90k;
use vidimus_integrity::bundle::{CheckpointJson, FileDigest, SegmentProof};
use vidimus_integrity::checkpoint;
use vidimus_integrity::merkle::leaf_hash;
use vidimus_integrity::publication::{
    self, Manifest, Process, Proof, Recheck, SourceFragment, SourceSegment,
};
use vidimus_integrity::{bundle, tar};

/// The longest range published at once (the clip is re-encoded in memory).
pub const MAX_RANGE_SECS: i64 = 3600;

/// What to publish.
pub struct PublicationRequest<'a> {
    /// Its id ([`new_id`]), chosen first so the register can name it before the
    /// bundle exists.
    pub publication_id: String,
    pub camera_id: CameraId,
    pub camera: &'a str,
    pub from: Wall90k,
    pub to: Wall90k,
    pub publisher: &'a str,
    pub purpose: &'a str,
    pub now: Wall90k,
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    /// The grant's range: no fragment outside it is used.
    pub within: Option<(Wall90k, Wall90k)>,
}

/// The recorded source of a publication, planned.
pub struct PublicationSource {
    /// Its samples (read them with `export::read_samples`).
    pub prepared: PreparedExport,
    segments: Vec<SegmentEvidence>,
}

/// The clip made from the source, and how it was made.
pub struct Derived {
    /// The whole MP4 file.
    pub mp4: Vec<u8>,
    /// The process's report (JSON).
    pub report: Vec<u8>,
    pub process: Process,
    pub kind: DerivedKind,
    pub frames: u64,
    pub duration_secs: f64,
}

/// What a derived clip is.
pub enum DerivedKind {
    /// Anonymized for a public broadcast (Art. 31), with its re-check.
    Anonymized(Recheck),
    /// The recording with the camera's privacy masks burned in (Art. 10, 30), for
    /// `whereabouts` (a named recipient: never the public).
    Masked { whereabouts: String },
}

impl Derived {
    /// The re-check of an anonymized clip.
    pub fn recheck(&self) -> Option<&Recheck> {
        match &self.kind {
            DerivedKind::Anonymized(r) => Some(r),
            DerivedKind::Masked { .. } => None,
        }
    }
}

/// Where the bundle goes.
pub struct Destination<'a> {
    pub out: &'a Path,
    /// Replace a file already there (otherwise it is kept and the publication fails).
    pub replace: bool,
}

/// A publication bundle written.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PublicationSummary {
    pub manifest: Manifest,
    pub bytes: u64,
    pub leaf_index: u64,
    pub checkpoint_size: u64,
}

fn check_request(req: &PublicationRequest<'_>) -> Result<()> {
    if req.purpose.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a publication must state its purpose".into(),
        ));
    }
    if req.publisher.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a publication must name its publisher".into(),
        ));
    }
    if req.to.0 - req.from.0 > MAX_RANGE_SECS * 90_000 {
        return Err(StoreError::Invalid(format!(
            "a publication covers at most {} minutes; publish a longer range in parts",
            MAX_RANGE_SECS / 60
        )));
    }
    Ok(())
}

fn as_bundle<'a>(req: &'a PublicationRequest<'a>) -> BundleRequest<'a> {
    BundleRequest {
        camera_id: req.camera_id,
        camera: req.camera,
        from: req.from,
        to: req.to,
        exporter: req.publisher,
        purpose: req.purpose,
        now: req.now,
        request_id: req.request_id,
        grant_id: req.grant_id,
        within: req.within,
    }
}

/// Plans the source of `req`: whole fragments, every segment closed and logged.
pub fn prepare_publication(
    ix: &SqliteIndex,
    files: &SegmentFiles,
    req: &PublicationRequest<'_>,
) -> Result<PublicationSource> {
    check_request(req)?;
    let prepared = prepare_with(
        ix,
        files,
        req.camera_id,
        req.camera,
        req.from,
        req.to,
        ExportOptions {
            whole_fragments: true,
            trace: None,
            within: req.within,
        },
    )?;
    let segments = segment_evidence(ix, files, &prepared, &as_bundle(req))?;
    Ok(PublicationSource { prepared, segments })
}

/// A new publication id (128 random bits, hex).
pub fn new_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| StoreError::Invalid(format!("no randomness for a publication id: {e}")))?;
    Ok(hex::encode(b))
}

/// Logs the publication of `derived` (made from `source`) and writes its bundle to
/// `dest`, signing a checkpoint with `seed`. In this order: the clip, manifest and
/// report are written to `<out>.partial` and synced; `register` is called (the
/// caller's register entry: a bundle never exists without one); the publication leaf
/// is logged and a checkpoint signed; the proofs are written and synced; the file is
/// put in place — replacing an existing `out` only if `replace`. A failure before the
/// leaf is logged leaves nothing but, at most, the register entry.
pub fn write_publication(
    ix: &mut SqliteIndex,
    seed: &[u8; 32],
    req: &PublicationRequest<'_>,
    source: PublicationSource,
    derived: &Derived,
    dest: Destination<'_>,
    register: impl FnOnce(&mut SqliteIndex, &Manifest) -> Result<()>,
) -> Result<PublicationSummary> {
    check_request(req)?;
    let Destination { out, replace } = dest;
    let (whereabouts, derivation) = match &derived.kind {
        DerivedKind::Anonymized(r) if r.left > 0 => {
            return Err(StoreError::Invalid(format!(
                "not published: the re-check left {} face(s) or plate(s) unmasked",
                r.left
            )));
        }
        DerivedKind::Anonymized(_) => (publication::WHEREABOUTS.to_owned(), None),
        DerivedKind::Masked { whereabouts } => {
            let w = whereabouts.trim();
            if w.is_empty() || w == publication::WHEREABOUTS || w == publication::OPEN_SHARING {
                return Err(StoreError::Invalid(format!(
                    "a privacy-masked copy is not anonymized: it goes to a named recipient, not to {w:?}"
                )));
            }
            (w.to_owned(), Some(publication::MASKED.to_owned()))
        }
    };
    if derived.mp4.is_empty() || derived.frames == 0 {
        return Err(StoreError::Invalid(
            "not published: the clip is empty".into(),
        ));
    }
    let sha = |b: &[u8]| hex::encode(vidimus_integrity::sha256_parts([b]));
    let s = &source.prepared.summary;
    let segments: Vec<SourceSegment> = source
        .segments
        .iter()
        .map(|e| SourceSegment {
            path: e.path.clone(),
            leaf_index: e.leaf_index,
            leaf_hash: hex::encode(leaf_hash(&e.leaf)),
        })
        .collect();
    let mut fragments = Vec::new();
    for f in &source.prepared.fragments {
        let path = &source.prepared.sources[f.source];
        let ev = source
            .segments
            .iter()
            .find(|e| e.path == *path)
            .ok_or_else(|| StoreError::Invalid(format!("segment {path} has no evidence")))?;
        let h = ev.hashes.get(f.index + 1).ok_or_else(|| {
            StoreError::Invalid(format!(
                "segment {path} has no recorded hash for fragment {}",
                f.index + 1
            ))
        })?;
        fragments.push(SourceFragment {
            segment: path.clone(),
            hash_index: f.index + 1,
            sha256: h.clone(),
        });
    }
    let manifest = Manifest {
        format: publication::FORMAT.into(),
        publication_id: req.publication_id.clone(),
        request_id: req.request_id,
        grant_id: req.grant_id,
        camera: req.camera.into(),
        camera_id: req.camera_id,
        requested_from: s.requested_from.clone(),
        requested_to: s.requested_to.clone(),
        start: s.start.clone(),
        end: s.end.clone(),
        frames: derived.frames,
        duration_secs: derived.duration_secs,
        publisher: req.publisher.trim().into(),
        purpose: req.purpose.trim().into(),
        whereabouts,
        derivation,
        created: req.now.to_string(),
        mp4: FileDigest {
            name: publication::MP4.into(),
            bytes: derived.mp4.len() as u64,
            sha256: sha(&derived.mp4),
        },
        report: FileDigest {
            name: publication::REPORT.into(),
            bytes: derived.report.len() as u64,
            sha256: sha(&derived.report),
        },
        process: derived.process.clone(),
        recheck: derived.recheck().cloned(),
        segments,
        source: fragments,
        key_fingerprint: bundle::fingerprint(&checkpoint::public_key(seed)),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    let leaf = publication::publication_leaf(&manifest, &manifest_bytes);

    let partial = out.with_extension(match out.extension() {
        Some(e) => format!("{}.partial", e.to_string_lossy()),
        None => "partial".to_owned(),
    });
    let result = (|| -> Result<PublicationSummary> {
        let err = |e| StoreError::io(format!("writing {}", partial.display()))(e);
        let f = std::fs::File::create(&partial).map_err(err)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mtime = (req.now.0 / 90_000).max(0) as u64;
        let put =
            |w: &mut std::io::BufWriter<std::fs::File>, name: &str, data: &[u8]| -> Result<()> {
                let h = tar::header(name, data.len() as u64, mtime)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                w.write_all(&h).map_err(err)?;
                w.write_all(data).map_err(err)?;
                w.write_all(&vec![0; tar::padding(data.len() as u64)])
                    .map_err(err)
            };
        put(&mut w, publication::MP4, &derived.mp4)?;
        put(&mut w, publication::MANIFEST, &manifest_bytes)?;
        put(&mut w, publication::REPORT, &derived.report)?;
        // On disk before anything is registered or logged.
        w.flush().map_err(err)?;
        w.get_ref().sync_data().map_err(err)?;
        register(ix, &manifest)?;
        let (leaf_index, cp, tree) = log_and_sign(ix, seed, req.now, "publication", leaf.clone())?;
        let proof = Proof {
            format: publication::PROOF_FORMAT.into(),
            public_key: hex::encode(checkpoint::public_key(seed)),
            checkpoint: CheckpointJson::from(&cp),
            publication_record: leaf_proof(&tree, &cp, leaf_index, leaf)?,
            segments: source
                .segments
                .into_iter()
                .map(|s| {
                    Ok(SegmentProof {
                        leaf: leaf_proof(&tree, &cp, s.leaf_index, s.leaf)?,
                        path: s.path,
                        hashes: s.hashes,
                        fragments: Vec::new(),
                    })
                })
                .collect::<Result<_>>()?,
            witnessed: witnessed(ix, &tree, &cp)?,
        };
        let proof_bytes = serde_json::to_vec_pretty(&proof).expect("proof serializes");
        put(&mut w, publication::PROOF, &proof_bytes)?;
        put(&mut w, publication::README, manifest.readme().as_bytes())?;
        w.write_all(&tar::END).map_err(err)?;
        let f = w.into_inner().map_err(|e| err(e.into_error()))?;
        f.sync_all().map_err(err)?;
        let bytes = f.metadata().map_err(err)?.len();
        Ok(PublicationSummary {
            manifest,
            bytes,
            leaf_index,
            checkpoint_size: cp.size,
        })
    })();
    match result {
        Ok(s) => {
            let placed = if replace {
                std::fs::rename(&partial, out)
            } else {
                // A hard link never replaces: an `out` made meanwhile is kept.
                std::fs::hard_link(&partial, out).and_then(|()| std::fs::remove_file(&partial))
            };
            if let Err(e) = placed {
                let _ = std::fs::remove_file(&partial);
                return Err(StoreError::Invalid(format!(
                    "publication {} was logged (leaf {}) but its bundle could not be put at {}: {e}",
                    s.manifest.publication_id,
                    s.leaf_index,
                    out.display()
                )));
            }
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::sync_dir(dir)?;
            }
            Ok(s)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}
