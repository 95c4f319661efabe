//! The metadata store: cameras, segments, gaps and recorder runs.
//!
//! [`MetadataStore`] is the seam a PostgreSQL implementation will fill for scale-out;
//! [`SqliteIndex`] is the embedded default. All SQL is parameterised.

use crate::{Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use vidimus_core::camera::CameraId;
use vidimus_core::time::Wall90k;

const SCHEMA: &str = include_str!("schema.sql");
/// Upgrades, one file per version step: `UPGRADES[i]` takes version `i + 1` to `i + 2`.
const UPGRADES: &[&str] = &[
    include_str!("upgrade/v2.sql"),
    include_str!("upgrade/v3.sql"),
    include_str!("upgrade/v4.sql"),
    include_str!("upgrade/v5.sql"),
    include_str!("upgrade/v6.sql"),
    include_str!("upgrade/v7.sql"),
    include_str!("upgrade/v8.sql"),
    include_str!("upgrade/v9.sql"),
    include_str!("upgrade/v10.sql"),
    include_str!("upgrade/v11.sql"),
    include_str!("upgrade/v12.sql"),
    include_str!("upgrade/v13.sql"),
    include_str!("upgrade/v14.sql"),
    include_str!("upgrade/v15.sql"),
    include_str!("upgrade/v16.sql"),
    include_str!("upgrade/v17.sql"),
];
const SCHEMA_VERSION: i32 = 1 + UPGRADES.len() as i32;

/// Who manages a camera row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraSource {
    Config,
    Cli,
    Reindex,
}

impl CameraSource {
    fn as_str(self) -> &'static str {
        match self {
            CameraSource::Config => "config",
            CameraSource::Cli => "cli",
            CameraSource::Reindex => "reindex",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "config" => CameraSource::Config,
            "cli" => CameraSource::Cli,
            _ => CameraSource::Reindex,
        }
    }
}

/// A camera. `Debug` and serialization never include the password.
#[derive(Clone, serde::Serialize)]
pub struct CameraRow {
    pub id: CameraId,
    pub name: String,
    /// The URL without credentials.
    pub url: String,
    pub username: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    pub source: CameraSource,
    pub created_90k: i64,
    pub removed_90k: Option<i64>,
    /// URL of a live-only sub-stream (without credentials), if any.
    pub live_url: Option<String>,
    /// Days of video kept (None: the rulebook minimum).
    pub retention_days: Option<i64>,
    /// Protects a counter-terrorism key target (Art. 32).
    pub key_target: bool,
    /// The system it belongs to, its region and the industry it serves (decide which
    /// state organs' jurisdiction it lies in, Art. 33 ¶3).
    pub system: Option<String>,
    pub region: Option<String>,
    pub industry: Option<String>,
}

impl std::fmt::Debug for CameraRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A camera to add.
#[derive(Clone)]
pub struct NewCamera<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub live_url: Option<&'a str>,
    /// Already checked against the rulebook by the caller.
    pub retention_days: Option<u32>,
    pub key_target: bool,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub source: CameraSource,
}

/// Whether a segment is still being written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentState {
    Open,
    Closed,
}

/// A segment's row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SegmentRow {
    pub id: i64,
    pub camera_id: CameraId,
    pub path: String,
    pub state: SegmentState,
    pub run_id: Option<i64>,
    pub start_90k: i64,
    pub end_90k: i64,
    pub media_duration_90k: i64,
    pub bytes: i64,
    pub frames: i64,
    pub fragments: i64,
    pub codec: String,
    pub width: i64,
    pub height: i64,
    #[serde(skip)]
    pub sample_entry: Vec<u8>,
    pub init_len: i64,
    #[serde(skip)]
    pub fragment_index: Vec<u8>,
    /// SHA-256 of the init segment, then of each fragment (32 bytes each).
    #[serde(skip)]
    pub fragment_hashes: Vec<u8>,
}

/// A gap in a camera's recording.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GapRow {
    pub id: i64,
    pub camera_id: CameraId,
    pub start_90k: i64,
    pub end_90k: Option<i64>,
    pub cause: String,
    pub last_error: Option<String>,
    pub attempts: i64,
}

/// A recorder run.
#[derive(Clone, Debug)]
pub struct RunRow {
    pub id: i64,
    pub started_90k: i64,
    pub ended_90k: Option<i64>,
}

