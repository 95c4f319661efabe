//! Time in 90 kHz units.
//!
//! Every instant Vidimus stores is a [`Wall90k`]: 1/90000 s since the Unix epoch, UTC.
//! 90 kHz is the RTP clock of H.264/H.265 video, so media and wall times share one unit
//! and conversions never round. An `i64` of 90 kHz ticks spans ±3 million years.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Ticks per second.
pub const TIME_UNITS_PER_SEC: i64 = 90_000;

/// An instant: 90 kHz ticks since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Wall90k(pub i64);

/// A signed duration in 90 kHz ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration90k(pub i64);

/// A string that is not a time Vidimus understands.
#[derive(Debug, thiserror::Error)]
#[error("invalid time {input:?}: expected RFC 3339 (e.g. 2026-11-29T10:00:00Z) or Unix seconds")]
pub struct ParseTimeError {
    input: String,
}

impl Wall90k {
    /// Converts from a [`SystemTime`]; instants before 1970 are negative.
    pub fn from_system(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Wall90k(duration_to_90k(d)),
            Err(e) => Wall90k(-duration_to_90k(e.duration())),
        }
    }

    /// Converts to a [`SystemTime`].
    pub fn to_system(self) -> SystemTime {
        // Round up so that `from_system` (which truncates) maps back to the same tick.
        let d =
            Duration::from_nanos(((self.0.unsigned_abs() as u128 * 100_000).div_ceil(9)) as u64);
        if self.0 >= 0 {
            UNIX_EPOCH + d
        } else {
            UNIX_EPOCH - d
        }
    }

    /// Milliseconds since the epoch (rounded toward negative infinity).
    pub fn unix_millis(self) -> i64 {
        (self.0 * 1000).div_euclid(TIME_UNITS_PER_SEC)
    }

    /// From milliseconds since the epoch.
    pub fn from_unix_millis(ms: i64) -> Self {
        Wall90k(ms * 90)
    }

    /// Parses RFC 3339 (`2026-11-29T10:00:00Z`, `2026-11-29T10:00:00.5Z`,
    /// `2026-11-29 10:00:00`) as UTC, or a plain number of Unix seconds.
    pub fn parse(s: &str) -> Result<Self, ParseTimeError> {
        let err = || ParseTimeError {
            input: s.to_owned(),
        };
        let t = s.trim();
        if let Ok(secs) = t.parse::<f64>() {
            if !secs.is_finite() {
                return Err(err());
            }
            return Ok(Wall90k((secs * TIME_UNITS_PER_SEC as f64).round() as i64));
        }
        humantime::parse_rfc3339_weak(t)
            .map(Wall90k::from_system)
            .map_err(|_| err())
    }

    /// The UTC calendar day as `YYYYMMDD`, used to name day directories.
    pub fn utc_day(self) -> String {
        let s = humantime::format_rfc3339_seconds(self.to_system()).to_string();
        s[..10].replace('-', "")
    }
}

impl std::ops::Add<Duration90k> for Wall90k {
    type Output = Wall90k;
    fn add(self, d: Duration90k) -> Wall90k {
        Wall90k(self.0 + d.0)
    }
}

impl std::ops::Sub<Duration90k> for Wall90k {
    type Output = Wall90k;
    fn sub(self, d: Duration90k) -> Wall90k {
        Wall90k(self.0 - d.0)
    }
}

impl std::ops::Sub for Wall90k {
    type Output = Duration90k;
    fn sub(self, o: Wall90k) -> Duration90k {
        Duration90k(self.0 - o.0)
    }
}

impl fmt::Display for Wall90k {
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-29T10:00:00.040Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.to_system()))
    }
}

impl Duration90k {
    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration90k(s * TIME_UNITS_PER_SEC)
    }

    /// From a std duration (truncated to 90 kHz).
    pub fn from_std(d: Duration) -> Self {
        Duration90k(duration_to_90k(d))
    }

    /// Seconds as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / TIME_UNITS_PER_SEC as f64
    }
}

impl fmt::Display for Duration90k {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

fn duration_to_90k(d: Duration) -> i64 {
    (d.as_secs() as i64) * TIME_UNITS_PER_SEC + (d.subsec_nanos() as i64 * 9 / 100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        let t = Wall90k::parse("2026-11-29T10:00:00.040Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-29T10:00:00.040Z");
        assert_eq!(t.utc_day(), "20261129");
        assert_eq!(Wall90k::parse("0").unwrap(), Wall90k(0));
        assert_eq!(Wall90k::parse("1.5").unwrap(), Wall90k(135_000));
        assert!(Wall90k::parse("yesterday").is_err());
    }

    #[test]
    fn system_time_round_trip() {
        let t = Wall90k(1_700_000_000 * TIME_UNITS_PER_SEC + 12_345);
        assert_eq!(Wall90k::from_system(t.to_system()), t);
        assert_eq!(Wall90k::from_unix_millis(t.unix_millis()).0 / 90, t.0 / 90);
    }
}
