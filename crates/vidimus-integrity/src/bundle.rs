//! Export bundles: one tar file that proves, offline and with nothing else, that the
//! video inside is the video recorded (sans-IO: the caller supplies a [`Source`]).
//!
//! A bundle holds four members (the format is documented for third-party verifiers in
//! `docs/bundle.md`):
//!
//! - `export.mp4`: the playable MP4. Its sample data is the recorded fragments' sample
//!   data, byte for byte, in order, and it covers whole fragments (an edit list shows
//!   only the requested range).
//! - `manifest.json`: camera, requested and actual range, exporter, purpose, creation
//!   time, the MP4's size and SHA-256, the segments used and the key fingerprint.
//! - `proof.json`: the site's public key; a signed checkpoint of the integrity log;
//!   the export's own log leaf (which records the SHA-256 of the manifest and of the
//!   MP4) with its inclusion proof; and for every segment used, its log leaf with an
//!   inclusion proof, all its recorded fragment hashes, and for each exported fragment
//!   the bytes that precede its samples (`moof` and `mdat` header) and where its
//!   samples lie in `export.mp4`.
//! - `README.txt`: how to verify.
//!
//! The chain: fragment SHA-256 = SHA-256(header ‖ samples from export.mp4); the
//! segment's content root = RFC 6962 Merkle root over its hashes (each 32-byte hash
//! is one leaf's data); the segment leaf
//! (which names that root) and the export leaf are included in the checkpoint's tree;
//! the checkpoint is signed by the key whose fingerprint the manifest names.

use crate::checkpoint::{self, Checkpoint};
use crate::merkle::{Hash, MerkleLog, leaf_hash, verify_consistency, verify_inclusion};
use crate::tar;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "vidimus-bundle/1";
pub const PROOF_FORMAT: &str = "vidimus-bundle-proof/1";
pub const MP4: &str = "export.mp4";
pub const MANIFEST: &str = "manifest.json";
pub const PROOF: &str = "proof.json";
pub const README: &str = "README.txt";

/// The text of `README.txt`.
pub const README_TEXT: &str = "\
This is a Vidimus export bundle (format vidimus-bundle/1), a POSIX tar archive.

  export.mp4     the video, playable in any MP4 player
  manifest.json  what was exported, by whom, for what purpose, and when
  proof.json     the proofs that export.mp4 holds exactly the recorded video

To verify it (offline; nothing else is needed):

  vidimus verify THIS-FILE --key <the site's public key, 64 hex digits>

Without --key the bundle is checked against the key it carries, which proves that
nothing changed since it was made but not who made it: compare the fingerprint
printed with the one the site publishes. The format is documented in Vidimus's
docs/bundle.md, so that anyone can write an independent verifier.
";

/// The MP4 file's size and digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileDigest {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub export_id: String,
    /// The access request and grant it was made under (null from the command line).
    #[serde(default)]
    pub request_id: Option<i64>,
    #[serde(default)]
    pub grant_id: Option<i64>,
    pub camera: String,
    pub camera_id: i64,
    pub requested_from: String,
    pub requested_to: String,
    /// Wall time of the first presented frame and just after the last.
    pub start: String,
    pub end: String,
    pub frames: u64,
    pub duration_secs: f64,
    /// Unrecorded stretches inside the range, joined over in the MP4.
    pub gaps: Vec<(String, String)>,
    pub exporter: String,
    pub purpose: String,
    /// RFC 3339.
    pub created: String,
    pub mp4: FileDigest,
    pub segments: Vec<String>,
    /// Segments of `segments` the index did not know and recovery adopted (a
    /// `segment_adopted` event of the system log, carried in `proof.json`): their
    /// recording was not seen by this index; a witness names the rollback that
    /// usually explains it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<String>,
    /// SHA-256 of the 32-byte Ed25519 public key, hex.
    pub key_fingerprint: String,
}

/// A log leaf and its inclusion proof in the checkpoint's tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeafProof {
    /// 0-based position in the log.
    pub leaf_index: u64,
    /// The leaf's data exactly as logged (JSON text).
    pub data: String,
    pub inclusion_proof: Vec<String>,
}

