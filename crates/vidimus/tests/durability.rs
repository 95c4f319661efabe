//! The register entry is durable before the first byte is served (issue 11 A4): under
//! `strace`, the server's commit of the access entry — an `fsync`/`fdatasync` of the
//! index's write-ahead log (`index.db-wal`) — completes after the video request is read
//! and before the first byte of the response is written to that socket. (With SQLite's
//! `synchronous=NORMAL` a commit does not sync the WAL, and a power cut could lose the
//! entry of video already handed out.)

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

/// The two tests run one at a time: both time a recorder's start-up closely, and the
/// stop-signal test has twice (in CI) signalled a recorder that was not yet ready
/// while the other ran beside it.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_access_entry_is_on_disk_before_the_video_is_sent() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    if Command::new("strace").arg("-V").output().is_err() {
        panic!("strace is missing: run ./scripts/test.sh, which installs it");
    }
    let (mut cam, url) = simcam("none");
    let site = Site::new(
        &[("yard", &format!("{url}/yard"))],
        "sync_interval = \"1s\"\nsegment_duration = \"2s\"",
    );
    add_user(&site, "ada", "ada's long password", "operator");
    duty(&site, "ada");
    let trace = site.dir.path().join("trace.txt");
    let log = std::fs::File::create(site.log()).unwrap();
    let child = Command::new("strace")
        .args(["-f", "-y", "-qq", "-s", "8192", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=read,recvfrom,write,writev,pwrite64,sendto,sendmsg,fsync,fdatasync",
        ])
        .arg(bin())
        .args(["serve", "--config", site.config().to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut rec = Proc {
        child,
        name: "strace".into(),
        stdout: None,
    };
    assert!(wait_until(Duration::from_secs(30), || {
        listening(site.http)
    }));
    assert!(wait_until(Duration::from_secs(30), || site
        .recordings("yard")["segments"]
        .as_array()
        .is_some_and(|s| s.len() >= 2)));
    let c = Client::login(site.http, "ada", "ada's long password");
    let id = c.camera_id("yard");
    let start = site.first_start_90k("yard") / 90_000 + 1;
    let probe = "durability-probe-7f3a";
    let r = c.call(
        "GET",
        &format!(
            "/api/cameras/{id}/export.mp4?from={start}&to={}&recipient={probe}",
            start + 1
        ),
        None,
    );
    assert_eq!(r.status, 200);
    // Stop the traced recorder (strace exits with it).
    let pids = Command::new("pgrep")
        .args(["-P", &rec.pid().to_string()])
        .output()
        .unwrap();
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
    assert!(
        wait_until(Duration::from_secs(30), || !rec.is_running()),
        "the traced recorder did not stop"
    );
    cam.terminate();

    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The request as read, and its socket (`read(12<TCP:[...]>, "GET /api/...`).
    let (at, fd) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            (l.contains(probe) && (l.contains("read(") || l.contains("recvfrom("))).then(|| {
                let open = l.find('(').unwrap();
                let fd = l[open + 1..].split('<').next().unwrap().to_owned();
                (i, fd)
            })
        })
        .expect("the request is in the trace");
    // The first write of the response to that socket.
    let is_write = |l: &str| {
        ["write(", "writev(", "sendto(", "sendmsg("]
            .iter()
            .any(|w| l.contains(&format!("{w}{fd}<")))
    };
    let reply = (at..lines.len())
        .find(|&i| is_write(lines[i]))
        .expect("the response is in the trace");
    assert!(
        lines[reply].contains("HTTP/1.1 200"),
        "first write: {}",
        lines[reply]
    );
    // The access entry as written: the WAL frame holding it (it names the probe as
    // the copy's recipient), and the thread that wrote it.
    let pid = |l: &str| l.split_whitespace().next().unwrap_or("").to_owned();
    let (written, writer) = (at..reply)
        .find(|&i| {
            let l = lines[i];
            l.contains("pwrite64(") && l.contains("index.db-wal>") && l.contains(probe)
        })
        .map(|i| (i, pid(lines[i])))
        .unwrap_or_else(|| {
            panic!("the access entry is not written to the WAL before the first byte")
        });
    // Then, by that thread, before the first byte: a completed sync of the WAL.
    let mut pending = false;
    let mut synced = false;
    for l in &lines[written..reply] {
        if pid(l) != writer {
            continue;
        }
        let sync = l.contains("fsync(") || l.contains("fdatasync(");
        if sync && l.contains("index.db-wal>") {
            if l.contains("<unfinished") {
                pending = true;
            } else if l.ends_with("= 0") {
                synced = true;
            }
        } else if pending && l.contains("resumed>") && l.contains("sync") && l.ends_with("= 0") {
            synced = true;
        }
    }
    assert!(
        synced,
        "the thread that wrote the access entry (line {written}) did not sync the WAL before the first byte (line {reply})"
    );
}

