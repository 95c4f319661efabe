//! GB/T 28181 up to a superior platform, against SIPp (Debian's `sip-tester`) playing
//! the superior: registration challenged with digest and checked by SIPp's
//! `verifyauth`, keepalive, and the superior's Catalog, DeviceInfo, DeviceStatus and
//! RecordInfo queries answered from the index. SIPp's exit code is the verdict
//! (tests/sipp/superior.xml); Vidimus's own status (metrics) must agree.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

const LOCAL_ID: &str = "44030500002000000001";
const SUPERIOR_ID: &str = "44030000002000000001";
const REALM: &str = "4403000000";
/// The first camera's channel: the platform's code, type 132, serial 1.
const CHANNEL: &str = "44030500001320000001";

fn query(n: u32, cmd: &str, extra: &str, local_addr: &str) -> String {
    format!(
        r#"<send retrans="500">
    <![CDATA[
MESSAGE sip:{LOCAL_ID}@{local_addr} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{SUPERIOR_ID}@{REALM}>;tag=[pid]q{n}
To: <sip:{LOCAL_ID}@4403050000>
Call-ID: [call_id]
CSeq: {n} MESSAGE
Content-Type: Application/MANSCDP+xml
Max-Forwards: 70
Content-Length: [len]

<?xml version="1.0" encoding="GB2312"?>
<Query>
<CmdType>{cmd}</CmdType>
<SN>{n}</SN>
<DeviceID>{device}</DeviceID>
{extra}</Query>
]]>
  </send>
  <recv response="200"/>
"#,
        device = if cmd == "RecordInfo" {
            CHANNEL
        } else {
            LOCAL_ID
        },
    )
}

/// How the superior's live session goes.
#[derive(Clone, Copy, PartialEq)]
enum Session {
    /// ACK, 5 s of media, the superior's BYE.
    Watched,
    /// ACK, then the platform's BYE (the test revokes the grant), answered 200; then
    /// the same INVITE again, refused 403.
    Revoked,
}

/// Where the superior wants the media.
#[derive(Clone, Copy)]
enum Media {
    /// RTP over UDP to this port.
    Udp(u16),
    /// RTP over TCP, the superior listening on this port (`a=setup:passive`): Vidimus
    /// connects.
    TcpPassive(u16),
    /// RTP over TCP, the superior connecting (`a=setup:active`) to the port Vidimus
    /// answers.
    TcpActive,
}