/// One exported fragment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FragmentProof {
    /// Position in the segment's `hashes` (0 is the init segment, so ≥ 1).
    pub hash_index: usize,
    /// The fragment's bytes before its sample data (hex).
    pub header: String,
    /// Where its sample data lies in `export.mp4`.
    pub mp4_offset: u64,
    pub mp4_len: u64,
}

/// One segment used by the export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentProof {
    pub path: String,
    pub leaf: LeafProof,
    /// Every recorded hash of the segment: init segment, then each fragment (hex).
    pub hashes: Vec<String>,
    pub fragments: Vec<FragmentProof>,
}

/// A signed checkpoint, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointJson {
    pub size: u64,
    pub root: String,
    pub time_90k: i64,
    pub signature: String,
}

impl From<&Checkpoint> for CheckpointJson {
    fn from(c: &Checkpoint) -> Self {
        Self {
            size: c.size,
            root: hex::encode(c.root),
            time_90k: c.time_90k,
            signature: hex::encode(c.signature),
        }
    }
}

/// `proof.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proof {
    pub format: String,
    /// The site's Ed25519 public key (hex).
    pub public_key: String,
    pub checkpoint: CheckpointJson,
    pub export_record: LeafProof,
    pub segments: Vec<SegmentProof>,
    /// The `segment_adopted` events of the manifest's `adopted` segments, each a leaf
    /// with its inclusion proof.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adoptions: Vec<LeafProof>,
    /// Checkpoints witnesses cosigned before the bundle was made, each with the proof
    /// that the bundle's log extends it: the history the bundle proves is the one
    /// seen outside the site.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub witnessed: Vec<Witnessed>,
}

/// A checkpoint a witness cosigned, carried by a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Witnessed {
    /// The C2SP checkpoint note with the site's signature and the witness's
    /// cosignature (`vidimus_integrity::note`, `tlog_checkpoint`, `cosignature`).
    pub note: String,
    /// Consistency proof from the note's tree to the bundle's checkpoint (hex hashes;
    /// empty when the sizes are equal).
    pub consistency_proof: Vec<String>,
}

/// The export's log leaf: who exported what, and the digests that bind the manifest
/// and the MP4 to it.
pub fn export_leaf(m: &Manifest, manifest_bytes: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "kind": "export",
        "export_id": m.export_id,
        "request_id": m.request_id,
        "grant_id": m.grant_id,
        "camera_id": m.camera_id,
        "camera": m.camera,
        "from": m.requested_from,
        "to": m.requested_to,
        "exporter": m.exporter,
        "purpose": m.purpose,
        "created": m.created,
        "mp4_bytes": m.mp4.bytes,
        "mp4_sha256": m.mp4.sha256,
        "manifest_sha256": hex::encode(crate::sha256_parts([manifest_bytes])),
    }))
    .expect("leaf serializes")
}

/// The fingerprint of a public key: SHA-256 of its 32 bytes, hex.
pub fn fingerprint(public_key: &[u8; 32]) -> String {
    hex::encode(crate::sha256_parts([public_key.as_slice()]))
}

/// An inclusion proof as hex strings.
pub fn proof_hex(p: &[Hash]) -> Vec<String> {
    p.iter().map(hex::encode).collect()
}

/// Random access to the bundle file.
pub trait Source {
    fn len(&self) -> u64;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let o = usize::try_from(offset).map_err(std::io::Error::other)?;
        let s = self
            .get(o..o + buf.len())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(s);
        Ok(())
    }
}

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The piece checked: `archive`, `key`, `checkpoint`, `export record`,
    /// `manifest.json`, `segment <path>`, `export.mp4 fragment <path>#<n>`, `export.mp4`.
    pub piece: String,
    pub ok: bool,
    pub detail: String,
}