/// One change, applied with others in a single transaction by [`MetadataStore::apply`].
#[derive(Clone, Debug)]
pub enum IndexOp {
    /// Inserts a segment row (its `id` is ignored); yields the new id.
    InsertSegment(SegmentRow),
    /// Replaces a segment's progress and state (matched by `id`).
    UpdateSegment(SegmentRow),
    /// Opens a gap for a camera unless one is already open.
    OpenGap {
        camera_id: CameraId,
        start_90k: i64,
        cause: String,
    },
    /// Records another failed attempt on the camera's open gap.
    GapAttempt { camera_id: CameraId, error: String },
    /// Appends a leaf to the integrity log (in the same transaction as the rest).
    AppendLeaf {
        at_90k: i64,
        kind: String,
        data: Vec<u8>,
    },
    /// Closes the camera's open gaps at `end_90k`.
    CloseGaps { camera_id: CameraId, end_90k: i64 },
}

/// The metadata store.
pub trait MetadataStore: Send {
    fn add_camera(&mut self, c: &NewCamera<'_>, now: Wall90k) -> Result<CameraId>;
    /// Adds or updates a camera defined in the config file (matched by name).
    fn upsert_config_camera(&mut self, c: &NewCamera<'_>, now: Wall90k) -> Result<CameraId>;
    /// Ensures a camera with this id exists (re-indexing); keeps an existing row.
    fn ensure_camera(&mut self, id: CameraId, name: &str, now: Wall90k) -> Result<()>;
    fn remove_camera(&mut self, name: &str, now: Wall90k) -> Result<CameraRow>;
    fn cameras(&self, include_removed: bool) -> Result<Vec<CameraRow>>;
    fn camera_by_name(&self, name: &str) -> Result<CameraRow>;

    fn apply(&mut self, ops: &[IndexOp]) -> Result<Vec<Option<i64>>>;
    /// Segments of a camera overlapping `[from, to)`, by start time.
    fn segments(&self, camera: CameraId, from: Wall90k, to: Wall90k) -> Result<Vec<SegmentRow>>;
    fn all_segments(&self) -> Result<Vec<SegmentRow>>;
    /// Whether a segment row names this path.
    fn segment_exists(&self, path: &str) -> Result<bool>;
    /// `(start, end)` of the camera's segments overlapping `[from, to)`, by start: the
    /// timeline's query, reading no blobs.
    fn segment_spans(
        &self,
        camera: CameraId,
        from: Wall90k,
        to: Wall90k,
    ) -> Result<Vec<(i64, i64)>>;
    fn open_segments(&self) -> Result<Vec<SegmentRow>>;
    fn delete_segment_row(&mut self, id: i64) -> Result<()>;
    fn delete_all_segment_rows(&mut self) -> Result<()>;
    /// The end of the camera's latest segment.
    fn last_recorded_end(&self, camera: CameraId) -> Result<Option<Wall90k>>;
    fn gaps(&self, camera: CameraId, from: Wall90k, to: Wall90k) -> Result<Vec<GapRow>>;

    /// Records a recorder start; returns the new run and the previous one.
    fn start_run(&mut self, now: Wall90k) -> Result<(i64, Option<RunRow>)>;
    fn set_run_recovery(&mut self, run: i64, recovery_json: &str) -> Result<()>;
    fn end_run(&mut self, run: i64, now: Wall90k) -> Result<()>;
}

/// The SQLite index.
pub struct SqliteIndex {
    conn: Connection,
}

fn segment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SegmentRow> {
    let state: String = r.get(3)?;
    Ok(SegmentRow {
        id: r.get(0)?,
        camera_id: r.get(1)?,
        path: r.get(2)?,
        state: if state == "open" {
            SegmentState::Open
        } else {
            SegmentState::Closed
        },
        run_id: r.get(4)?,
        start_90k: r.get(5)?,
        end_90k: r.get(6)?,
        media_duration_90k: r.get(7)?,
        bytes: r.get(8)?,
        frames: r.get(9)?,
        fragments: r.get(10)?,
        codec: r.get(11)?,
        width: r.get(12)?,
        height: r.get(13)?,
        sample_entry: r.get(14)?,
        init_len: r.get(15)?,
        fragment_index: r.get(16)?,
        fragment_hashes: r.get(17)?,
    })
}

const SEGMENT_COLS: &str = "id, camera_id, path, state, run_id, start_90k, end_90k, \
    media_duration_90k, bytes, frames, fragments, codec, width, height, sample_entry, \
    init_len, fragment_index, fragment_hashes";

fn camera_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CameraRow> {
    let source: String = r.get(5)?;
    Ok(CameraRow {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        username: r.get(3)?,
        password: r.get(4)?,
        source: CameraSource::parse(&source),
        created_90k: r.get(6)?,
        removed_90k: r.get(7)?,
        live_url: r.get(8)?,
        retention_days: r.get(9)?,
        key_target: r.get::<_, i64>(10)? != 0,
        system: r.get(11)?,
        region: r.get(12)?,
        industry: r.get(13)?,
    })
}

/// No segment is longer than this (config allows up to 1 h), which bounds the index
/// range scan of time queries from below.
pub const MAX_SEGMENT_90K: i64 = 3600 * 90_000 + 60 * 90_000;

const CAMERA_COLS: &str = "id, name, url, username, password, source, created_90k, removed_90k, live_url, retention_days, key_target, system, region, industry";

fn gap_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GapRow> {
    Ok(GapRow {
        id: r.get(0)?,
        camera_id: r.get(1)?,
        start_90k: r.get(2)?,
        end_90k: r.get(3)?,
        cause: r.get(4)?,
        last_error: r.get(5)?,
        attempts: r.get(6)?,
    })
}

impl SqliteIndex {
    /// One camera by id (removed ones too).
    pub fn camera_by_id(&self, id: CameraId) -> Result<Option<CameraRow>> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT {CAMERA_COLS} FROM camera WHERE id = ?1"))?
            .query_row([id], camera_from_row)
            .optional()?)
    }

