//! The RTSP re-stream against third-party clients: ffprobe and ffmpeg (TCP and UDP)
//! and GStreamer's `rtspsrc` play a camera live and by time under the user's grant,
//! authenticated by digest with the grant's password; each session is registered
//! with its bytes; a wrong password is refused and registered; a revoked grant ends
//! the session at once and the next is refused.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// A site recording "gate", serving the re-stream on a free port; "op" holds a duty
/// grant. Returns the site, the camera, the server, the re-stream's port and op's
/// RTSP credentials (name, password) with the grant's id.
fn site() -> (Site, Proc, Proc, u16, (String, String), i64) {
    let (cam, url) = simcam("none");
    let site = Site::new(
        &[("gate", &format!("{url}/gate"))],
        "segment_duration = \"4s\"",
    );
    let port = free_port();
    let mut toml = std::fs::read_to_string(site.config()).unwrap();
    toml.push_str(&format!("[rtsp]\nbind = \"127.0.0.1:{port}\"\n"));
    std::fs::write(site.config(), toml).unwrap();
    add_user(&site, "op", "op's long password", "operator");
    duty(&site, "op");
    let rec = site.serve();
    let op = Client::login(site.http, "op", "op's long password");
    let grant = op.call("GET", "/api/grants", None).json()[0]["id"]
        .as_i64()
        .unwrap();
    let access = op.call("GET", &format!("/api/grants/{grant}/rtsp"), None);
    assert_eq!(
        access.status,
        200,
        "{}",
        String::from_utf8_lossy(&access.body)
    );
    let a = access.json();
    assert_eq!(a["username"], "op");
    assert_eq!(a["realm"], "Vidimus");
    let gate = op.camera_id("gate");
    assert_eq!(
        a["live"][0],
        format!("rtsp://127.0.0.1:{port}/cameras/{gate}/live"),
        "{a:#}"
    );
    let password = a["password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 32);
    // Nobody else's grant: 404.
    add_user(&site, "other", "other's long password", "operator");
    let other = Client::login(site.http, "other", "other's long password");
    assert_eq!(
        other
            .call("GET", &format!("/api/grants/{grant}/rtsp"), None)
            .status,
        404
    );
    (site, rec, cam, port, ("op".into(), password), grant)
}

/// A hand-written RTSP client, one request at a time.
struct RawClient(std::net::TcpStream);

impl RawClient {
    fn connect(port: u16) -> RawClient {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        RawClient(s)
    }

    /// Sends `text` and returns the response's head and body.
    fn request(&mut self, text: &str) -> String {
        use std::io::{Read, Write};
        self.0.write_all(text.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut b = [0u8; 4096];
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&got[..end]).into_owned();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if got.len() >= end + 4 + len {
                    return String::from_utf8_lossy(&got[..end + 4 + len]).into_owned();
                }
            }
            let n = self.0.read(&mut b).unwrap_or(0);
            if n == 0 {
                return String::from_utf8_lossy(&got).into_owned();
            }
            got.extend_from_slice(&b[..n]);
        }
    }
}

fn url(port: u16, user: &str, password: &str, path: &str) -> String {
    format!("rtsp://{user}:{password}@127.0.0.1:{port}{path}")
}

