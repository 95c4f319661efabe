//! The registry in the index (schema version 11): systems, their entries (cameras,
//! products, contractors, testing bodies, documents, persons) and dated events, each
//! a JSON document in the compliance facts format. This module stores and reads; the
//! server checks documents against the facts types and the rulebook before they get
//! here. Every change is also an event of the system log (tamper-evident).

use crate::index::SqliteIndex;
use crate::{Result, StoreError};
use rusqlite::{OptionalExtension, params};
use vidimus_core::time::Wall90k;

/// The collections a system's entries belong to.
pub const COLLECTIONS: &[&str] = &[
    "cameras",
    "products",
    "contractors",
    "testing_bodies",
    "documents",
    "persons",
];

/// A system.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RegistrySystemRow {
    pub id: String,
    pub name: String,
    pub district: Option<String>,
    pub site_category: String,
    /// The facts' `system` object (JSON).
    pub doc: String,
    pub created_90k: i64,
    pub updated_90k: i64,
}

/// A system to add or change.
#[derive(Clone, Debug)]
pub struct NewRegistrySystem<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub district: Option<&'a str>,
    pub site_category: &'a str,
    pub doc: &'a str,
}

/// An entry of a collection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RegistryEntryRow {
    pub id: i64,
    pub system_id: String,
    pub collection: String,
    pub doc: String,
}

/// A dated event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RegistryEventRow {
    pub id: i64,
    pub system_id: String,
    pub kind: String,
    pub date: String,
    pub doc: String,
    pub recorded_by: String,
    pub recorded_90k: i64,
}

fn system_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RegistrySystemRow> {
    Ok(RegistrySystemRow {
        id: r.get(0)?,
        name: r.get(1)?,
        district: r.get(2)?,
        site_category: r.get(3)?,
        doc: r.get(4)?,
        created_90k: r.get(5)?,
        updated_90k: r.get(6)?,
    })
}

const SYSTEM_COLUMNS: &str =
    "id, name, district, site_category, doc, created_90k, updated_90k FROM registry_system";

/// A stored document as JSON for the system log.
fn as_json(doc: &str) -> serde_json::Value {
    serde_json::from_str(doc).unwrap_or(serde_json::Value::String(doc.to_owned()))
}

fn check_collection(c: &str) -> Result<()> {
    if COLLECTIONS.contains(&c) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "no registry collection {c:?} (one of {})",
            COLLECTIONS.join(", ")
        )))
    }
}

