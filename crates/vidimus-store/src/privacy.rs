//! Cameras' static privacy masks (`privacy_mask`, schema v16): one mask per camera,
//! replaced whole; an empty mask removes the row. Every change is a `row` leaf of the
//! log (the table is tracked), so who masked or unmasked what, when, is history.
//!
//! The two-person rule (`privacy_mask_change`, schema v17): a change that would expose
//! anything the mask covers is only proposed by one administrator and made when a
//! second approves it, within a day and while the mask is still the one it was
//! proposed against.

use crate::{Result, SqliteIndex, StoreError};
use rusqlite::{OptionalExtension, params};
use vidimus_core::privacy::PrivacyMask;
use vidimus_core::time::Wall90k;

/// A camera's mask and who set it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MaskRow {
    pub camera_id: i64,
    pub mask: PrivacyMask,
    pub set_90k: i64,
    pub set_by: String,
}

impl SqliteIndex {
    /// The camera's mask, if it has one.
    pub fn privacy_mask(&self, camera_id: i64) -> Result<Option<MaskRow>> {
        let row: Option<(String, i64, String)> = self
            .conn()
            .query_row(
                "SELECT polygons, set_90k, set_by FROM privacy_mask WHERE camera_id = ?1",
                params![camera_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(json, set_90k, set_by)| {
            let mask: PrivacyMask = serde_json::from_str(&json).map_err(|e| {
                StoreError::Invalid(format!(
                    "camera {camera_id}'s privacy mask is not valid: {e}"
                ))
            })?;
            Ok(MaskRow {
                camera_id,
                mask,
                set_90k,
                set_by,
            })
        })
        .transpose()
    }

    /// Every mask's camera and version (when it was set): what hand-outs in progress
    /// were decided under is compared with it.
    pub fn mask_versions(&self) -> Result<Vec<(i64, i64)>> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT camera_id, set_90k FROM privacy_mask")?;
        let v = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<(i64, i64)>>>()?;
        Ok(v)
    }

