//! Witnesses catch what the data directory alone cannot (issue 11 E2): the recorder
//! publishes its checkpoints to `vidimus witness serve` (C2SP tlog-witness), which
//! cosigns only consistent ones; then `vidimus verify --witness` names a restored
//! older index (a rolled-back tail), a rewritten leaf re-signed with the site's key,
//! and a swapped key — each of which passes `verify` without a witness — and the
//! witness refuses the rolled-back log's next checkpoint and keeps it as evidence.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

fn sql(db: &std::path::Path, statement: &str) {
    let st = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
        ])
        .arg(db)
        .arg(statement)
        .status()
        .unwrap();
    assert!(st.success(), "{statement}");
}

/// Copies the index (after folding its WAL in), to restore later as an insider would.
fn snapshot(site: &Site, to: &std::path::Path) {
    let db = site.data().join("index.db");
    sql(&db, "PRAGMA wal_checkpoint(TRUNCATE);");
    std::fs::copy(&db, to).unwrap();
}

fn restore(site: &Site, from: &std::path::Path) {
    let db = site.data().join("index.db");
    for ext in ["index.db-wal", "index.db-shm"] {
        let _ = std::fs::remove_file(site.data().join(ext));
    }
    std::fs::copy(from, db).unwrap();
}

fn leaves(db: &std::path::Path) -> i64 {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT COUNT(*) FROM log_leaf').fetchone()[0])",
        ])
        .arg(db)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn cosigned_size(site: &Site) -> i64 {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT COALESCE(MAX(size),0) FROM witness_cosignature').fetchone()[0])",
        ])
        .arg(site.data().join("index.db"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn witnesses_catch_rollbacks_rewrites_and_key_swaps() {
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"2s\"\ncheckpoint_interval = \"2s\"",
    );
    // The site's key and origin exist after a first start.
    let mut rec = site.serve();
    assert!(rec.terminate());
    let out = site.vidimus(&["witness", "site-key"]);
    assert!(out.status.success());
    let site_log = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(site_log.starts_with("vidimus/"), "{site_log}");

    // A witness (say, the district PSB's) with its own key, trusting the site's key.
    let wdir = tempfile::tempdir().unwrap();
    let wkey_file = wdir.path().join("witness.key");
    let wkey = witness_keygen("futian-psb.witness", &wkey_file);
    assert!(wkey.starts_with("futian-psb.witness+"), "{wkey}");
    let wport = free_port();
    let wurl = format!("http://127.0.0.1:{wport}");
    let wstate = wdir.path().join("state.json");
    let witness = Command::new(bin())
        .args(["witness", "serve", "--key"])
        .arg(&wkey_file)
        .arg("--state")
        .arg(&wstate)
        .args(["--bind", &format!("127.0.0.1:{wport}"), "--log", &site_log])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut witness = Proc {
        child: witness,
        name: "witness".into(),
        stdout: None,
    };
    assert!(wait_until(Duration::from_secs(10), || { listening(wport) }));
    let mut config = std::fs::read_to_string(site.config()).unwrap();
    config.push_str(&format!(
        "[[integrity.witness]]\nurl = \"{wurl}\"\nkey = \"{wkey}\"\n"
    ));
    std::fs::write(site.config(), &config).unwrap();

    // The recorder publishes; the witness cosigns.
    let mut rec = site.serve();
    assert!(
        wait_until(Duration::from_secs(30), || cosigned_size(&site) > 0),
        "nothing cosigned; log:\n{}",
        site.log_text()
    );
    assert!(rec.terminate());
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        let out = site.vidimus(&args);
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let with_witness = ["--witness", wurl.as_str(), "--witness-key", wkey.as_str()];
    let (ok, text) = verify(&with_witness);
    assert!(ok, "{text}");
    assert!(text.contains("ok witness:"), "{text}");
    let early = wdir.path().join("early.db");
    snapshot(&site, &early);
    let early_leaves = leaves(&early);

    // More video, and the witness cosigns well past what the early copy holds.
    let mut rec = site.serve();
    assert!(wait_until(Duration::from_secs(30), || cosigned_size(&site)
        > early_leaves + 3));
    assert!(rec.terminate());
    let late = wdir.path().join("late.db");
    snapshot(&site, &late);
    // The witness's newest note, kept as a file (what an inspector holds).
    let note_file = wdir.path().join("cosigned.note");
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); sys.stdout.write(c.execute('SELECT note FROM witness_cosignature ORDER BY size DESC LIMIT 1').fetchone()[0])",
        ])
        .arg(site.data().join("index.db"))
        .output()
        .unwrap();
    std::fs::write(&note_file, &out.stdout).unwrap();
    let from_file = [
        "--witness",
        note_file.to_str().unwrap(),
        "--witness-key",
        wkey.as_str(),
    ];
    let (ok, text) = verify(&with_witness);
    assert!(ok, "{text}");
    let (ok, text) = verify(&from_file);
    assert!(ok, "{text}");

    // 1. An older index restored (the log's tail, segments and checkpoints rolled
    //    back): verify alone passes; against the witness it is named.
    restore(&site, &early);
    let (ok, text) = verify(&[]);
    assert!(ok, "without a witness the rollback passes: {text}");
    let (ok, text) = verify(&with_witness);
    assert!(!ok);
    assert!(text.contains("rolled back"), "{text}");
    let (ok, text) = verify(&from_file);
    assert!(!ok && text.contains("rolled back"), "{text}");
    //    The rolled-back recorder's next checkpoint is refused and kept as evidence.
    let mut rec = site.serve();
    assert!(
        wait_until(Duration::from_secs(30), || {
            String::from_utf8_lossy(&site.vidimus(&["events", "--json"]).stdout)
                .contains("witness_refused")
        }),
        "{}",
        {
            let t = site.log_text();
            let lines: Vec<&str> = t.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        }
    );
    assert!(rec.terminate());
    // The segment files the older index forgot were adopted at start-up: each is an
    // act of the system log, not a silent fix.
    let events = String::from_utf8_lossy(&site.vidimus(&["events", "--json"]).stdout).into_owned();
    assert!(events.contains("segment_adopted"), "{events}");
    //    A bundle of an adopted segment says so, with the logged event (issue 11 E5).
    let ev: serde_json::Value = serde_json::from_str(&events).unwrap();
    let adopted = ev
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "segment_adopted")
        .unwrap();
    let start = adopted["detail"]["start_90k"].as_i64().unwrap();
    let bundle = wdir.path().join("adopted.vbundle");
    let f = |t: i64| format!("{:.4}", t as f64 / 90_000.0);
    let out = site.vidimus(&[
        "export",
        "--bundle",
        "--camera",
        "yard",
        "--from",
        &f(start),
        "--to",
        &f(start + 90_000),
        "--out",
        bundle.to_str().unwrap(),
        "--purpose",
        "what an adopted segment looks like",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = site.vidimus(&["verify", bundle.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    let path = adopted["detail"]["path"].as_str().unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains(path) && l.contains("ADOPTED by recovery")),
        "{text}"
    );
    // (A smaller size is a rollback; a rolled-back log that grew past the witnessed
    // size again is another history: a fork, or a checkpoint that cannot be proven.)
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&wstate).unwrap()).unwrap();
    let evidence = state["logs"].as_object().unwrap().values().next().unwrap()["evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        evidence
            .iter()
            .any(|e| ["rollback", "fork", "unproven"].contains(&e["kind"].as_str().unwrap_or(""))),
        "{state:#}"
    );

    // 2. A leaf rewritten and every checkpoint re-signed with the site's own key.
    restore(&site, &late);
    sql(
        &site.data().join("index.db"),
        "UPDATE log_leaf SET data = CAST('{\"v\":1,\"kind\":\"event\",\"event\":\"nothing happened\"}' AS BLOB) WHERE idx = (SELECT MIN(idx) FROM log_leaf WHERE kind = 'event'); \
         DELETE FROM log_checkpoint;",
    );
    // The insider recomputes the leaf hash; the recorder re-signs at start-up.
    let fix = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,hashlib; c=sqlite3.connect(sys.argv[1]); i=c.execute(\"SELECT MIN(idx) FROM log_leaf WHERE kind='event'\").fetchone()[0]; d=c.execute('SELECT data FROM log_leaf WHERE idx=?', (i,)).fetchone()[0]; \
             c.execute('UPDATE log_leaf SET leaf_hash=? WHERE idx=?', (hashlib.sha256(b'\\x00'+bytes(d)).digest(), i)); c.commit()",
        ])
        .arg(site.data().join("index.db"))
        .status()
        .unwrap();
    assert!(fix.success());
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(3));
    assert!(rec.terminate());
    let (ok, text) = verify(&[]);
    assert!(ok, "without a witness the rewrite passes: {text}");
    let (ok, text) = verify(&with_witness);
    assert!(!ok);
    assert!(text.contains("history rewritten"), "{text}");

    // 3. A new key swapped in (and everything re-signed with it).
    restore(&site, &late);
    let key = site.dir.path().join("keys/log-key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    sql(&site.data().join("index.db"), "DELETE FROM log_checkpoint;");
    let mut rec = site.serve();
    std::thread::sleep(Duration::from_secs(3));
    assert!(rec.terminate());
    let (ok, text) = verify(&with_witness);
    assert!(!ok);
    assert!(text.contains("key swapped"), "{text}");
    witness.terminate();
    cam.terminate();
}