/// The outcome of verifying a bundle.
#[derive(Clone, Debug, Serialize)]
pub struct BundleReport {
    pub ok: bool,
    /// The first check that failed.
    pub first_failure: Option<Check>,
    /// Whether the key was checked against one the caller trusts (`--key`).
    pub key_trusted: bool,
    pub key_fingerprint: Option<String>,
    pub manifest: Option<Manifest>,
    pub checks: Vec<Check>,
}

pub(crate) struct Run {
    pub(crate) checks: Vec<Check>,
}

impl Run {
    pub(crate) fn check(
        &mut self,
        piece: impl Into<String>,
        ok: bool,
        detail: impl Into<String>,
    ) -> bool {
        self.checks.push(Check {
            piece: piece.into(),
            ok,
            detail: detail.into(),
        });
        ok
    }
}

/// One carried cosigned checkpoint: signed by the bundle's key, cosigned (checked with
/// the given witness keys), and extended by the bundle's checkpoint.
fn check_witnessed(
    w: &Witnessed,
    key: &[u8; 32],
    checkpoint: &Checkpoint,
    witnesses: &[crate::note::VerifierKey],
) -> (bool, String) {
    use crate::note::{KeyType, Note, VerifierKey};
    let Ok(note) = Note::parse(&w.note) else {
        return (false, "a carried witness note is not a signed note".into());
    };
    let Ok(cp) = crate::tlog_checkpoint::LogCheckpoint::parse(note.text()) else {
        return (false, "a carried witness note is not a checkpoint".into());
    };
    let Ok(site) = VerifierKey::new(&cp.origin, KeyType::Ed25519, *key) else {
        return (
            false,
            format!("the origin {:?} is not a key name", cp.origin),
        );
    };
    let mut known = vec![site.clone()];
    known.extend(witnesses.iter().cloned());
    let verified = match note.verify(&known) {
        Ok(v) => v,
        Err(e) => return (false, format!("the witness note of size {}: {e}", cp.size)),
    };
    if !verified.signatures.iter().any(|v| v.key == site) {
        return (
            false,
            format!(
                "the witnessed checkpoint of size {} is not signed by the bundle's key",
                cp.size
            ),
        );
    }
    let cosigners: Vec<String> = verified
        .signatures
        .iter()
        .filter(|v| v.key != site)
        .map(|v| v.key.name().to_owned())
        .collect();
    let extends = cp.size <= checkpoint.size
        && (cp.size == checkpoint.size && cp.root == checkpoint.root
            || proof_from_hex(&w.consistency_proof).is_some_and(|p| {
                verify_consistency(cp.size, checkpoint.size, &cp.root, &checkpoint.root, &p).is_ok()
            }));
    if !extends {
        return (
            false,
            format!(
                "the bundle's log of {} leaves does not extend the checkpoint of {} leaves its witnesses cosigned: history rewritten or forked",
                checkpoint.size, cp.size
            ),
        );
    }
    let by = if cosigners.is_empty() {
        let names: Vec<&str> = note.signatures().iter().map(|s| s.name.as_str()).collect();
        format!(
            "cosigned by {} (not checked: pass the witness's key with --witness-key)",
            names
                .into_iter()
                .filter(|n| *n != cp.origin)
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!("cosigned by {}", cosigners.join(", "))
    };
    (
        true,
        format!("the log extends the checkpoint of {} leaves {by}", cp.size),
    )
}

/// What a bundle's signature rests on.
pub(crate) struct Signed<'a> {
    pub public_key: &'a str,
    pub checkpoint: &'a CheckpointJson,
    pub witnessed: &'a [Witnessed],
    /// The key fingerprint the manifest names.
    pub manifest_fingerprint: &'a str,
}

