//! Retention in the store: legal holds, lifecycle events, and the cleaner that deletes
//! what `vidimus_core::retention` allows — and nothing else.
//!
//! Deletion order: the index row goes (with its lifecycle event, in one transaction)
//! before the file. A crash in between leaves an unindexed file, which start-up
//! recovery adopts again and the next pass deletes — never an index row without its
//! file, which would look like tampering.

use crate::files::SegmentFiles;
use crate::index::SqliteIndex;
use crate::{Result, StoreError};
use rusqlite::{OptionalExtension, params};
use vidimus_core::camera::CameraId;
use vidimus_core::retention::{self, Hold, SegmentSpan};
use vidimus_core::rulebook::{RetentionSubject, Rulebook};
use vidimus_core::time::Wall90k;

/// A legal hold as stored.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HoldRow {
    pub id: i64,
    pub camera_id: CameraId,
    pub from_90k: i64,
    pub to_90k: i64,
    pub reason: String,
    pub created_by: String,
    pub created_90k: i64,
    pub released_by: Option<String>,
    pub released_90k: Option<i64>,
}

/// What one cleaner pass did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct CleanReport {
    pub deleted: Vec<String>,
    pub bytes_freed: i64,
    pub kept_by_hold: usize,
}

impl SqliteIndex {
    /// Places a legal hold (and records the act).
    pub fn add_hold(
        &mut self,
        camera_id: CameraId,
        from: Wall90k,
        to: Wall90k,
        reason: &str,
        by: &str,
        now: Wall90k,
    ) -> Result<i64> {
        if to <= from {
            return Err(StoreError::Invalid(
                "a hold's `to` must be after its `from`".into(),
            ));
        }
        if reason.trim().is_empty() || by.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a hold needs a reason and the name of who places it".into(),
            ));
        }
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO legal_hold (camera_id, from_90k, to_90k, reason, created_by, created_90k) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![camera_id, from.0, to.0, reason, by, now.0],
        )?;
        let id = tx.last_insert_rowid();
        let detail = serde_json::json!({"hold": id, "from": from.to_string(), "to": to.to_string(), "reason": reason, "by": by});
        tx.execute(
            "INSERT INTO lifecycle_event (at_90k, kind, camera_id, detail) VALUES (?1, 'hold', ?2, ?3)",
            params![now.0, camera_id, detail.to_string()],
        )?;
        crate::log::insert_event(&tx, now, "hold", by, Some(camera_id), &detail)?;
        tx.commit()?;
        Ok(id)
    }

    /// Releases a hold (and records the act).
    pub fn release_hold(&mut self, id: i64, by: &str, now: Wall90k) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let cam: Option<i64> = tx
            .query_row(
                "SELECT camera_id FROM legal_hold WHERE id = ?1 AND released_90k IS NULL",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(cam) = cam else {
            return Err(StoreError::Invalid(format!("no active hold {id}")));
        };
        tx.execute(
            "UPDATE legal_hold SET released_by = ?2, released_90k = ?3 WHERE id = ?1",
            params![id, by, now.0],
        )?;
        let detail = serde_json::json!({"hold": id, "by": by});
        tx.execute(
            "INSERT INTO lifecycle_event (at_90k, kind, camera_id, detail) VALUES (?1, 'release', ?2, ?3)",
            params![now.0, cam, detail.to_string()],
        )?;
        crate::log::insert_event(&tx, now, "release", by, Some(cam), &detail)?;
        tx.commit()?;
        Ok(())
    }

    /// Per camera: bytes and wall duration (90 kHz) of segments ending after `since` —
    /// the measured bitrates the capacity forecast uses.
    pub fn recent_rates(&self, since: Wall90k) -> Result<Vec<(CameraId, i64, i64)>> {
        let mut st = self.conn().prepare(
            "SELECT camera_id, SUM(bytes), SUM(end_90k - start_90k) FROM segment \
             WHERE end_90k > ?1 GROUP BY camera_id",
        )?;
        let rows = st
            .query_map([since.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Sets a camera's retention (None: the rulebook minimum) and counter-terrorism
    /// key-target flag, and records the change in the system log, in one transaction.
    /// The caller checks the days against the rulebook first.
    pub fn set_retention(
        &mut self,
        camera_id: CameraId,
        days: Option<u32>,
        key_target: bool,
        by: &str,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE camera SET retention_days = ?2, key_target = ?3 WHERE id = ?1 AND removed_90k IS NULL",
            params![camera_id, days, key_target],
        )?;
        if n == 0 {
            return Err(StoreError::CameraNotFound(camera_id.to_string()));
        }
        crate::log::insert_event(
            &tx,
            now,
            "camera_changed",
            by,
            Some(camera_id),
            &serde_json::json!({"retention_days": days, "key_target": key_target}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Bytes of all recorded segments.
    pub fn recorded_bytes(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COALESCE(SUM(bytes), 0) FROM segment", [], |r| {
                r.get(0)
            })?)
    }

    /// Holds, newest first; only active ones unless `all`.
    pub fn holds(&self, all: bool) -> Result<Vec<HoldRow>> {
        let sql = format!(
            "SELECT id, camera_id, from_90k, to_90k, reason, created_by, created_90k, released_by, released_90k \
             FROM legal_hold {} ORDER BY id DESC",
            if all {
                ""
            } else {
                "WHERE released_90k IS NULL"
            }
        );
        let mut st = self.conn().prepare(&sql)?;
        let rows = st
            .query_map([], |r| {
                Ok(HoldRow {
                    id: r.get(0)?,
                    camera_id: r.get(1)?,
                    from_90k: r.get(2)?,
                    to_90k: r.get(3)?,
                    reason: r.get(4)?,
                    created_by: r.get(5)?,
                    created_90k: r.get(6)?,
                    released_by: r.get(7)?,
                    released_90k: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Lifecycle events of a kind, oldest first.
    pub fn lifecycle_events(&self, kind: &str) -> Result<Vec<(i64, Option<i64>, String)>> {
        let mut st = self.conn().prepare(
            "SELECT at_90k, camera_id, detail FROM lifecycle_event WHERE kind = ?1 ORDER BY id",
        )?;
        let rows = st
            .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One cleaner pass: deletes every closed segment past its camera's effective
    /// retention (never below the rulebook's minimum) that no active hold covers.
    pub fn clean(
        &mut self,
        files: &SegmentFiles,
        rulebook: &Rulebook,
        now: Wall90k,
    ) -> Result<CleanReport> {
        let mut report = CleanReport::default();
        let holds: Vec<Hold> = self
            .holds(false)?
            .iter()
            .map(|h| Hold {
                camera_id: h.camera_id,
                from: Wall90k(h.from_90k),
                to: Wall90k(h.to_90k),
            })
            .collect();
        let cams: Vec<(CameraId, Option<i64>, bool)> = {
            let mut st = self
                .conn()
                .prepare("SELECT id, retention_days, key_target FROM camera")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (cam, configured, key) in cams {
            let Some(rule) = rulebook.min_retention(RetentionSubject::Video, key) else {
                continue;
            };
            let days = retention::effective_days(
                configured.and_then(|d| u32::try_from(d).ok()),
                rule.min_days,
            );
            let cutoff = now.0 - retention::DAY.0 * i64::from(days);
            let candidates: Vec<(i64, i64, i64, String, i64, i64)> = {
                let mut st = self.conn().prepare(
                    "SELECT id, start_90k, end_90k, path, bytes, frames FROM segment \
                     WHERE camera_id = ?1 AND state = 'closed' AND end_90k <= ?2 ORDER BY start_90k",
                )?;
                st.query_map(params![cam, cutoff], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?
            };
            let spans: Vec<SegmentSpan> = candidates
                .iter()
                .map(|c| SegmentSpan {
                    id: c.0,
                    camera_id: cam,
                    start: Wall90k(c.1),
                    end: Wall90k(c.2),
                })
                .collect();
            let ok: std::collections::HashSet<i64> =
                retention::deletable(&spans, |_| days, &holds, now)
                    .into_iter()
                    .collect();
            report.kept_by_hold += spans.len() - ok.len();
            for (id, start, end, path, bytes, frames) in
                candidates.into_iter().filter(|c| ok.contains(&c.0))
            {
                let detail = serde_json::json!({
                    "segment": path, "start": Wall90k(start).to_string(), "end": Wall90k(end).to_string(),
                    "bytes": bytes, "frames": frames, "retention_days": days, "rule": rule.id, "article": rule.article,
                });
                let tx = self.conn().unchecked_transaction()?;
                tx.execute(
                    "INSERT INTO lifecycle_event (at_90k, kind, camera_id, detail) VALUES (?1, 'deletion', ?2, ?3)",
                    params![now.0, cam, detail.to_string()],
                )?;
                tx.execute("DELETE FROM segment WHERE id = ?1", [id])?;
                // The lawful deletion is a leaf of the integrity log.
                let data = detail.to_string().into_bytes();
                tx.execute(
                    "INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES (?1, 'deletion', ?2, ?3)",
                    params![now.0, data, vidimus_integrity::merkle::leaf_hash(&data).as_slice()],
                )?;
                tx.commit()?;
                if let Err(e) = std::fs::remove_file(files.path(&path)) {
                    tracing::warn!(segment = %path, error = %e, "segment row deleted but its file could not be removed; recovery will adopt it");
                }
                report.bytes_freed += bytes;
                report.deleted.push(path);
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{CameraSource, IndexOp, MetadataStore, NewCamera, SegmentRow, SegmentState};

    fn seg(cam: i64, path: &str, start_s: i64) -> SegmentRow {
        SegmentRow {
            id: 0,
            camera_id: cam,
            path: path.into(),
            state: SegmentState::Closed,
            run_id: None,
            start_90k: start_s * 90_000,
            end_90k: (start_s + 60) * 90_000,
            media_duration_90k: 60 * 90_000,
            bytes: 1000,
            frames: 1500,
            fragments: 30,
            codec: "h264".into(),
            width: 1280,
            height: 720,
            sample_entry: vec![],
            init_len: 100,
            fragment_index: vec![],
            fragment_hashes: vec![],
        }
    }

    #[test]
    fn cleaner_deletes_only_expired_unheld_segments_and_records_each_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let files = SegmentFiles::open(dir.path()).unwrap();
        let mut ix = SqliteIndex::open_in_memory().unwrap();
        let new = |name: &'static str, days: Option<u32>, key: bool| NewCamera {
            name,
            url: "rtsp://h/x",
            live_url: None,
            retention_days: days,
            key_target: key,
            username: None,
            password: None,
            source: CameraSource::Cli,
        };
        let a = ix.add_camera(&new("a", None, false), Wall90k(0)).unwrap();
        let k = ix
            .add_camera(&new("k", Some(10), true), Wall90k(0))
            .unwrap(); // 10 < 90: ignored
        let day = 86_400;
        let rows = [
            seg(a, "a/old.mp4", 0),
            seg(a, "a/held.mp4", day),
            seg(a, "a/young.mp4", 20 * day),
            seg(k, "k/old-but-key.mp4", 0),
        ];
        for r in &rows {
            std::fs::create_dir_all(files.path(&r.path).parent().unwrap()).unwrap();
            std::fs::write(files.path(&r.path), b"x").unwrap();
        }
        ix.apply(
            &rows
                .iter()
                .cloned()
                .map(IndexOp::InsertSegment)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let hold = ix
            .add_hold(
                a,
                Wall90k(day * 90_000),
                Wall90k((day + 30) * 90_000),
                "incident 42",
                "officer",
                Wall90k(0),
            )
            .unwrap();
        let rb = Rulebook::shenzhen_draft();
        // Day 45: "old" (ends at 0 + 60 s) is past 30 days; "held" is held; "young" is 25 days old;
        // the key-target camera keeps 90 days whatever its stored value says.
        let now = Wall90k(45 * day * 90_000);
        let r = ix.clean(&files, &rb, now).unwrap();
        assert_eq!(r.deleted, vec!["a/old.mp4".to_owned()]);
        assert_eq!(r.kept_by_hold, 1);
        assert!(!files.path("a/old.mp4").exists() && files.path("a/held.mp4").exists());
        let events = ix.lifecycle_events("deletion").unwrap();
        assert_eq!(events.len(), 1);
        assert!(
            events[0].2.contains("art32.video_retention_min") && events[0].2.contains("a/old.mp4")
        );
        // After release, the held segment goes at the next pass; the key target at day 91.
        ix.release_hold(hold, "supervisor", now).unwrap();
        assert!(
            ix.release_hold(hold, "supervisor", now).is_err(),
            "already released"
        );
        let r = ix.clean(&files, &rb, now).unwrap();
        assert_eq!(r.deleted, vec!["a/held.mp4".to_owned()]);
        let r = ix.clean(&files, &rb, Wall90k(91 * day * 90_000)).unwrap();
        assert_eq!(
            r.deleted,
            vec!["a/young.mp4".to_owned(), "k/old-but-key.mp4".to_owned()]
        );
        assert_eq!(ix.lifecycle_events("hold").unwrap().len(), 1);
        assert_eq!(ix.lifecycle_events("release").unwrap().len(), 1);
        assert!(ix.all_segments().unwrap().is_empty());
    }
}