/// A live INVITE for the channel (the `n`-th of the call), media as `media` says,
/// the session as `how` says.
fn invite(local_addr: &str, media: Media, how: Session, n: u32) -> String {
    let m = match media {
        Media::Udp(port) => format!("m=video {port} RTP/AVP 96 98 97\n"),
        Media::TcpPassive(port) => {
            format!("m=video {port} TCP/RTP/AVP 96 98 97\na=setup:passive\na=connection:new\n")
        }
        Media::TcpActive => {
            "m=video 9 TCP/RTP/AVP 96 98 97\na=setup:active\na=connection:new\n".to_owned()
        }
    };
    let sdp = format!(
        "v=0\no={SUPERIOR_ID} 0 0 IN IP4 127.0.0.1\ns=Play\nc=IN IP4 127.0.0.1\nt=0 0\n\
         {m}a=recvonly\na=rtpmap:96 PS/90000\n\
         a=rtpmap:98 H264/90000\na=rtpmap:97 MPEG4/90000\ny=0100000001\nf=\n"
    );
    let base = 20 + 10 * n;
    let head = |method: &str, cseq: u32| {
        format!(
            "{method} sip:{CHANNEL}@{local_addr} SIP/2.0\n\
             Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
             From: <sip:{SUPERIOR_ID}@{REALM}>;tag=[pid]inv{n}x[call_number]\n\
             To: <sip:{CHANNEL}@4403050000>{peer}\nCall-ID: [call_id]\nCSeq: {cseq} {method}\n\
             Max-Forwards: 70\n",
            peer = if method == "INVITE" {
                ""
            } else {
                "[peer_tag_param]"
            },
        )
    };
    format!(
        r#"<send retrans="500">
    <![CDATA[
{invite}Contact: <sip:{SUPERIOR_ID}@[local_ip]:[local_port]>
Subject: {CHANNEL}:0100000001,{SUPERIOR_ID}:0
Content-Type: application/sdp
Content-Length: [len]

{sdp}]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="y=0100000001" search_in="body" check_it="true" assign_to="y"/>
      <ereg regexp="a=sendonly" search_in="body" check_it="true" assign_to="dir"/>
      <ereg regexp="a=rtpmap:96 PS/90000" search_in="body" check_it="true" assign_to="ps"/>
    </action>
  </recv>
  <nop><action><log message="answer [$y] [$dir] [$ps]"/></action></nop>
  <send>
    <![CDATA[
{ack}Content-Length: 0

]]>
  </send>
{rest}"#,
        invite = head("INVITE", base),
        ack = head("ACK", base),
        rest = match how {
            Session::Watched => format!(
                r#"  <pause milliseconds="5000"/>
  <send retrans="500">
    <![CDATA[
{bye}Content-Length: 0

]]>
  </send>
  <recv response="200"/>
"#,
                bye = head("BYE", base + 1)
            ),
            Session::Revoked => format!(
                r#"  <recv request="BYE" timeout="60000"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]>
  </send>
  <send retrans="500">
    <![CDATA[
{again}Contact: <sip:{SUPERIOR_ID}@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{sdp}]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="403"/>
  <send>
    <![CDATA[
{ack}Content-Length: 0

]]>
  </send>
"#,
                again = head("INVITE", base + 2).replace("x[call_number]", "y[call_number]"),
                ack = head("ACK", base + 2).replace("x[call_number]", "y[call_number]"),
            ),
        },
    )
}

/// The scenario with this run's values.
fn scenario(
    dir: &std::path::Path,
    password: &str,
    local_addr: &str,
    invites: &[(Media, Session)],
    queries: bool,
) -> std::path::PathBuf {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/superior.xml"),
    )
    .unwrap();
    // The recordings of the last hour and the next, in the site's zone (Shanghai).
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let now = jiff::Timestamp::now();
    let local = |t: jiff::Timestamp| tz.to_datetime(t).strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let range = format!(
        "<StartTime>{}</StartTime>\n<EndTime>{}</EndTime>\n<Type>all</Type>\n",
        local(now - jiff::SignedDuration::from_hours(1)),
        local(now + jiff::SignedDuration::from_hours(1))
    );
    let queries = if !queries {
        String::new()
    } else {
        [
            query(101, "Catalog", "", local_addr),
            query(102, "DeviceInfo", "", local_addr),
            query(103, "DeviceStatus", "", local_addr),
            query(104, "RecordInfo", &range, local_addr),
        ]
        .concat()
    };
    let text = template
        .replace("{QUERIES}", &queries)
        .replace(
            "{INVITE}",
            &invites
                .iter()
                .enumerate()
                .map(|(n, (m, how))| invite(local_addr, *m, *how, n as u32))
                .collect::<String>(),
        )
        .replace("{LOCAL_ID}", LOCAL_ID)
        .replace("{SUPERIOR_ID}", SUPERIOR_ID)
        .replace("{REALM}", REALM)
        .replace("{CHANNEL}", CHANNEL)
        .replace("{CAMERA}", "gate")
        .replace("{PASSWORD}", password)
        .replace("{NONCE}", "5f3c0a9e");
    let path = dir.join("superior.xml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The `[gb28181]` tables sharing camera "gate" with the superior at `superior_port`.
fn gb_section(superior_port: u16, sip_port: u16, password: &str, user: Option<&str>) -> String {
    let user = user.map_or(String::new(), |u| format!("user = \"{u}\"\n"));
    format!(
        "[gb28181]\nid = \"{LOCAL_ID}\"\nsip_bind = \"127.0.0.1:{sip_port}\"\n\
         [[gb28181.superior]]\nname = \"district psb\"\nid = \"{SUPERIOR_ID}\"\n\
         address = \"127.0.0.1:{superior_port}\"\npassword = \"{password}\"\n\
         keepalive = \"30s\"\ncameras = [\"gate\"]\n{user}"
    )
}

fn add_to_config(site: &Site, text: &str) {
    let mut toml = std::fs::read_to_string(site.config()).unwrap();
    toml.push_str(text);
    std::fs::write(site.config(), toml).unwrap();
}

/// A site recording one camera, "gate".
fn site_with_camera() -> (Site, Proc) {
    let (cam, url) = simcam("none");
    let site = Site::new(
        &[("gate", &format!("{url}/gate"))],
        "segment_duration = \"4s\"",
    );
    (site, cam)
}

fn pw(user: &str) -> String {
    format!("{user}'s long password")
}

/// The district PSB, two of its officers, and their grant to watch "gate" live (Art.
/// 33 ¶1, 34: two officers with work IDs, both confirmed). Officer li's account is the
/// one the superior platform acts through. Returns the grant's id.
fn psb_grant(site: &Site) -> i64 {
    site.cli(&[
        "org",
        "add",
        "--name",
        "Nanshan PSB",
        "--kind",
        "public_security",
        "--region",
        "nanshan",
    ]);
    site.cli(&[
        "camera",
        "place",
        "gate",
        "--system",
        "mall-7",
        "--region",
        "nanshan",
        "--industry",
        "retail",
    ]);
    add_member(
        site,
        "li",
        &pw("li"),
        "operator",
        Some("Nanshan PSB"),
        Some("PSB-0001"),
    );
    add_member(
        site,
        "wang",
        &pw("wang"),
        "operator",
        Some("Nanshan PSB"),
        Some("PSB-0002"),
    );
    let li = Client::login(site.http, "li", &pw("li"));
    let wang = Client::login(site.http, "wang", &pw("wang"));
    add_user(site, "mgr", &pw("mgr"), "admin");
    let gate = Client::login(site.http, "mgr", &pw("mgr")).camera_id("gate");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let r = li.call(
        "POST",
        "/api/requests",
        Some(serde_json::json!({"kind": "law_enforcement", "purpose": "watching the mall entrance over GB/T 28181",
            "cameras": [gate], "from": format!("{:.3}", now - 3600.0), "to": format!("{:.3}", now),
            "actions": ["view_live"], "days": 3,
            "persons": [{"username": "li"}, {"username": "wang"}]})),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["request"]["id"].as_i64().unwrap();
    let c = wang.call(
        "POST",
        &format!("/api/requests/{id}/confirm"),
        Some(serde_json::json!({"password": pw("wang")})),
    );
    assert_eq!(
        c.json()["request"]["status"],
        "granted",
        "{}",
        String::from_utf8_lossy(&c.body)
    );
    li.call("GET", "/api/grants", None).json()[0]["id"]
        .as_i64()
        .unwrap()
}

/// Checks what arrived: more than 100 RTP packets, each of payload type 96 with the
/// SSRC asked for, whose payloads in order are a program stream `ffprobe -f mpeg`
/// reads as H.264 of at least 3 s and ffmpeg decodes without a complaint.
fn program_stream_decodes(packets: &[Vec<u8>], dir: &std::path::Path, name: &str) {
    assert!(packets.len() > 100, "{name}: {} RTP packets", packets.len());
    let mut parsed: Vec<_> = packets
        .iter()
        .map(|p| vidimus_ps::rtp::parse(p).expect("RTP"))
        .collect();
    assert!(
        parsed
            .iter()
            .all(|p| p.ssrc == 100_000_001 && p.payload_type == 96),
        "{name}: the SSRC asked for, payload type 96"
    );
    parsed.sort_by_key(|p| p.seq);
    let ps: Vec<u8> = parsed
        .iter()
        .flat_map(|p| p.payload.iter().copied())
        .collect();
    let file = dir.join(format!("{name}.mpg"));
    std::fs::write(&file, &ps).unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-f",
            "mpeg",
            "-count_frames",
            "-select_streams",
            "v:0",
        ])
        .args([
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&probe.stdout).into_owned();
    assert!(
        probe.status.success() && probe.stderr.is_empty(),
        "{name}: {text} {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let (codec, frames) = text.trim().split_once(',').unwrap();
    assert_eq!(codec, "h264", "{name}");
    let frames: u32 = frames.parse().unwrap();
    assert!(
        frames >= 75,
        "{name}: {frames} frames decoded from about 5 s at 25 fps"
    );
    let decode = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "mpeg", "-i"])
        .arg(&file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{name}: {}",
        String::from_utf8_lossy(&decode.stderr)
    );
}

/// RTP packets read from a TCP connection (RFC 4571 framing) until it closes or 3 s
/// pass without a byte.
fn read_rfc4571(mut s: std::net::TcpStream) -> Vec<Vec<u8>> {
    use std::io::Read;
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut reader = vidimus_ps::rtp::Rfc4571Reader::new();
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        packets.extend(reader.push(&buf[..n]));
    }
    packets
}

/// The port Vidimus answered an `a=setup:active` offer with (it listens there), from
/// SIPp's message trace in `dir`.
fn answered_tcp_port(dir: &std::path::Path) -> Option<u16> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        if !e.file_name().to_string_lossy().ends_with("_messages.log") {
            continue;
        }
        let log = std::fs::read_to_string(e.path()).unwrap_or_default();
        // Our answer names payload 96 alone (the offers list 96 98 97) and setup:passive.
        for (at, _) in log.match_indices("m=video ") {
            let rest = &log[at + 8..];
            let (port, after) = rest.split_once(' ')?;
            let para: String = after.chars().take(160).collect();
            if para.starts_with("TCP/RTP/AVP 96\r\n") && para.contains("a=setup:passive") {
                return port.parse().ok();
            }
        }
    }
    None
}

