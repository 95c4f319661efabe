//! Lawful access in the index (schema version 9): organisations, users' organisations
//! and work IDs, cameras' system/region/industry, access requests with their persons,
//! approvals, attachments and history, and the grants they become. The rules that
//! decide what a request lacks are pure (`vidimus_access::request`); this module only
//! stores and reads. Every change is also a request event (its status history).

use crate::index::SqliteIndex;
use crate::{Result, StoreError};
use rusqlite::{OptionalExtension, params};
use vidimus_core::time::Wall90k;

/// An organisation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
}

/// A request to file.
#[derive(Clone, Debug)]
pub struct NewRequest<'a> {
    pub kind: &'a str,
    pub org_id: i64,
    pub purpose: &'a str,
    pub cameras: &'a [i64],
    pub from_90k: i64,
    pub to_90k: i64,
    pub live: bool,
    pub actions: &'a [String],
    pub expires_90k: i64,
    pub created_by: i64,
    /// (user id, work ID) of each person acting.
    pub persons: &'a [(i64, Option<String>)],
}

/// One person on a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PersonRow {
    pub user_id: i64,
    pub username: String,
    pub work_id: Option<String>,
    pub confirmed_90k: Option<i64>,
}

/// One approval.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApprovalRow {
    pub kind: String,
    pub user_id: i64,
    pub username: String,
    pub at_90k: i64,
    pub note: Option<String>,
}

/// One entry of a request's history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RequestEvent {
    pub at_90k: i64,
    pub user_id: Option<i64>,
    pub event: String,
    pub detail: Option<String>,
}

/// An attachment (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AttachmentRow {
    pub id: i64,
    pub name: String,
    pub sha256: String,
    pub bytes: i64,
}

/// A request with everything known about it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RequestRow {
    pub id: i64,
    pub kind: String,
    pub org_id: i64,
    pub purpose: String,
    pub cameras: Vec<i64>,
    pub from_90k: i64,
    pub to_90k: i64,
    pub live: bool,
    pub actions: Vec<String>,
    pub expires_90k: i64,
    pub created_by: i64,
    pub created_90k: i64,
    pub status: String,
    pub persons: Vec<PersonRow>,
    pub approvals: Vec<ApprovalRow>,
    pub attachments: Vec<AttachmentRow>,
    pub history: Vec<RequestEvent>,
    pub grant: Option<GrantRow>,
}

/// A grant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GrantRow {
    pub id: i64,
    pub request_id: i64,
    pub created_90k: i64,
    pub expires_90k: i64,
    pub revoked_90k: Option<i64>,
    pub revoked_by: Option<i64>,
}

fn json_list<T: serde::de::DeserializeOwned>(s: &str) -> Vec<T> {
    serde_json::from_str(s).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializes")
}

fn event(
    tx: &rusqlite::Connection,
    request_id: i64,
    at: Wall90k,
    user: Option<i64>,
    event: &str,
    detail: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO request_event (request_id, at_90k, user_id, event, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![request_id, at.0, user, event, detail],
    )?;
    Ok(())
}

