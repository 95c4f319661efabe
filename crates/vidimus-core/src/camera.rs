//! Camera identity and source URLs.
//!
//! A camera's RTSP URL often carries a user name and password. [`SourceUrl`] keeps them
//! apart from the URL: its `Display` and `Debug` never show the password, so neither logs
//! nor API output can leak it by accident. Only [`SourceUrl::credentials`] hands them out,
//! for the RTSP handshake.

use std::fmt;

/// A camera's stable numeric id (the index's primary key).
pub type CameraId = i64;

/// An RTSP source URL with its credentials held separately.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl {
    url: url::Url,
    username: Option<String>,
    password: Option<String>,
}

/// What a camera URL looks like, for error messages.
const LOOKS_LIKE: &str = "a camera URL looks like rtsp://host[:port]/path, e.g. rtsp://192.168.1.64:554/Streaming/Channels/101";

/// A URL Vidimus cannot record from; each names the value (its credentials masked)
/// and what a camera URL looks like.
#[derive(Debug, thiserror::Error)]
pub enum SourceUrlError {
    #[error("camera URL {given:?} is not a URL ({reason}); {LOOKS_LIKE}")]
    Invalid { given: String, reason: String },
    #[error("camera URL {given:?} uses {scheme}://, not rtsp://; {LOOKS_LIKE}")]
    Scheme { given: String, scheme: String },
    #[error("camera URL {given:?} names no host; {LOOKS_LIKE}")]
    NoHost { given: String },
}

/// `s` with anything before an `@` after the scheme masked: a mistyped URL may still
/// carry a password.
fn masked(s: &str) -> String {
    match s.rfind('@') {
        Some(at) => {
            let start = s.find("//").map_or(0, |i| i + 2).min(at);
            format!("{}***{}", &s[..start], &s[at..])
        }
        None => s.to_owned(),
    }
}

impl SourceUrl {
    /// Parses `rtsp://[user[:pass]@]host[:port]/path`. Credentials in the URL are moved
    /// out of it; `username`/`password` given separately take precedence.
    pub fn parse(
        s: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Self, SourceUrlError> {
        let mut url = url::Url::parse(s.trim()).map_err(|e| SourceUrlError::Invalid {
            given: masked(s),
            reason: e.to_string(),
        })?;
        if url.scheme() != "rtsp" {
            return Err(SourceUrlError::Scheme {
                given: masked(s),
                scheme: url.scheme().to_owned(),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(SourceUrlError::NoHost { given: masked(s) });
        }
        let url_user = (!url.username().is_empty()).then(|| decode(url.username()));
        let url_pass = url.password().map(decode);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Ok(SourceUrl {
            url,
            username: username.or(url_user),
            password: password.or(url_pass),
        })
    }

    /// The URL without credentials (safe to show and log).
    pub fn redacted(&self) -> &str {
        self.url.as_str()
    }

    /// The URL without credentials.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The user name, if any (user names are shown; passwords never).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// Credentials for the RTSP handshake.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match (&self.username, &self.password) {
            (Some(u), p) => Some((u, p.as_deref().unwrap_or(""))),
            (None, _) => None,
        }
    }

    /// The password, for storing in the index.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.redacted())
    }
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceUrl")
            .field("url", &self.redacted())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_displayed() {
        let u = SourceUrl::parse("rtsp://admin:s%40cret@10.0.0.5:554/stream1", None, None).unwrap();
        assert_eq!(u.redacted(), "rtsp://10.0.0.5:554/stream1");
        assert_eq!(u.credentials(), Some(("admin", "s@cret")));
        assert!(!format!("{u} {u:?}").contains("s@cret"));
        assert!(!format!("{u:?}").contains("cret"));
    }

    #[test]
    fn rejects_other_schemes() {
        assert!(matches!(
            SourceUrl::parse("http://x/y", None, None),
            Err(SourceUrlError::Scheme { .. })
        ));
        assert!(SourceUrl::parse("not a url", None, None).is_err());
        // A typo is named, with what a camera URL looks like, and no password.
        let e = SourceUrl::parse("rtsp//admin:s3cret@10.0.0.5/stream1", None, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rtsp//***@10.0.0.5/stream1") && e.contains("looks like rtsp://host"),
            "{e}"
        );
        assert!(!e.contains("s3cret"), "{e}");
        let e = SourceUrl::parse("http://admin:pw@cam/x", None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("uses http://") && !e.contains("pw@"), "{e}");
    }
}
