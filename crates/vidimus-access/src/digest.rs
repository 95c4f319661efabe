//! Digest access authentication as SIP (GB/T 28181 registration, RFC 3261 §22.4) and
//! RTSP (RFC 2326 §D) use it: RFC 2617 with RFC 7616's MD5 and SHA-256, with and
//! without `qop=auth`.
//!
//! Sans-IO: a [`Challenge`] is parsed from or written to a `WWW-Authenticate` header,
//! an [`Authorization`] answers it ([`Authorization::answer`]) or is checked by the
//! server ([`Authorization::verify`]), and [`NonceMint`] makes nonces the server can
//! check later without keeping them: a time and an HMAC of it, so a forged or old
//! nonce is told apart from a fresh one. Replays of one answer within a nonce's life
//! are the caller's to refuse (the `nc` count or the request's own sequence number).

use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// The hash of a digest exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn parse(s: &str) -> Result<Self, DigestError> {
        if s.eq_ignore_ascii_case("MD5") {
            Ok(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Ok(Algorithm::Sha256)
        } else {
            Err(DigestError::Unsupported(format!("algorithm {s}")))
        }
    }

    fn hash(self, s: &str) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(s.as_bytes())),
            Algorithm::Sha256 => hex::encode(<Sha256 as sha2::Digest>::digest(s.as_bytes())),
        }
    }
}

/// What is wrong with a digest header.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("not a Digest header")]
    NotDigest,
    #[error("malformed digest parameters: {0}")]
    Malformed(String),
    #[error("digest parameter {0} missing")]
    Missing(&'static str),
    #[error("unsupported digest {0}")]
    Unsupported(String),
}

/// A server's challenge (`WWW-Authenticate` or `Proxy-Authenticate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The server offers `qop="auth"`.
    pub qop_auth: bool,
    /// The nonce was stale: the client may answer again at once with the same password.
    pub stale: bool,
}

impl Challenge {
    pub fn new(realm: &str, nonce: String) -> Self {
        Challenge {
            realm: realm.to_owned(),
            nonce,
            opaque: None,
            algorithm: Algorithm::Md5,
            qop_auth: false,
            stale: false,
        }
    }

    /// Reads `Digest realm="…", nonce="…", …`.
    pub fn parse(header: &str) -> Result<Self, DigestError> {
        let params = params(header)?;
        let get = |k: &str| param(&params, k);
        let algorithm = algorithm(&params)?;
        let qop_auth = match get("qop") {
            None => false,
            Some(q) => {
                if q.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")) {
                    true
                } else {
                    return Err(DigestError::Unsupported(format!("qop {q}")));
                }
            }
        };
        Ok(Challenge {
            realm: get("realm").ok_or(DigestError::Missing("realm"))?,
            nonce: get("nonce").ok_or(DigestError::Missing("nonce"))?,
            opaque: get("opaque"),
            algorithm,
            qop_auth,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The header's value.
    pub fn to_header(&self) -> String {
        let mut s = format!(
            "Digest realm={}, nonce={}, algorithm={}",
            quote(&self.realm),
            quote(&self.nonce),
            self.algorithm.as_str()
        );
        if self.qop_auth {
            s.push_str(", qop=\"auth\"");
        }
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(o)));
        }
        if self.stale {
            s.push_str(", stale=TRUE");
        }
        s
    }
}

/// A client's answer (`Authorization` or `Proxy-Authorization`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    pub opaque: Option<String>,
    /// `Some((cnonce, nc))` when the answer uses `qop=auth`.
    pub qop_auth: Option<(String, String)>,
}