impl SqliteIndex {
    /// Adds an organisation.
    pub fn add_org(
        &mut self,
        name: &str,
        kind: &str,
        regions: &[String],
        industries: &[String],
        now: Wall90k,
    ) -> Result<i64> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("an organisation needs a name".into()));
        }
        if self.org_by_name(name)?.is_some() {
            return Err(StoreError::Invalid(format!(
                "organisation {name:?} already exists"
            )));
        }
        self.conn().execute(
            "INSERT INTO organisation (name, kind, regions, industries, created_90k) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, kind, to_json(&regions), to_json(&industries), now.0],
        )?;
        Ok(self.conn().last_insert_rowid())
    }

    fn org_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrgRow> {
        Ok(OrgRow {
            id: r.get(0)?,
            name: r.get(1)?,
            kind: r.get(2)?,
            regions: json_list(&r.get::<_, String>(3)?),
            industries: json_list(&r.get::<_, String>(4)?),
        })
    }

    pub fn orgs(&self) -> Result<Vec<OrgRow>> {
        let mut st = self
            .conn()
            .prepare("SELECT id, name, kind, regions, industries FROM organisation ORDER BY id")?;
        let rows = st
            .query_map([], Self::org_from)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn org(&self, id: i64) -> Result<Option<OrgRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, kind, regions, industries FROM organisation WHERE id = ?1",
                [id],
                Self::org_from,
            )
            .optional()?)
    }

    pub fn org_by_name(&self, name: &str) -> Result<Option<OrgRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, kind, regions, industries FROM organisation WHERE name = ?1",
                [name],
                Self::org_from,
            )
            .optional()?)
    }

    /// Puts a user in an organisation, with their work ID.
    pub fn set_user_org(&mut self, user_id: i64, org_id: i64, work_id: Option<&str>) -> Result<()> {
        if self.org(org_id)?.is_none() {
            return Err(StoreError::Invalid(format!("no organisation {org_id}")));
        }
        self.conn().execute(
            "UPDATE user_account SET org_id = ?2, work_id = ?3 WHERE id = ?1",
            params![user_id, org_id, work_id],
        )?;
        Ok(())
    }

    /// Sets where a camera is: its system, region and industry.
    pub fn set_camera_place(
        &mut self,
        camera_id: i64,
        system: Option<&str>,
        region: Option<&str>,
        industry: Option<&str>,
    ) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE camera SET system = ?2, region = ?3, industry = ?4 WHERE id = ?1",
            params![camera_id, system, region, industry],
        )?;
        if n == 0 {
            return Err(StoreError::CameraNotFound(camera_id.to_string()));
        }
        Ok(())
    }

    /// Files a request (status `pending`); the filer, if a person on it, is confirmed.
    pub fn file_request(&mut self, r: &NewRequest<'_>, now: Wall90k) -> Result<i64> {
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO access_request (kind, org_id, purpose, cameras, from_90k, to_90k, live, actions, \
             expires_90k, created_by, created_90k, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending')",
            params![
                r.kind,
                r.org_id,
                r.purpose,
                to_json(&r.cameras),
                r.from_90k,
                r.to_90k,
                r.live,
                to_json(&r.actions),
                r.expires_90k,
                r.created_by,
                now.0
            ],
        )?;
        let id = tx.last_insert_rowid();
        for (user, work_id) in r.persons {
            tx.execute(
                "INSERT INTO request_person (request_id, user_id, work_id, confirmed_90k) VALUES (?1, ?2, ?3, ?4)",
                params![id, user, work_id, (*user == r.created_by).then_some(now.0)],
            )?;
        }
        event(&tx, id, now, Some(r.created_by), "filed", Some(r.kind))?;
        tx.commit()?;
        Ok(id)
    }

    /// A person confirms their part with their own credentials (and work ID).
    pub fn confirm_person(
        &mut self,
        request_id: i64,
        user_id: i64,
        work_id: Option<&str>,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE request_person SET confirmed_90k = ?3, work_id = COALESCE(?4, work_id) \
             WHERE request_id = ?1 AND user_id = ?2",
            params![request_id, user_id, now.0, work_id],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "user {user_id} is not a person on request {request_id}"
            )));
        }
        event(&tx, request_id, now, Some(user_id), "confirmed", work_id)?;
        tx.commit()?;
        Ok(())
    }

    /// Records an approval.
    pub fn add_approval(
        &mut self,
        request_id: i64,
        kind: &str,
        user_id: i64,
        note: Option<&str>,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO request_approval (request_id, kind, user_id, at_90k, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![request_id, kind, user_id, now.0, note],
        )?;
        event(&tx, request_id, now, Some(user_id), "approved", Some(kind))?;
        tx.commit()?;
        Ok(())
    }

    /// Attaches a document.
    pub fn add_attachment(
        &mut self,
        request_id: i64,
        name: &str,
        data: &[u8],
        user_id: i64,
        now: Wall90k,
    ) -> Result<i64> {
        let sha = vidimus_integrity::sha256_parts([data]);
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO request_attachment (request_id, name, sha256, data, user_id, at_90k) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![request_id, name, sha.as_slice(), data, user_id, now.0],
        )?;
        let id = tx.last_insert_rowid();
        event(&tx, request_id, now, Some(user_id), "attached", Some(name))?;
        tx.commit()?;
        Ok(id)
    }

    /// Turns a pending request into a grant (the caller has checked it lacks nothing).
    pub fn grant_request(&mut self, request_id: i64, by: Option<i64>, now: Wall90k) -> Result<i64> {
        let tx = self.conn().unchecked_transaction()?;
        let (status, expires): (String, i64) = tx
            .query_row(
                "SELECT status, expires_90k FROM access_request WHERE id = ?1",
                [request_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::Invalid(format!("no request {request_id}")))?;
        if status != "pending" {
            return Err(StoreError::Invalid(format!(
                "request {request_id} is {status}, not pending"
            )));
        }
        tx.execute(
            "UPDATE access_request SET status = 'granted' WHERE id = ?1",
            [request_id],
        )?;
        tx.execute(
            "INSERT INTO access_grant (request_id, created_90k, expires_90k) VALUES (?1, ?2, ?3)",
            params![request_id, now.0, expires],
        )?;
        let id = tx.last_insert_rowid();
        event(&tx, request_id, now, by, "granted", Some(&id.to_string()))?;
        tx.commit()?;
        Ok(id)
    }

    /// Ends a pending request without a grant (`refused` or `withdrawn`).
    pub fn close_request(
        &mut self,
        request_id: i64,
        status: &str,
        by: i64,
        reason: &str,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE access_request SET status = ?2 WHERE id = ?1 AND status = 'pending'",
            params![request_id, status],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "request {request_id} is not pending"
            )));
        }
        event(&tx, request_id, now, Some(by), status, Some(reason))?;
        tx.commit()?;
        Ok(())
    }

    /// Revokes a grant.
    pub fn revoke_grant(&mut self, grant_id: i64, by: i64, now: Wall90k) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let request_id: i64 = tx
            .query_row(
                "SELECT request_id FROM access_grant WHERE id = ?1 AND revoked_90k IS NULL",
                [grant_id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::Invalid(format!("no active grant {grant_id}")))?;
        tx.execute(
            "UPDATE access_grant SET revoked_90k = ?2, revoked_by = ?3 WHERE id = ?1",
            params![grant_id, now.0, by],
        )?;
        event(
            &tx,
            request_id,
            now,
            Some(by),
            "revoked",
            Some(&grant_id.to_string()),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A request with its persons, approvals, attachments, history and grant.
    pub fn request(&self, id: i64) -> Result<Option<RequestRow>> {
        let c = self.conn();
        let Some(mut r) = c
            .query_row(
                "SELECT id, kind, org_id, purpose, cameras, from_90k, to_90k, live, actions, expires_90k, \
                 created_by, created_90k, status FROM access_request WHERE id = ?1",
                [id],
                |r| {
                    Ok(RequestRow {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        org_id: r.get(2)?,
                        purpose: r.get(3)?,
                        cameras: json_list(&r.get::<_, String>(4)?),
                        from_90k: r.get(5)?,
                        to_90k: r.get(6)?,
                        live: r.get(7)?,
                        actions: json_list(&r.get::<_, String>(8)?),
                        expires_90k: r.get(9)?,
                        created_by: r.get(10)?,
                        created_90k: r.get(11)?,
                        status: r.get(12)?,
                        persons: Vec::new(),
                        approvals: Vec::new(),
                        attachments: Vec::new(),
                        history: Vec::new(),
                        grant: None,
                    })
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        r.persons = c
            .prepare(
                "SELECT p.user_id, u.username, p.work_id, p.confirmed_90k FROM request_person p \
                 JOIN user_account u ON u.id = p.user_id WHERE p.request_id = ?1 ORDER BY p.rowid",
            )?
            .query_map([id], |r| {
                Ok(PersonRow {
                    user_id: r.get(0)?,
                    username: r.get(1)?,
                    work_id: r.get(2)?,
                    confirmed_90k: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        r.approvals = c
            .prepare(
                "SELECT a.kind, a.user_id, u.username, a.at_90k, a.note FROM request_approval a \
                 JOIN user_account u ON u.id = a.user_id WHERE a.request_id = ?1 ORDER BY a.id",
            )?
            .query_map([id], |r| {
                Ok(ApprovalRow {
                    kind: r.get(0)?,
                    user_id: r.get(1)?,
                    username: r.get(2)?,
                    at_90k: r.get(3)?,
                    note: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        r.attachments = c
            .prepare(
                "SELECT id, name, sha256, length(data) FROM request_attachment WHERE request_id = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                Ok(AttachmentRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    sha256: hex::encode(r.get::<_, Vec<u8>>(2)?),
                    bytes: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        r.history = c
            .prepare(
                "SELECT at_90k, user_id, event, detail FROM request_event WHERE request_id = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                Ok(RequestEvent {
                    at_90k: r.get(0)?,
                    user_id: r.get(1)?,
                    event: r.get(2)?,
                    detail: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        r.grant = c
            .query_row(
                "SELECT id, request_id, created_90k, expires_90k, revoked_90k, revoked_by FROM access_grant WHERE request_id = ?1",
                [id],
                grant_from,
            )
            .optional()?;
        Ok(Some(r))
    }

    /// Ids of requests, newest first: all, or those a user files, is a person on, or
    /// (for approvers) those of the given statuses.
    pub fn request_ids(&self, user_id: Option<i64>, status: Option<&str>) -> Result<Vec<i64>> {
        let mut st = self.conn().prepare(
            "SELECT r.id FROM access_request r WHERE (?1 IS NULL OR r.created_by = ?1 OR EXISTS \
             (SELECT 1 FROM request_person p WHERE p.request_id = r.id AND p.user_id = ?1)) \
             AND (?2 IS NULL OR r.status = ?2) ORDER BY r.id DESC",
        )?;
        let ids = st
            .query_map(params![user_id, status], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Like [`Self::active_grants_for`], but only the grants whose cameras include
    /// `camera_id` (or every camera) and whose actions include `action`: the ones that
    /// could allow it. One light query, then the full rows of the few candidates.
    pub fn candidate_grants_for(
        &self,
        user_id: i64,
        camera_id: i64,
        action: &str,
        now: Wall90k,
    ) -> Result<Vec<RequestRow>> {
        let rows: Vec<(i64, String, String)> = self
            .conn()
            .prepare_cached(
                "SELECT r.id, r.cameras, r.actions FROM access_grant g \
                 JOIN access_request r ON r.id = g.request_id \
                 JOIN request_person p ON p.request_id = g.request_id \
                 WHERE p.user_id = ?1 AND g.revoked_90k IS NULL AND g.expires_90k > ?2 ORDER BY g.id",
            )?
            .query_map(params![user_id, now.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .filter(|(_, cams, actions)| {
                let cams: Vec<i64> = json_list(cams);
                let actions: Vec<String> = json_list(actions);
                (cams.is_empty() || cams.contains(&camera_id))
                    && actions.iter().any(|a| a == action)
            })
            .filter_map(|(id, _, _)| self.request(id).transpose())
            .collect()
    }

    /// The current end of each of these grants: `(id, expires_90k, revoked_90k)`, for
    /// ending the hand-outs in progress under a grant revoked (by any door) or expired.
    pub fn grant_ends(&self, ids: &[i64]) -> Result<Vec<(i64, i64, Option<i64>)>> {
        let mut st = self.conn().prepare_cached(
            "SELECT id, expires_90k, revoked_90k FROM access_grant WHERE id = ?1",
        )?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = st
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?
            {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Requests with unexpired, unrevoked grants naming `user_id` as a person.
    pub fn active_grants_for(&self, user_id: i64, now: Wall90k) -> Result<Vec<RequestRow>> {
        let ids: Vec<i64> = self
            .conn()
            .prepare(
                "SELECT g.request_id FROM access_grant g JOIN request_person p ON p.request_id = g.request_id \
                 WHERE p.user_id = ?1 AND g.revoked_90k IS NULL AND g.expires_90k > ?2 ORDER BY g.id",
            )?
            .query_map(params![user_id, now.0], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.into_iter()
            .filter_map(|id| self.request(id).transpose())
            .collect()
    }
}

fn grant_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
    Ok(GrantRow {
        id: r.get(0)?,
        request_id: r.get(1)?,
        created_90k: r.get(2)?,
        expires_90k: r.get(3)?,
        revoked_90k: r.get(4)?,
        revoked_by: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::AccessStore;

    #[test]
    fn a_request_from_filing_to_grant_and_revocation() {
        let mut ix = SqliteIndex::open_in_memory().unwrap();
        let now = Wall90k(1000);
        // The site's own organisation exists from the schema upgrade on.
        assert_eq!(ix.orgs().unwrap()[0].kind, "system_manager");
        let psb = ix
            .add_org(
                "Futian PSB",
                "public_security",
                &["futian".into()],
                &[],
                now,
            )
            .unwrap();
        assert!(
            ix.add_org("Futian PSB", "public_security", &[], &[], now)
                .is_err()
        );
        let a = ix.add_user("li", "h", "operator", now).unwrap();
        let b = ix.add_user("wang", "h", "operator", now).unwrap();
        ix.set_user_org(a, psb, Some("PSB-0001")).unwrap();
        ix.set_user_org(b, psb, Some("PSB-0002")).unwrap();
        assert_eq!(ix.user_by_name("li").unwrap().unwrap().org_id, psb);
        let actions = vec!["view_recorded".to_owned()];
        let id = ix
            .file_request(
                &NewRequest {
                    kind: "law_enforcement",
                    org_id: psb,
                    purpose: "case 7",
                    cameras: &[1, 2],
                    from_90k: 0,
                    to_90k: 500,
                    live: false,
                    actions: &actions,
                    expires_90k: 9000,
                    created_by: a,
                    persons: &[(a, Some("PSB-0001".into())), (b, Some("PSB-0002".into()))],
                },
                now,
            )
            .unwrap();
        let r = ix.request(id).unwrap().unwrap();
        assert_eq!(r.status, "pending");
        assert_eq!(
            r.persons[0].confirmed_90k,
            Some(1000),
            "the filer confirms by filing"
        );
        assert_eq!(r.persons[1].confirmed_90k, None);
        assert!(ix.confirm_person(id, 99, None, now).is_err());
        ix.confirm_person(id, b, None, Wall90k(1100)).unwrap();
        ix.add_attachment(id, "warrant.pdf", b"%PDF", b, now)
            .unwrap();
        let g = ix.grant_request(id, None, Wall90k(1200)).unwrap();
        assert!(ix.grant_request(id, None, now).is_err(), "granted once");
        let r = ix.request(id).unwrap().unwrap();
        assert_eq!(r.status, "granted");
        assert_eq!(r.attachments[0].bytes, 4);
        assert_eq!(
            r.history
                .iter()
                .map(|e| e.event.as_str())
                .collect::<Vec<_>>(),
            ["filed", "confirmed", "attached", "granted"]
        );
        assert_eq!(ix.active_grants_for(b, Wall90k(2000)).unwrap().len(), 1);
        assert!(
            ix.active_grants_for(b, Wall90k(9000)).unwrap().is_empty(),
            "expired"
        );
        assert_eq!(ix.request_ids(Some(b), None).unwrap(), [id]);
        ix.revoke_grant(g, a, Wall90k(3000)).unwrap();
        assert!(ix.active_grants_for(b, Wall90k(3001)).unwrap().is_empty());
        assert!(ix.revoke_grant(g, a, now).is_err());
    }
}
