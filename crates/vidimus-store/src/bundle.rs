//! Writing export bundles (format and verification: `vidimus_integrity::bundle`).
//!
//! Order of work, so that a failure loses nothing and logs nothing false: plan the
//! export carrying whole fragments; check every segment is closed and in the log;
//! write the MP4 into `<out>.partial` while hashing it; only then append the export's
//! leaf to the log and sign a checkpoint covering it; compute the inclusion proofs;
//! write the manifest and proof; fsync; rename into place.

use crate::export::{ExportOptions, PreparedExport, prepare_with, read_range};
use crate::files::SegmentFiles;
use crate::index::{IndexOp, MetadataStore, SegmentState, SqliteIndex};
use crate::log::segment_leaf;
use crate::{Result, StoreError};
use rusqlite::OptionalExtension;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use vidimus_core::camera::CameraId;
use vidimus_core::time::Wall90k;
use vidimus_integrity::bundle::{
    self, CheckpointJson, FileDigest, FragmentProof, LeafProof, Manifest, Proof, SegmentProof,
};
use vidimus_integrity::checkpoint;
use vidimus_integrity::merkle::{Hash, MerkleLog, leaf_hash};
use vidimus_integrity::tar;

/// What to put in a bundle.
pub struct BundleRequest<'a> {
    pub camera_id: CameraId,
    pub camera: &'a str,
    pub from: Wall90k,
    pub to: Wall90k,
    pub exporter: &'a str,
    pub purpose: &'a str,
    pub now: Wall90k,
    /// The request and grant it was made under (API), for the manifest and the mark.
    pub request_id: Option<i64>,
    pub grant_id: Option<i64>,
    /// The grant's range: no fragment outside it goes into the bundle.
    pub within: Option<(Wall90k, Wall90k)>,
}

/// A bundle written.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BundleSummary {
    pub manifest: Manifest,
    /// Size of the bundle file.
    pub bytes: u64,
    /// The export's leaf in the log (0-based) and the checkpoint that covers it.
    pub leaf_index: u64,
    pub checkpoint_size: u64,
}

impl SqliteIndex {
    /// The leaf hashes of the first `size` leaves.
    fn leaf_hashes(&self, size: u64) -> Result<MerkleLog> {
        let mut st = self
            .conn()
            .prepare("SELECT leaf_hash FROM log_leaf WHERE idx <= ?1 ORDER BY idx")?;
        let mut t = MerkleLog::new();
        let mut rows = st.query([size as i64])?;
        while let Some(r) = rows.next()? {
            let h: Vec<u8> = r.get(0)?;
            t.append_hash(
                h.try_into()
                    .map_err(|_| StoreError::Invalid("a log leaf hash is not 32 bytes".into()))?,
            );
        }
        Ok(t)
    }

    /// The `segment_adopted` events of these segments: (path, 0-based leaf index,
    /// leaf data), the latest per path.
    fn adoptions(&self, paths: &[String]) -> Result<Vec<(String, u64, Vec<u8>)>> {
        let mut st = self.conn().prepare_cached(
            "SELECT idx, data FROM log_leaf WHERE kind = 'event' \
             AND json_extract(CAST(data AS TEXT), '$.event') = 'segment_adopted' \
             AND json_extract(CAST(data AS TEXT), '$.detail.path') = ?1 ORDER BY idx DESC LIMIT 1",
        )?;
        let mut out = Vec::new();
        for p in paths {
            if let Some((idx, data)) = st
                .query_row([p], |r| {
                    Ok((r.get::<_, i64>(0)?, crate::log::any_bytes(r, 1)?))
                })
                .optional()?
            {
                out.push((p.clone(), idx as u64 - 1, data));
            }
        }
        Ok(out)
    }

    /// The 0-based index of the leaf with this hash.
    fn leaf_index_by_hash(&self, h: &Hash) -> Result<Option<u64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT idx FROM log_leaf WHERE leaf_hash = ?1 ORDER BY idx LIMIT 1",
                [h.as_slice()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|i| i as u64 - 1))
    }
}

