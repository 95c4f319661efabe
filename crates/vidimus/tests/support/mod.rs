//! Shared helpers for the integration tests: they start the real `vidimus` binary,
//! real RTSP peers (our simcam, GStreamer's gst-rtsp-server) and use Debian's ffprobe
//! and ffmpeg to check what was recorded.
#![allow(dead_code)]

pub mod bundles;
pub mod websocket;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vidimus")
}

/// The console's directory (`web/`), once Chromium and the console's npm packages are
/// there (`./scripts/test.sh` installs both).
pub fn web_dir() -> PathBuf {
    let web = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("../../web");
    assert!(
        web.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "run ./scripts/test.sh: it installs Chromium and the console's npm packages"
    );
    web
}

/// Runs the console test `web/e2e/{script}` in Chromium against `site` (BASE_URL and
/// ARTIFACTS set, `env` besides); fails with its output unless it succeeds. Its stdout.
pub fn console_test(site: &Site, script: &str, env: &[(&str, &str)]) -> String {
    let web = web_dir();
    let out = Command::new("node")
        .arg(web.join("e2e").join(script))
        .current_dir(&web)
        .env("BASE_URL", format!("http://127.0.0.1:{}", site.http))
        .env("ARTIFACTS", web.join("e2e/artifacts"))
        .envs(env.iter().copied())
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `../shared` beside the project root.
pub fn shared() -> PathBuf {
    Path::new(
        &std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("../../../shared")
}

/// Whether something listens on 127.0.0.1:`port`. A free port is an ephemeral one,
/// so a connection attempt can be given it as its own local port and connect to
/// itself (TCP simultaneous open) while nothing listens: that is not a listener.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|s| s.local_addr().ok() != s.peer_addr().ok())
}

/// A port nothing listens on now, never handed out before in this test process: the
/// tests of a binary run side by side, and the kernel may offer a port it just gave
/// one of them (released, not yet bound by the server it was for) to another — two
/// servers on one port, and a signal meant for one reaching the other.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
    /// The rest of its standard output, if piped.
    pub stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// SIGKILL and reap.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    /// SIGTERM, then wait (up to 30 s) for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill9();
        false
    }
    /// SIGTERM, wait, and return the rest of its standard output.
    pub fn terminate_output(&mut self) -> String {
        use std::io::Read;
        self.terminate();
        let mut s = String::new();
        if let Some(mut r) = self.stdout.take() {
            let _ = r.read_to_string(&mut s);
        }
        s
    }
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.is_running() {
            self.kill9();
        }
    }
}

/// `vidimus witness keygen --name NAME --out PATH`: the witness's verifier key.
pub fn witness_keygen(name: &str, path: &Path) -> String {
    let out = Command::new(bin())
        .args(["witness", "keygen", "--name", name, "--out"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Starts `vidimus simcam` on a free port with a fault; returns it and its base URL.
pub fn simcam(fault: &str) -> (Proc, String) {
    simcam_on(&format!("127.0.0.1:{}", free_port()), fault)
}

pub fn simcam_on(bind: &str, fault: &str) -> (Proc, String) {
    let mut child = Command::new(bin())
        .args(["simcam", "--bind", bind, "--fault", fault])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn simcam");
    let mut line = String::new();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("rtsp://"), "simcam said {line:?}");
    (
        Proc {
            child,
            name: "simcam".into(),
            stdout: Some(r),
        },
        line.trim().trim_end_matches('/').to_owned(),
    )
}

/// Starts GStreamer's RTSP server on `port` serving a shared test clip.
pub fn gst_server(clip: &str, codec: &str, audio: bool, port: u16) -> (Proc, String) {
    let script = Path::new(
        &std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()),
    )
    .join("tests/support/gst_rtsp_server.py");
    let file = shared().join("testdata/clips").join(clip);
    assert!(file.exists(), "missing test clip {}", file.display());
    let mut args = vec![
        script.to_str().unwrap().to_owned(),
        file.to_str().unwrap().to_owned(),
    ];
    args.extend([
        "--port".into(),
        port.to_string(),
        "--codec".into(),
        codec.into(),
    ]);
    if audio {
        args.push("--audio".into());
    }
    let mut child = Command::new("/usr/bin/python3")
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn gst-rtsp-server (apt-get install python3-gi gir1.2-gst-rtsp-server-1.0)");
    let mut line = String::new();
    let mut r = BufReader::new(child.stdout.take().unwrap());
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("READY "), "gst server said {line:?}");
    (
        Proc {
            child,
            name: "gst".into(),
            stdout: Some(r),
        },
        line.trim().trim_start_matches("READY ").to_owned(),
    )
}

/// A test data directory with a config file.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub http: u16,
}