impl SqliteIndex {
    /// Adds a system or replaces its description; true if it was added.
    pub fn put_registry_system(
        &mut self,
        s: &NewRegistrySystem<'_>,
        by: &str,
        now: Wall90k,
    ) -> Result<bool> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE registry_system SET name = ?2, district = ?3, site_category = ?4, doc = ?5, \
             updated_90k = ?6 WHERE id = ?1",
            params![s.id, s.name, s.district, s.site_category, s.doc, now.0],
        )?;
        let created = n == 0;
        if created {
            tx.execute(
                "INSERT INTO registry_system (id, name, district, site_category, doc, created_90k, updated_90k) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![s.id, s.name, s.district, s.site_category, s.doc, now.0],
            )?;
        }
        crate::log::insert_event(
            &tx,
            now,
            if created {
                "registry_system_added"
            } else {
                "registry_system_changed"
            },
            by,
            None,
            &serde_json::json!({ "system": s.id, "doc": as_json(s.doc) }),
        )?;
        tx.commit()?;
        Ok(created)
    }

    /// Every system, by id.
    pub fn registry_systems(&self) -> Result<Vec<RegistrySystemRow>> {
        let mut st = self
            .conn()
            .prepare_cached(&format!("SELECT {SYSTEM_COLUMNS} ORDER BY id"))?;
        let rows = st
            .query_map([], system_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn registry_system(&self, id: &str) -> Result<Option<RegistrySystemRow>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {SYSTEM_COLUMNS} WHERE id = ?1"),
                [id],
                system_from_row,
            )
            .optional()?)
    }

    fn require_system(&self, id: &str) -> Result<()> {
        match self.registry_system(id)? {
            Some(_) => Ok(()),
            None => Err(StoreError::Invalid(format!(
                "no system {id:?} in the registry"
            ))),
        }
    }

    /// A system's entries, by collection then in the order they were added.
    pub fn registry_entries(&self, system_id: &str) -> Result<Vec<RegistryEntryRow>> {
        let mut st = self.conn().prepare_cached(
            "SELECT id, system_id, collection, doc FROM registry_entry WHERE system_id = ?1 \
             ORDER BY collection, id",
        )?;
        let rows = st
            .query_map([system_id], |r| {
                Ok(RegistryEntryRow {
                    id: r.get(0)?,
                    system_id: r.get(1)?,
                    collection: r.get(2)?,
                    doc: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Adds an entry to a collection; returns its id.
    pub fn add_registry_entry(
        &mut self,
        system_id: &str,
        collection: &str,
        doc: &str,
        by: &str,
        now: Wall90k,
    ) -> Result<i64> {
        check_collection(collection)?;
        self.require_system(system_id)?;
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO registry_entry (system_id, collection, doc, created_90k, updated_90k) \
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![system_id, collection, doc, now.0],
        )?;
        let id = tx.last_insert_rowid();
        crate::log::insert_event(
            &tx,
            now,
            "registry_entry_added",
            by,
            None,
            &serde_json::json!({ "system": system_id, "collection": collection, "entry": id,
                                 "doc": as_json(doc) }),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Replaces an entry's document.
    pub fn update_registry_entry(
        &mut self,
        system_id: &str,
        id: i64,
        doc: &str,
        by: &str,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE registry_entry SET doc = ?3, updated_90k = ?4 WHERE id = ?1 AND system_id = ?2",
            params![id, system_id, doc, now.0],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "no registry entry {id} in system {system_id:?}"
            )));
        }
        crate::log::insert_event(
            &tx,
            now,
            "registry_entry_changed",
            by,
            None,
            &serde_json::json!({ "system": system_id, "entry": id,
                                 "doc": as_json(doc) }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Removes an entry (a correction of the registry; a camera taken down is a
    /// `move_or_removal` event as well).
    pub fn delete_registry_entry(
        &mut self,
        system_id: &str,
        id: i64,
        by: &str,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "DELETE FROM registry_file WHERE entry_id = ?1 AND system_id = ?2",
            params![id, system_id],
        )?;
        let n = tx.execute(
            "DELETE FROM registry_entry WHERE id = ?1 AND system_id = ?2",
            params![id, system_id],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "no registry entry {id} in system {system_id:?}"
            )));
        }
        crate::log::insert_event(
            &tx,
            now,
            "registry_entry_removed",
            by,
            None,
            &serde_json::json!({ "system": system_id, "entry": id }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a dated event; returns its id.
    pub fn add_registry_event(
        &mut self,
        system_id: &str,
        kind: &str,
        date: &str,
        doc: &str,
        by: &str,
        now: Wall90k,
    ) -> Result<i64> {
        self.require_system(system_id)?;
        let tx = self.conn().unchecked_transaction()?;
        tx.execute(
            "INSERT INTO registry_event (system_id, kind, date, doc, recorded_by, recorded_90k) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![system_id, kind, date, doc, by, now.0],
        )?;
        let id = tx.last_insert_rowid();
        crate::log::insert_event(
            &tx,
            now,
            "registry_event_recorded",
            by,
            None,
            &serde_json::json!({ "system": system_id, "event": id,
                                 "doc": as_json(doc) }),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// Keeps the file of a document entry (replacing an earlier one) and the entry's
    /// new document (naming the file and its SHA-256), in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn put_registry_file(
        &mut self,
        system_id: &str,
        entry_id: i64,
        name: &str,
        sha256_hex: &str,
        data: &[u8],
        doc: &str,
        by: &str,
        now: Wall90k,
    ) -> Result<()> {
        let tx = self.conn().unchecked_transaction()?;
        let n = tx.execute(
            "UPDATE registry_entry SET doc = ?3, updated_90k = ?4 \
             WHERE id = ?1 AND system_id = ?2 AND collection = 'documents'",
            params![entry_id, system_id, doc, now.0],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "no document {entry_id} in system {system_id:?}"
            )));
        }
        tx.execute(
            "INSERT OR REPLACE INTO registry_file (entry_id, system_id, name, sha256, data, recorded_by, recorded_90k) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![entry_id, system_id, name, sha256_hex, data, by, now.0],
        )?;
        crate::log::insert_event(
            &tx,
            now,
            "registry_file_attached",
            by,
            None,
            &serde_json::json!({ "system": system_id, "entry": entry_id, "name": name,
                                 "sha256": sha256_hex, "bytes": data.len() }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A document entry's file: (name, SHA-256 hex, bytes).
    pub fn registry_file(
        &self,
        system_id: &str,
        entry_id: i64,
    ) -> Result<Option<(String, String, Vec<u8>)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, sha256, data FROM registry_file WHERE entry_id = ?1 AND system_id = ?2",
                params![entry_id, system_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// The start of a camera's oldest recording still kept (for measured retention).
    pub fn oldest_recording(
        &self,
        camera: vidimus_core::camera::CameraId,
    ) -> Result<Option<Wall90k>> {
        let t: Option<i64> = self.conn().query_row(
            "SELECT MIN(start_90k) FROM segment WHERE camera_id = ?1",
            [camera],
            |r| r.get(0),
        )?;
        Ok(t.map(Wall90k))
    }

    /// A system's events, oldest first.
    pub fn registry_events(&self, system_id: &str) -> Result<Vec<RegistryEventRow>> {
        let mut st = self.conn().prepare_cached(
            "SELECT id, system_id, kind, date, doc, recorded_by, recorded_90k FROM registry_event \
             WHERE system_id = ?1 ORDER BY date, id",
        )?;
        let rows = st
            .query_map([system_id], |r| {
                Ok(RegistryEventRow {
                    id: r.get(0)?,
                    system_id: r.get(1)?,
                    kind: r.get(2)?,
                    date: r.get(3)?,
                    doc: r.get(4)?,
                    recorded_by: r.get(5)?,
                    recorded_90k: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_entries_and_events_round_trip_and_are_logged() {
        let mut ix = SqliteIndex::open_in_memory().unwrap();
        let t = Wall90k(90_000);
        let s = NewRegistrySystem {
            id: "bank-1",
            name: "Bank",
            district: Some("Futian"),
            site_category: "item_4",
            doc: r#"{"id":"bank-1","name":"Bank","site_category":"item_4"}"#,
        };
        assert!(ix.put_registry_system(&s, "admin", t).unwrap());
        assert!(
            !ix.put_registry_system(&s, "admin", t).unwrap(),
            "second put changes"
        );
        let cam = ix
            .add_registry_entry(
                "bank-1",
                "cameras",
                r#"{"id":"lobby","location_type":"lobby"}"#,
                "admin",
                t,
            )
            .unwrap();
        assert!(
            ix.add_registry_entry("bank-1", "cars", "{}", "admin", t)
                .is_err()
        );
        assert!(
            ix.add_registry_entry("nope", "cameras", "{}", "admin", t)
                .is_err()
        );
        ix.update_registry_entry(
            "bank-1",
            cam,
            r#"{"id":"lobby","location_type":"bank_hall"}"#,
            "admin",
            t,
        )
        .unwrap();
        assert!(
            ix.update_registry_entry("other", cam, "{}", "admin", t)
                .is_err()
        );
        ix.add_registry_event(
            "bank-1",
            "filing",
            "2027-02-01",
            r#"{"kind":"filing","date":"2027-02-01"}"#,
            "admin",
            t,
        )
        .unwrap();
        ix.add_registry_event(
            "bank-1",
            "completion_acceptance",
            "2027-01-10",
            r#"{"kind":"completion_acceptance","date":"2027-01-10"}"#,
            "admin",
            t,
        )
        .unwrap();
        let entries = ix.registry_entries("bank-1").unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].doc.contains("hall"));
        let events = ix.registry_events("bank-1").unwrap();
        assert_eq!(
            events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["completion_acceptance", "filing"],
            "oldest first"
        );
        let doc = ix
            .add_registry_entry(
                "bank-1",
                "documents",
                r#"{"kind":"design_plan","title":"Plan"}"#,
                "admin",
                t,
            )
            .unwrap();
        assert!(
            ix.put_registry_file("bank-1", cam, "x.pdf", "00", b"x", "{}", "admin", t)
                .is_err(),
            "a camera has no file"
        );
        ix.put_registry_file(
            "bank-1",
            doc,
            "plan.pdf",
            "ab",
            b"%PDF",
            r#"{"kind":"design_plan","title":"Plan","sha256":"ab"}"#,
            "admin",
            t,
        )
        .unwrap();
        assert_eq!(
            ix.registry_file("bank-1", doc).unwrap(),
            Some(("plan.pdf".into(), "ab".into(), b"%PDF".to_vec()))
        );
        ix.delete_registry_entry("bank-1", doc, "admin", t).unwrap();
        assert_eq!(
            ix.registry_file("bank-1", doc).unwrap(),
            None,
            "removed with its entry"
        );
        ix.delete_registry_entry("bank-1", cam, "admin", t).unwrap();
        assert!(ix.registry_entries("bank-1").unwrap().is_empty());
        let logged: Vec<String> = ix
            .events(Wall90k(0), 100)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        for want in [
            "registry_system_added",
            "registry_system_changed",
            "registry_entry_added",
            "registry_entry_changed",
            "registry_event_recorded",
            "registry_entry_removed",
            "registry_file_attached",
        ] {
            assert!(
                logged.iter().any(|e| e == want),
                "{want} not logged: {logged:?}"
            );
        }
        assert_eq!(
            ix.registry_systems().unwrap()[0].district.as_deref(),
            Some("Futian")
        );
    }
}
