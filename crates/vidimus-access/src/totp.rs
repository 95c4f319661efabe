//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP, HMAC-SHA-1, 30 s steps,
//! 6 digits): the optional second factor at login. Any authenticator app reads the
//! `otpauth://` URL. Pure: the caller passes the time.

use hmac::{Hmac, Mac};

/// Seconds per step.
pub const STEP: u64 = 30;

/// A new random 20-byte secret.
pub fn new_secret() -> Result<[u8; 20], getrandom::Error> {
    let mut s = [0u8; 20];
    getrandom::fill(&mut s)?;
    Ok(s)
}

/// HOTP (RFC 4226) of `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 10u32.pow(digits)
}

/// The 6-digit code at `unix_secs`.
pub fn code(secret: &[u8], unix_secs: u64) -> u32 {
    hotp(secret, unix_secs / STEP, 6)
}

/// Whether `given` is the code now, one step before or one step after (clock skew).
pub fn verify(secret: &[u8], given: &str, unix_secs: u64) -> bool {
    let given = given.trim();
    if given.len() != 6 || !given.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = given.parse::<u32>() else {
        return false;
    };
    let t = unix_secs / STEP;
    [t.saturating_sub(1), t, t + 1]
        .iter()
        .any(|c| hotp(secret, *c, 6) == n)
}

/// RFC 4648 base32 without padding (what authenticator apps expect).
pub fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URL an authenticator app scans.
pub fn otpauth_url(issuer: &str, user: &str, secret: &[u8]) -> String {
    let esc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP}",
        esc(issuer),
        esc(user),
        base32(secret),
        esc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_and_4226_test_vectors() {
        let secret = b"12345678901234567890";
        // RFC 4226 Appendix D.
        assert_eq!(hotp(secret, 0, 6), 755224);
        assert_eq!(hotp(secret, 9, 6), 520489);
        // RFC 6238 Appendix B (SHA-1, 8 digits).
        for (t, want) in [
            (59u64, 94287082u32),
            (1111111109, 7081804),
            (2000000000, 69279037),
        ] {
            assert_eq!(hotp(secret, t / STEP, 8), want, "T={t}");
        }
    }

    #[test]
    fn verification_allows_one_step_of_skew_only() {
        let s = b"another secret bytes";
        let now = 1_800_000_000;
        let c = format!("{:06}", code(s, now));
        assert!(verify(s, &c, now));
        assert!(verify(s, &c, now + STEP));
        assert!(verify(s, &c, now - STEP));
        assert!(!verify(s, &c, now + 3 * STEP));
        assert!(!verify(s, "12345", now));
        assert!(!verify(s, "abcdef", now));
    }

    #[test]
    fn base32_and_url() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let u = otpauth_url("Vidimus site", "li", b"12345678901234567890");
        assert!(
            u.starts_with(
                "otpauth://totp/Vidimus%20site:li?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
            ),
            "{u}"
        );
    }
}
