//! Cameras' static privacy masks (`privacy_mask`, schema v16): one mask per camera,
//! replaced whole; an empty mask removes the row. Every change is a `row` leaf of the
//! log (the table is tracked), so who masked or unmasked what, when, is history.

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

    /// Sets (or, with an empty mask, removes) a camera's mask; checked first.
    pub fn set_privacy_mask(
        &mut self,
        camera_id: i64,
        mask: &PrivacyMask,
        by: &str,
        now: Wall90k,
    ) -> Result<()> {
        mask.validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if self.camera_by_id(camera_id)?.is_none() {
            return Err(StoreError::CameraNotFound(camera_id.to_string()));
        }
        // The change (a row leaf, by the triggers) and its event, in one transaction.
        let tx = self.conn().unchecked_transaction()?;
        if mask.is_empty() {
            tx.execute(
                "DELETE FROM privacy_mask WHERE camera_id = ?1",
                params![camera_id],
            )?;
        } else {
            let json =
                serde_json::to_string(mask).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.execute(
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
        self.log_event(
            now,
            event,
            by,
            Some(camera_id),
            serde_json::json!({"polygons": n}),
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetadataStore;

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
                    "SELECT count(*) FROM log_leaf WHERE kind = 'row' AND data LIKE '%privacy_mask%'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let before = leaves(&ix);
        ix.set_privacy_mask(cam, &m, "mgr", now).unwrap();
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
        ix.set_privacy_mask(cam, &PrivacyMask::default(), "mgr", now)
            .unwrap();
        assert_eq!(ix.privacy_mask(cam).unwrap(), None);
        // Set and removed: two row leaves (the refused ones wrote nothing).
        assert_eq!(leaves(&ix) - before, 2);
    }
}
