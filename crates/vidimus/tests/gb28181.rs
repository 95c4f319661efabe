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

/// The start of a SIPp request for the channel in the superior's session `session`:
/// request line, Via, From with its tag, To (with the platform's tag after the
/// INVITE), Call-ID, CSeq and Max-Forwards.
fn request_head(method: &str, cseq: u32, local_addr: &str, session: &str) -> String {
    let peer = if method == "INVITE" {
        ""
    } else {
        "[peer_tag_param]"
    };
    format!(
        "{method} sip:{CHANNEL}@{local_addr} SIP/2.0\n\
         Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n\
         From: <sip:{SUPERIOR_ID}@{REALM}>;tag=[pid]{session}x[call_number]\n\
         To: <sip:{CHANNEL}@4403050000>{peer}\nCall-ID: [call_id]\nCSeq: {cseq} {method}\n\
         Max-Forwards: 70\n"
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

/// An INVITE for a recording of the channel (`Playback` or `Download`) between two
/// Unix times, media over UDP to `port`, as the `n`-th INVITE of the call. A playback
/// plays 2 s, pauses 2 s, goes on at Scale 2 and is ended by BYE 6 s later; a
/// download (four times as fast) 5 s after its ACK.
fn recorded_invite(local_addr: &str, port: u16, kind: &str, range: (u64, u64), n: u32) -> String {
    let (start, end) = range;
    let ssrc = if kind == "Playback" {
        "1000000001"
    } else {
        "1000000002"
    };
    let speed = if kind == "Download" {
        "a=downloadspeed:4\n"
    } else {
        ""
    };
    let sdp = format!(
        "v=0\no={SUPERIOR_ID} 0 0 IN IP4 127.0.0.1\ns={kind}\nu={CHANNEL}:0\nc=IN IP4 127.0.0.1\n\
         t={start} {end}\nm=video {port} RTP/AVP 96\na=recvonly\na=rtpmap:96 PS/90000\n{speed}y={ssrc}\nf=\n"
    );
    let base = 20 + 10 * n;
    let head = |method: &str, cseq: u32| request_head(method, cseq, local_addr, &format!("rec{n}"));
    let info = |cseq: u32, body: &str| {
        format!(
            r#"  <send retrans="500">
    <![CDATA[
{}Content-Type: Application/MANSRTSP
Content-Length: [len]

{body}]]>
  </send>
  <recv response="200"/>
"#,
            head("INFO", cseq)
        )
    };
    let during = if kind == "Playback" {
        format!(
            "  <pause milliseconds=\"2000\"/>\n{}  <pause milliseconds=\"2000\"/>\n{}  <pause milliseconds=\"6000\"/>\n",
            info(base + 1, "PAUSE MANSRTSP/1.0\nCSeq: 1\nPauseTime: now\n"),
            info(
                base + 2,
                "PLAY MANSRTSP/1.0\nCSeq: 2\nScale: 2.0\nRange: npt=now-\n"
            ),
        )
    } else {
        "  <pause milliseconds=\"5000\"/>\n".to_owned()
    };
    format!(
        r#"<send retrans="500">
    <![CDATA[
{invite}Contact: <sip:{SUPERIOR_ID}@[local_ip]:[local_port]>
Subject: {CHANNEL}:{ssrc},{SUPERIOR_ID}:0
Content-Type: application/sdp
Content-Length: [len]

{sdp}]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="y={ssrc}" search_in="body" check_it="true" assign_to="y{n}"/>
      <ereg regexp="s={kind}" search_in="body" check_it="true" assign_to="s{n}"/>
    </action>
  </recv>
  <nop><action><log message="answer [$y{n}] [$s{n}]"/></action></nop>
  <send>
    <![CDATA[
{ack}Content-Length: 0

]]>
  </send>
{during}  <send retrans="500">
    <![CDATA[
{bye}Content-Length: 0

]]>
  </send>
  <recv response="200"/>
"#,
        invite = head("INVITE", base),
        ack = head("ACK", base),
        bye = head("BYE", base + 5),
    )
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
    let head = |method: &str, cseq: u32| request_head(method, cseq, local_addr, &format!("inv{n}"));
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
    let live: String = invites
        .iter()
        .enumerate()
        .map(|(n, (m, how))| invite(local_addr, *m, *how, n as u32))
        .collect();
    scenario_with(dir, password, local_addr, &live, queries)
}

/// The scenario with `sessions` (INVITE blocks) after the queries.
fn scenario_with(
    dir: &std::path::Path,
    password: &str,
    local_addr: &str,
    sessions: &str,
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
        .replace("{INVITE}", sessions)
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
    psb_grant_for(site, &["view_live"])
}

/// The same, for `actions`.
fn psb_grant_for(site: &Site, actions: &[&str]) -> i64 {
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
            "cameras": [gate], "from": format!("{:.3}", now - 3600.0), "to": format!("{:.3}", now + 600.0),
            "actions": actions, "days": 3,
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
    receive_rtp_timed(socket, limit)
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// The same, with when each arrived.
fn receive_rtp_timed(
    socket: std::net::UdpSocket,
    limit: Duration,
) -> Vec<(std::time::Instant, Vec<u8>)> {
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
                packets.push((std::time::Instant::now(), buf[..n].to_vec()));
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
    // The link's status and log, for the system manager's administrators only.
    let mgr = Client::login(site.http, "mgr", &pw("mgr"));
    let links = mgr.call("GET", "/api/gb28181/links", None).json();
    assert_eq!(links[0]["state"], "registered", "{links:#}");
    assert_eq!(links[0]["queries"], 4);
    let log: Vec<&str> = links[0]["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["what"].as_str())
        .collect();
    assert!(
        log.iter().any(|l| l.contains("answered Catalog")),
        "{log:?}"
    );
    let li = Client::login(site.http, "li", &pw("li"));
    assert_eq!(li.call("GET", "/api/gb28181/links", None).status, 403);

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
    let receiver = std::thread::spawn(move || receive_rtp_timed(media, Duration::from_secs(80)));
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
    let revoked = std::time::Instant::now();
    let (code, logs) = verdict(sipp, Duration::from_secs(60), dir.path());
    assert_eq!(
        code,
        Some(0),
        "SIPp: BYE from the platform, the next INVITE refused\n{logs}\nvidimus log:\n{}",
        site.log_text()
    );
    let timed = receiver.join().unwrap();
    // Nothing arrives later than a second and a half after the revocation returned
    // (the watcher ends hand-outs within a second).
    let last = timed.last().expect("media before the revocation").0;
    assert!(
        last < revoked + Duration::from_millis(1500),
        "media went on {:?} after the revocation",
        last.saturating_duration_since(revoked)
    );
    let packets: Vec<Vec<u8>> = timed.into_iter().map(|(_, p)| p).collect();
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

#[test]
fn a_superior_plays_back_with_pause_and_scale_and_downloads() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    let mut rec = site.serve();
    let _grant = psb_grant_for(&site, &["view_recorded", "reproduce"]);
    // 12 s recorded; the range played is 8 s of it.
    std::thread::sleep(Duration::from_secs(13));
    let first = site.first_start_90k("gate");
    assert!(rec.terminate());
    let start = (first / 90_000 + 2) as u64;
    let range = (start, start + 8);
    add_to_config(
        &site,
        &gb_section(superior_port, sip_port, "Psb-2026", Some("li")),
    );
    let play_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let down_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (play_port, down_port) = (
        play_socket.local_addr().unwrap().port(),
        down_socket.local_addr().unwrap().port(),
    );
    let play = std::thread::spawn(move || receive_rtp_timed(play_socket, Duration::from_secs(90)));
    let down = std::thread::spawn(move || receive_rtp(down_socket, Duration::from_secs(90)));
    let dir = tempfile::tempdir().unwrap();
    let local = format!("127.0.0.1:{sip_port}");
    let sessions = [
        recorded_invite(&local, play_port, "Playback", range, 0),
        recorded_invite(&local, down_port, "Download", range, 1),
    ]
    .concat();
    let sc = scenario_with(dir.path(), "Psb-2026", &local, &sessions, false);
    // REGISTER, the keepalive's call, and a MediaStatus 121 for each recording.
    let sipp = sipp(&sc, superior_port, 4, dir.path());
    std::thread::sleep(Duration::from_millis(300));
    let mut rec = site.serve();
    let (code, logs) = verdict(sipp, Duration::from_secs(90), dir.path());
    assert_eq!(
        code,
        Some(0),
        "SIPp's verdict\n{logs}\nvidimus log:\n{}",
        site.log_text()
    );
    let played = play.join().unwrap();
    let packets: Vec<Vec<u8>> = played.iter().map(|(_, p)| p.clone()).collect();
    let ssrc_of = |p: &[u8]| vidimus_ps::rtp::parse(p).unwrap().ssrc;
    assert!(packets.iter().all(|p| ssrc_of(p) == 1_000_000_001));
    let downloaded = down.join().unwrap();
    assert!(downloaded.iter().all(|p| ssrc_of(p) == 1_000_000_002));
    // Both decode, and hold the 8 s: 200 frames at 25 fps, and those from the key
    // frame before the range's start (a range starts where it can be decoded).
    for (name, p) in [("playback", &packets), ("download", &downloaded)] {
        let ps: Vec<u8> = {
            let mut v: Vec<_> = p
                .iter()
                .map(|p| vidimus_ps::rtp::parse(p).unwrap())
                .collect();
            v.sort_by_key(|p| p.seq);
            v.iter().flat_map(|p| p.payload.to_vec()).collect()
        };
        let file = dir.path().join(format!("{name}.mpg"));
        std::fs::write(&file, ps).unwrap();
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-f",
                "mpeg",
                "-count_frames",
                "-select_streams",
                "v:0",
            ])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(&file)
            .output()
            .unwrap();
        let frames: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(
            (195..=275).contains(&frames),
            "{name}: {frames} frames of 8 s"
        );
    }
    // PAUSE held the stream at least 1.5 s; after PLAY at Scale 2 media time ran about
    // twice as fast as the clock.
    let times: Vec<(std::time::Instant, u32)> = played
        .iter()
        .map(|(t, p)| (*t, vidimus_ps::rtp::parse(p).unwrap().timestamp))
        .collect();
    let (gap_at, gap) = times
        .windows(2)
        .map(|w| (w[1], w[1].0 - w[0].0))
        .max_by_key(|(_, g)| *g)
        .unwrap();
    assert!(
        gap >= Duration::from_millis(1500),
        "the longest pause was {gap:?}"
    );
    let last = times.last().unwrap();
    let media = f64::from(last.1.wrapping_sub(gap_at.1)) / 90_000.0;
    let wall = (last.0 - gap_at.0).as_secs_f64();
    let rate = media / wall;
    assert!(
        (1.6..=2.6).contains(&rate),
        "after Scale 2: {media:.1} s of media in {wall:.1} s"
    );
    // Registered: the playback as a viewing, the download as a reproduction for the
    // superior, each ended completed with the bytes sent.
    let reg = register(&site);
    let entries = reg.as_array().unwrap();
    let started = |session: &str| {
        entries
            .iter()
            .find(|e| e["kind"] != "access_end" && e["served"]["session"] == session)
            .unwrap_or_else(|| panic!("no {session} in the register: {reg:#}"))
    };
    assert_eq!(started("Playback")["action"], "view_recorded");
    let d = started("Download");
    assert_eq!(d["action"], "reproduce");
    assert_eq!(d["whereabouts"]["recipient"], "district psb", "{d:#}");
    for (session, p) in [("Playback", &packets), ("Download", &downloaded)] {
        let bytes: u64 = p.iter().map(|p| p.len() as u64).sum();
        assert!(
            entries.iter().any(|e| e["kind"] == "access_end"
                && e["served"]["session"] == session
                && e["ended"] == "completed"
                && e["bytes"].as_u64() == Some(bytes)),
            "{session} ended completed with {bytes} bytes: {reg:#}"
        );
    }
    assert!(rec.terminate());
}

/// The superior's side, by hand: a UDP socket at the superior's address.
struct Superior {
    socket: std::net::UdpSocket,
    platform: String,
}

impl Superior {
    fn send(&self, text: &str) {
        let text = text.replace('\n', "\r\n");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let msg = format!("{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        self.socket.send_to(msg.as_bytes(), &self.platform).unwrap();
    }

    /// The next response to `cseq_method` (the platform's own requests are skipped).
    fn response(&self, cseq_method: &str) -> Option<vidimus_gb28181::sip::Response> {
        let mut buf = vec![0u8; 65_536];
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < until {
            let Ok(n) = self.socket.recv(&mut buf) else {
                continue;
            };
            if let Ok(vidimus_gb28181::sip::Message::Response(r)) =
                vidimus_gb28181::sip::Message::parse_datagram(&buf[..n])
                && r.cseq().is_ok_and(|c| c.method.as_str() == cseq_method)
            {
                return Some(r);
            }
        }
        None
    }
}

fn raw_invite(call: &str, branch: &str, media: &str) -> String {
    let sdp = format!(
        "v=0\no={SUPERIOR_ID} 0 0 IN IP4 127.0.0.1\ns=Play\n{media}t=0 0\na=recvonly\na=rtpmap:96 PS/90000\ny=0100000009\n"
    );
    format!(
        "INVITE sip:{CHANNEL}@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch={branch}\n\
         From: <sip:{SUPERIOR_ID}@{REALM}>;tag=sup1\nTo: <sip:{CHANNEL}@4403050000>\n\
         Call-ID: {call}\nCSeq: 1 INVITE\nContact: <sip:{SUPERIOR_ID}@127.0.0.1>\n\
         Content-Type: application/sdp\n\n{sdp}"
    )
}

fn in_dialog(method: &str, call: &str, branch: &str, to_tag: &str, cseq: u32) -> String {
    format!(
        "{method} sip:{CHANNEL}@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1;branch={branch}\n\
         From: <sip:{SUPERIOR_ID}@{REALM}>;tag=sup1\nTo: <sip:{CHANNEL}@4403050000>;tag={to_tag}\n\
         Call-ID: {call}\nCSeq: {cseq} {method}\n\n"
    )
}

#[test]
fn forged_and_misdirected_sessions_get_no_video() {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let superior_port = socket.local_addr().unwrap().port();
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    let mut rec = site.serve();
    let _grant = psb_grant(&site);
    assert!(rec.terminate());
    add_to_config(
        &site,
        &gb_section(superior_port, sip_port, "Psb-2026", Some("li")),
    );
    let mut rec = site.serve();
    let sup = Superior {
        socket,
        platform: format!("127.0.0.1:{sip_port}"),
    };
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    media
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let media_port = media.local_addr().unwrap().port();
    let arrives = |within: Duration| {
        let until = std::time::Instant::now() + within;
        let mut buf = [0u8; 2048];
        while std::time::Instant::now() < until {
            if media.recv(&mut buf).is_ok() {
                return true;
            }
        }
        false
    };
    // Media aimed at another host than the superior's: refused before anything else.
    sup.send(&raw_invite(
        "c1",
        "z9hG4bK1",
        &format!("c=IN IP4 127.0.0.2\nm=video {media_port} RTP/AVP 96\n"),
    ));
    let r = sup.response("INVITE").expect("an answer");
    assert_eq!(r.status, 488, "{r:?}");
    // An INVITE as the superior sends it: answered with a tag no one can guess.
    sup.send(&raw_invite(
        "c2",
        "z9hG4bK2",
        &format!("c=IN IP4 127.0.0.1\nm=video {media_port} RTP/AVP 96\n"),
    ));
    let ok = sup.response("INVITE").expect("an answer");
    assert_eq!(ok.status, 200, "{ok:?}");
    let to = vidimus_gb28181::sip::NameAddr::parse(ok.headers.get("To").unwrap()).unwrap();
    let tag = to.tag().unwrap().to_owned();
    assert!(tag.len() >= 16, "a random tag: {tag}");
    // An ACK without it (forged: it never saw the 200) starts nothing.
    sup.send(&in_dialog("ACK", "c2", "z9hG4bK3", "v1x0", 1));
    assert!(!arrives(Duration::from_secs(2)), "media after a forged ACK");
    // A BYE without it is no dialog's.
    sup.send(&in_dialog("BYE", "c2", "z9hG4bK4", "guess", 2));
    assert_eq!(sup.response("BYE").unwrap().status, 481);
    // The real ACK starts the media.
    sup.send(&in_dialog("ACK", "c2", "z9hG4bK5", &tag, 1));
    assert!(arrives(Duration::from_secs(5)), "no media after the ACK");
    sup.send(&in_dialog("BYE", "c2", "z9hG4bK6", &tag, 2));
    assert_eq!(sup.response("BYE").unwrap().status, 200);
    // Registered: the one session, its media where the superior is.
    let reg = register(&site);
    let sessions: Vec<_> = reg
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] != "access_end" && e["served"]["protocol"] == "GB/T 28181")
        .collect();
    assert_eq!(sessions.len(), 1, "{reg:#}");
    assert_eq!(
        sessions[0]["served"]["media"],
        format!("127.0.0.1:{media_port}")
    );
    assert!(site.log_text().contains("media goes only to the superior"));
    assert!(rec.terminate());
}

/// A device (SIPp) registering with this platform: REGISTER, challenged (401), again
/// with SIPp's own digest answer for `password`, then `after` (200 for the right
/// password, 403 for a wrong one); with the right one, a keepalive answered 200.
fn device_scenario(
    dir: &std::path::Path,
    platform: &str,
    password: &str,
    ok: bool,
) -> std::path::PathBuf {
    let register = |cseq: u32, auth: &str| {
        format!(
            r#"  <send retrans="500">
    <![CDATA[
REGISTER sip:{LOCAL_ID}@{platform} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{DEVICE}@4403050000>;tag=[pid]d
To: <sip:{DEVICE}@4403050000>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:{DEVICE}@[local_ip]:[local_port]>
{auth}Max-Forwards: 70
Expires: 3600
Content-Length: 0

]]>
  </send>
"#
        )
    };
    let keepalive = if ok {
        format!(
            r#"  <recv response="200">
    <action>
      <ereg regexp="Date: ([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9:.]+)" search_in="msg" check_it="true" assign_to="whole,date"/>
      <log message="the platform's Date: [$date] [$whole]"/>
    </action>
  </recv>
  <send retrans="500">
    <![CDATA[
MESSAGE sip:{LOCAL_ID}@{platform} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{DEVICE}@4403050000>;tag=[pid]k
To: <sip:{LOCAL_ID}@4403050000>
Call-ID: [call_id]
CSeq: 3 MESSAGE
Content-Type: Application/MANSCDP+xml
Max-Forwards: 70
Content-Length: [len]

<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Keepalive</CmdType>
<SN>1</SN>
<DeviceID>{DEVICE}</DeviceID>
<Status>OK</Status>
</Notify>
]]>
  </send>
  <recv response="200"/>
"#
        )
    } else {
        "  <recv response=\"403\"/>\n".to_owned()
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<scenario name=\"device\">\n{}  <recv response=\"401\" auth=\"true\"/>\n{}{}</scenario>\n",
        register(1, ""),
        register(
            2,
            &format!("[authentication username={DEVICE} password={password}]\n")
        ),
        keepalive
    );
    let path = dir.join(if ok { "device.xml" } else { "device-wrong.xml" });
    std::fs::write(&path, xml).unwrap();
    path
}

/// The device's code: the platform's domain, type 132 (a camera), serial 9.
const DEVICE: &str = "44030500001320000009";

#[test]
fn a_device_registers_with_digest_and_keeps_alive() {
    let sip_port = free_port();
    let (site, _cam) = site_with_camera();
    add_to_config(
        &site,
        &format!(
            "[gb28181]\nid = \"{LOCAL_ID}\"\nsip_bind = \"127.0.0.1:{sip_port}\"\n\
             [[gb28181.device]]\nname = \"lobby nvr\"\nid = \"{DEVICE}\"\npassword = \"nvr-secret-1\"\n"
        ),
    );
    let mut rec = site.serve();
    let dir = tempfile::tempdir().unwrap();
    let platform = format!("127.0.0.1:{sip_port}");
    for (password, ok) in [("a wrong one", false), ("nvr-secret-1", true)] {
        let sc = device_scenario(dir.path(), &platform, password, ok);
        let sipp = Command::new("sipp")
            .arg(&platform)
            .args(["-sf", sc.to_str().unwrap(), "-i", "127.0.0.1", "-p"])
            .arg(free_port().to_string())
            .args([
                "-m",
                "1",
                "-nostdin",
                "-trace_err",
                "-trace_msg",
                "-trace_logs",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sipp (apt-get install sip-tester)");
        let (code, logs) = verdict(sipp, Duration::from_secs(30), dir.path());
        assert_eq!(
            code,
            Some(0),
            "SIPp's verdict for the {} password\n{logs}\nvidimus log:\n{}",
            if ok { "right" } else { "wrong" },
            site.log_text()
        );
    }
    let m = site.metrics();
    let device = |name: &str| {
        m.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("vidimus_gb28181_{name}{{device=\"lobby nvr\"}} "))
            })
            .and_then(|v| v.parse::<u64>().ok())
    };
    assert_eq!(device("device_online"), Some(1), "{m}");
    assert_eq!(device("device_registrations_total"), Some(1), "{m}");
    assert_eq!(device("device_keepalives_total"), Some(1), "{m}");
    assert_eq!(
        device("device_refused_total"),
        Some(1),
        "the wrong password: {m}"
    );
    add_user(&site, "mgr", &pw("mgr"), "admin");
    let mgr = Client::login(site.http, "mgr", &pw("mgr"));
    let d = mgr.call("GET", "/api/gb28181/devices", None).json();
    assert_eq!(d[0]["online"], true, "{d:#}");
    assert!(
        d[0]["contact"]
            .as_str()
            .unwrap()
            .starts_with(&format!("sip:{DEVICE}@127.0.0.1:"))
    );
    assert!(
        d[0]["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["what"].as_str().unwrap().contains("wrong password")),
        "{d:#}"
    );
    let log = site.log_text();
    assert!(
        !log.contains("nvr-secret-1"),
        "the device's password is never logged"
    );
    assert!(rec.terminate(), "a clean stop");
}
