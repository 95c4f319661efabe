//! The integrity log in the store: leaves for closed segments and lawful deletions,
//! Ed25519-signed checkpoints, the site key, and checking it all (`vidimus verify`).

use crate::index::{MetadataStore, SegmentRow, SegmentState, SqliteIndex};
use crate::{Result, StoreError};
use rusqlite::{OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use vidimus_core::time::Wall90k;
use vidimus_integrity::checkpoint::{self, Checkpoint};
use vidimus_integrity::merkle::{Hash, MerkleLog, leaf_hash};

/// The Merkle root over a segment's init and fragment hashes (each 32-byte hash is one
/// leaf's data): one fragment can later be proven with an inclusion proof.
pub fn content_root(fragment_hashes: &[u8]) -> Hash {
    let mut t = MerkleLog::new();
    for h in fragment_hashes.chunks(32) {
        t.append(h);
    }
    t.root()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The log leaf for a closed segment (JSON, fields in this order).
pub fn segment_leaf(row: &SegmentRow) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "kind": "segment",
        "camera_id": row.camera_id,
        "path": row.path,
        "start_90k": row.start_90k,
        "end_90k": row.end_90k,
        "frames": row.frames,
        "bytes": row.bytes,
        "content_root": hex(&content_root(&row.fragment_hashes)),
    }))
    .expect("leaf serializes")
}

/// The index operation that appends a closed segment's leaf to the log.
pub fn segment_leaf_op(row: &SegmentRow) -> crate::index::IndexOp {
    crate::index::IndexOp::AppendLeaf {
        at_90k: row.end_90k,
        kind: "segment".into(),
        data: segment_leaf(row),
    }
}

/// The site's log signing key (`log-key` in the data directory, 32 random bytes, mode
/// 0600), created on first use.
pub fn site_key(data_dir: &Path) -> Result<[u8; 32]> {
    use std::os::unix::fs::OpenOptionsExt;
    let p = data_dir.join("log-key");
    if let Ok(b) = std::fs::read(&p) {
        return b
            .try_into()
            .map_err(|_| StoreError::Invalid(format!("{} is not a 32-byte key", p.display())));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| StoreError::Invalid(format!("no randomness for a key: {e}")))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&p)
        .map_err(StoreError::io(format!("creating {}", p.display())))?;
    std::io::Write::write_all(&mut f, &seed)
        .map_err(StoreError::io(format!("writing {}", p.display())))?;
    f.sync_all()
        .map_err(StoreError::io(format!("syncing {}", p.display())))?;
    Ok(seed)
}

/// One stored leaf.
pub struct Leaf {
    pub idx: i64,
    pub kind: String,
    pub data: Vec<u8>,
    pub hash: Vec<u8>,
}

impl SqliteIndex {
    /// Every leaf, in order.
    pub fn log_leaves(&self) -> Result<Vec<Leaf>> {
        let mut st = self
            .conn()
            .prepare("SELECT idx, kind, data, leaf_hash FROM log_leaf ORDER BY idx")?;
        let rows = st
            .query_map([], |r| {
                Ok(Leaf {
                    idx: r.get(0)?,
                    kind: r.get(1)?,
                    data: r.get(2)?,
                    hash: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The newest checkpoint.
    pub fn latest_checkpoint(&self) -> Result<Option<Checkpoint>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT size, root, at_90k, signature FROM log_checkpoint ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    let root: Vec<u8> = r.get(1)?;
                    let sig: Vec<u8> = r.get(3)?;
                    Ok((r.get::<_, i64>(0)?, root, r.get::<_, i64>(2)?, sig))
                },
            )
            .optional()?
            .and_then(|(size, root, at, sig)| {
                Some(Checkpoint {
                    size: size as u64,
                    root: root.try_into().ok()?,
                    time_90k: at,
                    signature: sig.try_into().ok()?,
                })
            }))
    }

    /// Signs and stores a checkpoint of the log as it is now, if it grew since the last.
    pub fn checkpoint(&mut self, seed: &[u8; 32], now: Wall90k) -> Result<Option<Checkpoint>> {
        let leaves = self.log_leaves()?;
        if self
            .latest_checkpoint()?
            .is_some_and(|c| c.size == leaves.len() as u64)
        {
            return Ok(None);
        }
        let mut t = MerkleLog::new();
        for l in &leaves {
            t.append_hash(
                l.hash
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Invalid("bad leaf hash".into()))?,
            );
        }
        let c = checkpoint::sign(seed, t.size(), t.root(), now.0);
        self.conn().execute(
            "INSERT INTO log_checkpoint (size, root, at_90k, signature) VALUES (?1, ?2, ?3, ?4)",
            params![
                c.size as i64,
                c.root.as_slice(),
                c.time_90k,
                c.signature.as_slice()
            ],
        )?;
        Ok(Some(c))
    }
}