/// Sends `signal` to `child` and waits for it to exit; its status.
fn signal_and_wait(child: &mut std::process::Child, signal: &str) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("did not stop within 30 s of {signal}");
}

/// A stop signal that comes the moment a long-running command can be seen from
/// outside (its port accepts, its address is printed) is a graceful stop, not the
/// default action's kill: the handlers are in place before the door opens. (They
/// were once installed after the server's set-up, and a SIGTERM in that window
/// killed the recorder without its last checkpoint.)
#[test]
fn a_stop_signal_right_after_start_is_a_graceful_stop() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    use std::io::{BufRead, BufReader};
    for signal in ["-TERM", "-INT"] {
        // The recorder: signalled as soon as its port accepts.
        let site = Site::new(&[], "");
        let log = std::fs::File::create(site.log()).unwrap();
        let mut rec = Command::new(bin())
            .args(["serve", "--config", site.config().to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !listening(site.http) {
            assert!(
                std::time::Instant::now() < deadline,
                "recorder did not start"
            );
            assert!(rec.try_wait().unwrap().is_none(), "{}", site.log_text());
            std::thread::sleep(Duration::from_millis(1));
        }
        // Who listens on the port when the signal goes (for a failure's message).
        let listener = Command::new("ss")
            .args(["-ltnpH", &format!("sport = :{}", site.http)])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let st = signal_and_wait(&mut rec, signal);
        assert!(
            st.success(),
            "recorder {signal} (pid {}): {st:?}\nlistening on {} then: {listener}\n{}",
            rec.id(),
            site.http,
            site.log_text()
        );
        assert!(
            site.log_text().contains("shutting down"),
            "{}",
            site.log_text()
        );

        let out = site.vidimus(&["witness", "site-key"]);
        assert!(out.status.success());
        let site_log = String::from_utf8(out.stdout).unwrap().trim().to_owned();

        // simcam: signalled as soon as it prints its address.
        let mut cam = Command::new(bin())
            .args(["simcam", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        // Read on (not dropped), so what it prints as it stops has somewhere to go.
        let mut out = BufReader::new(cam.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(first.starts_with("rtsp://"), "{first}");
        let st = signal_and_wait(&mut cam, signal);
        assert!(st.success(), "simcam {signal}: {st:?}");
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert!(rest.contains("simcam: sessions=0"), "{rest}");

        // The witness: signalled as soon as it says where it serves.
        let wdir = tempfile::tempdir().unwrap();
        let key = wdir.path().join("w.key");
        witness_keygen("w.example", &key);
        let mut w = Command::new(bin())
            .args(["witness", "serve", "--key"])
            .arg(&key)
            .arg("--state")
            .arg(wdir.path().join("state.json"))
            .args(["--bind", "127.0.0.1:0", "--log", &site_log])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(w.stderr.take().unwrap());
        let mut first = String::new();
        err.read_line(&mut first).unwrap();
        assert!(first.contains("witness serving on"), "{first}");
        let st = signal_and_wait(&mut w, signal);
        assert!(st.success(), "witness {signal}: {st:?}");
        drop(err);
    }
}