fn register(site: &Site) -> Vec<serde_json::Value> {
    let out = site.vidimus(&["register", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// ffmpeg copies `seconds` of `url` over `transport` into `file`.
fn ffmpeg_copy(url: &str, transport: &str, seconds: Option<u32>, file: &std::path::Path) {
    let mut c = Command::new("ffmpeg");
    c.args([
        "-nostdin",
        "-v",
        "error",
        "-rtsp_transport",
        transport,
        "-i",
        url,
    ]);
    if let Some(s) = seconds {
        c.args(["-t", &s.to_string()]);
    }
    let out = c
        .args(["-c", "copy", "-y"])
        .arg(file)
        .output()
        .expect("ffmpeg (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg over {transport}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn gst_play(url: &str, user: &str, password: &str, protocols: &str) -> (bool, String) {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gst_rtsp_play.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .args([
            url,
            "--user",
            user,
            "--password",
            password,
            "--protocols",
            protocols,
        ])
        .args(["--seconds", "5"])
        .output()
        .expect("python3 with GStreamer (python3-gi)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn ffmpeg_and_gstreamer_play_live_and_by_time_under_the_grant() {
    let (site, mut rec, _cam, port, (user, password), _grant) = site();
    let dir = tempfile::tempdir().unwrap();
    let gate = 1;
    let live = url(port, &user, &password, &format!("/cameras/{gate}/live"));

    // ffprobe reads the description and the stream.
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", "tcp", "-show_entries"])
        .args(["stream=codec_name,width,height", "-of", "json", &live])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(probe["streams"][0]["codec_name"], "h264", "{probe:#}");
    assert_eq!(probe["streams"][0]["width"], 1280);

    // ffmpeg copies 3 s live, interleaved and over UDP: whole frames that decode.
    for transport in ["tcp", "udp"] {
        let file = dir.path().join(format!("live-{transport}.mp4"));
        ffmpeg_copy(&live, transport, Some(3), &file);
        let (frames, codec, w, h) = ffprobe(&file);
        assert_eq!((codec.as_str(), w, h), ("h264", 1280, 720));
        assert!(frames >= 50, "{transport}: {frames} frames in 3 s");
        decodes_cleanly(&file);
    }

    // GStreamer's rtspsrc, with the user and password given apart.
    let (ok, said) = gst_play(
        &format!("rtsp://127.0.0.1:{port}/cameras/{gate}/live"),
        &user,
        &password,
        "tcp",
    );
    assert!(ok, "GStreamer live: {said}");

    // By time: 4 s from a second into the first segment, the offset's `+` as %2B.
    let start_ms = site.first_start_90k("gate") / 90 + 1000;
    let t = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
            .replace('+', "%2B")
    };
    let recorded = url(
        port,
        &user,
        &password,
        &format!(
            "/cameras/{gate}/recorded?start={}&end={}",
            t(start_ms),
            t(start_ms + 4000)
        ),
    );
    let file = dir.path().join("recorded.mp4");
    let began = Instant::now();
    ffmpeg_copy(&recorded, "tcp", None, &file);
    let took = began.elapsed();
    let (frames, codec, _, _) = ffprobe(&file);
    assert_eq!(codec, "h264");
    // From the key frame before the start (a decoder needs it, as in an export) to the
    // end: 4 s at 25 fps and at most a GOP more.
    assert!(
        (100..=160).contains(&frames),
        "{frames} frames of a 4 s range"
    );
    assert!(
        took >= Duration::from_secs(2),
        "played in real time, not dumped: {took:?}"
    );
    decodes_cleanly(&file);
    // The copy ffmpeg kept carries its trace mark: the register entry's export_id.
    let bytes = std::fs::read(&file).unwrap();
    let marked = register(&site).iter().any(|e| {
        e["served"]["session"] == "recorded"
            && e["export_id"]
                .as_str()
                .is_some_and(|id| bytes.windows(id.len()).any(|w| w == id.as_bytes()))
    });
    assert!(
        marked,
        "the recorded copy names its register entry's export_id"
    );
    let (ok, said) = gst_play(
        &format!(
            "rtsp://127.0.0.1:{port}/cameras/{gate}/recorded?start={}",
            t(start_ms)
        ),
        &user,
        &password,
        "tcp",
    );
    assert!(ok, "GStreamer by time: {said}");

    // Every session registered, under op's grant, with its end and bytes.
    let reg = register(&site);
    let served: Vec<_> = reg
        .iter()
        .filter(|e| e["served"]["protocol"] == "RTSP" && e["kind"] != "access_end")
        .collect();
    assert!(
        served.len() >= 6,
        "ffprobe, 2 ffmpeg, GStreamer live; ffmpeg and GStreamer recorded: {reg:#?}"
    );
    assert!(served.iter().all(|e| e["user"] == "op"));
    assert!(served.iter().any(|e| e["served"]["session"] == "recorded"
        && e["served"]["transport"] == "RTP/AVP/TCP interleaved"));
    assert!(served.iter().any(|e| {
        e["served"]["transport"]
            .as_str()
            .is_some_and(|t| t.starts_with("RTP/AVP UDP"))
    }));
    assert!(
        wait_until(Duration::from_secs(5), || register(&site).iter().any(|e| {
            e["kind"] == "access_end"
                && e["served"]["session"] == "recorded"
                && e["ended"] == "completed"
                && e["bytes"].as_u64().is_some_and(|b| b > 10_000)
        })),
        "the recorded session's end, completed, with its bytes: {:#?}",
        register(&site)
    );
    let log = site.log_text();
    assert!(
        !log.contains(&password),
        "the grant's password is never logged"
    );
    assert!(rec.terminate(), "a clean stop");
}

#[test]
fn wrong_passwords_are_refused_and_registered_and_revocation_ends_the_session() {
    let (site, mut rec, _cam, port, (user, password), grant) = site();
    let live_path = "/cameras/1/live";

    // A wrong password: refused (401), and registered with who claimed it, from where.
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", "tcp"])
        .arg(url(
            port,
            &user,
            "0123456789abcdef0123456789abcdef",
            live_path,
        ))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401"), "{err}");
    let reg = register(&site);
    let refused = reg
        .iter()
        .find(|e| e["protocol"] == "RTSP" && e["outcome"] == "refused")
        .unwrap_or_else(|| panic!("no refused RTSP attempt in the register: {reg:#?}"));
    assert_eq!(refused["claimed_user"], "op");
    assert_eq!(refused["allowed"], false);
    let m = site.metrics();
    let value = |name: &str| {
        m.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse::<u64>().ok())
    };
    assert_eq!(value("vidimus_rtsp_wrong_answers_total"), Some(1), "{m}");
    assert_eq!(value("vidimus_rtsp_sessions"), Some(0), "{m}");
    assert_eq!(refused["peer"], "127.0.0.1");
    // Without credentials: challenged, nothing played.
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", "tcp"])
        .arg(format!("rtsp://127.0.0.1:{port}{live_path}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    // Hostile bytes: an answer and a closed connection, the server unharmed.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"\x16\x03\x01\x02\x00garbage\r\n\r\n").unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(
            got.starts_with(b"RTSP/1.0 400"),
            "{}",
            String::from_utf8_lossy(&got)
        );
    }

    // An answer overheard is good for nothing: another connection refuses it, and on
    // its own connection it is spent once taken.
    {
        use vidimus_access::digest::{Authorization, Challenge};
        let uri = format!("rtsp://127.0.0.1:{port}{live_path}");
        let mut a = RawClient::connect(port);
        let challenged = a.request(&format!("DESCRIBE {uri} RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
        assert!(challenged.starts_with("RTSP/1.0 401"), "{challenged}");
        let header = challenged
            .lines()
            .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
            .unwrap();
        let c = Challenge::parse(header).unwrap();
        let answer =
            Authorization::answer(&c, &user, &password, "DESCRIBE", &uri, "", 1).to_header();
        let describe = |n: u32| {
            format!("DESCRIBE {uri} RTSP/1.0\r\nCSeq: {n}\r\nAuthorization: {answer}\r\n\r\n")
        };
        let mut b = RawClient::connect(port);
        let elsewhere = b.request(&describe(1));
        assert!(
            elsewhere.starts_with("RTSP/1.0 401"),
            "replayed on another connection: {elsewhere}"
        );
        let ok = a.request(&describe(2));
        assert!(ok.starts_with("RTSP/1.0 200"), "{ok}");
        let again = a.request(&describe(3));
        assert!(
            again.starts_with("RTSP/1.0 401"),
            "the same answer twice: {again}"
        );
        // For another URL, even with the nonce it was given: refused.
        let mut c2 = RawClient::connect(port);
        let ch = c2.request(&format!("DESCRIBE {uri} RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
        let ch = Challenge::parse(
            ch.lines()
                .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
                .unwrap(),
        )
        .unwrap();
        let other = format!("rtsp://127.0.0.1:{port}/cameras/1/recorded?start=20261204T020000Z");
        let answer =
            Authorization::answer(&ch, &user, &password, "DESCRIBE", &uri, "", 1).to_header();
        let r = c2.request(&format!(
            "DESCRIBE {other} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {answer}\r\n\r\n"
        ));
        assert!(
            r.starts_with("RTSP/1.0 401"),
            "an answer for another URL: {r}"
        );
    }

    // A session described and set up before the revocation, played after: refused.
    let uri = format!("rtsp://127.0.0.1:{port}{live_path}");
    let mut held = RawClient::connect(port);
    {
        use vidimus_access::digest::{Authorization, Challenge};
        let r = held.request(&format!("DESCRIBE {uri} RTSP/1.0\r\nCSeq: 1\r\n\r\n"));
        let c = Challenge::parse(
            r.lines()
                .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
                .unwrap(),
        )
        .unwrap();
        let answer =
            Authorization::answer(&c, &user, &password, "DESCRIBE", &uri, "", 1).to_header();
        let r = held.request(&format!(
            "DESCRIBE {uri} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {answer}\r\n\r\n"
        ));
        assert!(r.starts_with("RTSP/1.0 200"), "{r}");
        let r = held.request(&format!(
            "SETUP {uri}/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
        ));
        assert!(r.starts_with("RTSP/1.0 200"), "{r}");
    }

    // A live session; the grant revoked while it plays ends it within a second or so.
    let file = tempfile::tempdir().unwrap();
    let out_file = file.path().join("revoked.mp4");
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i"])
        .arg(url(port, &user, &password, live_path))
        .args(["-t", "60", "-c", "copy", "-y"])
        .arg(&out_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || register(&site).iter().any(
            |e| e["served"]["protocol"] == "RTSP" && e["kind"] != "access_end"
        )),
        "the session registered"
    );
    std::thread::sleep(Duration::from_secs(2));
    site.cli(&["grant", "revoke", &grant.to_string(), "--by", "manager"]);
    let revoked = Instant::now();
    assert!(
        wait_until(Duration::from_secs(10), || ffmpeg
            .try_wait()
            .unwrap()
            .is_some()),
        "ffmpeg still receives after the revocation"
    );
    let _ = ffmpeg.kill();
    assert!(
        revoked.elapsed() < Duration::from_secs(5),
        "the session ended {:?} after the revocation",
        revoked.elapsed()
    );
    let reg = register(&site);
    assert!(
        reg.iter().any(|e| e["kind"] == "access_end"
            && e["served"]["protocol"] == "RTSP"
            && e["ended"].as_str().is_some_and(|w| w.contains("revoked"))),
        "the end registered as the revocation's: {reg:#?}"
    );
    let r = held.request(&format!("PLAY {uri} RTSP/1.0\r\nCSeq: 4\r\n\r\n"));
    assert!(
        r.starts_with("RTSP/1.0 403"),
        "played under a grant revoked since DESCRIBE: {r}"
    );
    // And the next attempt with the dead grant's password is refused.
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-rtsp_transport", "tcp"])
        .arg(url(port, &user, &password, live_path))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a revoked grant's password opens nothing"
    );
    assert!(rec.terminate(), "a clean stop");
}
