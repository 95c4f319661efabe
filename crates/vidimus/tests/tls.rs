//! Transport is encrypted (issue 11 G; Art. 24(4)): HTTPS with a self-signed
//! certificate made at first start, its fingerprint printed and shown in the console
//! (`/api/status`) and equal to what a TLS client sees; `Secure` cookies and HSTS;
//! plain HTTP refused on the HTTPS port; off loopback HTTPS is the default, plain HTTP
//! only when configured explicitly.

mod support;

use std::process::Command;
use support::*;

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The SHA-256 fingerprint of the certificate the server presents, by openssl.
fn presented_fingerprint(port: u16) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{port} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn https_with_a_self_signed_certificate_whose_fingerprint_is_shown() {
    let site = Site::new(&[], "");
    add_user(&site, "ada", "ada's long password", "operator");
    let mut config = std::fs::read_to_string(site.config()).unwrap();
    config.push_str("[tls]\nself_signed = true\n");
    std::fs::write(site.config(), &config).unwrap();
    let mut rec = site.serve();
    let p = site.http;
    let log = site.log_text();
    let printed = log
        .lines()
        .skip_while(|l| !l.contains("SHA-256 fingerprint"))
        .nth(1)
        .unwrap_or_else(|| panic!("no fingerprint printed:\n{log}"))
        .trim()
        .to_owned();
    assert_eq!(printed.len(), 95, "{printed}");
    assert_eq!(presented_fingerprint(p), printed);
    let (ok, body) = curl(&[&format!("https://127.0.0.1:{p}/healthz")]);
    assert!(ok && body.starts_with("ok"), "{body}");
    // Plain HTTP to the HTTPS port gets no answer.
    let (ok, _) = curl(&[&format!("http://127.0.0.1:{p}/healthz")]);
    assert!(!ok);
    // The session cookie is Secure; every response has HSTS.
    let (ok, head) = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-H",
        "content-type: application/json",
        "--data",
        r#"{"username":"ada","password":"ada's long password"}"#,
        &format!("https://127.0.0.1:{p}/api/login"),
    ]);
    assert!(ok, "{head}");
    let head = head.to_lowercase();
    let cookie_line = head
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("{head}"));
    assert!(cookie_line.contains("; secure"), "{cookie_line}");
    assert!(
        head.contains("strict-transport-security: max-age="),
        "{head}"
    );
    let cookie = cookie_line
        .trim_start_matches("set-cookie:")
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // The console shows the fingerprint (from /api/status).
    let (ok, status) = curl(&[
        "-H",
        &format!("cookie: {cookie}"),
        &format!("https://127.0.0.1:{p}/api/status"),
    ]);
    assert!(ok);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["tls_fingerprint"], printed.as_str());
    assert_eq!(status["tls_self_signed"], true);
    // Restarted, it keeps its certificate (the fingerprint users checked).
    assert!(rec.terminate());
    let mut rec = site.serve();
    assert_eq!(presented_fingerprint(p), printed);
    assert!(rec.terminate());

    // Off loopback, HTTPS is the default; plain HTTP only when configured.
    let off = config
        .replace("[tls]\nself_signed = true\n", "")
        .replace("bind = \"127.0.0.1:", "bind = \"0.0.0.0:");
    std::fs::write(site.config(), &off).unwrap();
    let mut rec = site.serve();
    let (ok, body) = curl(&[&format!("https://127.0.0.1:{p}/healthz")]);
    assert!(ok && body.starts_with("ok"), "{body}");
    assert!(rec.terminate());
    std::fs::write(site.config(), format!("{off}[tls]\nplain_http = true\n")).unwrap();
    let mut rec = site.serve();
    assert!(http_get(p, "/healthz").contains("ok"));
    assert!(rec.terminate());
}