/// Checks the key (against `trusted_key` if given, and the manifest's fingerprint),
/// the signed checkpoint, and that the log extends every checkpoint witnesses
/// cosigned. Returns the key and the checkpoint, or `None` after a failed check.
pub(crate) fn check_signature(
    run: &mut Run,
    s: &Signed<'_>,
    trusted_key: Option<&[u8; 32]>,
    witnesses: &[crate::note::VerifierKey],
    key_trusted: &mut bool,
    key_fingerprint: &mut Option<String>,
) -> Option<([u8; 32], Checkpoint)> {
    let Some(key) = hex::decode(s.public_key)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
    else {
        run.check(
            "key",
            false,
            "proof.json's public key is not 32 bytes of hex",
        );
        return None;
    };
    let fp = fingerprint(&key);
    *key_fingerprint = Some(fp.clone());
    if let Some(t) = trusted_key
        && *t != key
    {
        run.check(
            "key",
            false,
            format!(
                "the bundle is signed with key {} (fingerprint {fp}), not the trusted key {}",
                s.public_key,
                hex::encode(t)
            ),
        );
        return None;
    }
    *key_trusted = trusted_key.is_some();
    if !run.check(
        "key",
        fp == s.manifest_fingerprint,
        if fp == s.manifest_fingerprint {
            format!(
                "fingerprint {fp}{}",
                if trusted_key.is_some() {
                    ", the trusted key"
                } else {
                    " (not checked against a trusted key: pass --key)"
                }
            )
        } else {
            format!(
                "the manifest names key fingerprint {} but the proof carries {fp}",
                s.manifest_fingerprint
            )
        },
    ) {
        return None;
    }
    let cp = s.checkpoint;
    let parsed = (|| {
        Some(Checkpoint {
            size: cp.size,
            root: hash_from_hex(&cp.root)?,
            time_90k: cp.time_90k,
            signature: hex::decode(&cp.signature).ok()?.try_into().ok()?,
        })
    })();
    let Some(checkpoint) = parsed else {
        run.check("checkpoint", false, "malformed root or signature");
        return None;
    };
    if !run.check(
        "checkpoint",
        checkpoint::verify(&key, &checkpoint).is_ok(),
        match checkpoint::verify(&key, &checkpoint) {
            Ok(()) => format!("log of {} leaves, signed", checkpoint.size),
            Err(e) => format!("{e}"),
        },
    ) {
        return None;
    }
    for w in s.witnessed {
        let (ok, detail) = check_witnessed(w, &key, &checkpoint, witnesses);
        if !run.check("witness", ok, detail) {
            return None;
        }
    }
    Some((key, checkpoint))
}

/// Whether a leaf is in the checkpoint's tree.
pub(crate) fn included(l: &LeafProof, checkpoint: &Checkpoint) -> Result<(), String> {
    let p = proof_from_hex(&l.inclusion_proof).ok_or("malformed inclusion proof")?;
    verify_inclusion(
        &leaf_hash(l.data.as_bytes()),
        l.leaf_index,
        checkpoint.size,
        &p,
        &checkpoint.root,
    )
    .map_err(|e| {
        format!(
            "leaf {} is not in the signed log of {} leaves: {e}",
            l.leaf_index, checkpoint.size
        )
    })
}

/// A segment's proof: its leaf is in the log, is a segment of `camera_id` at `path`,
/// and names the content root of the carried hashes. Returns the hashes (init, then
/// each fragment), or `None` after a failed check.
pub(crate) fn check_segment(
    run: &mut Run,
    s: &SegmentProof,
    camera_id: i64,
    checkpoint: &Checkpoint,
) -> Option<Vec<Hash>> {
    let piece = format!("segment {}", s.path);
    if let Err(e) = included(&s.leaf, checkpoint) {
        run.check(piece, false, e);
        return None;
    }
    let leaf: serde_json::Value = serde_json::from_str(&s.leaf.data).unwrap_or_default();
    let Some(hashes) = s
        .hashes
        .iter()
        .map(|h| hash_from_hex(h))
        .collect::<Option<Vec<Hash>>>()
    else {
        run.check(piece, false, "malformed fragment hash");
        return None;
    };
    let mut t = MerkleLog::new();
    // Each recorded hash is one leaf's data (as `vidimus-store` computes it).
    hashes.iter().for_each(|h| {
        t.append(h);
    });
    let root = hex::encode(t.root());
    if leaf["kind"] != "segment"
        || leaf["path"] != s.path.as_str()
        || leaf["camera_id"] != camera_id
    {
        run.check(
            piece,
            false,
            format!(
                "log leaf {} is not a segment of camera {camera_id}",
                s.leaf.leaf_index
            ),
        );
        return None;
    }
    if leaf["content_root"] != root.as_str() {
        run.check(
            piece,
            false,
            format!(
                "its fragment hashes in proof.json do not match the logged content root (log leaf {})",
                s.leaf.leaf_index
            ),
        );
        return None;
    }
    run.check(
        piece,
        true,
        format!(
            "log leaf {}, {} fragment hashes",
            s.leaf.leaf_index,
            hashes.len().saturating_sub(1)
        ),
    );
    Some(hashes)
}

