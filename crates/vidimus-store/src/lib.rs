//! Vidimus store: where recordings live and how they are found.
//!
//! - [`index`]: the metadata store — the [`MetadataStore`](index::MetadataStore) trait
//!   and its SQLite implementation (`schema.sql` is the documentation).
//! - [`export`]: a camera's time range as one progressive MP4 (no transcoding).
//! - [`bundle`]: export bundles — the MP4 with its proofs, logged and signed.
//! - [`files`]: segment files on local disk (the blob store), with the fsync rules.
//! - [`fragment_index`]: the compact per-segment fragment table kept in the index.
//! - [`users`]: local users and login sessions (`AccessStore`).
//! - [`access`]: organisations, access requests and grants (lawful access).
//! - [`retention`]: legal holds, lifecycle events, the retention cleaner.
//! - [`log`]: the integrity log's leaves, signed checkpoints, the site key, verification.
//! - [`privacy`]: cameras' static privacy masks (tracked, replaced whole).
//! - [`registry`]: the registry of systems, their entries and dated events (compliance).
//! - [`reconcile`]: crash recovery at start-up, `fsck`, and rebuilding the index from
//!   the files alone.
//!
//! Scale-out (PostgreSQL, S3 with Object Lock) will add implementations behind the
//! same two seams: `MetadataStore` and `SegmentFiles`.

pub mod access;
pub mod bundle;
pub mod export;
pub mod files;
pub mod fragment_index;
pub mod index;
pub mod log;
pub mod privacy;
pub mod publication;
pub mod reconcile;
pub mod registry;
pub mod retention;
pub mod row_log;
pub mod users;

pub use files::SegmentFiles;
pub use index::{MetadataStore, SqliteIndex};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("index database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("camera {0:?} not found")]
    CameraNotFound(String),
    #[error("camera {0:?} already exists")]
    CameraExists(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the data directory {0} is in use by a running recorder")]
    Locked(String),
    /// A bundle's range reaches a recording still being written: its proof (the
    /// segment's log leaf) exists once the recording closes.
    #[error(
        "the range reaches video of camera {camera:?} that is still being recorded (since {since}); a bundle proves only closed recordings: try again after about {ready_by}, or end the range before {since}"
    )]
    StillRecording {
        camera: String,
        since: vidimus_core::time::Wall90k,
        ready_by: vidimus_core::time::Wall90k,
    },
}

impl StoreError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Metadata written into each segment's `moov/udta/vdms` box, so that the files alone
/// say which camera they belong to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentMetadata {
    /// Format version of this metadata.
    pub v: u32,
    pub camera_id: i64,
    pub camera_name: String,
    /// Wall-clock start of the segment, 90 kHz since the Unix epoch.
    pub start_90k: i64,
}

impl SegmentMetadata {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata serializes")
    }
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        serde_json::from_slice(b)
            .map_err(|e| StoreError::Invalid(format!("segment metadata is not valid: {e}")))
    }
}