    /// Runs `f` with commits that do not wait for the disk (`synchronous=NORMAL`):
    /// for entries that cover nothing served — a refused attempt — so a flood of them
    /// costs no fsync each. They survive a crash of the process (WAL), and reach the
    /// disk with the next synced commit; only a power cut in between can lose them.
    pub fn with_lazy_sync<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Self) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.conn
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(StoreError::from)?;
        let r = f(self);
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(StoreError::from)?;
        r
    }

    /// Opens (creating if new) the index at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Every transaction here writes: take the write lock when it begins. A
        // deferred one that reads first and then writes fails at once (SQLITE_BUSY,
        // not waiting) if another connection committed in between — the recorder, the
        // hand-out checkpoints and the handlers all write.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: every commit is on disk before it returns. The access register, the
        // log's leaves and checkpoints are committed before the video they cover is
        // served; with NORMAL a power cut could lose them (WAL not yet synced).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Invalid(format!(
                "index {} has schema version {version}; this Vidimus knows up to version {SCHEMA_VERSION}",
                path.display()
            )));
        }
        crate::row_log::register_functions(&conn)?;
        migrate(&conn, version)?;
        crate::row_log::ensure(&conn)?;
        Ok(SqliteIndex { conn })
    }

    /// The connection, for the other tables' implementations in this crate.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The same, for transactions.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// An in-memory index, for tests.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        crate::row_log::register_functions(&conn)?;
        migrate(&conn, 0)?;
        crate::row_log::ensure(&conn)?;
        Ok(SqliteIndex { conn })
    }
}

