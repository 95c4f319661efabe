//! The integrity log in the store: leaves for closed segments and lawful deletions,
//! Ed25519-signed checkpoints, the site key, and checking it all (`vidimus verify`).

use crate::index::{MetadataStore, SegmentRow, SegmentState, SqliteIndex};
use crate::{Result, StoreError};
use rusqlite::{OptionalExtension, params};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
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

/// The log leaf for the first `fragments` fragments of a segment still being written,
/// so that fragments are covered by a signed checkpoint long before the segment
/// closes. `content_root` is over the init and those fragments' hashes.
pub fn fragments_leaf(row: &SegmentRow) -> Vec<u8> {
    let n = (row.fragment_hashes.len() / 32).saturating_sub(1);
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "kind": "fragments",
        "camera_id": row.camera_id,
        "path": row.path,
        "start_90k": row.start_90k,
        "end_90k": row.end_90k,
        "fragments": n,
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

/// The system log's leaf for one event: who did what, when (JSON, fields in this
/// order). `event` names the act (`login`, `login_failed`, `logout`, `hold`,
/// `release`, `camera_added`, `camera_changed`, `camera_removed`, `user_added`,
/// `recorder_started`, `recorder_stopped`, `alarm_raised`, `alarm_cleared`, …).
pub fn event_leaf(
    at: Wall90k,
    event: &str,
    actor: &str,
    camera_id: Option<i64>,
    detail: &serde_json::Value,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1,
        "kind": "event",
        "event": event,
        "at": at.to_string(),
        "actor": actor,
        "camera_id": camera_id,
        "detail": detail,
    }))
    .expect("leaf serializes")
}

/// Appends an event leaf on `conn` (inside the caller's transaction, if any).
pub(crate) fn insert_event(
    conn: &rusqlite::Connection,
    at: Wall90k,
    event: &str,
    actor: &str,
    camera_id: Option<i64>,
    detail: &serde_json::Value,
) -> Result<()> {
    let data = event_leaf(at, event, actor, camera_id, detail);
    conn.execute(
        "INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES (?1, 'event', ?2, ?3)",
        params![at.0, data, leaf_hash(&data).as_slice()],
    )?;
    Ok(())
}

/// One event of the system log, as listed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct EventRow {
    /// 0-based position in the integrity log.
    pub leaf_index: i64,
    pub at: String,
    pub event: String,
    pub actor: String,
    pub camera_id: Option<i64>,
    pub detail: serde_json::Value,
}

/// The file in the data directory that says where the site's signing key lives (a
/// path, not the key): written by `vidimus serve` from its configuration, read by the
/// command line working on the data directory.
pub const KEY_LOCATION: &str = "log-key.location";

/// Where the site's log signing key is: the path `vidimus serve` recorded in
/// [`KEY_LOCATION`], else (sites from before keys moved out) `log-key` in the data
/// directory.
pub fn key_path(data_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(data_dir.join(KEY_LOCATION)) {
        Ok(p) if !p.trim().is_empty() => PathBuf::from(p.trim()),
        _ => data_dir.join("log-key"),
    }
}

/// Records where the key lives, for the command line.
pub fn set_key_path(data_dir: &Path, key: &Path) -> Result<()> {
    let p = data_dir.join(KEY_LOCATION);
    std::fs::write(&p, format!("{}\n", key.display()))
        .map_err(StoreError::io(format!("writing {}", p.display())))
}

/// The site's log signing key (32 random bytes, mode 0600), from [`key_path`].
pub fn site_key(data_dir: &Path) -> Result<[u8; 32]> {
    read_key(&key_path(data_dir))
}

/// Reads the key at `p`.
pub fn read_key(p: &Path) -> Result<[u8; 32]> {
    let b = std::fs::read(p).map_err(StoreError::io(format!(
        "reading the log signing key {}",
        p.display()
    )))?;
    b.try_into()
        .map_err(|_| StoreError::Invalid(format!("{} is not a 32-byte key", p.display())))
}