impl Authorization {
    /// Answers `challenge` for a request of `method` to `uri`. `cnonce` is the client's
    /// own random string, `nc` how many times it has answered this nonce (from 1).
    pub fn answer(
        challenge: &Challenge,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Self {
        let ha1 = ha1(challenge.algorithm, username, &challenge.realm, password);
        let qop_auth = challenge
            .qop_auth
            .then(|| (cnonce.to_owned(), format!("{nc:08x}")));
        let mut a = Authorization {
            username: username.to_owned(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_owned(),
            response: String::new(),
            algorithm: challenge.algorithm,
            opaque: challenge.opaque.clone(),
            qop_auth,
        };
        a.response = a.expected(&ha1, method);
        a
    }

    pub fn parse(header: &str) -> Result<Self, DigestError> {
        let params = params(header)?;
        let get = |k: &str| param(&params, k);
        let algorithm = algorithm(&params)?;
        let qop_auth = match get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Some((
                get("cnonce").ok_or(DigestError::Missing("cnonce"))?,
                get("nc").ok_or(DigestError::Missing("nc"))?,
            )),
            Some(q) => return Err(DigestError::Unsupported(format!("qop {q}"))),
        };
        Ok(Authorization {
            username: get("username").ok_or(DigestError::Missing("username"))?,
            realm: get("realm").ok_or(DigestError::Missing("realm"))?,
            nonce: get("nonce").ok_or(DigestError::Missing("nonce"))?,
            uri: get("uri").ok_or(DigestError::Missing("uri"))?,
            response: get("response").ok_or(DigestError::Missing("response"))?,
            algorithm,
            opaque: get("opaque"),
            qop_auth,
        })
    }

    pub fn to_header(&self) -> String {
        let mut s = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm.as_str()
        );
        if let Some((cnonce, nc)) = &self.qop_auth {
            s.push_str(&format!(", cnonce={}, nc={nc}, qop=auth", quote(cnonce)));
        }
        if let Some(o) = &self.opaque {
            s.push_str(&format!(", opaque={}", quote(o)));
        }
        s
    }

    /// The response a client knowing the password behind `ha1` sends for `method`.
    pub fn expected(&self, ha1: &str, method: &str) -> String {
        let ha2 = self.algorithm.hash(&format!("{method}:{}", self.uri));
        match &self.qop_auth {
            Some((cnonce, nc)) => self
                .algorithm
                .hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce)),
            None => self.algorithm.hash(&format!("{ha1}:{}:{ha2}", self.nonce)),
        }
    }

    /// Whether the answer proves the password, for a request of `method`. The realm
    /// and nonce are the caller's to compare with what it issued.
    pub fn verify(&self, password: &str, method: &str) -> bool {
        let ha1 = ha1(self.algorithm, &self.username, &self.realm, password);
        let expected = self.expected(&ha1, method);
        constant_time_eq(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

/// `H(username:realm:password)`.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// The value of the parameter `name` (any letter case).
fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// The `algorithm` parameter; MD5 when absent (RFC 2617).
fn algorithm(params: &[(String, String)]) -> Result<Algorithm, DigestError> {
    match param(params, "algorithm") {
        Some(a) => Algorithm::parse(&a),
        None => Ok(Algorithm::Md5),
    }
}

/// The most bytes of a digest header read, and the most parameters: bounded, so that a
/// hostile header costs no more than an honest one (the duplicate check is quadratic).
pub const MAX_HEADER: usize = 4096;
pub const MAX_PARAMS: usize = 24;

/// The `name=value` list after `Digest`; values quoted (with `\` escapes) or tokens.
fn params(header: &str) -> Result<Vec<(String, String)>, DigestError> {
    if header.len() > MAX_HEADER {
        return Err(DigestError::Malformed(format!(
            "a header of more than {MAX_HEADER} bytes"
        )));
    }
    let header = header.trim_start();
    let rest = match header.get(..6) {
        Some(scheme) if scheme.eq_ignore_ascii_case("Digest") => &header[6..],
        _ => return Err(DigestError::NotDigest),
    };
    if !rest.starts_with([' ', '\t']) {
        return Err(DigestError::NotDigest);
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_') {
            name.push(c);
        }
        if name.is_empty() {
            return Err(DigestError::Malformed("expected a parameter name".into()));
        }
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if chars.next() != Some('=') {
            return Err(DigestError::Malformed(format!("{name} has no value")));
        }
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    None => return Err(DigestError::Malformed(format!("{name}: unclosed quote"))),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => {
                            return Err(DigestError::Malformed(format!("{name}: unclosed quote")));
                        }
                    },
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != ',') {
                value.push(c);
            }
        }
        if out
            .iter()
            .any(|(n, _): &(String, String)| n.eq_ignore_ascii_case(&name))
        {
            return Err(DigestError::Malformed(format!("{name} given twice")));
        }
        if out.len() >= MAX_PARAMS {
            return Err(DigestError::Malformed(format!(
                "more than {MAX_PARAMS} parameters"
            )));
        }
        out.push((name, value));
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(c) => return Err(DigestError::Malformed(format!("unexpected {c:?}"))),
        }
    }
    Ok(out)
}

