//! Users and login sessions in the index (schema version 2).

use crate::index::SqliteIndex;
use crate::{Result, StoreError};
use rusqlite::{OptionalExtension, params};
use vidimus_core::time::Wall90k;

/// A user. `Debug` and serialization never include the password hash.
#[derive(Clone, serde::Serialize)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub created_90k: i64,
    pub disabled_90k: Option<i64>,
    /// The organisation the user works for (1: this site, the system manager).
    pub org_id: i64,
    /// Work ID (state organs) or identity document number (interested parties).
    pub work_id: Option<String>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A live session with its user.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub csrf_token: String,
    pub expires_90k: i64,
    /// The language chosen for the session (`en`, `zh-CN`), if one was.
    pub lang: Option<String>,
}

/// Users and sessions; the PostgreSQL store will implement it too.
pub trait AccessStore {
    fn add_user(
        &mut self,
        username: &str,
        password_hash: &str,
        role: &str,
        now: Wall90k,
    ) -> Result<i64>;
    fn user_by_name(&self, username: &str) -> Result<Option<UserRow>>;
    fn users(&self) -> Result<Vec<UserRow>>;
    #[allow(clippy::too_many_arguments)]
    fn create_session(
        &mut self,
        token_hash: &[u8],
        user_id: i64,
        csrf_token: &str,
        now: Wall90k,
        expires: Wall90k,
        peer: Option<&str>,
    ) -> Result<()>;
    /// The session for a token hash, if it exists, has not expired, and its user is
    /// not disabled.
    fn session(&self, token_hash: &[u8], now: Wall90k) -> Result<Option<SessionRow>>;
    fn delete_session(&mut self, token_hash: &[u8]) -> Result<()>;
    /// Keeps the language the user chose with the session.
    fn set_session_lang(&mut self, token_hash: &[u8], lang: &str) -> Result<()>;
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        role: r.get(3)?,
        created_90k: r.get(4)?,
        disabled_90k: r.get(5)?,
        org_id: r.get(6)?,
        work_id: r.get(7)?,
    })
}

impl SqliteIndex {
    /// Sets (or with `None` removes) a user's TOTP secret.
    pub fn set_totp(&mut self, user_id: i64, secret: Option<&[u8]>) -> Result<()> {
        self.conn().execute(
            "UPDATE user_account SET totp_secret = ?2 WHERE id = ?1",
            params![user_id, secret],
        )?;
        Ok(())
    }

    /// A user's TOTP secret, if the second factor is on.
    pub fn totp_secret(&self, user_id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT totp_secret FROM user_account WHERE id = ?1",
                [user_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// One user by id.
    pub fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, username, password_hash, role, created_90k, disabled_90k, org_id, work_id FROM user_account WHERE id = ?1",
                [id],
                user_from_row,
            )
            .optional()?)
    }
}

impl AccessStore for SqliteIndex {
    fn add_user(
        &mut self,
        username: &str,
        password_hash: &str,
        role: &str,
        now: Wall90k,
    ) -> Result<i64> {
        if self.user_by_name(username)?.is_some() {
            return Err(StoreError::Invalid(format!(
                "user {username:?} already exists"
            )));
        }
        self.conn().execute(
            "INSERT INTO user_account (username, password_hash, role, created_90k) VALUES (?1, ?2, ?3, ?4)",
            params![username, password_hash, role, now.0],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    fn user_by_name(&self, username: &str) -> Result<Option<UserRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, username, password_hash, role, created_90k, disabled_90k, org_id, work_id FROM user_account WHERE username = ?1",
                [username],
                user_from_row,
            )
            .optional()?)
    }

    fn users(&self) -> Result<Vec<UserRow>> {
        let mut st = self
            .conn()
            .prepare("SELECT id, username, password_hash, role, created_90k, disabled_90k, org_id, work_id FROM user_account ORDER BY id")?;
        let rows = st
            .query_map([], user_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn create_session(
        &mut self,
        token_hash: &[u8],
        user_id: i64,
        csrf_token: &str,
        now: Wall90k,
        expires: Wall90k,
        peer: Option<&str>,
    ) -> Result<()> {
        // Expired sessions are removed as new ones are made.
        self.conn()
            .execute("DELETE FROM login_session WHERE expires_90k <= ?1", [now.0])?;
        self.conn().execute(
            "INSERT INTO login_session (token_hash, user_id, csrf_token, created_90k, expires_90k, peer) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_hash, user_id, csrf_token, now.0, expires.0, peer],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &[u8], now: Wall90k) -> Result<Option<SessionRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT s.user_id, u.username, u.role, s.csrf_token, s.expires_90k, s.lang \
                 FROM login_session s JOIN user_account u ON u.id = s.user_id \
                 WHERE s.token_hash = ?1 AND s.expires_90k > ?2 AND u.disabled_90k IS NULL",
                params![token_hash, now.0],
                |r| {
                    Ok(SessionRow {
                        user_id: r.get(0)?,
                        username: r.get(1)?,
                        role: r.get(2)?,
                        csrf_token: r.get(3)?,
                        expires_90k: r.get(4)?,
                        lang: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    fn delete_session(&mut self, token_hash: &[u8]) -> Result<()> {
        self.conn().execute(
            "DELETE FROM login_session WHERE token_hash = ?1",
            [token_hash],
        )?;
        Ok(())
    }

    fn set_session_lang(&mut self, token_hash: &[u8], lang: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE login_session SET lang = ?2 WHERE token_hash = ?1",
            params![token_hash, lang],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_sessions() {
        let mut ix = SqliteIndex::open_in_memory().unwrap();
        let id = ix
            .add_user("ada", "$argon2id$x", "admin", Wall90k(0))
            .unwrap();
        assert!(ix.add_user("ada", "h", "admin", Wall90k(0)).is_err());
        assert!(!format!("{:?}", ix.user_by_name("ada").unwrap().unwrap()).contains("argon2"));
        ix.create_session(
            b"hash",
            id,
            "csrf",
            Wall90k(0),
            Wall90k(100),
            Some("127.0.0.1"),
        )
        .unwrap();
        let s = ix.session(b"hash", Wall90k(50)).unwrap().unwrap();
        assert_eq!(
            (s.username.as_str(), s.role.as_str(), s.csrf_token.as_str()),
            ("ada", "admin", "csrf")
        );
        assert!(
            ix.session(b"hash", Wall90k(100)).unwrap().is_none(),
            "expired"
        );
        assert!(ix.session(b"other", Wall90k(50)).unwrap().is_none());
        ix.delete_session(b"hash").unwrap();
        assert!(ix.session(b"hash", Wall90k(50)).unwrap().is_none());
    }
}
