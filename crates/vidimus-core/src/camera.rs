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

/// A URL Vidimus cannot record from.
#[derive(Debug, thiserror::Error)]
pub enum SourceUrlError {
    #[error("camera URL is not a valid URL: {0}")]
    Invalid(#[from] url::ParseError),
    #[error("camera URL must use rtsp:// (got {0}://)")]
    Scheme(String),
    #[error("camera URL has no host")]
    NoHost,
}

impl SourceUrl {
    /// Parses `rtsp://[user[:pass]@]host[:port]/path`. Credentials in the URL are moved
    /// out of it; `username`/`password` given separately take precedence.
    pub fn parse(
        s: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Self, SourceUrlError> {
        let mut url = url::Url::parse(s)?;
        if url.scheme() != "rtsp" {
            return Err(SourceUrlError::Scheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(SourceUrlError::NoHost);
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
            Err(SourceUrlError::Scheme(_))
        ));
        assert!(SourceUrl::parse("not a url", None, None).is_err());
    }
}