impl Site {
    /// `cameras`: (name, url). `recorder`: extra lines for the [recorder] table.
    pub fn new(cameras: &[(&str, &str)], recorder: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let http = free_port();
        let mut toml =
            format!("data_dir = \"data\"\nbind = \"127.0.0.1:{http}\"\n[recorder]\n{recorder}\n");
        // The signing key outside the data directory, as on a real site.
        toml.push_str("[integrity]\nkey_file = \"keys/log-key\"\n");
        for (name, url) in cameras {
            toml.push_str(&format!("[[camera]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
        }
        std::fs::write(dir.path().join("vidimus.toml"), toml).unwrap();
        Site { dir, http }
    }
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("vidimus.toml")
    }
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("recorder.log")
    }
    /// Starts `vidimus serve`, appending its log to `recorder.log`; waits for HTTP.
    pub fn serve(&self) -> Proc {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .unwrap();
        let child = Command::new(bin())
            .args(["serve", "--config", self.config().to_str().unwrap()])
            .env("RUST_LOG", "info,retina=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn vidimus serve");
        let mut p = Proc {
            child,
            name: "recorder".into(),
            stdout: None,
        };
        let ok = wait_until(Duration::from_secs(30), || {
            assert!(
                p.is_running(),
                "recorder exited early; log:\n{}",
                self.log_text()
            );
            listening(self.http)
        });
        assert!(ok, "recorder did not start serving");
        p
    }
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
    /// `vidimus recordings list --json`.
    pub fn recordings(&self, camera: &str) -> Value {
        let out = self.vidimus(&["recordings", "list", "--camera", camera, "--json"]);
        assert!(
            out.status.success(),
            "recordings list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
    /// The start (90 kHz) of a camera's first recorded segment.
    pub fn first_start_90k(&self, camera: &str) -> i64 {
        self.recordings(camera)["segments"][0]["start_90k"]
            .as_i64()
            .unwrap_or_else(|| panic!("no segment of {camera} yet"))
    }
    /// Runs `vidimus ARGS --data-dir DATA`.
    pub fn vidimus(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin())
            .args(args)
            .args(["--data-dir", self.data().to_str().unwrap()])
            .output()
            .unwrap()
    }
    /// Runs `vidimus ARGS --data-dir DATA` with `input` on standard input.
    pub fn vidimus_stdin(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new(bin())
            .args(args)
            .args(["--data-dir", self.data().to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        child.wait_with_output().unwrap()
    }
    /// `vidimus ARGS --data-dir …`, which must succeed.
    pub fn cli(&self, args: &[&str]) {
        let out = self.vidimus(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    /// `vidimus fsck --json`: (clean, report).
    pub fn fsck(&self) -> (bool, Value) {
        let out = self.vidimus(&["fsck", "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("fsck output: {e}: {}", String::from_utf8_lossy(&out.stdout))
        });
        (out.status.success(), v)
    }
    pub fn metrics(&self) -> String {
        http_get(self.http, "/metrics")
    }
    /// Runs one SQL statement on the index behind Vidimus's back (as a tamperer
    /// would), with `params` bound in order, through Python's sqlite3. The tamperer
    /// knows the index: it defines the functions the index's logging triggers call,
    /// so its change is logged as a `row` leaf like any other (see `sql_untracked`).
    pub fn sql(&self, statement: &str, params: &[&str]) {
        let st = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys,hashlib,time; c=sqlite3.connect(sys.argv[1]); \
                 c.create_function('vidimus_leaf_hash',1,lambda d: hashlib.sha256(b'\\x00'+(d.encode() if isinstance(d,str) else bytes(d))).digest()); \
                 c.create_function('vidimus_now_90k',0,lambda: int(time.time()*90000)); \
                 c.execute(sys.argv[2], sys.argv[3:]); c.commit()",
            ])
            .arg(self.data().join("index.db"))
            .arg(statement)
            .args(params)
            .status()
            .unwrap();
        assert!(st.success(), "{statement}");
    }
    /// Runs SQL on the index after dropping its logging triggers (a tamperer who
    /// wants the change kept out of the log).
    pub fn sql_untracked(&self, script: &str) {
        let st = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
                 [c.execute('DROP TRIGGER \"%s\"' % n) for (n,) in c.execute(\"SELECT name FROM sqlite_master WHERE type='trigger' AND name LIKE 'vidimus_log_%'\").fetchall()]; \
                 c.executescript(sys.argv[2]); c.commit()",
            ])
            .arg(self.data().join("index.db"))
            .arg(script)
            .status()
            .unwrap();
        assert!(st.success(), "{script}");
    }
    pub fn segment_path(&self, rel: &str) -> PathBuf {
        self.data().join("segments").join(rel)
    }
}

/// A minimal HTTP/1.1 GET (the tests need no HTTP client crate).
pub fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The value of a metric line `name{...camera="cam"...} V`.
pub fn metric(text: &str, name: &str, camera: &str) -> Option<u64> {
    text.lines()
        .find(|l| {
            l.starts_with(&format!("{name}{{")) && l.contains(&format!("camera=\"{camera}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    f()
}

/// ffprobe's view of a file: (video frames counted, codec, width, height).
pub fn ffprobe(path: &Path) -> (u64, String, u64, u64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_packets",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("ffprobe (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe rejected {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "ffprobe complained about {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    (
        s["nb_read_packets"].as_str().unwrap().parse().unwrap(),
        s["codec_name"].as_str().unwrap().to_owned(),
        s["width"].as_u64().unwrap(),
        s["height"].as_u64().unwrap(),
    )
}

/// Decodes every frame with ffmpeg; panics on any decoder error.
pub fn decodes_cleanly(path: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffmpeg could not decode {} cleanly: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every segment of a camera: checks ffprobe agrees with the index and returns them.
pub fn check_segments(site: &Site, camera: &str, decode: bool) -> Vec<Value> {
    let rec = site.recordings(camera);
    let segs = rec["segments"].as_array().unwrap().clone();
    for s in &segs {
        let p = site.segment_path(s["path"].as_str().unwrap());
        let (frames, _, w, h) = ffprobe(&p);
        assert_eq!(
            frames,
            s["frames"].as_u64().unwrap(),
            "{}: ffprobe frames vs index",
            p.display()
        );
        assert_eq!(
            (w, h),
            (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap())
        );
        if decode {
            decodes_cleanly(&p);
        }
    }
    segs
}

pub fn total_frames(segs: &[Value]) -> u64 {
    segs.iter().map(|s| s["frames"].as_u64().unwrap()).sum()
}

/// An HTTP response, as the tests see it.
pub struct HttpResp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The stable error code of a JSON error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

/// A minimal HTTP/1.1 client (the tests need no HTTP client crate).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResp {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP header end");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let nl = body[pos..].windows(2).position(|w| w == b"\r\n").unwrap() + pos;
            let n = usize::from_str_radix(std::str::from_utf8(&body[pos..nl]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&body[nl + 2..nl + 2 + n]);
            pos = nl + 2 + n + 2;
        }
        body = out;
    }
    HttpResp {
        status,
        headers,
        body,
    }
}

/// Adds a user to a site's data directory (password via standard input).
pub fn add_user(site: &Site, username: &str, password: &str, role: &str) {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args([
            "user",
            "add",
            "--username",
            username,
            "--role",
            role,
            "--data-dir",
            site.data().to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// Logs in; returns (cookie header value, CSRF token).
pub fn login(port: u16, username: &str, password: &str) -> (String, String) {
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let r = http(
        port,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "login: {}", String::from_utf8_lossy(&r.body));
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (cookie, r.json()["csrf_token"].as_str().unwrap().to_owned())
}

/// Gives `user` (of this site's own staff) a duty grant for every camera, approved by
/// an administrator `manager` created for it if missing: video is served only under a
/// grant.
pub fn duty(site: &Site, user: &str) {
    let users = String::from_utf8(site.vidimus(&["user", "list"]).stdout).unwrap();
    if !users.contains("manager") {
        add_user(site, "manager", "the manager's password", "admin");
    }
    let out = site.vidimus_stdin(
        &["grant", "duty", "--user", user, "--by", "manager"],
        "the manager's password\n",
    );
    assert!(
        out.status.success(),
        "grant duty: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A logged-in API client: its session cookie and CSRF token go with every call.
pub struct Client {
    pub port: u16,
    pub cookie: String,
    pub csrf: String,
}

impl Client {
    pub fn login(port: u16, user: &str, password: &str) -> Client {
        let (cookie, csrf) = login(port, user, password);
        Client { port, cookie, csrf }
    }
    /// The id of the camera named `name` (`GET /api/cameras`).
    pub fn camera_id(&self, name: &str) -> i64 {
        self.call("GET", "/api/cameras", None)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no camera {name}"))["id"]
            .as_i64()
            .unwrap()
    }
    /// `method path` with an optional JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> HttpResp {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        http(
            self.port,
            method,
            path,
            &[
                ("cookie", &self.cookie),
                ("x-csrf-token", &self.csrf),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        )
    }
}

/// Adds a user of organisation `org` (None: this site's system manager) with a work ID.
pub fn add_member(
    site: &Site,
    user: &str,
    password: &str,
    role: &str,
    org: Option<&str>,
    work_id: Option<&str>,
) {
    use std::io::Write;
    let mut cmd = Command::new(bin());
    cmd.args(["user", "add", "--username", user, "--role", role])
        .args(["--data-dir", site.data().to_str().unwrap()]);
    if let Some(o) = org {
        cmd.args(["--org", o]);
    }
    if let Some(w) = work_id {
        cmd.args(["--work-id", w]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    assert!(child.wait().unwrap().success());
}

/// The rule ids of a compliance report's findings, in order.
pub fn rule_ids(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("a compliance report")
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The first picture of a video or image file (MP4, JPEG) as 8-bit grey, scaled to
/// 1280x720, by Debian's ffmpeg.
pub fn first_frame_grey(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-frames:v",
            "1",
            "-vf",
            "scale=1280:720,format=gray",
            "-f",
            "rawvideo",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 1280 * 720);
    out.stdout
}
