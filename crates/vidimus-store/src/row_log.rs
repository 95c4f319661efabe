//! Every change of security-relevant state is a leaf of the integrity log, and
//! `vidimus verify` replays the log to name every index row that differs from it.
//!
//! The index's triggers do the logging, so no door can forget: each insert, update or
//! delete of a row of a [`TRACKED`] table (grants, requests, their persons, approvals
//! and history, legal holds, lifecycle events, gaps, users and roles, organisations,
//! cameras, their privacy masks and mask changes, the registry) appends a `row` leaf in the same transaction — the table,
//! the row's id and its image after the change (secrets left out: password hashes,
//! TOTP secrets, camera passwords, and file contents, whose SHA-256 is kept). The
//! leaf hash is computed by a function every Vidimus connection registers, so a tool
//! that edits the index without it fails, and one that drops the triggers first
//! leaves rows that no longer match their last image in the log: [`replay`] names
//! them ("grant 7: expires is 2027-01-01T00:00:00.000Z in the index,
//! 2026-12-08T00:00:00.000Z in the log"), and rows added or deleted behind the log's
//! back.
//!
//! Segments are not here: their closing leaves (times, size, content root) and
//! `fragments` leaves already carry them, and `verify_log` compares those.

use crate::{Result, StoreError};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use vidimus_core::time::Wall90k;

/// The tables whose every change is logged, with the columns whose image is their
/// SHA-256 rather than their value (secrets and file contents: a changed password
/// hash or a replaced file is still seen).
pub const TRACKED: &[(&str, &[&str])] = &[
    ("login_session", &["csrf_token"]),
    ("access_grant", &[]),
    ("access_request", &[]),
    ("request_person", &[]),
    ("request_approval", &[]),
    ("request_event", &[]),
    ("request_attachment", &["data"]),
    ("legal_hold", &[]),
    ("lifecycle_event", &[]),
    ("gap", &[]),
    ("user_account", &["password_hash", "totp_secret"]),
    ("organisation", &[]),
    ("camera", &["password"]),
    ("privacy_mask", &[]),
    ("privacy_mask_change", &[]),
    ("registry_system", &[]),
    ("registry_entry", &[]),
    ("registry_event", &[]),
    ("registry_file", &["data"]),
];

/// How a table is named in findings.
fn noun(table: &str) -> &str {
    match table {
        "access_grant" => "grant",
        "login_session" => "login session",
        "access_request" => "request",
        "request_person" => "request person",
        "request_approval" => "approval",
        "request_event" => "request event",
        "request_attachment" => "attachment",
        "legal_hold" => "legal hold",
        "lifecycle_event" => "lifecycle event",
        "user_account" => "user",
        "registry_system" => "registry system",
        "registry_entry" => "registry entry",
        "registry_event" => "registry event",
        "registry_file" => "registry file",
        "privacy_mask" => "privacy mask",
        "privacy_mask_change" => "privacy mask change",
        other => other,
    }
}

/// Registers the functions the triggers call, on every connection Vidimus opens.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "vidimus_digest",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            use sha2::Digest;
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Null => None,
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                    Some(hex::encode(sha2::Sha256::digest(t)))
                }
                other => Some(hex::encode(sha2::Sha256::digest(
                    format!("{other:?}").as_bytes(),
                ))),
            })
        },
    )?;
    conn.create_scalar_function(
        "vidimus_leaf_hash",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let v = ctx.get_raw(0);
            let bytes: &[u8] = match v {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t,
                _ => &[],
            };
            Ok(vidimus_integrity::merkle::leaf_hash(bytes).to_vec())
        },
    )?;
    conn.create_scalar_function("vidimus_now_90k", 0, FunctionFlags::SQLITE_UTF8, |_| {
        Ok(Wall90k::from_system(std::time::SystemTime::now()).0)
    })
}

/// A tracked column: its name, and whether its image is its digest.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    digest: bool,
}