/// The key at `p`, created (with its directory, mode 0700, and the file, mode 0600) if
/// there is none yet.
pub fn create_key(p: &Path) -> Result<[u8; 32]> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if p.exists() {
        return read_key(p);
    }
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(StoreError::io(format!("creating {}", dir.display())))?;
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| StoreError::Invalid(format!("no randomness for a key: {e}")))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(p)
        .map_err(StoreError::io(format!("creating {}", p.display())))?;
    std::io::Write::write_all(&mut f, &seed)
        .map_err(StoreError::io(format!("writing {}", p.display())))?;
    f.sync_all()
        .map_err(StoreError::io(format!("syncing {}", p.display())))?;
    Ok(seed)
}

/// A column's bytes whether stored as BLOB or TEXT (a hand-edited row may be either;
/// verification must report it, not fail on it).
pub(crate) fn any_bytes(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<u8>> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        ValueRef::Null => Vec::new(),
        ValueRef::Integer(n) => n.to_string().into_bytes(),
        ValueRef::Real(x) => x.to_string().into_bytes(),
    })
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
                    data: any_bytes(r, 2)?,
                    hash: any_bytes(r, 3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Records an event in the system log (a leaf of the integrity log, so it is
    /// tamper-evident; leaves are never deleted, which keeps system logs past the
    /// rulebook's minimum).
    pub fn log_event(
        &self,
        at: Wall90k,
        event: &str,
        actor: &str,
        camera_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<()> {
        insert_event(self.conn(), at, event, actor, camera_id, &detail)
    }

    /// [`SqliteIndex::log_event`], returning the event's leaf index (0-based).
    pub fn log_event_at(
        &self,
        at: Wall90k,
        event: &str,
        actor: &str,
        camera_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<i64> {
        insert_event(self.conn(), at, event, actor, camera_id, &detail)?;
        Ok(self.conn().last_insert_rowid() - 1)
    }

    /// Leaves of `kind` at or after `since`, oldest first: at most `limit`, the newest
    /// kept. (index, data) each.
    fn recent_leaves(
        &self,
        kind: &str,
        since: Wall90k,
        limit: usize,
    ) -> Result<Vec<(i64, Vec<u8>)>> {
        let mut st = self.conn().prepare_cached(
            "SELECT idx, data FROM (SELECT idx, data FROM log_leaf WHERE kind = ?1 \
             AND at_90k >= ?2 ORDER BY idx DESC LIMIT ?3) ORDER BY idx",
        )?;
        let rows = st
            .query_map(params![kind, since.0, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, any_bytes(r, 1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The bookmarks of a camera whose instant lies in `[from, to)`: (leaf index, the
    /// event as logged), by instant. Bookmarks are system-log events (`bookmark`), so
    /// they are tamper-evident and kept with the log.
    pub fn bookmarks(
        &self,
        camera_id: i64,
        from: Wall90k,
        to: Wall90k,
    ) -> Result<Vec<(i64, serde_json::Value)>> {
        let mut st = self.conn().prepare_cached(
            "SELECT idx, data FROM log_leaf WHERE kind = 'event' \
             AND json_extract(CAST(data AS TEXT), '$.event') = 'bookmark' \
             AND json_extract(CAST(data AS TEXT), '$.camera_id') = ?1 \
             AND json_extract(CAST(data AS TEXT), '$.detail.t_90k') >= ?2 \
             AND json_extract(CAST(data AS TEXT), '$.detail.t_90k') < ?3 \
             ORDER BY json_extract(CAST(data AS TEXT), '$.detail.t_90k') LIMIT 1000",
        )?;
        let rows = st
            .query_map(params![camera_id, from.0, to.0], |r| {
                Ok((r.get::<_, i64>(0)?, any_bytes(r, 1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(i, d)| (i - 1, serde_json::from_slice(&d).unwrap_or_default()))
            .collect())
    }

    /// System-log events at or after `since`, oldest first (at most `limit`, newest kept).
    pub fn events(&self, since: Wall90k, limit: usize) -> Result<Vec<EventRow>> {
        let rows = self.recent_leaves("event", since, limit)?;
        Ok(rows
            .into_iter()
            .map(|(idx, data)| {
                let v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
                EventRow {
                    leaf_index: idx - 1,
                    at: v["at"].as_str().unwrap_or("").to_owned(),
                    event: v["event"].as_str().unwrap_or("").to_owned(),
                    actor: v["actor"].as_str().unwrap_or("").to_owned(),
                    camera_id: v["camera_id"].as_i64(),
                    detail: v["detail"].clone(),
                }
            })
            .collect())
    }

    /// Every checkpoint, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let mut st = self
            .conn()
            .prepare("SELECT size, root, at_90k, signature FROM log_checkpoint ORDER BY id")?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    any_bytes(r, 1)?,
                    r.get::<_, i64>(2)?,
                    any_bytes(r, 3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(size, root, at, sig)| Checkpoint {
                size: size as u64,
                root: root.try_into().unwrap_or([0; 32]),
                time_90k: at,
                signature: sig.try_into().unwrap_or([0; 64]),
            })
            .collect())
    }

    /// Access register entries (leaves of kind `access`) at or after `since`, oldest
    /// first, at most `limit` (the newest kept), each with its leaf index.
    pub fn register_entries(&self, since: Wall90k, limit: usize) -> Result<Vec<serde_json::Value>> {
        let rows = self.recent_leaves("access", since, limit)?;
        Ok(rows
            .into_iter()
            .map(|(idx, data)| {
                let mut v: serde_json::Value = serde_json::from_slice(&data).unwrap_or_default();
                v["leaf_index"] = serde_json::json!(idx - 1);
                v
            })
            .collect())
    }

    /// The log's Merkle tree, rebuilt from the stored leaf hashes.
    pub fn log_tree(&self) -> Result<MerkleLog> {
        let mut t = MerkleLog::new();
        let mut st = self
            .conn()
            .prepare("SELECT leaf_hash FROM log_leaf ORDER BY idx")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let h = any_bytes(r, 0)?;
            t.append_hash(
                h.as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Invalid("bad leaf hash".into()))?,
            );
        }
        Ok(t)
    }

    /// The newest checkpoint `witness` cosigned: (size, note).
    pub fn latest_cosigned(&self, witness: &str) -> Result<Option<(u64, String)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT size, note FROM witness_cosignature WHERE witness = ?1 ORDER BY size DESC LIMIT 1",
                [witness],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?)
    }

    /// Keeps a checkpoint note as `witness` cosigned it.
    pub fn add_cosigned(&self, witness: &str, size: u64, note: &str, at: Wall90k) -> Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO witness_cosignature (witness, size, note, at_90k) VALUES (?1, ?2, ?3, ?4)",
            params![witness, size as i64, note, at.0],
        )?;
        Ok(())
    }

    /// The newest cosigned note of each witness.
    pub fn cosigned_notes(&self) -> Result<Vec<(String, u64, String)>> {
        let mut st = self.conn().prepare(
            "SELECT witness, size, note FROM witness_cosignature w WHERE size = \
             (SELECT MAX(size) FROM witness_cosignature v WHERE v.witness = w.witness) ORDER BY witness",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?))
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

    /// Appends a `fragments` leaf for every open segment whose indexed fragments grew
    /// since `logged` says (path → fragments already logged), updating `logged`.
    /// Returns how many leaves were appended.
    pub fn log_open_segments(
        &mut self,
        now: Wall90k,
        logged: &mut HashMap<String, usize>,
    ) -> Result<usize> {
        let open = self.open_segments()?;
        let mut ops = Vec::new();
        for row in &open {
            let n = (row.fragment_hashes.len() / 32).saturating_sub(1);
            if n == 0 || logged.get(&row.path).is_some_and(|&m| m >= n) {
                continue;
            }
            ops.push(crate::index::IndexOp::AppendLeaf {
                at_90k: now.0,
                kind: "fragments".into(),
                data: fragments_leaf(row),
            });
            logged.insert(row.path.clone(), n);
        }
        logged.retain(|p, _| open.iter().any(|r| r.path == *p));
        if !ops.is_empty() {
            self.apply(&ops)?;
        }
        Ok(ops.len())
    }

    /// Signs and stores a checkpoint of the log as it is now, if it grew since the last.
    /// Several processes may sign (the recorder periodically, the server after a
    /// hand-out): each reads and signs inside one immediate transaction, so a
    /// checkpoint's size and root are always of the same log.
    pub fn checkpoint(&mut self, seed: &[u8; 32], now: Wall90k) -> Result<Option<Checkpoint>> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let latest: Option<i64> = tx
            .query_row(
                "SELECT size FROM log_checkpoint ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let mut t = MerkleLog::new();
        {
            // Only the hashes: the leaves' data is not needed to sign.
            let mut st = tx.prepare("SELECT leaf_hash FROM log_leaf ORDER BY idx")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let h = any_bytes(r, 0)?;
                t.append_hash(
                    h.as_slice()
                        .try_into()
                        .map_err(|_| StoreError::Invalid("bad leaf hash".into()))?,
                );
            }
        }
        if latest == Some(t.size() as i64) {
            return Ok(None);
        }
        let c = checkpoint::sign(seed, t.size(), t.root(), now.0);
        tx.execute(
            "INSERT INTO log_checkpoint (size, root, at_90k, signature) VALUES (?1, ?2, ?3, ?4)",
            params![
                c.size as i64,
                c.root.as_slice(),
                c.time_90k,
                c.signature.as_slice()
            ],
        )?;
        tx.commit()?;
        Ok(Some(c))
    }
}

/// Problems with the log, named.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LogReport {
    pub leaves: usize,
    /// Signed checkpoints checked (each consistent with the next).
    pub checkpoints: usize,
    /// Leaves by kind among those the checkpoint covers.
    pub covered_kinds: std::collections::BTreeMap<String, usize>,
    pub checkpoint_size: Option<u64>,
    pub public_key: String,
    pub problems: Vec<String>,
}

/// Checks the log against itself, its signed checkpoint and the index: every leaf's
/// hash, the checkpoint's signature and root, every closed segment's leaf, and every
/// logged segment that is gone (explained only by a logged deletion).
pub fn verify_log(
    index: &SqliteIndex,
    files: &crate::files::SegmentFiles,
    public_key: &[u8; 32],
) -> Result<LogReport> {
    let mut rep = LogReport {
        public_key: hex(public_key),
        ..Default::default()
    };
    let leaves = index.log_leaves()?;
    rep.leaves = leaves.len();
    let mut t = MerkleLog::new();
    let mut segment_roots: HashMap<String, String> = HashMap::new();
    // What each closed segment's leaf says of it: (camera, start, end, frames, bytes).
    let mut segment_facts: HashMap<String, (i64, i64, i64, i64, i64)> = HashMap::new();
    // Open segments: the latest logged (fragments, root, leaf number) per path.
    let mut partial: HashMap<String, (usize, String, i64)> = HashMap::new();
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
        // The kind column is not hashed; what the leaf is, is its hashed data's kind.
        // (The register files a hand-out's end with its start, as `access`.)
        let filed_as = match v["kind"].as_str() {
            Some("access_end") => Some("access"),
            k => k,
        };
        if filed_as != Some(l.kind.as_str()) {
            rep.problems.push(format!(
                "log leaf {} is filed as {:?} but its data says {:?}: the leaf was relabelled",
                l.idx,
                l.kind,
                v["kind"].as_str().unwrap_or("nothing")
            ));
        }
        let path = v["path"]
            .as_str()
            .or(v["segment"].as_str())
            .unwrap_or("")
            .to_owned();
        match filed_as.unwrap_or("") {
            "segment" => {
                let n = |k: &str| v[k].as_i64().unwrap_or(i64::MIN);
                segment_facts.insert(
                    path.clone(),
                    (
                        n("camera_id"),
                        n("start_90k"),
                        n("end_90k"),
                        n("frames"),
                        n("bytes"),
                    ),
                );
                segment_roots.insert(path, v["content_root"].as_str().unwrap_or("").to_owned());
            }
            "deletion" => {
                deleted.insert(path);
            }
            "fragments" => {
                partial.insert(
                    path,
                    (
                        v["fragments"].as_u64().unwrap_or(0) as usize,
                        v["content_root"].as_str().unwrap_or("").to_owned(),
                        l.idx,
                    ),
                );
            }
            _ => {}
        }
    }
    let covered = index.latest_checkpoint()?.map_or(0, |c| c.size as usize);
    for l in leaves.iter().take(covered) {
        *rep.covered_kinds.entry(l.kind.clone()).or_default() += 1;
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
    // Every earlier checkpoint: signed, and the log only grew between consecutive ones
    // (an RFC 9162 consistency proof from the leaves, checked against the signed roots).
    let cps = index.checkpoints()?;
    rep.checkpoints = cps.len();
    for (i, c) in cps.iter().enumerate().rev().skip(1) {
        if checkpoint::verify(public_key, c).is_err() {
            rep.problems.push(format!(
                "checkpoint {} (size {}) is not signed by key {}",
                i + 1,
                c.size,
                rep.public_key
            ));
            continue;
        }
        let next = &cps[i + 1];
        let ok = c.size <= next.size
            && next.size <= t.size()
            && t.consistency_proof(c.size.max(1), next.size)
                .ok()
                .is_some_and(|p| {
                    c.size == 0
                        || vidimus_integrity::merkle::verify_consistency(
                            c.size, next.size, &c.root, &next.root, &p,
                        )
                        .is_ok()
                });
        if !ok {
            rep.problems.push(format!(
                "checkpoints {} (size {}) and {} (size {}) are not consistent: the log was rewritten between them",
                i + 1,
                c.size,
                i + 2,
                next.size
            ));
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
        // Its times, camera and size must be what was logged when it closed.
        if let Some(&(cam, start, end, frames, bytes)) = segment_facts.get(&r.path) {
            let t = |x: i64| Wall90k(x).to_string();
            for (what, index_v, log_v, time) in [
                ("camera", r.camera_id, cam, false),
                ("start", r.start_90k, start, true),
                ("end", r.end_90k, end, true),
                ("frames", r.frames, frames, false),
                ("bytes", r.bytes, bytes, false),
            ] {
                if index_v != log_v {
                    let (a, b) = if time {
                        (t(index_v), t(log_v))
                    } else {
                        (index_v.to_string(), log_v.to_string())
                    };
                    rep.problems.push(format!(
                        "segment {}: {what} is {a} in the index, {b} in the log",
                        r.path
                    ));
                }
            }
        }
    }
    // Fragments logged while their segment was open must still be what was logged.
    let by_path: HashMap<&str, &SegmentRow> = rows.iter().map(|r| (r.path.as_str(), r)).collect();
    let mut partial_paths: Vec<(&String, &(usize, String, i64))> = partial.iter().collect();
    partial_paths.sort();
    for (path, (n, root, idx)) in partial_paths {
        let Some(r) = by_path.get(path.as_str()) else {
            continue; // reported below with the other missing segments
        };
        let have = (r.fragment_hashes.len() / 32).saturating_sub(1);
        if have < *n {
            rep.problems.push(format!(
                "segment {path}: log leaf {idx} vouches for {n} fragments, the index has only {have} (truncated)"
            ));
        } else if *root != hex(&content_root(&r.fragment_hashes[..(n + 1) * 32])) {
            rep.problems.push(format!(
                "segment {path}: its first {n} fragment hashes differ from log leaf {idx} (altered after they were logged)"
            ));
        }
    }
    let mut missing: Vec<&String> = segment_roots
        .keys()
        .chain(partial.keys())
        .filter(|p| !present.contains(p.as_str()) && !deleted.contains(*p))
        .collect();
    missing.sort();
    missing.dedup();
    missing.sort();
    for p in missing {
        rep.problems.push(if files.path(p).exists() {
            format!(
                "segment {p}: its index row was deleted but the file is still there, and no logged deletion explains it (`vidimus fsck --repair` re-adopts it)"
            )
        } else {
            format!("segment {p} is missing and no logged deletion explains it")
        });
    }
    // Every change of grants, requests, holds, gaps, users, the registry, ...: the
    // index must be what the log's row leaves say.
    rep.problems.extend(crate::row_log::replay(index.conn())?);
    Ok(rep)
}