/// Problems with the log, named.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LogReport {
    pub leaves: usize,
    pub checkpoint_size: Option<u64>,
    pub public_key: String,
    pub problems: Vec<String>,
}

/// Checks the log against itself, its signed checkpoint and the index: every leaf's
/// hash, the checkpoint's signature and root, every closed segment's leaf, and every
/// logged segment that is gone (explained only by a logged deletion).
pub fn verify_log(index: &SqliteIndex, public_key: &[u8; 32]) -> Result<LogReport> {
    let mut rep = LogReport {
        public_key: hex(public_key),
        ..Default::default()
    };
    let leaves = index.log_leaves()?;
    rep.leaves = leaves.len();
    let mut t = MerkleLog::new();
    let mut segment_roots: HashMap<String, String> = HashMap::new();
    let mut deleted: HashSet<String> = HashSet::new();
    for (i, l) in leaves.iter().enumerate() {
        if l.idx != i as i64 + 1 {
            rep.problems.push(format!(
                "log leaf {} is missing (found leaf {} in its place)",
                i + 1,
                l.idx
            ));
        }
        let h = leaf_hash(&l.data);
        if h.as_slice() != l.hash {
            rep.problems.push(format!(
                "log leaf {} was altered: its data no longer matches its hash",
                l.idx
            ));
        }
        t.append_hash(h);
        let v: serde_json::Value = serde_json::from_slice(&l.data).unwrap_or_default();
        let path = v["path"]
            .as_str()
            .or(v["segment"].as_str())
            .unwrap_or("")
            .to_owned();
        match l.kind.as_str() {
            "segment" => {
                segment_roots.insert(path, v["content_root"].as_str().unwrap_or("").to_owned());
            }
            "deletion" => {
                deleted.insert(path);
            }
            _ => {}
        }
    }
    match index.latest_checkpoint()? {
        None if !leaves.is_empty() => rep.problems.push("the log has no signed checkpoint".into()),
        None => {}
        Some(c) => {
            rep.checkpoint_size = Some(c.size);
            if checkpoint::verify(public_key, &c).is_err() {
                rep.problems.push(format!(
                    "checkpoint of size {} is not signed by key {} (forged, or signed with another key)",
                    c.size, rep.public_key
                ));
            }
            if c.size > t.size() {
                rep.problems.push(format!(
                    "the log has {} leaves but its checkpoint vouches for {} (truncated)",
                    t.size(),
                    c.size
                ));
            } else if t.root_at(c.size) != c.root {
                rep.problems.push(format!(
                    "the first {} leaves do not hash to the signed root (leaves removed, reordered or altered)",
                    c.size
                ));
            }
        }
    }
    let rows = index.all_segments()?;
    let present: HashSet<&str> = rows.iter().map(|r| r.path.as_str()).collect();
    for r in rows
        .iter()
        .filter(|r| r.state == SegmentState::Closed && !r.fragment_hashes.is_empty())
    {
        match segment_roots.get(&r.path) {
            None => rep
                .problems
                .push(format!("segment {} is not in the log", r.path)),
            Some(root) if *root != hex(&content_root(&r.fragment_hashes)) => {
                rep.problems.push(format!(
                    "segment {}: its recorded hashes differ from its log leaf",
                    r.path
                ))
            }
            Some(_) => {}
        }
    }
    let mut missing: Vec<&String> = segment_roots
        .keys()
        .filter(|p| !present.contains(p.as_str()) && !deleted.contains(*p))
        .collect();
    missing.sort();
    for p in missing {
        rep.problems.push(format!(
            "segment {p} is missing and no logged deletion explains it"
        ));
    }
    Ok(rep)
}
