//! Reading and tampering with bundles (tar files), as a verifier and as a tamperer
//! with a tar program would.

use super::bin;
use serde_json::Value;
use std::path::Path;
use vidimus_integrity::tar;

/// `vidimus verify BUNDLE --json [extra]`, run from an empty directory with no data
/// directory or configuration: (verified, report).
pub fn verify_offline(bundle: &Path, extra: &[&str]) -> (bool, Value) {
    let away = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .arg("verify")
        .arg(bundle)
        .arg("--json")
        .args(extra)
        .current_dir(away.path())
        .env_remove("VIDIMUS_CONFIG")
        .output()
        .unwrap();
    let rep: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify output: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.success(), rep["ok"] == true, "{rep}");
    (out.status.success(), rep)
}

pub fn members(b: &[u8]) -> Vec<tar::Member> {
    tar::members(b.len() as u64, |o| {
        Ok(b[o as usize..o as usize + 512].try_into().unwrap())
    })
    .unwrap()
}

pub fn member<'a>(b: &'a [u8], name: &str) -> &'a [u8] {
    let m = members(b).into_iter().find(|m| m.name == name).unwrap();
    &b[m.offset as usize..(m.offset + m.size) as usize]
}

/// The bundle with member `name` replaced by `edit(old)`, as a tamperer with a tar
/// program would make it.
pub fn retar(b: &[u8], name: &str, edit: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut edit = Some(edit);
    for m in members(b) {
        let old = &b[m.offset as usize..(m.offset + m.size) as usize];
        let data = if m.name == name {
            (edit.take().unwrap())(old)
        } else {
            old.to_vec()
        };
        out.extend_from_slice(&tar::header(&m.name, data.len() as u64, 0).unwrap());
        out.extend_from_slice(&data);
        out.extend(std::iter::repeat_n(0, tar::padding(data.len() as u64)));
    }
    out.extend_from_slice(&tar::END);
    out
}

pub fn edit_json(b: &[u8], name: &str, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    retar(b, name, |old| {
        let mut v: Value = serde_json::from_slice(old).unwrap();
        f(&mut v);
        serde_json::to_vec_pretty(&v).unwrap()
    })
}