    /// The cameras that have a mask.
    pub fn masked_cameras(&self) -> Result<Vec<i64>> {
        let mut st = self
            .conn()
            .prepare_cached("SELECT camera_id FROM privacy_mask ORDER BY camera_id")?;
        let ids = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// Sets (or, with an empty mask, removes) a camera's mask; checked first. A change
    /// that would expose anything the current mask covers ([`PrivacyMask::exposes`]:
    /// removing it, shrinking or moving a polygon) is not made: it is held as the
    /// camera's pending change (replacing one pending before), for a second
    /// administrator to approve with [`SqliteIndex::decide_mask_change`]. Growing a
    /// mask takes effect at once (and ends any pending change, made against a mask
    /// that is no longer there).
    pub fn set_privacy_mask(
        &mut self,
        camera_id: i64,
        mask: &PrivacyMask,
        by: &str,
        now: Wall90k,
    ) -> Result<MaskOutcome> {
        mask.validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if self.camera_by_id(camera_id)?.is_none() {
            return Err(StoreError::CameraNotFound(camera_id.to_string()));
        }
        let tx = self.conn().unchecked_transaction()?;
        let current = self.privacy_mask(camera_id)?;
        let outcome = match &current {
            Some(cur) if mask.exposes(&cur.mask) => {
                let json =
                    serde_json::to_string(mask).map_err(|e| StoreError::Invalid(e.to_string()))?;
                self.end_pending_change(camera_id, "superseded", by, now)?;
                let base = serde_json::to_string(&cur.mask)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                tx.execute(
                    "INSERT INTO privacy_mask_change \
                     (camera_id, polygons, base_polygons, base_90k, proposed_90k, proposed_by, state) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending')",
                    params![camera_id, json, base, cur.set_90k, now.0, by],
                )?;
                let id = tx.last_insert_rowid();
                self.log_event(
                    now,
                    "privacy_mask_change_proposed",
                    by,
                    Some(camera_id),
                    serde_json::json!({"change": id, "polygons": mask.polygons.len()}),
                )?;
                MaskOutcome::Pending(id)
            }
            _ => {
                self.end_pending_change(camera_id, "superseded", by, now)?;
                self.write_mask(camera_id, mask, by, None, now)?;
                MaskOutcome::Set
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// The camera's pending mask change that may still be approved at `now`, if there
    /// is one (one past [`MASK_CHANGE_TTL_90K`] is not shown: it cannot be approved).
    pub fn pending_mask_change(&self, camera_id: i64, now: Wall90k) -> Result<Option<MaskChange>> {
        let id: Option<i64> = self
            .conn()
            .query_row(
                "SELECT id FROM privacy_mask_change WHERE camera_id = ?1 AND state = 'pending'",
                params![camera_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match id {
            Some(id) => self
                .mask_change(id)?
                .filter(|c| (0..=MASK_CHANGE_TTL_90K).contains(&(now.0 - c.proposed_90k))),
            None => None,
        })
    }

    /// A mask change by its id.
    pub fn mask_change(&self, id: i64) -> Result<Option<MaskChange>> {
        let row = self
            .conn()
            .query_row(
                "SELECT camera_id, polygons, base_polygons, base_90k, proposed_90k, proposed_by, \
                 state, decided_90k, decided_by FROM privacy_mask_change WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(
                camera_id,
                json,
                base,
                base_90k,
                proposed_90k,
                proposed_by,
                state,
                decided_90k,
                decided_by,
            )| {
                let parse = |j: &str| -> Result<PrivacyMask> {
                    serde_json::from_str(j).map_err(|e| {
                        StoreError::Invalid(format!("privacy mask change {id} is not valid: {e}"))
                    })
                };
                let (mask, base) = (parse(&json)?, parse(&base)?);
                Ok(MaskChange {
                    id,
                    camera_id,
                    mask,
                    base,
                    base_90k,
                    proposed_90k,
                    proposed_by,
                    state,
                    decided_90k,
                    decided_by,
                })
            },
        )
        .transpose()
    }

    /// A second administrator's decision on a pending mask change: `approve` applies
    /// it (the mask set is logged naming who proposed and who approved), otherwise it
    /// is rejected. Refused, and nothing changed, when the change is not pending, when
    /// the one who proposed it approves it, when it has expired (it is then marked so),
    /// or when the camera's mask is no longer the one it was proposed against. Who
    /// `by` is (an administrator of the system manager) is the caller's to check.
    pub fn decide_mask_change(
        &mut self,
        id: i64,
        approve: bool,
        by: &str,
        now: Wall90k,
    ) -> Result<std::result::Result<MaskChange, MaskChangeRefusal>> {
        // Read and decided in one (immediate) transaction: a proposal made meanwhile
        // by another process cannot slip between reading this change and ending it.
        let tx = self.conn().unchecked_transaction()?;
        let Some(change) = self.mask_change(id)? else {
            return Ok(Err(MaskChangeRefusal::NotFound));
        };
        if change.state != "pending" {
            return Ok(Err(MaskChangeRefusal::NotPending(change.state)));
        }
        if approve {
            if change.proposed_by == by {
                return Ok(Err(MaskChangeRefusal::OwnChange));
            }
            // Past a day, or proposed "in the future" (the clock stepped back): expired.
            let age = now.0 - change.proposed_90k;
            if !(0..=MASK_CHANGE_TTL_90K).contains(&age) {
                self.end_change(id, "expired", by, now)?;
                tx.commit()?;
                return Ok(Err(MaskChangeRefusal::Expired));
            }
            // The mask in place must be the one it was proposed against: its version
            // and its polygons.
            let current = self.privacy_mask(change.camera_id)?;
            if current.as_ref().map(|m| (m.set_90k, &m.mask))
                != Some((change.base_90k, &change.base))
            {
                return Ok(Err(MaskChangeRefusal::MaskChanged));
            }
            self.end_change(id, "applied", by, now)?;
            self.write_mask(
                change.camera_id,
                &change.mask,
                &change.proposed_by,
                Some((id, by)),
                now,
            )?;
        } else {
            self.end_change(id, "rejected", by, now)?;
            self.log_event(
                now,
                "privacy_mask_change_rejected",
                by,
                Some(change.camera_id),
                serde_json::json!({"change": id, "proposed_by": change.proposed_by}),
            )?;
        }
        tx.commit()?;
        Ok(Ok(self.mask_change(id)?.expect("just decided")))
    }

    /// Ends pending change `id` in `state`; exactly it, or an error.
    fn end_change(&self, id: i64, state: &str, by: &str, now: Wall90k) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE privacy_mask_change SET state = ?2, decided_90k = ?3, decided_by = ?4 \
             WHERE id = ?1 AND state = 'pending'",
            params![id, state, now.0, by],
        )?;
        if n != 1 {
            return Err(StoreError::Invalid(format!(
                "privacy mask change {id} is no longer pending"
            )));
        }
        Ok(())
    }

    /// Ends the camera's pending change (if any) in `state`.
    fn end_pending_change(
        &self,
        camera_id: i64,
        state: &str,
        by: &str,
        now: Wall90k,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE privacy_mask_change SET state = ?2, decided_90k = ?3, decided_by = ?4 \
             WHERE camera_id = ?1 AND state = 'pending'",
            params![camera_id, state, now.0, by],
        )?;
        Ok(())
    }

    /// Writes the mask (a row leaf, by the triggers) and its event; `approved`: the
    /// change and the second administrator who approved it.
    fn write_mask(
        &self,
        camera_id: i64,
        mask: &PrivacyMask,
        by: &str,
        approved: Option<(i64, &str)>,
        now: Wall90k,
    ) -> Result<()> {
        if mask.is_empty() {
            self.conn().execute(
                "DELETE FROM privacy_mask WHERE camera_id = ?1",
                params![camera_id],
            )?;
        } else {
            let json =
                serde_json::to_string(mask).map_err(|e| StoreError::Invalid(e.to_string()))?;
            self.conn().execute(
                "INSERT INTO privacy_mask (camera_id, polygons, set_90k, set_by) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (camera_id) DO UPDATE SET polygons = ?2, set_90k = ?3, set_by = ?4",
                params![camera_id, json, now.0, by],
            )?;
        }
        let (event, n) = if mask.is_empty() {
            ("privacy_mask_removed", 0)
        } else {
            ("privacy_mask_set", mask.polygons.len())
        };
        let mut detail = serde_json::json!({"polygons": n});
        if let Some((change, approver)) = approved {
            detail["change"] = change.into();
            detail["approved_by"] = approver.into();
        }
        self.log_event(now, event, by, Some(camera_id), detail)?;
        Ok(())
    }
}

/// How long a pending mask change may wait for its second administrator: a day.
pub const MASK_CHANGE_TTL_90K: i64 = 24 * 3600 * 90_000;

/// What [`SqliteIndex::set_privacy_mask`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskOutcome {
    /// The mask is in place.
    Set,
    /// The change would expose what the mask covers: held, this change's id, for a
    /// second administrator.
    Pending(i64),
}