pub(crate) fn hash_from_hex(s: &str) -> Option<Hash> {
    hex::decode(s).ok()?.try_into().ok()
}

fn proof_from_hex(p: &[String]) -> Option<Vec<Hash>> {
    p.iter().map(|h| hash_from_hex(h)).collect()
}

pub(crate) fn read_member(src: &dyn Source, m: &tar::Member) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0; usize::try_from(m.size).map_err(std::io::Error::other)?];
    src.read_at(m.offset, &mut v)?;
    Ok(v)
}

/// Where the `mdat` payload of an MP4 starts and ends (top-level boxes only).
fn mdat_payload(src: &dyn Source, start: u64, len: u64) -> Option<(u64, u64)> {
    let mut pos = 0u64;
    while pos + 8 <= len {
        let mut h = [0u8; 16];
        let n = if pos + 16 <= len { 16 } else { 8 };
        src.read_at(start + pos, &mut h[..n]).ok()?;
        let size32 = u32::from_be_bytes(h[..4].try_into().ok()?) as u64;
        let (size, hdr) = match size32 {
            1 if n == 16 => (u64::from_be_bytes(h[8..16].try_into().ok()?), 16),
            0 => (len - pos, 8),
            s => (s, 8),
        };
        if size < hdr || pos + size > len {
            return None;
        }
        if &h[4..8] == b"mdat" {
            return Some((pos + hdr, pos + size));
        }
        pos += size;
    }
    None
}

/// Verifies a bundle. With `trusted_key`, the checkpoint must be signed by that key;
/// without, by the key the bundle carries (reported as untrusted). `progress` gets
/// (bytes hashed, total).
pub fn verify(
    src: &dyn Source,
    trusted_key: Option<&[u8; 32]>,
    progress: impl FnMut(u64, u64),
) -> BundleReport {
    verify_with_witnesses(src, trusted_key, &[], progress)
}

/// Like [`verify`], also checking the witnesses' cosignatures the bundle carries
/// against the cosigner keys in `witnesses` (without them, the cosignatures are
/// reported as not checked).
pub fn verify_with_witnesses(
    src: &dyn Source,
    trusted_key: Option<&[u8; 32]>,
    witnesses: &[crate::note::VerifierKey],
    mut progress: impl FnMut(u64, u64),
) -> BundleReport {
    let mut run = Run { checks: Vec::new() };
    let mut report = BundleReport {
        ok: false,
        first_failure: None,
        key_trusted: false,
        key_fingerprint: None,
        manifest: None,
        checks: Vec::new(),
    };
    verify_into(
        src,
        trusted_key,
        witnesses,
        &mut progress,
        &mut run,
        &mut report,
    );
    report.first_failure = run.checks.iter().find(|c| !c.ok).cloned();
    report.ok = report.first_failure.is_none() && !run.checks.is_empty();
    report.checks = run.checks;
    report
}