/// Brings a database from `version` to [`SCHEMA_VERSION`], each step in its own
/// transaction.
fn migrate(conn: &Connection, version: i32) -> Result<()> {
    if version == 0 {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", 1)?;
        tx.commit()?;
    }
    for v in version.max(1)..SCHEMA_VERSION {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(UPGRADES[(v - 1) as usize])?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteIndex {
    /// A privacy mask belongs to a camera row: another camera (a new name, a renamed
    /// one in the configuration) on the address of a masked camera, present or
    /// removed, would record what the mask hides without it, by one person's doing.
    /// Refused: the mask is removed first (by two administrators) or the camera keeps
    /// its name.
    fn refuse_masked_address(&self, c: &NewCamera<'_>, except: Option<i64>) -> Result<()> {
        let addresses: Vec<&str> = std::iter::once(c.url).chain(c.live_url).collect();
        for a in addresses {
            let masked: Option<String> = self
                .conn
                .query_row(
                    "SELECT c.name FROM camera c JOIN privacy_mask m ON m.camera_id = c.id \
                     WHERE (c.url = ?1 OR c.live_url = ?1) AND c.id IS NOT ?2 LIMIT 1",
                    params![a, except],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(name) = masked {
                return Err(StoreError::Invalid(format!(
                    "camera {:?} would record the address of camera {name:?}, which has a privacy mask: a second camera there would record what the mask hides without it; keep the camera's name, or have the mask removed first (two administrators)",
                    c.name
                )));
            }
        }
        Ok(())
    }
}

impl MetadataStore for SqliteIndex {
    fn add_camera(&mut self, c: &NewCamera<'_>, now: Wall90k) -> Result<CameraId> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM camera WHERE name = ?1", [c.name], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::CameraExists(c.name.to_owned()));
        }
        self.refuse_masked_address(c, None)?;
        self.conn.execute(
            "INSERT INTO camera (name, url, username, password, source, created_90k, live_url, \
             retention_days, key_target) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                c.name,
                c.url,
                c.username,
                c.password,
                c.source.as_str(),
                now.0,
                c.live_url,
                c.retention_days,
                c.key_target
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn upsert_config_camera(&mut self, c: &NewCamera<'_>, now: Wall90k) -> Result<CameraId> {
        let existing: Option<i64> = self
            .conn
            .query_row("SELECT id FROM camera WHERE name = ?1", [c.name], |r| {
                r.get(0)
            })
            .optional()?;
        match existing {
            Some(id) => {
                self.refuse_masked_address(c, Some(id))?;
                self.conn.execute(
                    "UPDATE camera SET url = ?2, username = ?3, password = ?4, source = 'config', \
                     removed_90k = NULL, live_url = ?5, retention_days = ?6, key_target = ?7 WHERE id = ?1",
                    params![id, c.url, c.username, c.password, c.live_url, c.retention_days, c.key_target],
                )?;
                Ok(id)
            }
            None => self.add_camera(c, now),
        }
    }

    fn ensure_camera(&mut self, id: CameraId, name: &str, now: Wall90k) -> Result<()> {
        let by_id: Option<String> = self
            .conn
            .query_row("SELECT name FROM camera WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        if by_id.is_some() {
            return Ok(());
        }
        // The name may have been reused by another id: keep both, distinguishable.
        let taken: bool =
            self.conn
                .query_row("SELECT COUNT(*) FROM camera WHERE name = ?1", [name], |r| {
                    r.get::<_, i64>(0)
                })?
                > 0;
        let name = if taken {
            format!("{name} (id {id})")
        } else {
            name.to_owned()
        };
        self.conn.execute(
            "INSERT INTO camera (id, name, url, source, created_90k) VALUES (?1, ?2, '', 'reindex', ?3)",
            params![id, name, now.0],
        )?;
        Ok(())
    }

    fn remove_camera(&mut self, name: &str, now: Wall90k) -> Result<CameraRow> {
        let cam = self.camera_by_name(name)?;
        self.conn.execute(
            "UPDATE camera SET removed_90k = ?2 WHERE id = ?1 AND removed_90k IS NULL",
            params![cam.id, now.0],
        )?;
        Ok(cam)
    }

    fn cameras(&self, include_removed: bool) -> Result<Vec<CameraRow>> {
        let sql = format!(
            "SELECT {CAMERA_COLS} FROM camera {} ORDER BY id",
            if include_removed {
                ""
            } else {
                "WHERE removed_90k IS NULL"
            }
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st
            .query_map([], camera_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn camera_by_name(&self, name: &str) -> Result<CameraRow> {
        self.conn
            .query_row(
                &format!("SELECT {CAMERA_COLS} FROM camera WHERE name = ?1"),
                [name],
                camera_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::CameraNotFound(name.to_owned()))
    }

    fn apply(&mut self, ops: &[IndexOp]) -> Result<Vec<Option<i64>>> {
        let tx = self.conn.transaction()?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                IndexOp::InsertSegment(s) => {
                    tx.execute(
                        "INSERT INTO segment (camera_id, path, state, run_id, start_90k, end_90k, \
                         media_duration_90k, bytes, frames, fragments, codec, width, height, \
                         sample_entry, init_len, fragment_index, fragment_hashes) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                        params![
                            s.camera_id,
                            s.path,
                            state_str(s.state),
                            s.run_id,
                            s.start_90k,
                            s.end_90k,
                            s.media_duration_90k,
                            s.bytes,
                            s.frames,
                            s.fragments,
                            s.codec,
                            s.width,
                            s.height,
                            s.sample_entry,
                            s.init_len,
                            s.fragment_index,
                            s.fragment_hashes
                        ],
                    )?;
                    out.push(Some(tx.last_insert_rowid()));
                }
                IndexOp::UpdateSegment(s) => {
                    tx.execute(
                        "UPDATE segment SET state = ?2, end_90k = ?3, media_duration_90k = ?4, \
                         bytes = ?5, frames = ?6, fragments = ?7, fragment_index = ?8, \
                         fragment_hashes = ?9 WHERE id = ?1",
                        params![
                            s.id,
                            state_str(s.state),
                            s.end_90k,
                            s.media_duration_90k,
                            s.bytes,
                            s.frames,
                            s.fragments,
                            s.fragment_index,
                            s.fragment_hashes
                        ],
                    )?;
                    out.push(None);
                }
                IndexOp::AppendLeaf { at_90k, kind, data } => {
                    let h = vidimus_integrity::merkle::leaf_hash(data);
                    tx.execute(
                        "INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES (?1, ?2, ?3, ?4)",
                        params![at_90k, kind, data, h.as_slice()],
                    )?;
                    out.push(Some(tx.last_insert_rowid()));
                }
                IndexOp::OpenGap {
                    camera_id,
                    start_90k,
                    cause,
                } => {
                    let open: i64 = tx.query_row(
                        "SELECT COUNT(*) FROM gap WHERE camera_id = ?1 AND end_90k IS NULL",
                        [camera_id],
                        |r| r.get(0),
                    )?;
                    if open == 0 {
                        tx.execute(
                            "INSERT INTO gap (camera_id, start_90k, cause, attempts) VALUES (?1, ?2, ?3, 0)",
                            params![camera_id, start_90k, cause],
                        )?;
                        out.push(Some(tx.last_insert_rowid()));
                    } else {
                        out.push(None);
                    }
                }
                IndexOp::GapAttempt { camera_id, error } => {
                    tx.execute(
                        "UPDATE gap SET attempts = attempts + 1, last_error = ?2 \
                         WHERE camera_id = ?1 AND end_90k IS NULL",
                        params![camera_id, error],
                    )?;
                    out.push(None);
                }
                IndexOp::CloseGaps { camera_id, end_90k } => {
                    // A gap never ends before it starts, even if the clock stepped back.
                    tx.execute(
                        "UPDATE gap SET end_90k = MAX(start_90k, ?2) WHERE camera_id = ?1 AND end_90k IS NULL",
                        params![camera_id, end_90k],
                    )?;
                    out.push(None);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    fn segments(&self, camera: CameraId, from: Wall90k, to: Wall90k) -> Result<Vec<SegmentRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {SEGMENT_COLS} FROM segment WHERE camera_id = ?1 AND start_90k < ?3 \
             AND start_90k >= ?4 AND end_90k > ?2 ORDER BY start_90k"
        ))?;
        let rows = st
            .query_map(
                params![camera, from.0, to.0, from.0.saturating_sub(MAX_SEGMENT_90K)],
                segment_from_row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn all_segments(&self) -> Result<Vec<SegmentRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {SEGMENT_COLS} FROM segment ORDER BY camera_id, start_90k"
        ))?;
        let rows = st
            .query_map([], segment_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn segment_exists(&self, path: &str) -> Result<bool> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM segment WHERE path = ?1")?
            .query_row([path], |r| r.get(0))?;
        Ok(n > 0)
    }

    fn segment_spans(
        &self,
        camera: CameraId,
        from: Wall90k,
        to: Wall90k,
    ) -> Result<Vec<(i64, i64)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT start_90k, end_90k FROM segment WHERE camera_id = ?1 AND start_90k < ?3 \
             AND start_90k >= ?4 AND end_90k > ?2 ORDER BY start_90k",
        )?;
        let rows = st
            .query_map(
                params![camera, from.0, to.0, from.0.saturating_sub(MAX_SEGMENT_90K)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn open_segments(&self) -> Result<Vec<SegmentRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {SEGMENT_COLS} FROM segment WHERE state = 'open' ORDER BY id"
        ))?;
        let rows = st
            .query_map([], segment_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn delete_segment_row(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM segment WHERE id = ?1", [id])?;
        Ok(())
    }

    fn delete_all_segment_rows(&mut self) -> Result<()> {
        self.conn.execute("DELETE FROM segment", [])?;
        Ok(())
    }

    fn last_recorded_end(&self, camera: CameraId) -> Result<Option<Wall90k>> {
        let v: Option<i64> = self.conn.query_row(
            "SELECT MAX(end_90k) FROM segment WHERE camera_id = ?1",
            [camera],
            |r| r.get(0),
        )?;
        Ok(v.map(Wall90k))
    }

    fn gaps(&self, camera: CameraId, from: Wall90k, to: Wall90k) -> Result<Vec<GapRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, camera_id, start_90k, end_90k, cause, last_error, attempts FROM gap \
             WHERE camera_id = ?1 AND start_90k < ?3 AND (end_90k IS NULL OR end_90k > ?2) \
             ORDER BY start_90k",
        )?;
        let rows = st
            .query_map(params![camera, from.0, to.0], gap_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn start_run(&mut self, now: Wall90k) -> Result<(i64, Option<RunRow>)> {
        let prev = self
            .conn
            .query_row(
                "SELECT id, started_90k, ended_90k FROM recorder_run ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(RunRow {
                        id: r.get(0)?,
                        started_90k: r.get(1)?,
                        ended_90k: r.get(2)?,
                    })
                },
            )
            .optional()?;
        self.conn.execute(
            "INSERT INTO recorder_run (started_90k) VALUES (?1)",
            [now.0],
        )?;
        Ok((self.conn.last_insert_rowid(), prev))
    }

    fn set_run_recovery(&mut self, run: i64, recovery_json: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE recorder_run SET recovery = ?2 WHERE id = ?1",
            params![run, recovery_json],
        )?;
        Ok(())
    }

    fn end_run(&mut self, run: i64, now: Wall90k) -> Result<()> {
        self.conn.execute(
            "UPDATE recorder_run SET ended_90k = ?2 WHERE id = ?1",
            params![run, now.0],
        )?;
        Ok(())
    }
}

fn state_str(s: SegmentState) -> &'static str {
    match s {
        SegmentState::Open => "open",
        SegmentState::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_a_version_1_index_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO camera (name, url, source, created_90k) VALUES ('old', 'rtsp://h/x', 'cli', 0)",
                [],
            )
            .unwrap();
        }
        let ix = SqliteIndex::open(&path).unwrap();
        let v: i32 = ix
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        assert_eq!(ix.cameras(false).unwrap()[0].name, "old");
        let n: i64 = ix
            .conn
            .query_row("SELECT COUNT(*) FROM user_account", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        drop(ix);
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            SqliteIndex::open(&path),
            Err(StoreError::Invalid(_))
        ));
    }

    fn cam<'a>(name: &'a str) -> NewCamera<'a> {
        NewCamera {
            name,
            url: "rtsp://h/x",
            live_url: None,
            retention_days: None,
            key_target: false,
            username: Some("u"),
            password: Some("p"),
            source: CameraSource::Cli,
        }
    }

    #[test]
    fn cameras_and_gaps() {
        let mut ix = SqliteIndex::open_in_memory().unwrap();
        let id = ix.add_camera(&cam("door"), Wall90k(0)).unwrap();
        assert!(matches!(
            ix.add_camera(&cam("door"), Wall90k(0)),
            Err(StoreError::CameraExists(_))
        ));
        assert!(!format!("{:?}", ix.camera_by_name("door").unwrap()).contains("\"p\""));
        ix.apply(&[
            IndexOp::OpenGap {
                camera_id: id,
                start_90k: 10,
                cause: "refused".into(),
            },
            IndexOp::OpenGap {
                camera_id: id,
                start_90k: 20,
                cause: "again".into(),
            },
            IndexOp::GapAttempt {
                camera_id: id,
                error: "timeout".into(),
            },
            IndexOp::CloseGaps {
                camera_id: id,
                end_90k: 100,
            },
        ])
        .unwrap();
        let gaps = ix.gaps(id, Wall90k(0), Wall90k(1000)).unwrap();
        assert_eq!(gaps.len(), 1, "a second open is folded into the open gap");
        assert_eq!(
            (gaps[0].start_90k, gaps[0].end_90k, gaps[0].attempts),
            (10, Some(100), 1)
        );
        assert_eq!(gaps[0].last_error.as_deref(), Some("timeout"));
        ix.remove_camera("door", Wall90k(5)).unwrap();
        assert!(ix.cameras(false).unwrap().is_empty());
        assert_eq!(ix.cameras(true).unwrap().len(), 1);
    }
}