/// The witness is a door open to other organisations: a peer that opens connections
/// and sends nothing holds none of them for long, and more connections than it keeps
/// open wait rather than exhaust it — an honest request still gets its answer.
#[test]
fn witness_closes_idle_connections_and_bounds_them() {
    use std::io::{Read, Write};
    let wdir = tempfile::tempdir().unwrap();
    let wkey_file = wdir.path().join("witness.key");
    witness_keygen("w.example", &wkey_file);
    // The log it witnesses (a site's; nothing is cosigned here).
    let site = Site::new(&[], "");
    let mut rec = site.serve();
    assert!(rec.terminate());
    let out = site.vidimus(&["witness", "site-key"]);
    assert!(out.status.success());
    let site_log = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let wport = free_port();
    let witness = Command::new(bin())
        .args(["witness", "serve", "--key"])
        .arg(&wkey_file)
        .arg("--state")
        .arg(wdir.path().join("state.json"))
        .args(["--bind", &format!("127.0.0.1:{wport}"), "--log", &site_log])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut witness = Proc {
        child: witness,
        name: "witness".into(),
        stdout: None,
    };
    assert!(wait_until(Duration::from_secs(10), || { listening(wport) }));
    // A peer that trickles a byte every 4 s: never idle, yet closed within its
    // lifetime (30 s).
    let trickler = std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", wport)).unwrap();
        let start = std::time::Instant::now();
        c.write_all(b"POST /add-checkpoint HTTP/1.1\r\n").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let mut b = [0u8; 64];
        while start.elapsed() < Duration::from_secs(60) {
            if c.write_all(b"X").is_err() {
                return start.elapsed();
            }
            match c.read(&mut b) {
                Ok(_) => return start.elapsed(),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return start.elapsed(),
            }
        }
        start.elapsed()
    });
    // More idle connections than the witness keeps open.
    let idle: Vec<std::net::TcpStream> = (0..80)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", wport)).unwrap())
        .collect();
    // An honest request behind them is answered once the idle ones are closed.
    let mut honest = std::net::TcpStream::connect(("127.0.0.1", wport)).unwrap();
    honest
        .set_read_timeout(Some(Duration::from_secs(40)))
        .unwrap();
    honest
        .write_all(b"GET /checkpoint/0000 HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = honest.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 "), "no answer: {answer:?}");
    // The idle connections were closed by the witness (end of stream, or reset).
    for mut c in idle.into_iter().take(3) {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut b = [0u8; 16];
        match c.read(&mut b) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("an idle connection stayed open: {other:?}"),
        }
    }
    let held = trickler.join().unwrap();
    assert!(
        held < Duration::from_secs(45),
        "a trickling peer held its connection {held:?}"
    );
    // Told to stop while a peer is in the middle of a request, it stops.
    let mut midway = std::net::TcpStream::connect(("127.0.0.1", wport)).unwrap();
    midway
        .write_all(b"POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 100\r\n\r\nabc")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &witness.child.id().to_string()])
        .status();
    assert!(
        wait_until(Duration::from_secs(15), || !witness.is_running()),
        "the witness did not stop with a request in progress"
    );
}