fn verify_into(
    src: &dyn Source,
    trusted_key: Option<&[u8; 32]>,
    witnesses: &[crate::note::VerifierKey],
    progress: &mut dyn FnMut(u64, u64),
    run: &mut Run,
    report: &mut BundleReport,
) {
    // 1. The archive and its members.
    let members = match tar::members(src.len(), |o| {
        let mut b = [0u8; 512];
        src.read_at(o, &mut b).map(|()| b)
    }) {
        Ok(m) => m,
        Err(e) => {
            run.check("archive", false, format!("not a readable bundle: {e}"));
            return;
        }
    };
    let find = |name: &str| members.iter().find(|m| m.name == name);
    let (Some(mp4), Some(man), Some(prf)) = (find(MP4), find(MANIFEST), find(PROOF)) else {
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        run.check(
            "archive",
            false,
            format!("a bundle holds {MP4}, {MANIFEST} and {PROOF}; this one holds {names:?}"),
        );
        return;
    };
    let (manifest_bytes, proof_bytes) = match (read_member(src, man), read_member(src, prf)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            run.check("archive", false, format!("cannot read: {e}"));
            return;
        }
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            run.check(MANIFEST, false, format!("not a bundle manifest: {e}"));
            return;
        }
    };
    report.manifest = Some(manifest.clone());
    let proof: Proof = match serde_json::from_slice(&proof_bytes) {
        Ok(p) => p,
        Err(e) => {
            run.check(PROOF, false, format!("not a bundle proof: {e}"));
            return;
        }
    };
    run.check(
        "archive",
        true,
        format!("{MP4} ({} bytes), {MANIFEST}, {PROOF}", mp4.size),
    );

    // 2–3b. The key, the checkpoint, what witnesses cosigned.
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
    let included = |l: &LeafProof| included(l, &checkpoint);

    // 4. The export's own record.
    let record: serde_json::Value = match included(&proof.export_record) {
        Err(e) => {
            run.check("export record", false, e);
            return;
        }
        Ok(()) => serde_json::from_str(&proof.export_record.data).unwrap_or_default(),
    };
    if !run.check(
        "export record",
        record["kind"] == "export" && record["export_id"] == manifest.export_id.as_str(),
        format!(
            "log leaf {} records export {} by {:?}",
            proof.export_record.leaf_index, record["export_id"], record["exporter"]
        ),
    ) {
        return;
    }

    // 5. The manifest.
    let msha = hex::encode(crate::sha256_parts([manifest_bytes.as_slice()]));
    if !run.check(
        MANIFEST,
        record["manifest_sha256"] == msha.as_str(),
        if record["manifest_sha256"] == msha.as_str() {
            "matches the logged export record".to_owned()
        } else {
            format!(
                "altered: its SHA-256 is {msha}, the logged export record says {}",
                record["manifest_sha256"]
            )
        },
    ) {
        return;
    }

    // 6. Segments: leaves in the log, content roots over the recorded hashes.
    let mut frags: Vec<(String, Hash, &FragmentProof)> = Vec::new();
    for s in &proof.segments {
        let Some(hashes) = check_segment(run, s, manifest.camera_id, &checkpoint) else {
            continue;
        };
        for f in &s.fragments {
            match hashes.get(f.hash_index).filter(|_| f.hash_index > 0) {
                Some(h) => frags.push((s.path.clone(), *h, f)),
                None => {
                    run.check(
                        format!("export.mp4 fragment {}#{}", s.path, f.hash_index),
                        false,
                        "names a fragment the segment does not have",
                    );
                }
            }
        }
    }
    if proof
        .segments
        .iter()
        .map(|s| &s.path)
        .ne(manifest.segments.iter())
    {
        run.check(
            PROOF,
            false,
            "its segments differ from the manifest's list".to_owned(),
        );
    }

    // 6b. Adopted segments: each named by a logged `segment_adopted` event, and said.
    for path in &manifest.adopted {
        let piece = format!("segment {path}");
        if !manifest.segments.contains(path) {
            run.check(
                piece,
                false,
                "adopted, but not among the manifest's segments",
            );
            continue;
        }
        let event = proof.adoptions.iter().find_map(|l| {
            let d: serde_json::Value = serde_json::from_str(&l.data).ok()?;
            (d["event"] == "segment_adopted" && d["detail"]["path"] == path.as_str())
                .then_some((l, d))
        });
        match event {
            None => {
                run.check(
                    piece,
                    false,
                    "adopted, but the bundle carries no adoption event for it",
                );
            }
            Some((l, d)) => match included(l) {
                Err(e) => {
                    run.check(piece, false, format!("its adoption event: {e}"));
                }
                Ok(()) => {
                    run.check(
                        piece,
                        true,
                        format!(
                            "ADOPTED by recovery at {} (system-log event, leaf {}): the index did not know this file when it was found; an index restored from an earlier copy does this, and `vidimus verify --witness` names such a rollback",
                            d["at"].as_str().unwrap_or("?"),
                            l.leaf_index
                        ),
                    );
                }
            },
        }
    }

    // 7. The MP4: every byte of its sample data is a recorded fragment's sample data,
    //    and the whole file is the one logged.
    let Some((mdat_start, mdat_end)) = mdat_payload(src, mp4.offset, mp4.size) else {
        run.check(MP4, false, "not an MP4 with an mdat box");
        return;
    };
    frags.sort_by_key(|f| f.2.mp4_offset);
    let mut covered = mdat_start;
    for (path, _, f) in &frags {
        if f.mp4_offset != covered {
            run.check(
                MP4,
                false,
                format!(
                    "bytes {covered}..{} are not accounted for by any recorded fragment (next is {path}#{})",
                    f.mp4_offset.max(covered),
                    f.hash_index
                ),
            );
            return;
        }
        covered += f.mp4_len;
    }
    if covered != mdat_end {
        run.check(
            MP4,
            false,
            format!("its sample data ends at byte {mdat_end}, the recorded fragments at {covered}"),
        );
        return;
    }
    use sha2::Digest;
    let mut whole = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    let mut next = 0usize;
    let mut current: Option<(sha2::Sha256, u64)> = None; // hasher, end offset
    while pos < mp4.size {
        let n = (mp4.size - pos).min(buf.len() as u64) as usize;
        if let Err(e) = src.read_at(mp4.offset + pos, &mut buf[..n]) {
            run.check(MP4, false, format!("cannot read: {e}"));
            return;
        }
        whole.update(&buf[..n]);
        let mut p = pos;
        let end = pos + n as u64;
        while p < end {
            if current.is_none() {
                match frags.get(next) {
                    Some((_, _, f)) if f.mp4_offset <= p => {
                        let mut h = sha2::Sha256::new();
                        h.update(hex::decode(&f.header).unwrap_or_default());
                        current = Some((h, f.mp4_offset + f.mp4_len));
                    }
                    Some((_, _, f)) => {
                        p = f.mp4_offset.min(end);
                        continue;
                    }
                    None => break,
                }
            }
            let (h, fend) = current.as_mut().expect("set above");
            let take = (*fend).min(end);
            h.update(&buf[(p - pos) as usize..(take - pos) as usize]);
            p = take;
            if take == *fend {
                let (h, _) = current.take().expect("set above");
                let (path, want, f) = &frags[next];
                let got: Hash = h.finalize().into();
                run.check(
                    format!("export.mp4 fragment {path}#{}", f.hash_index),
                    got == *want,
                    if got == *want {
                        format!("bytes {}..{} as recorded", f.mp4_offset, f.mp4_offset + f.mp4_len)
                    } else {
                        format!(
                            "bytes {}..{} were modified: they no longer hash to the recorded fragment",
                            f.mp4_offset,
                            f.mp4_offset + f.mp4_len
                        )
                    },
                );
                next += 1;
            }
        }
        pos = end;
        progress(pos, mp4.size);
    }
    let sha = hex::encode(whole.finalize());
    let samples_ok = run.checks.iter().all(|c| c.ok);
    run.check(
        MP4,
        record["mp4_sha256"] == sha.as_str()
            && record["mp4_bytes"] == mp4.size
            && manifest.mp4.sha256 == sha,
        if record["mp4_sha256"] == sha.as_str() {
            format!("{} bytes, SHA-256 {sha}, as exported", mp4.size)
        } else if samples_ok {
            format!(
                "altered outside the recorded samples (its header or metadata): SHA-256 {sha}, logged {}",
                record["mp4_sha256"]
            )
        } else {
            format!("altered: SHA-256 {sha}, logged {}", record["mp4_sha256"])
        },
    );
}
