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

/// The scenario with this run's values.
fn scenario(dir: &std::path::Path, password: &str, local_addr: &str) -> std::path::PathBuf {
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
    let queries = [
        query(101, "Catalog", "", local_addr),
        query(102, "DeviceInfo", "", local_addr),
        query(103, "DeviceStatus", "", local_addr),
        query(104, "RecordInfo", &range, local_addr),
    ]
    .concat();
    let text = template
        .replace("{QUERIES}", &queries)
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

/// A site recording one camera, shared with the superior at `superior_port`.
fn site_with_superior(superior_port: u16, sip_port: u16, password: &str) -> (Site, Proc) {
    let (cam, url) = simcam("none");
    let site = Site::new(
        &[("gate", &format!("{url}/gate"))],
        "segment_duration = \"4s\"",
    );
    let mut toml = std::fs::read_to_string(site.config()).unwrap();
    toml.push_str(&format!(
        "[gb28181]\nid = \"{LOCAL_ID}\"\nsip_bind = \"127.0.0.1:{sip_port}\"\n\
         [[gb28181.superior]]\nname = \"district psb\"\nid = \"{SUPERIOR_ID}\"\n\
         address = \"127.0.0.1:{superior_port}\"\npassword = \"{password}\"\n\
         keepalive = \"30s\"\ncameras = [\"gate\"]\n"
    ));
    std::fs::write(site.config(), toml).unwrap();
    (site, cam)
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
fn a_superior_platform_registers_us_and_its_queries_are_answered() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_superior(superior_port, sip_port, "Psb-2026");
    let mut rec = site.serve();
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
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "Psb-2026", &format!("127.0.0.1:{sip_port}"));
    // Meanwhile Vidimus has been sending REGISTERs to nobody (retransmitted over UDP,
    // or again after a back-off): SIPp, started late, gets one of them.
    let sipp = sipp(&sc, superior_port, 6, dir.path());
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
    let log = site.log_text();
    assert!(!log.contains("Psb-2026"), "the password is never logged");
    assert!(rec.terminate(), "a clean stop");
}

#[test]
fn a_wrong_password_is_refused_and_said_so() {
    let superior_port = free_port();
    let sip_port = free_port();
    let (site, _cam) = site_with_superior(superior_port, sip_port, "not-the-password");
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path(), "Psb-2026", &format!("127.0.0.1:{sip_port}"));
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
