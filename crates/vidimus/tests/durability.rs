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

#[test]
fn the_access_entry_is_on_disk_before_the_video_is_sent() {
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
        std::net::TcpStream::connect(("127.0.0.1", site.http)).is_ok()
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