fn columns(conn: &Connection, table: &str, digested: &[&str]) -> Result<Vec<Column>> {
    let mut st = conn.prepare(&format!(
        "PRAGMA table_info(\"{}\")",
        table.replace('"', "\"\"")
    ))?;
    let cols = st
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols
        .into_iter()
        .map(|c| Column {
            digest: digested.contains(&c.as_str()),
            name: c,
        })
        .collect())
}

/// `json_object('c1', <c1>, ...)` of a row (`prefix` `NEW.`, `OLD.` or empty); blobs as
/// hex, digested columns as `'c#sha256', <SHA-256 hex>`. Names are quoted as SQL
/// literals and identifiers whatever they contain.
fn image(prefix: &str, cols: &[Column]) -> String {
    let parts: Vec<String> = cols
        .iter()
        .map(|c| {
            let lit = c.name.replace('\'', "''");
            let id = format!("{prefix}\"{}\"", c.name.replace('"', "\"\""));
            if c.digest {
                format!("'{lit}#sha256', vidimus_digest({id})")
            } else {
                format!("'{lit}', CASE typeof({id}) WHEN 'blob' THEN hex({id}) ELSE {id} END")
            }
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

/// The names a row image holds.
fn keys(cols: &[Column]) -> Vec<String> {
    cols.iter()
        .map(|c| {
            if c.digest {
                format!("{}#sha256", c.name)
            } else {
                c.name.clone()
            }
        })
        .collect()
}

fn signature(cols: &[Column]) -> String {
    let h = vidimus_integrity::merkle::leaf_hash(keys(cols).join(",").as_bytes());
    h[..4].iter().map(|b| format!("{b:02x}")).collect()
}

fn trigger_names(table: &str, sig: &str) -> [String; 3] {
    ["ins", "upd", "del"].map(|op| format!("vidimus_log_{table}_{op}_{sig}"))
}

/// One logging trigger: its name, its table, the table's columns, and its SQL.
type Expected = (String, &'static str, Vec<Column>, String);

/// The logging triggers the index must have: (name, table, its exact `CREATE`
/// statement as SQLite keeps it in `sqlite_master.sql`).
fn expected_triggers(conn: &Connection) -> Result<Vec<Expected>> {
    let mut out = Vec::new();
    for (table, digested) in TRACKED {
        let cols = columns(conn, table, digested)?;
        let sig = signature(&cols);
        let names = trigger_names(table, &sig);
        let leaf = |op: &str, row: &str, prefix: &str| {
            format!(
                "CAST(json_object('v', 1, 'kind', 'row', 'table', '{table}', 'op', '{op}', 'id', {prefix}rowid, 'row', {row}) AS BLOB)"
            )
        };
        for (name, when, op, prefix, row) in [
            (
                &names[0],
                "AFTER INSERT",
                "insert",
                "NEW.",
                image("NEW.", &cols),
            ),
            (
                &names[1],
                "AFTER UPDATE",
                "update",
                "NEW.",
                image("NEW.", &cols),
            ),
            (
                &names[2],
                "AFTER DELETE",
                "delete",
                "OLD.",
                "NULL".to_owned(),
            ),
        ] {
            let data = leaf(op, &row, prefix);
            let sql = format!(
                "CREATE TRIGGER \"{name}\" {when} ON \"{table}\" BEGIN \
                 INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES \
                 (vidimus_now_90k(), 'row', {data}, vidimus_leaf_hash({data})); END"
            );
            out.push((name.clone(), *table, cols.clone(), sql));
        }
    }
    Ok(out)
}

/// Puts the logging triggers in place: creates missing ones (a new column list, or
/// dropped behind Vidimus's back), and drops every other trigger — one altered, or a
/// foreign one (say, on `log_leaf`, deleting register entries as they are written) —
/// recording what it found as a `schema_tampered` event of the system log, which
/// `vidimus verify` reports. A table whose column list is new (the first time, or
/// after a schema upgrade) gets a baseline image of every row. Cheap when all is in
/// place: one look at the schema.
pub(crate) fn ensure(conn: &Connection) -> Result<()> {
    let existing: Vec<(String, String)> = conn
        .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'trigger'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let expected = expected_triggers(conn)?;
    let in_place = |name: &str, sql: &str| existing.iter().any(|(n, s)| n == name && s == sql);
    let all_there =
        expected.iter().all(|(n, _, _, sql)| in_place(n, sql)) && existing.len() == expected.len();
    if all_there {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    for (name, sql) in &existing {
        let ours = expected.iter().find(|(n, ..)| n == name);
        let fine = ours.is_some_and(|(_, _, _, want)| want == sql);
        if fine {
            continue;
        }
        // An older column list of ours is an upgrade, not tampering.
        let outdated = ours.is_none() && name.starts_with("vidimus_log_");
        if !outdated {
            let now = Wall90k::from_system(std::time::SystemTime::now());
            let data = crate::log::event_leaf(
                now,
                "schema_tampered",
                "index",
                None,
                &serde_json::json!({"trigger": name, "sql": sql,
                    "found": if ours.is_some() { "altered" } else { "foreign" }}),
            );
            tx.execute(
                "INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES (?1, 'event', ?2, ?3)",
                params![
                    now.0,
                    data,
                    vidimus_integrity::merkle::leaf_hash(&data).as_slice()
                ],
            )?;
            tracing::error!(trigger = %name, "the index's schema was altered behind Vidimus's back: trigger dropped");
        }
        tx.execute_batch(&format!(
            "DROP TRIGGER IF EXISTS \"{}\";",
            name.replace('"', "\"\"")
        ))?;
    }
    let now_there: Vec<String> = tx
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _, _, sql) in &expected {
        if !now_there.contains(name) {
            tx.execute_batch(&format!("{sql};"))?;
        }
    }
    // A new column list: every row's image, so replay has a starting point.
    let mut done = std::collections::HashSet::new();
    for (_, table, cols, _) in &expected {
        if !done.insert(*table) {
            continue;
        }
        let sig = signature(cols);
        let known: Option<String> = tx
            .query_row(
                "SELECT columns FROM row_log_state WHERE tbl = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()?;
        if known.as_deref() != Some(sig.as_str()) {
            let marker = serde_json::to_vec(&serde_json::json!({
                "v": 1, "kind": "row", "table": table, "op": "baseline_start",
                "columns": keys(cols),
            }))
            .expect("serializes");
            tx.execute(
                "INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES (vidimus_now_90k(), 'row', ?1, ?2)",
                params![marker, vidimus_integrity::merkle::leaf_hash(&marker).as_slice()],
            )?;
            let data = format!(
                "CAST(json_object('v', 1, 'kind', 'row', 'table', '{table}', 'op', 'baseline', 'id', rowid, 'row', {}) AS BLOB)",
                image("", cols)
            );
            tx.execute_batch(&format!(
                "INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) \
                 SELECT vidimus_now_90k(), 'row', {data}, vidimus_leaf_hash({data}) FROM \"{table}\" ORDER BY rowid;"
            ))?;
            tx.execute(
                "INSERT OR REPLACE INTO row_log_state (tbl, columns) VALUES (?1, ?2)",
                params![table, sig],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// One disagreement between the index and the log.
fn describe(
    table: &str,
    id: i64,
    col: &str,
    index: &serde_json::Value,
    log: &serde_json::Value,
) -> String {
    let show = |v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::Null => "none".into(),
            serde_json::Value::Number(n) if col.ends_with("_90k") => n
                .as_i64()
                .map(|t| Wall90k(t).to_string())
                .unwrap_or_else(|| n.to_string()),
            serde_json::Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        }
    };
    let what = col.strip_suffix("_90k").unwrap_or(col);
    let what = what.replace("#sha256", " (its SHA-256)");
    format!(
        "{} {id}: {what} is {} in the index, {} in the log",
        noun(table),
        show(index),
        show(log)
    )
}

/// Replays the log's `row` leaves and names every tracked row that differs from its
/// last image: changed, added or deleted behind the log's back.
pub fn replay(conn: &Connection) -> Result<Vec<String>> {
    type Image = serde_json::Map<String, serde_json::Value>;
    // (table, id) -> the last image (None: deleted).
    let mut last: HashMap<(String, i64), Option<Image>> = HashMap::new();
    // How many baselines each table has had.
    let mut baselined: HashMap<String, u32> = HashMap::new();
    let mut problems = Vec::new();
    {
        let mut st = conn.prepare(
            "SELECT idx, data FROM log_leaf WHERE kind IN ('row', 'event') ORDER BY idx",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let idx: i64 = r.get(0)?;
            let data: Vec<u8> = match r.get_ref(1)? {
                rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                    b.to_vec()
                }
                _ => continue,
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&data) else {
                continue;
            };
            if v["kind"] == "event" {
                if v["event"] == "schema_tampered" {
                    problems.push(format!(
                        "the index's schema was altered behind Vidimus's back ({} trigger {:?}, found and dropped at {}; log leaf {idx})",
                        v["detail"]["found"].as_str().unwrap_or("a"),
                        v["detail"]["trigger"].as_str().unwrap_or(""),
                        v["at"].as_str().unwrap_or("?")
                    ));
                }
                continue;
            }
            let Some(t) = v["table"].as_str() else {
                continue;
            };
            if v["op"] == "baseline_start" {
                *baselined.entry(t.to_owned()).or_default() += 1;
                continue;
            }
            let Some(id) = v["id"].as_i64() else {
                continue;
            };
            let image = v["row"].as_object().cloned();
            let key = (t.to_owned(), id);
            if v["op"] == "baseline" {
                // A row first seen in a later baseline was added while nothing logged.
                let later = baselined.get(t).is_some_and(|n| *n > 1) && !last.contains_key(&key);
                if later {
                    problems.push(format!(
                        "{} {id} first appears in a restated baseline (log leaf {idx}): it was added behind Vidimus's back",
                        noun(t)
                    ));
                    continue;
                }
            }
            // A baseline restates a row; one that differs from its logged history is
            // a row log restarted over tampered rows, and is not believed.
            if v["op"] == "baseline"
                && let Some(Some(before)) = last.get(&key)
                && let Some(now) = &image
            {
                let changed: Vec<&String> = now
                    .iter()
                    .filter(|(k, val)| before.get(*k).is_some_and(|b| b != *val))
                    .map(|(k, _)| k)
                    .collect();
                if !changed.is_empty() {
                    problems.push(format!(
                        "{} {id}: log leaf {idx} restates it with other {} than its logged history (the row log was restarted over altered rows)",
                        noun(t),
                        changed.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    ));
                    continue;
                }
            }
            last.insert(key, image);
        }
    }
    for (table, digested) in TRACKED {
        let cols = columns(conn, table, digested)?;
        let names = keys(&cols);
        let sql = format!(
            "SELECT rowid, {} FROM \"{table}\" ORDER BY rowid",
            image("", &cols)
        );
        let mut st = conn.prepare(&sql)?;
        let mut rows = st.query([])?;
        let mut seen = std::collections::HashSet::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let text: String = r.get(1)?;
            let now: Image = serde_json::from_str(&text)
                .map_err(|e| StoreError::Invalid(format!("row image of {table}: {e}")))?;
            seen.insert(id);
            match last.get(&(table.to_string(), id)) {
                None | Some(None) => problems.push(format!(
                    "{} {id} is in the index but not in the log (added behind Vidimus's back)",
                    noun(table)
                )),
                Some(Some(logged)) => {
                    for c in &names {
                        let (a, b) = (
                            now.get(c).unwrap_or(&serde_json::Value::Null),
                            logged.get(c).unwrap_or(&serde_json::Value::Null),
                        );
                        if a != b {
                            problems.push(describe(table, id, c, a, b));
                        }
                    }
                }
            }
        }
        let mut gone: Vec<i64> = last
            .iter()
            .filter(|((t, id), img)| t == table && img.is_some() && !seen.contains(id))
            .map(|((_, id), _)| *id)
            .collect();
        gone.sort_unstable();
        for id in gone {
            problems.push(format!(
                "{} {id} is in the log but deleted from the index (behind Vidimus's back)",
                noun(table)
            ));
        }
    }
    Ok(problems)
}
