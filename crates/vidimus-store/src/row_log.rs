//! Every change of security-relevant state is a leaf of the integrity log, and
//! `vidimus verify` replays the log to name every index row that differs from it.
//!
//! The index's triggers do the logging, so no door can forget: each insert, update or
//! delete of a row of a [`TRACKED`] table (grants, requests, their persons, approvals
//! and history, legal holds, lifecycle events, gaps, users and roles, organisations,
//! cameras, the registry) appends a `row` leaf in the same transaction — the table,
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

/// The tables whose every change is logged, with the columns left out of the image
/// (secrets and file contents).
pub const TRACKED: &[(&str, &[&str])] = &[
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
    ("registry_system", &[]),
    ("registry_entry", &[]),
    ("registry_event", &[]),
    ("registry_file", &["data"]),
];

/// How a table is named in findings.
fn noun(table: &str) -> &str {
    match table {
        "access_grant" => "grant",
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
        other => other,
    }
}

/// Registers the functions the triggers call, on every connection Vidimus opens.
pub(crate) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
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

fn columns(conn: &Connection, table: &str, skip: &[&str]) -> Result<Vec<String>> {
    let mut st = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let cols = st
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cols
        .into_iter()
        .filter(|c| !skip.contains(&c.as_str()))
        .collect())
}

/// `json_object('c1', <c1>, ...)` of a row (`prefix` `NEW.`, `OLD.` or empty); blobs as
/// hex.
fn image(prefix: &str, cols: &[String]) -> String {
    let parts: Vec<String> = cols
        .iter()
        .map(|c| {
            format!(
                "'{c}', CASE typeof({prefix}\"{c}\") WHEN 'blob' THEN hex({prefix}\"{c}\") ELSE {prefix}\"{c}\" END"
            )
        })
        .collect();
    format!("json_object({})", parts.join(", "))
}

fn signature(cols: &[String]) -> String {
    let h = vidimus_integrity::merkle::leaf_hash(cols.join(",").as_bytes());
    h[..4].iter().map(|b| format!("{b:02x}")).collect()
}

fn trigger_names(table: &str, sig: &str) -> [String; 3] {
    ["ins", "upd", "del"].map(|op| format!("vidimus_log_{table}_{op}_{sig}"))
}

/// Creates the logging triggers where missing (a new column list, or dropped behind
/// Vidimus's back), and logs a baseline image of every row of a table whose column
/// list is new (the first time, or after a schema upgrade). Cheap when all is in
/// place: one look at the schema.
pub(crate) fn ensure(conn: &Connection) -> Result<()> {
    let existing: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'vidimus_log_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut wanted = Vec::new();
    for (table, skip) in TRACKED {
        let cols = columns(conn, table, skip)?;
        let sig = signature(&cols);
        wanted.push((*table, cols, sig));
    }
    let all_there = wanted
        .iter()
        .all(|(t, _, sig)| trigger_names(t, sig).iter().all(|n| existing.contains(n)))
        && existing.len() == wanted.len() * 3;
    if all_there {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    for (table, cols, sig) in &wanted {
        let names = trigger_names(table, sig);
        // Triggers of an older column list go.
        for old in existing
            .iter()
            .filter(|n| n.starts_with(&format!("vidimus_log_{table}_")) && !names.contains(n))
        {
            tx.execute_batch(&format!("DROP TRIGGER IF EXISTS \"{old}\";"))?;
        }
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
                image("NEW.", cols),
            ),
            (
                &names[1],
                "AFTER UPDATE",
                "update",
                "NEW.",
                image("NEW.", cols),
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
            tx.execute_batch(&format!(
                "CREATE TRIGGER IF NOT EXISTS \"{name}\" {when} ON \"{table}\" BEGIN \
                 INSERT INTO log_leaf (at_90k, kind, data, leaf_hash) VALUES \
                 (vidimus_now_90k(), 'row', {data}, vidimus_leaf_hash({data})); END;"
            ))?;
        }
        // A new column list: every row's image, so replay has a starting point.
        let known: Option<String> = tx
            .query_row(
                "SELECT columns FROM row_log_state WHERE tbl = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()?;
        if known.as_deref() != Some(sig.as_str()) {
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
    // (table, id) -> the last image (None: deleted).
    let mut last: HashMap<(String, i64), Option<serde_json::Map<String, serde_json::Value>>> =
        HashMap::new();
    {
        let mut st = conn.prepare("SELECT data FROM log_leaf WHERE kind = 'row' ORDER BY idx")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let data: Vec<u8> = match r.get_ref(0)? {
                rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => {
                    b.to_vec()
                }
                _ => continue,
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&data) else {
                continue;
            };
            let (Some(t), Some(id)) = (v["table"].as_str(), v["id"].as_i64()) else {
                continue;
            };
            last.insert((t.to_owned(), id), v["row"].as_object().cloned());
        }
    }
    let mut problems = Vec::new();
    for (table, skip) in TRACKED {
        let cols = columns(conn, table, skip)?;
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
            let now: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
                .map_err(|e| StoreError::Invalid(format!("row image of {table}: {e}")))?;
            seen.insert(id);
            match last.get(&(table.to_string(), id)) {
                None | Some(None) => problems.push(format!(
                    "{} {id} is in the index but not in the log (added behind Vidimus's back)",
                    noun(table)
                )),
                Some(Some(logged)) => {
                    for c in &cols {
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