/// RTP packets arriving at `socket` until none came for 3 s (at most `limit`).
fn receive_rtp(socket: std::net::UdpSocket, limit: Duration) -> Vec<Vec<u8>> {
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65_536];
    let mut got_any = false;
    while started.elapsed() < limit {
        match socket.recv(&mut buf) {
            Ok(n) => {
                got_any = true;
                packets.push(buf[..n].to_vec());
            }
            Err(_) if got_any => break,
            Err(_) => {}
        }
    }
    packets
}

fn sipp(
    scenario: &std::path::Path,
    port: u16,
    calls: u32,
    dir: &std::path::Path,
) -> std::process::Child {
    Command::new("sipp")
        .args([
            "-sf",
            scenario.to_str().unwrap(),
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args([
            "-m",
            &calls.to_string(),
            "-nostdin",
            "-trace_err",
            "-trace_msg",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp (apt-get install sip-tester)")
}

/// Waits for SIPp's exit, at most `limit`; its code and what it logged.
fn verdict(
    mut sipp: std::process::Child,
    limit: Duration,
    dir: &std::path::Path,
) -> (Option<i32>, String) {
    let ok = wait_until(limit, || sipp.try_wait().unwrap().is_some());
    if !ok {
        let _ = sipp.kill();
    }
    let code = sipp.wait().unwrap().code();
    let mut logs = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with("_errors.log") || name.ends_with("_messages.log") {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: String = text
                .chars()
                .rev()
                .take(6000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            logs.push_str(&format!("--- {name}\n{tail}\n"));
        }
    }
    (if ok { code } else { None }, logs)
}

fn gauge(metrics: &str, name: &str) -> Option<u64> {
    metrics
        .lines()
        .find(|l| l.starts_with(&format!("{name}{{superior=\"district psb\"}}")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_superior_platform_registers_us_queries_and_watches_live() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    let mut rec = site.serve();
    let _grant = psb_grant(&site);
    // Something recorded for RecordInfo to find.
    assert!(
        wait_until(Duration::from_secs(30), || {
            site.recordings("gate")["segments"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        }),
        "nothing recorded; log:\n{}",
        site.log_text()
    );
    assert!(rec.terminate());
    add_to_config(
        &site,
        &gb_section(superior_port, sip_port, "Psb-2026", Some("li")),
    );
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let media_port = media.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || receive_rtp(media, Duration::from_secs(80)));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(
        dir.path(),
        "Psb-2026",
        &format!("127.0.0.1:{sip_port}"),
        &[(Media::Udp(media_port), Session::Watched)],
        true,
    );
    let sipp = sipp(&sc, superior_port, 6, dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let mut rec = site.serve();
    let (code, logs) = verdict(sipp, Duration::from_secs(90), dir.path());
    assert_eq!(
        code,
        Some(0),
        "SIPp's verdict (0: every call passed)\n{logs}\nvidimus log:\n{}",
        site.log_text()
    );
    let m = site.metrics();
    assert_eq!(gauge(&m, "vidimus_gb28181_registered"), Some(1), "{m}");
    assert_eq!(gauge(&m, "vidimus_gb28181_queries_total"), Some(4), "{m}");
    assert!(
        gauge(&m, "vidimus_gb28181_keepalives_answered_total").unwrap() >= 1,
        "{m}"
    );
    assert_eq!(gauge(&m, "vidimus_gb28181_refused_total"), Some(0), "{m}");

    // The media: RTP with the SSRC asked for, carrying a program stream ffmpeg reads.
    let packets = receiver.join().unwrap();
    program_stream_decodes(&packets, dir.path(), "udp");
    // Registered: the session under li's grant, where it went, and its end with its bytes.
    let reg: serde_json::Value =
        serde_json::from_slice(&site.vidimus(&["register", "--json"]).stdout).unwrap();
    let entries = reg.as_array().unwrap();
    let start = entries
        .iter()
        .find(|e| e["served"]["protocol"] == "GB/T 28181")
        .unwrap_or_else(|| panic!("no GB/T 28181 session in the register: {reg:#}"));
    assert_eq!(start["user"], "li");
    assert_eq!(start["served"]["ssrc"], "0100000001");
    assert_eq!(start["served"]["channel"], CHANNEL);
    assert_eq!(start["served"]["media"], format!("127.0.0.1:{media_port}"));
    let sent: u64 = packets.iter().map(|p| p.len() as u64).sum();
    assert!(
        wait_until(Duration::from_secs(5), || {
            let reg: serde_json::Value =
                serde_json::from_slice(&site.vidimus(&["register", "--json"]).stdout).unwrap();
            reg.as_array().unwrap().iter().any(|e| {
                e["kind"] == "access_end"
                    && e["served"]["protocol"] == "GB/T 28181"
                    && e["ended"] == "the superior ended it (BYE)"
                    && e["bytes"].as_u64() == Some(sent)
            })
        }),
        "the session's end, with the {sent} bytes sent: {:#}",
        serde_json::from_slice::<serde_json::Value>(&site.vidimus(&["register", "--json"]).stdout)
            .unwrap()
    );
    let log = site.log_text();
    assert!(!log.contains("Psb-2026"), "the password is never logged");
    assert!(rec.terminate(), "a clean stop");
}

#[test]
fn a_wrong_password_is_refused_and_said_so() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    add_to_config(
        &site,
        &gb_section(superior_port, sip_port, "not-the-password", None),
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(
        dir.path(),
        "Psb-2026",
        &format!("127.0.0.1:{sip_port}"),
        &[],
        false,
    );
    let sipp = sipp(&sc, superior_port, 1, dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let mut rec = site.serve();
    let (code, logs) = verdict(sipp, Duration::from_secs(30), dir.path());
    assert_eq!(code, Some(0), "SIPp challenged and refused\n{logs}");
    assert!(
        wait_until(Duration::from_secs(10), || {
            gauge(
                &site.metrics(),
                "vidimus_gb28181_registration_failures_total",
            )
            .is_some_and(|n| n >= 1)
        }),
        "{}",
        site.metrics()
    );
    let m = site.metrics();
    assert_eq!(gauge(&m, "vidimus_gb28181_registered"), Some(0), "{m}");
    assert!(
        site.log_text().contains("registration refused: 403"),
        "the log says why: {}",
        site.log_text()
    );
    assert!(rec.terminate());
}

/// The register as JSON.
fn register(site: &Site) -> serde_json::Value {
    serde_json::from_slice(&site.vidimus(&["register", "--json"]).stdout).unwrap()
}

#[test]
fn a_revoked_grant_ends_the_superiors_session_and_the_next_is_refused() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    let mut rec = site.serve();
    let grant = psb_grant(&site);
    assert!(rec.terminate());
    add_to_config(
        &site,
        &gb_section(superior_port, sip_port, "Psb-2026", Some("li")),
    );
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let media_port = media.local_addr().unwrap().port();
    let receiver = std::thread::spawn(move || receive_rtp(media, Duration::from_secs(80)));
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(
        dir.path(),
        "Psb-2026",
        &format!("127.0.0.1:{sip_port}"),
        &[(Media::Udp(media_port), Session::Revoked)],
        false,
    );
    let sipp = sipp(&sc, superior_port, 2, dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let mut rec = site.serve();
    // Once the session streams, the grant is revoked.
    assert!(
        wait_until(Duration::from_secs(40), || {
            register(&site)
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["served"]["protocol"] == "GB/T 28181")
        }),
        "no session began: {}",
        site.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
    site.cli(&["grant", "revoke", &grant.to_string(), "--by", "mgr"]);
    let (code, logs) = verdict(sipp, Duration::from_secs(60), dir.path());
    assert_eq!(
        code,
        Some(0),
        "SIPp: BYE from the platform, the next INVITE refused\n{logs}\nvidimus log:\n{}",
        site.log_text()
    );
    let packets = receiver.join().unwrap();
    let sent: u64 = packets.iter().map(|p| p.len() as u64).sum();
    assert!(sent > 0);
    let reg = register(&site);
    let entries = reg.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["kind"] == "access_end"
            && e["served"]["protocol"] == "GB/T 28181"
            && e["ended"] == "grant revoked"
            && e["bytes"].as_u64() == Some(sent)),
        "the end, by revocation, with the bytes sent: {reg:#}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["user"] == "li" && e["allowed"] == false && e["action"] == "view_live"),
        "the refused INVITE is registered: {reg:#}"
    );
    assert!(site.log_text().contains("INVITE answered 403"));
    assert!(rec.terminate());
}

#[test]
fn live_sessions_over_tcp_both_ways() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    let mut rec = site.serve();
    let _grant = psb_grant(&site);
    assert!(rec.terminate());
    add_to_config(
        &site,
        &gb_section(superior_port, sip_port, "Psb-2026", Some("li")),
    );
    // TCP passive: the superior listens; Vidimus connects.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let passive_port = listener.local_addr().unwrap().port();
    let passive = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        read_rfc4571(s)
    });
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(
        dir.path(),
        "Psb-2026",
        &format!("127.0.0.1:{sip_port}"),
        &[
            (Media::TcpPassive(passive_port), Session::Watched),
            (Media::TcpActive, Session::Watched),
        ],
        false,
    );
    let sipp = sipp(&sc, superior_port, 2, dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let mut rec = site.serve();
    // TCP active: the superior connects to the port Vidimus answered.
    let trace = dir.path().to_owned();
    let active = std::thread::spawn(move || {
        let mut port = None;
        assert!(
            wait_until(Duration::from_secs(60), || {
                port = answered_tcp_port(&trace);
                port.is_some()
            }),
            "no answer to the setup:active offer"
        );
        let s = std::net::TcpStream::connect(("127.0.0.1", port.unwrap())).unwrap();
        read_rfc4571(s)
    });
    let (code, logs) = verdict(sipp, Duration::from_secs(90), dir.path());
    assert_eq!(
        code,
        Some(0),
        "SIPp's verdict\n{logs}\nvidimus log:\n{}",
        site.log_text()
    );
    program_stream_decodes(&passive.join().unwrap(), dir.path(), "tcp-passive");
    program_stream_decodes(&active.join().unwrap(), dir.path(), "tcp-active");
    let reg = register(&site);
    let transports: Vec<&str> = reg
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "access_end" && e["served"]["protocol"] == "GB/T 28181")
        .filter_map(|e| e["served"]["transport"].as_str())
        .collect();
    assert_eq!(transports, ["TCP active", "TCP passive"], "{reg:#}");
    assert!(rec.terminate());
}