fn export_id() -> Result<String> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| StoreError::Invalid(format!("no randomness for an export id: {e}")))?;
    Ok(hex::encode(b))
}

/// Writes a bundle of `req` to `out` (via `<out>.partial`), logging the export and
/// signing a checkpoint with `seed`. `progress` gets (bytes, total) of the MP4.
pub fn write_bundle(
    ix: &mut SqliteIndex,
    files: &SegmentFiles,
    seed: &[u8; 32],
    req: &BundleRequest<'_>,
    out: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<BundleSummary> {
    let purpose = req.purpose.trim();
    if purpose.is_empty() {
        return Err(StoreError::Invalid(
            "an export bundle must state its purpose".into(),
        ));
    }
    let export_id = export_id()?;
    let prepared = prepare_with(
        ix,
        files,
        req.camera_id,
        req.camera,
        req.from,
        req.to,
        ExportOptions {
            whole_fragments: true,
            trace: Some(crate::export::Trace {
                export_id: export_id.clone(),
                request_id: req.request_id,
                grant_id: req.grant_id,
                user: req.exporter.to_owned(),
            }),
            within: req.within,
        },
    )?;
    let segments = segment_evidence(ix, files, &prepared, req)?;
    let adoptions = ix.adoptions(&prepared.sources)?;

    let partial = out.with_extension(match out.extension() {
        Some(e) => format!("{}.partial", e.to_string_lossy()),
        None => "partial".to_owned(),
    });
    let result = (|| -> Result<BundleSummary> {
        let err = |e| StoreError::io(format!("writing {}", partial.display()))(e);
        let f = std::fs::File::create(&partial).map_err(err)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mtime = (req.now.0 / 90_000).max(0) as u64;
        let put = |w: &mut std::io::BufWriter<std::fs::File>, name: &str, data: &[u8]| {
            let h = tar::header(name, data.len() as u64, mtime)
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            w.write_all(&h).map_err(err)?;
            w.write_all(data).map_err(err)?;
            w.write_all(&vec![0; tar::padding(data.len() as u64)])
                .map_err(err)
        };

        // The MP4, hashed as it is written.
        let total = prepared.plan.total_len;
        let h = tar::header(bundle::MP4, total, mtime)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        w.write_all(&h).map_err(err)?;
        use sha2::Digest;
        let mut sha = sha2::Sha256::new();
        let mut done = 0u64;
        read_range(&prepared, files, 0, total.saturating_sub(1), |chunk| {
            sha.update(&chunk);
            w.write_all(&chunk).map_err(err)?;
            done += chunk.len() as u64;
            progress(done, total);
            Ok(true)
        })?;
        w.write_all(&vec![0; tar::padding(total)]).map_err(err)?;
        w.flush().map_err(err)?;

        // The manifest, and the export's leaf in the log.
        let s = &prepared.summary;
        let manifest = Manifest {
            format: bundle::FORMAT.into(),
            export_id: export_id.clone(),
            request_id: req.request_id,
            grant_id: req.grant_id,
            camera: req.camera.into(),
            camera_id: req.camera_id,
            requested_from: s.requested_from.clone(),
            requested_to: s.requested_to.clone(),
            start: s.start.clone(),
            end: s.end.clone(),
            frames: s.frames,
            duration_secs: s.duration_secs,
            gaps: s.gaps.clone(),
            exporter: req.exporter.into(),
            purpose: purpose.into(),
            created: req.now.to_string(),
            mp4: FileDigest {
                name: bundle::MP4.into(),
                bytes: total,
                sha256: hex::encode(sha.finalize()),
            },
            segments: prepared.sources.clone(),
            adopted: adoptions.iter().map(|(p, _, _)| p.clone()).collect(),
            key_fingerprint: bundle::fingerprint(&checkpoint::public_key(seed)),
        };
        let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
        let leaf = bundle::export_leaf(&manifest, &manifest_bytes);
        let (leaf_index, cp, tree) = log_and_sign(ix, seed, req.now, "export", leaf.clone())?;
        let leaf_proof = |index: u64, data: Vec<u8>| leaf_proof(&tree, &cp, index, data);
        let proof = Proof {
            format: bundle::PROOF_FORMAT.into(),
            public_key: hex::encode(checkpoint::public_key(seed)),
            checkpoint: CheckpointJson::from(&cp),
            export_record: leaf_proof(leaf_index, leaf)?,
            adoptions: adoptions
                .into_iter()
                .map(|(_, index, data)| leaf_proof(index, data))
                .collect::<Result<_>>()?,
            segments: segments
                .into_iter()
                .map(|s| {
                    Ok(SegmentProof {
                        leaf: leaf_proof(s.leaf_index, s.leaf)?,
                        path: s.path,
                        hashes: s.hashes,
                        fragments: s.fragments,
                    })
                })
                .collect::<Result<_>>()?,
            witnessed: witnessed(ix, &tree, &cp)?,
        };
        let proof_bytes = serde_json::to_vec_pretty(&proof).expect("proof serializes");
        put(&mut w, bundle::MANIFEST, &manifest_bytes)?;
        put(&mut w, bundle::PROOF, &proof_bytes)?;
        put(&mut w, bundle::README, bundle::README_TEXT.as_bytes())?;
        w.write_all(&tar::END).map_err(err)?;
        let f = w.into_inner().map_err(|e| err(e.into_error()))?;
        f.sync_all().map_err(err)?;
        let bytes = f.metadata().map_err(err)?.len();
        Ok(BundleSummary {
            manifest,
            bytes,
            leaf_index,
            checkpoint_size: cp.size,
        })
    })();
    match result {
        Ok(s) => {
            std::fs::rename(&partial, out)
                .map_err(StoreError::io(format!("renaming to {}", out.display())))?;
            Ok(s)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Appends `leaf` (of `kind`) to the log and signs a checkpoint covering it: the
/// leaf's 0-based index, the checkpoint, and the tree it signs (checked against it).
pub(crate) fn log_and_sign(
    ix: &mut SqliteIndex,
    seed: &[u8; 32],
    now: Wall90k,
    kind: &str,
    leaf: Vec<u8>,
) -> Result<(u64, checkpoint::Checkpoint, MerkleLog)> {
    let idx = ix.apply(&[IndexOp::AppendLeaf {
        at_90k: now.0,
        kind: kind.into(),
        data: leaf,
    }])?[0]
        .ok_or_else(|| StoreError::Invalid(format!("the {kind} leaf was not logged")))?;
    let cp = match ix.checkpoint(seed, now)? {
        Some(c) => c,
        None => ix
            .latest_checkpoint()?
            .ok_or_else(|| StoreError::Invalid("no checkpoint after logging".into()))?,
    };
    let tree = ix.leaf_hashes(cp.size)?;
    if tree.root() != cp.root {
        return Err(StoreError::Invalid(
            "the log does not match its own checkpoint; run `vidimus verify`".into(),
        ));
    }
    Ok((idx as u64 - 1, cp, tree))
}

/// A leaf with its inclusion proof in the checkpoint's tree.
pub(crate) fn leaf_proof(
    tree: &MerkleLog,
    cp: &checkpoint::Checkpoint,
    index: u64,
    data: Vec<u8>,
) -> Result<LeafProof> {
    Ok(LeafProof {
        leaf_index: index,
        data: String::from_utf8(data)
            .map_err(|_| StoreError::Invalid("a log leaf is not UTF-8".into()))?,
        inclusion_proof: bundle::proof_hex(
            &tree
                .inclusion_proof(index, cp.size)
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        ),
    })
}

/// What witnesses cosigned up to the checkpoint, each with the proof that this log
/// extends it.
pub(crate) fn witnessed(
    ix: &SqliteIndex,
    tree: &MerkleLog,
    cp: &checkpoint::Checkpoint,
) -> Result<Vec<bundle::Witnessed>> {
    ix.cosigned_notes()?
        .into_iter()
        .filter(|(_, size, _)| *size <= cp.size && *size > 0)
        .map(|(_, size, note)| {
            Ok(bundle::Witnessed {
                note,
                consistency_proof: if size == cp.size {
                    Vec::new()
                } else {
                    bundle::proof_hex(
                        &tree
                            .consistency_proof(size, cp.size)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    )
                },
            })
        })
        .collect()
}

pub(crate) struct SegmentEvidence {
    pub(crate) path: String,
    pub(crate) leaf_index: u64,
    pub(crate) leaf: Vec<u8>,
    pub(crate) hashes: Vec<String>,
    pub(crate) fragments: Vec<FragmentProof>,
}

/// For each segment the export uses: its log leaf, its recorded hashes, and where each
/// exported fragment's samples land in the MP4.
pub(crate) fn segment_evidence(
    ix: &SqliteIndex,
    files: &SegmentFiles,
    prepared: &PreparedExport,
    req: &BundleRequest<'_>,
) -> Result<Vec<SegmentEvidence>> {
    let rows: HashMap<String, crate::index::SegmentRow> = ix
        .segments(req.camera_id, req.from, req.to)?
        .into_iter()
        .map(|r| (r.path.clone(), r))
        .collect();
    let mut out: Vec<SegmentEvidence> = Vec::new();
    for path in &prepared.sources {
        let row = rows
            .get(path)
            .ok_or_else(|| StoreError::Invalid(format!("segment {path} vanished")))?;
        if row.state != SegmentState::Closed {
            // When it will close: about one segment's length after it began (the
            // camera's last closed segment says how long they are).
            let length = rows
                .values()
                .filter(|r| r.state == SegmentState::Closed && r.end_90k > r.start_90k)
                .map(|r| r.end_90k - r.start_90k)
                .max()
                .unwrap_or(60 * 90_000);
            return Err(StoreError::StillRecording {
                camera: req.camera.to_owned(),
                since: Wall90k(row.start_90k),
                ready_by: Wall90k(row.start_90k + length + 2 * 90_000),
            });
        }
        if row.fragment_hashes.is_empty() {
            return Err(StoreError::Invalid(format!(
                "segment {path} was recorded before fragment hashing, so it cannot be proven"
            )));
        }
        let leaf = segment_leaf(row);
        let leaf_index = ix.leaf_index_by_hash(&leaf_hash(&leaf))?.ok_or_else(|| {
            StoreError::Invalid(format!(
                "segment {path} is not in the integrity log as recorded; run `vidimus verify`"
            ))
        })?;
        out.push(SegmentEvidence {
            path: path.clone(),
            leaf_index,
            leaf,
            hashes: row.fragment_hashes.chunks(32).map(hex::encode).collect(),
            fragments: Vec::new(),
        });
    }
    // The MP4's sample data is the chunks in order; each chunk is one fragment's data.
    let mut mp4_offset = prepared.plan.header.len() as u64;
    let mut copies = prepared.plan.copies.iter().peekable();
    for f in &prepared.fragments {
        let path = &prepared.sources[f.source];
        if !f.whole {
            return Err(StoreError::Invalid(format!(
                "fragment {} of segment {path} would be exported in part (it does not start \
                 with a key frame), so its hash could not be re-derived; widen the range",
                f.index + 1
            )));
        }
        let Some(&&(source, offset, len)) = copies.peek() else {
            return Err(StoreError::Invalid(
                "export plan has fewer chunks than fragments".into(),
            ));
        };
        if source != f.source || offset != f.data_offset || len != f.data_len {
            return Err(StoreError::Invalid(format!(
                "fragment {} of segment {path} is not one contiguous chunk of the export",
                f.index + 1
            )));
        }
        copies.next();
        let header = files
            .open_read(path)?
            .read_range(f.offset, (f.data_offset - f.offset) as usize)
            .map_err(StoreError::io(format!("reading segment {path}")))?;
        let ev = out
            .iter_mut()
            .find(|e| e.path == *path)
            .expect("every source has evidence");
        ev.fragments.push(FragmentProof {
            hash_index: f.index + 1,
            header: hex::encode(header),
            mp4_offset,
            mp4_len: len,
        });
        mp4_offset += len;
    }
    Ok(out)
}