/// How a nonce handed back to the server stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceCheck {
    /// Minted here, within its life.
    Fresh,
    /// Minted here, but older than its life: challenge again with `stale=TRUE`.
    Stale,
    /// Not minted here (or altered).
    Forged,
}

/// Mints nonces the server checks later without storing them: the minting time and an
/// HMAC-SHA-256 of it under a key of the server's.
pub struct NonceMint {
    key: [u8; 32],
}

impl NonceMint {
    pub fn new(key: [u8; 32]) -> Self {
        NonceMint { key }
    }

    /// A mint with a random key (nonces from before a restart are then `Forged`, which
    /// the caller answers with a new challenge as for any unknown nonce).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the operating system's random source");
        NonceMint { key }
    }

    fn tag(&self, stamp: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(stamp.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A nonce minted at `now` (Unix seconds), with a random part so two minted in one
    /// second differ.
    pub fn mint(&self, now: u64) -> String {
        let mut salt = [0u8; 6];
        getrandom::fill(&mut salt).expect("the operating system's random source");
        let stamp = format!("{now:x}.{}", hex::encode(salt));
        let tag = self.tag(&stamp);
        format!("{stamp}.{tag}")
    }

    pub fn check(&self, nonce: &str, now: u64, life_secs: u64) -> NonceCheck {
        self.check_bound(nonce, "", now, life_secs)
    }

    /// A nonce good only for answers about `bound` (e.g. the address the challenge
    /// went to): an answer overheard and replayed from elsewhere is `Forged`.
    pub fn mint_bound(&self, now: u64, bound: &str) -> String {
        let mut salt = [0u8; 6];
        getrandom::fill(&mut salt).expect("the operating system's random source");
        let stamp = format!("{now:x}.{}", hex::encode(salt));
        let tag = self.tag(&format!("{stamp}|{bound}"));
        format!("{stamp}.{tag}")
    }

    /// Checks a nonce of [`NonceMint::mint_bound`] (`bound` empty: of
    /// [`NonceMint::mint`]).
    pub fn check_bound(&self, nonce: &str, bound: &str, now: u64, life_secs: u64) -> NonceCheck {
        let Some((stamp, tag)) = nonce.rsplit_once('.') else {
            return NonceCheck::Forged;
        };
        let expected = if bound.is_empty() {
            self.tag(stamp)
        } else {
            self.tag(&format!("{stamp}|{bound}"))
        };
        if !constant_time_eq(expected.as_bytes(), tag.as_bytes()) {
            return NonceCheck::Forged;
        }
        let Some(minted) = stamp
            .split_once('.')
            .and_then(|(t, _)| u64::from_str_radix(t, 16).ok())
        else {
            return NonceCheck::Forged;
        };
        if minted > now.saturating_add(5) {
            NonceCheck::Forged
        } else if now - minted.min(now) > life_secs {
            NonceCheck::Stale
        } else {
            NonceCheck::Fresh
        }
    }
}

/// The passwords of grants: what a holder gives an RTSP client (digest, with their own
/// user name) to watch under one grant. A password is the HMAC-SHA-256 of the user and
/// the grant under the server's key, so nothing is stored: it is derived again to check
/// a client's answer, and it dies with its grant (revoked, expired). Whoever holds the
/// key can derive every password; it is kept like the server's other secrets.
pub struct GrantPasswords {
    key: [u8; 32],
}

impl GrantPasswords {
    pub fn new(key: [u8; 32]) -> Self {
        GrantPasswords { key }
    }

    /// The password of `user_id`'s access under `grant_id`: 32 hexadecimal digits
    /// (128 bits).
    pub fn password(&self, user_id: i64, grant_id: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(b"vidimus grant password v1\0");
        mac.update(&user_id.to_be_bytes());
        mac.update(&grant_id.to_be_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

impl std::fmt::Debug for GrantPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantPasswords(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example: user Mufasa, password "Circle Of Life".
    #[test]
    fn rfc2617_example() {
        let a = Authorization::parse(
            r#"Digest username="Mufasa", realm="testrealm@host.com",
               nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html",
               qop=auth, nc=00000001, cnonce="0a4f113b",
               response="6629fae49393a05397450978507c4ef1",
               opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert!(a.verify("Circle Of Life", "GET"));
        assert!(!a.verify("Circle of Life", "GET"));
        assert!(!a.verify("Circle Of Life", "POST"));
    }

    /// RFC 7616 §3.9.1's SHA-256 example.
    #[test]
    fn rfc7616_sha256_example() {
        let c = Challenge {
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
            algorithm: Algorithm::Sha256,
            qop_auth: true,
            stale: false,
        };
        let a = Authorization::answer(
            &c,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            1,
        );
        assert_eq!(
            a.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let back = Authorization::parse(&a.to_header()).unwrap();
        assert_eq!(back, a);
        assert!(back.verify("Circle of Life", "GET"));
    }

    #[test]
    fn challenge_round_trips_and_answers_without_qop() {
        let mut c = Challenge::new("3402000000", "abc\"d\\e".into());
        c.stale = true;
        let back = Challenge::parse(&c.to_header()).unwrap();
        assert_eq!(back, c);
        let a = Authorization::answer(
            &c,
            "34020000001320000001",
            "12345678",
            "REGISTER",
            "sip:34020000002000000001@3402000000",
            "x",
            1,
        );
        assert!(a.qop_auth.is_none());
        let a = Authorization::parse(&a.to_header()).unwrap();
        assert!(a.verify("12345678", "REGISTER"));
        assert!(!a.verify("1234567", "REGISTER"));
    }

    #[test]
    fn malformed_headers_are_errors() {
        for bad in [
            "Basic abc",
            "Digestrealm=\"x\"",
            "Digest realm=\"x",
            "Digest realm",
            "Digest realm=\"a\", realm=\"b\", nonce=\"n\"",
            "Digest nonce=\"n\"",
            "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512",
            "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
            "Digest realm=\"r\" nonce=\"n\"",
        ] {
            assert!(Challenge::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonces_are_fresh_stale_or_forged() {
        let mint = NonceMint::new([7; 32]);
        let n = mint.mint(1000);
        assert_ne!(n, mint.mint(1000));
        assert_eq!(mint.check(&n, 1000, 60), NonceCheck::Fresh);
        assert_eq!(mint.check(&n, 1060, 60), NonceCheck::Fresh);
        assert_eq!(mint.check(&n, 1061, 60), NonceCheck::Stale);
        assert_eq!(
            NonceMint::new([8; 32]).check(&n, 1000, 60),
            NonceCheck::Forged
        );
        let altered = n.replacen("3e8", "3e9", 1);
        assert_eq!(mint.check(&altered, 1000, 60), NonceCheck::Forged);
        assert_eq!(mint.check("", 1000, 60), NonceCheck::Forged);
        assert_eq!(mint.check("a.b.c", 1000, 60), NonceCheck::Forged);
        // Minted in the future: a clock gone back, or a forgery.
        assert_eq!(mint.check(&mint.mint(2000), 1000, 60), NonceCheck::Forged);
    }

    #[test]
    fn grant_passwords_differ_by_user_grant_and_key() {
        let a = GrantPasswords::new([1; 32]);
        let p = a.password(3, 7);
        assert_eq!(p.len(), 32);
        assert_eq!(p, a.password(3, 7));
        assert_ne!(p, a.password(3, 8));
        assert_ne!(p, a.password(4, 7));
        assert_ne!(p, GrantPasswords::new([2; 32]).password(3, 7));
        assert_eq!(format!("{a:?}"), "GrantPasswords(..)");
    }

    #[test]
    fn bound_nonces_are_good_only_for_their_binding() {
        let m = NonceMint::new([4; 32]);
        let n = m.mint_bound(100, "10.0.0.9:5060");
        assert_eq!(
            m.check_bound(&n, "10.0.0.9:5060", 101, 60),
            NonceCheck::Fresh
        );
        assert_eq!(
            m.check_bound(&n, "10.6.6.6:5060", 101, 60),
            NonceCheck::Forged
        );
        assert_eq!(m.check(&n, 101, 60), NonceCheck::Forged);
        assert_eq!(
            m.check_bound(&n, "10.0.0.9:5060", 200, 60),
            NonceCheck::Stale
        );
    }

    #[test]
    fn hostile_headers_are_bounded() {
        let many: String = (0..100).map(|i| format!("p{i}=1, ")).collect();
        assert!(Authorization::parse(&format!("Digest {many}")).is_err());
        let long = format!("Digest username=\"{}\"", "x".repeat(MAX_HEADER));
        assert!(Authorization::parse(&long).is_err());
    }
}
