//! Index connections for request handlers.
//!
//! SQLite calls block, so handlers run them on the blocking pool through [`Db::run`],
//! on connections kept in a small pool (SQLite in WAL mode lets them read while the
//! recorder's writer commits).

use crate::error::ApiError;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use vidimus_store::SqliteIndex;

#[derive(Clone)]
pub struct Db {
    path: Arc<PathBuf>,
    pool: Arc<Mutex<Vec<SqliteIndex>>>,
}

impl Db {
    pub fn new(path: PathBuf) -> Self {
        Db {
            path: Arc::new(path),
            pool: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The index file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteIndex) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = db.pool.lock().expect("pool lock").pop();
            let mut conn = match conn {
                Some(c) => c,
                None => SqliteIndex::open(&db.path)?,
            };
            let r = f(&mut conn);
            let mut pool = db.pool.lock().expect("pool lock");
            if pool.len() < 8 {
                pool.push(conn);
            }
            r
        })
        .await
        .map_err(ApiError::internal)?
    }
}