/// A proposed change of a camera's mask and what became of it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MaskChange {
    pub id: i64,
    pub camera_id: i64,
    pub mask: PrivacyMask,
    /// The mask it would replace, and that mask's version.
    pub base: PrivacyMask,
    pub base_90k: i64,
    pub proposed_90k: i64,
    pub proposed_by: String,
    /// pending, applied, rejected, superseded or expired.
    pub state: String,
    pub decided_90k: Option<i64>,
    pub decided_by: Option<String>,
}

/// Why a decision on a mask change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MaskChangeRefusal {
    #[error("there is no such privacy mask change")]
    NotFound,
    #[error("the privacy mask change is {0}, not pending")]
    NotPending(String),
    #[error(
        "a change that exposes what a privacy mask covers needs a second administrator: whoever proposed it cannot approve it"
    )]
    OwnChange,
    #[error("the privacy mask change waited more than a day and has expired; propose it again")]
    Expired,
    #[error(
        "the camera's privacy mask changed after this change was proposed; propose it again against the mask now in place"
    )]
    MaskChanged,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetadataStore;

    /// Sets `mask` as "mgr", which must only propose it; the change's id.
    fn proposed(ix: &mut SqliteIndex, cam: i64, mask: &PrivacyMask, at: Wall90k) -> i64 {
        match ix.set_privacy_mask(cam, mask, "mgr", at).unwrap() {
            MaskOutcome::Pending(id) => id,
            MaskOutcome::Set => panic!("a change that exposes is held for a second administrator"),
        }
    }

    #[test]
    fn no_second_camera_on_a_masked_cameras_address() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = SqliteIndex::open(&dir.path().join("index.db")).unwrap();
        let now = Wall90k(1_000 * 90_000);
        let cam = |name: &'static str, url: &'static str| crate::index::NewCamera {
            name,
            url,
            username: None,
            password: None,
            source: crate::index::CameraSource::Config,
            live_url: None,
            retention_days: None,
            key_target: false,
        };
        let gate = ix
            .add_camera(&cam("gate", "rtsp://10.0.0.5/main"), now)
            .unwrap();
        let m = PrivacyMask {
            polygons: vec![vec![[0.1, 0.1], [0.4, 0.1], [0.4, 0.3]]],
        };
        ix.set_privacy_mask(gate, &m, "mgr", now).unwrap();
        // A new name on its address, whether added or renamed in the configuration.
        for r in [
            ix.add_camera(&cam("gate2", "rtsp://10.0.0.5/main"), now),
            ix.upsert_config_camera(&cam("gate3", "rtsp://10.0.0.5/main"), now),
        ] {
            assert!(
                matches!(&r, Err(StoreError::Invalid(e)) if e.contains("privacy mask")),
                "{r:?}"
            );
        }
        // Nor on its address as another camera's live stream, nor by moving another
        // camera there.
        let mut live = cam("yard", "rtsp://10.0.0.6/main");
        live.live_url = Some("rtsp://10.0.0.5/main");
        assert!(ix.add_camera(&live, now).is_err());
        ix.add_camera(&cam("yard", "rtsp://10.0.0.6/main"), now)
            .unwrap();
        assert!(
            ix.upsert_config_camera(&cam("yard", "rtsp://10.0.0.5/main"), now)
                .is_err()
        );
        // The masked camera itself keeps its address; once removed it still bars it.
        ix.upsert_config_camera(&cam("gate", "rtsp://10.0.0.5/main"), now)
            .unwrap();
        ix.remove_camera("gate", now).unwrap();
        assert!(
            ix.add_camera(&cam("gate4", "rtsp://10.0.0.5/main"), now)
                .is_err()
        );
    }

    #[test]
    fn a_mask_is_set_replaced_removed_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = SqliteIndex::open(&dir.path().join("index.db")).unwrap();
        let now = Wall90k(1_000 * 90_000);
        let cam = ix
            .add_camera(
                &crate::index::NewCamera {
                    name: "gate",
                    url: "rtsp://127.0.0.1/x",
                    username: None,
                    password: None,
                    source: crate::index::CameraSource::Cli,
                    live_url: None,
                    retention_days: None,
                    key_target: false,
                },
                now,
            )
            .unwrap();
        assert_eq!(ix.privacy_mask(cam).unwrap(), None);
        let m = PrivacyMask {
            polygons: vec![vec![[0.1, 0.1], [0.4, 0.1], [0.4, 0.3]]],
        };
        let leaves = |ix: &SqliteIndex| -> i64 {
            ix.conn()
                .query_row(
                    "SELECT count(*) FROM log_leaf WHERE kind = 'row' AND (data LIKE '%privacy_mask%')",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let before = leaves(&ix);
        assert_eq!(
            ix.set_privacy_mask(cam, &m, "mgr", now).unwrap(),
            MaskOutcome::Set
        );
        assert_eq!(ix.privacy_mask(cam).unwrap().unwrap().mask, m);
        let bad = PrivacyMask {
            polygons: vec![vec![[0.1, 0.1], [2.0, 0.1], [0.4, 0.3]]],
        };
        assert!(matches!(
            ix.set_privacy_mask(cam, &bad, "mgr", now),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            ix.set_privacy_mask(cam + 99, &m, "mgr", now),
            Err(StoreError::CameraNotFound(_))
        ));
        // Grown: at once. Removed: only proposed; the mask stays until another
        // administrator approves.
        let bigger = PrivacyMask {
            polygons: vec![vec![[0.05, 0.05], [0.5, 0.05], [0.5, 0.4], [0.05, 0.4]]],
        };
        let t1 = Wall90k(now.0 + 90_000);
        assert_eq!(
            ix.set_privacy_mask(cam, &bigger, "mgr", t1).unwrap(),
            MaskOutcome::Set
        );
        let t2 = Wall90k(t1.0 + 90_000);
        let id = proposed(&mut ix, cam, &PrivacyMask::default(), t2);
        assert_eq!(ix.privacy_mask(cam).unwrap().unwrap().mask, bigger);
        let p = ix.pending_mask_change(cam, t2).unwrap().unwrap();
        assert_eq!((p.id, p.base_90k, p.state.as_str()), (id, t1.0, "pending"));
        // Not by who proposed it, not after a day.
        assert_eq!(
            ix.decide_mask_change(id, true, "mgr", t2).unwrap(),
            Err(MaskChangeRefusal::OwnChange)
        );
        let late = Wall90k(t2.0 + MASK_CHANGE_TTL_90K + 1);
        assert_eq!(
            ix.decide_mask_change(id, true, "other", late).unwrap(),
            Err(MaskChangeRefusal::Expired)
        );
        assert_eq!(ix.mask_change(id).unwrap().unwrap().state, "expired");
        assert_eq!(
            ix.decide_mask_change(id, true, "other", late).unwrap(),
            Err(MaskChangeRefusal::NotPending("expired".into()))
        );
        assert_eq!(ix.pending_mask_change(cam, late).unwrap(), None);
        // A mask changed behind the store's back (another writer; the version kept):
        // the change proposed against the old one is not applied.
        let idx = proposed(&mut ix, cam, &m, t2);
        ix.conn()
            .execute(
                "UPDATE privacy_mask SET polygons = ?1 WHERE camera_id = ?2",
                params![serde_json::to_string(&m).unwrap(), cam],
            )
            .unwrap();
        assert_eq!(
            ix.decide_mask_change(idx, true, "other", t2).unwrap(),
            Err(MaskChangeRefusal::MaskChanged)
        );
        ix.conn()
            .execute(
                "UPDATE privacy_mask SET polygons = ?1 WHERE camera_id = ?2",
                params![serde_json::to_string(&bigger).unwrap(), cam],
            )
            .unwrap();
        // Proposed "in the future" (the clock stepped back since): expired, not
        // approvable.
        let before_it = Wall90k(t2.0 - 90_000);
        assert_eq!(ix.pending_mask_change(cam, before_it).unwrap(), None);
        // Proposed again, then the mask grown meanwhile: the proposal is superseded.
        let id2 = proposed(&mut ix, cam, &m, t2);
        let biggest = PrivacyMask {
            polygons: vec![vec![[0.0, 0.0], [0.6, 0.0], [0.6, 0.5], [0.0, 0.5]]],
        };
        let t3 = Wall90k(t2.0 + 90_000);
        ix.set_privacy_mask(cam, &biggest, "mgr", t3).unwrap();
        assert_eq!(ix.mask_change(id2).unwrap().unwrap().state, "superseded");
        // A removal approved by another: gone, and the event names both.
        let t4 = Wall90k(t3.0 + 90_000);
        let id3 = proposed(&mut ix, cam, &PrivacyMask::default(), t4);
        let done = ix
            .decide_mask_change(id3, true, "other", t4)
            .unwrap()
            .unwrap();
        assert_eq!(
            (done.state.as_str(), done.decided_by.as_deref()),
            ("applied", Some("other"))
        );
        assert_eq!(ix.privacy_mask(cam).unwrap(), None);
        let detail: Vec<u8> = ix
            .conn()
            .query_row(
                "SELECT data FROM log_leaf WHERE kind = 'event' AND data LIKE '%privacy_mask_removed%' ORDER BY rowid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let detail = String::from_utf8_lossy(&detail);
        assert!(detail.contains("\"approved_by\":\"other\""), "{detail}");
        // Nothing masked: setting one again is at once; a rejected change leaves it.
        ix.set_privacy_mask(cam, &m, "mgr", t4).unwrap();
        let id4 = proposed(&mut ix, cam, &PrivacyMask::default(), t4);
        let r = ix
            .decide_mask_change(id4, false, "mgr", t4)
            .unwrap()
            .unwrap();
        assert_eq!(r.state, "rejected");
        assert_eq!(ix.privacy_mask(cam).unwrap().unwrap().mask, m);
        assert_eq!(
            ix.decide_mask_change(id4 + 100, true, "other", t4).unwrap(),
            Err(MaskChangeRefusal::NotFound)
        );
        // Every step a row leaf: set, grown, proposed (x2), marked expired, superseded
        // (and the grow), proposed, applied (change and mask), set, proposed, rejected.
        assert!(leaves(&ix) - before >= 12, "{}", leaves(&ix) - before);
    }
}
