//! GB/T 28181 codes: the 20-digit ids of platforms, devices and channels (§E of the
//! 2016 edition), and the 10-digit domain (realm) their first digits name.
//!
//! Digits 1–8 are the centre (province, city, district, unit), 9–10 the industry, 11–13
//! the type (131 a camera, 132 an IP camera, 118 an NVR, 200 a platform's SIP server, …),
//! 14 the network and 15–20 a serial number.

use std::fmt;

/// A 20-digit GB/T 28181 code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GbId([u8; 20]);

/// Not a 20-digit code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a 20-digit GB/T 28181 code")]
pub struct BadId(pub String);

impl GbId {
    pub fn parse(s: &str) -> Result<GbId, BadId> {
        let b = s.as_bytes();
        if b.len() != 20 || !b.iter().all(u8::is_ascii_digit) {
            return Err(BadId(s.chars().take(40).collect()));
        }
        let mut a = [0u8; 20];
        a.copy_from_slice(b);
        Ok(GbId(a))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }

    /// The 10-digit domain the code belongs to: the default SIP realm of its platform.
    pub fn domain(&self) -> &str {
        &self.as_str()[..10]
    }

    /// The three-digit type code.
    pub fn type_code(&self) -> u16 {
        self.as_str()[10..13].parse().expect("digits")
    }

    /// Whether the code names a camera (131) or an IP camera (132): a video channel.
    pub fn is_camera(&self) -> bool {
        matches!(self.type_code(), 131 | 132)
    }

    /// The code with its last six digits (the serial number) replaced by `serial`.
    pub fn with_serial(&self, serial: u32) -> GbId {
        let mut a = self.0;
        let s = format!("{:06}", serial % 1_000_000);
        a[14..].copy_from_slice(s.as_bytes());
        GbId(a)
    }

    /// The code with its type digits replaced by `type_code` (three digits).
    pub fn with_type(&self, type_code: u16) -> GbId {
        let mut a = self.0;
        let s = format!("{:03}", type_code % 1000);
        a[10..13].copy_from_slice(s.as_bytes());
        GbId(a)
    }
}

impl fmt::Display for GbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for GbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GbId({})", self.as_str())
    }
}

impl std::str::FromStr for GbId {
    type Err = BadId;
    fn from_str(s: &str) -> Result<GbId, BadId> {
        GbId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let id = GbId::parse("44030500001320000001").unwrap();
        assert_eq!(id.domain(), "4403050000");
        assert_eq!(id.type_code(), 132);
        assert!(id.is_camera());
        assert_eq!(id.with_serial(42).as_str(), "44030500001320000042");
        assert_eq!(id.with_type(200).as_str(), "44030500002000000001");
        assert!(!id.with_type(200).is_camera());
        for bad in [
            "",
            "4403050000132000000",
            "440305000013200000011",
            "4403050000132000000x",
            "४४०३०५००००१३२०००००",
        ] {
            assert!(GbId::parse(bad).is_err(), "{bad}");
        }
    }
}
