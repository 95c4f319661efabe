//! The optional TOTP second factor: once turned on for a user (`vidimus user totp`),
//! logging in needs the current 6-digit code as well as the password; a wrong code is
//! a failed login; turning it off restores password-only login.

mod support;

use support::*;

fn base32_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buf, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes() {
        buf = (buf << 5) | A.iter().position(|x| *x == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            out.push((buf >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    out
}

fn attempt(port: u16, body: serde_json::Value) -> HttpResp {
    http(
        port,
        "POST",
        "/api/login",
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

#[test]
fn a_second_factor_is_asked_for_and_checked() {
    let site = Site::new(&[], "");
    add_user(&site, "li", "li's long password", "operator");
    let out = site.vidimus(&["user", "totp", "--username", "li"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("otpauth://totp/Vidimus:li?secret="),
        "{text}"
    );
    let secret = base32_decode(
        text.lines()
            .nth(1)
            .unwrap()
            .strip_prefix("secret: ")
            .unwrap(),
    );
    assert_eq!(secret.len(), 20);
    let mut rec = site.serve();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let pw = "li's long password";
    let r = attempt(
        site.http,
        serde_json::json!({"username": "li", "password": pw}),
    );
    assert_eq!((r.status, r.code().as_str()), (401, "totp_required"));
    let wrong = format!(
        "{:06}",
        (vidimus_access::totp::code(&secret, now()) + 1) % 1_000_000
    );
    let r = attempt(
        site.http,
        serde_json::json!({"username": "li", "password": pw, "totp": wrong}),
    );
    assert_eq!((r.status, r.code().as_str()), (401, "bad_credentials"));
    let right = format!("{:06}", vidimus_access::totp::code(&secret, now()));
    let r = attempt(
        site.http,
        serde_json::json!({"username": "li", "password": pw, "totp": right}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // A right code does not rescue a wrong password.
    let r = attempt(
        site.http,
        serde_json::json!({"username": "li", "password": "guess", "totp": right}),
    );
    assert_eq!(r.status, 401);
    assert!(
        site.vidimus(&["user", "totp", "--username", "li", "--disable"])
            .status
            .success()
    );
    let r = attempt(
        site.http,
        serde_json::json!({"username": "li", "password": pw}),
    );
    assert_eq!(r.status, 200);
    assert!(rec.terminate());
    assert!(!site.log_text().contains(&right), "codes are never logged");
}
