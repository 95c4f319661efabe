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

/// A string that is not a time Vidimus accepts, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTimeError {
    /// Neither RFC 3339 nor a number of Unix seconds.
    #[error(
        "invalid time {input:?}: expected RFC 3339 with an offset (e.g. 2026-11-29T10:00:00Z or 2026-11-29T18:00:00+08:00) or Unix seconds"
    )]
    Invalid { input: String },
    /// A civil time without an offset: which zone it is in cannot be guessed.
    #[error(
        "time {input:?} has no offset: add one (Z for UTC, +08:00 for China Standard Time, e.g. 2026-11-29T18:00:00+08:00)"
    )]
    NoOffset { input: String },
    /// A valid time outside what Vidimus stores.
    #[error(
        "time {input:?} is out of range: times from {} to {} are accepted",
        Wall90k::MIN,
        Wall90k::MAX
    )]
    OutOfRange { input: String },
}

impl Wall90k {
    /// The earliest instant accepted from outside: 1970-01-01T00:00:00Z.
    pub const MIN: Wall90k = Wall90k(0);
    /// The latest instant accepted from outside: 9999-01-01T00:00:00Z (within what the
    /// calendar library represents at every offset).
    pub const MAX: Wall90k = Wall90k(253_370_764_800 * TIME_UNITS_PER_SEC);

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

    /// From an instant of the `jiff` library (truncated to 90 kHz).
    pub fn from_timestamp(t: jiff::Timestamp) -> Self {
        Wall90k((t.as_nanosecond() * 9).div_euclid(100_000) as i64)
    }

    /// As an instant of the `jiff` library; `None` outside the years -9999..=9999.
    pub fn to_timestamp(self) -> Option<jiff::Timestamp> {
        let nanos = (self.0 as i128 * 100_000).div_euclid(9);
        jiff::Timestamp::from_nanosecond(nanos).ok()
    }

    /// Parses a time given from outside (API, CLI, files): RFC 3339 with an offset
    /// (`2026-11-29T10:00:00Z`, `2026-11-29T18:00:00.5+08:00`, a space for the `T`), or
    /// a number of Unix seconds (`1795927174.5`). A civil time without an offset is
    /// refused, never read as UTC; so are times outside [`Wall90k::MIN`]..=[`Wall90k::MAX`].
    pub fn parse(s: &str) -> Result<Self, ParseTimeError> {
        let t = s.trim();
        let invalid = || ParseTimeError::Invalid {
            input: s.to_owned(),
        };
        let out_of_range = || ParseTimeError::OutOfRange {
            input: s.to_owned(),
        };
        let w = if is_unix_seconds(t) {
            unix_seconds(t).ok_or_else(out_of_range)?
        } else {
            match t.parse::<jiff::Timestamp>() {
                Ok(ts) => Wall90k::from_timestamp(ts),
                Err(_) => {
                    // Why not: a civil time without an offset, one beyond the years
                    // represented, or not a time at all.
                    return Err(match jiff::fmt::temporal::Pieces::parse(t) {
                        Ok(p) if p.offset().is_none() => ParseTimeError::NoOffset {
                            input: s.to_owned(),
                        },
                        Ok(_) => out_of_range(),
                        Err(_) => invalid(),
                    });
                }
            }
        };
        if !(Wall90k::MIN..=Wall90k::MAX).contains(&w) {
            return Err(out_of_range());
        }
        Ok(w)
    }

    /// The UTC calendar day as `YYYYMMDD`, used to name day directories.
    pub fn utc_day(self) -> String {
        match self.to_timestamp() {
            Some(t) => t.strftime("%Y%m%d").to_string(),
            None => format!("t{}", self.0.div_euclid(TIME_UNITS_PER_SEC * 86_400)),
        }
    }
}

/// `[+-]digits[.digits]`: the shape of Unix seconds (a year alone, `2026`, is seconds).
fn is_unix_seconds(t: &str) -> bool {
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Exact decimal Unix seconds to 90 kHz (truncated); `None` if it overflows.
fn unix_seconds(t: &str) -> Option<Wall90k> {
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let secs: i64 = int.parse().ok()?;
    // Ticks of the fraction: the first 9 digits as nanoseconds, then 90 kHz.
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    let ticks = secs
        .checked_mul(TIME_UNITS_PER_SEC)?
        .checked_add(nanos * 9 / 100_000)?;
    Some(Wall90k(if neg { -ticks } else { ticks }))
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
        match self.to_timestamp() {
            Some(t) => write!(f, "{}", t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")),
            // Beyond jiff's years: the raw ticks, never a wrong date.
            None => write!(f, "@{}/90000s", self.0),
        }
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
    fn offsets_are_applied() {
        // The review's case: +08:00 is eight hours before the same digits in UTC.
        let t = Wall90k::parse("2026-12-01T16:20:00.000+08:00").unwrap();
        assert_eq!(t.to_string(), "2026-12-01T08:20:00.000Z");
        let t = Wall90k::parse("2026-12-01 16:20:00-05:30").unwrap();
        assert_eq!(t.to_string(), "2026-12-01T21:50:00.000Z");
        assert_eq!(
            Wall90k::parse("2026-12-01T08:20:00Z").unwrap(),
            Wall90k::parse("2026-12-01t08:20:00+00:00").unwrap()
        );
    }

    #[test]
    fn refused_with_the_reason() {
        for s in ["2026-12-01T16:20:00", "2026-12-01 16:20", "2026-12-01"] {
            let e = Wall90k::parse(s).unwrap_err();
            assert!(matches!(e, ParseTimeError::NoOffset { .. }), "{s}: {e}");
            assert!(e.to_string().contains("no offset"), "{e}");
        }
        for s in [
            "99999999999999",
            "-10",
            "-5.5",
            "1969-12-31T23:59:59Z",
            "-0.5",
            "9999-12-31T00:00:00Z",
            "9999-01-01T00:00:00.001Z",
        ] {
            let e = Wall90k::parse(s).unwrap_err();
            assert!(matches!(e, ParseTimeError::OutOfRange { .. }), "{s}: {e}");
            assert!(
                e.to_string()
                    .contains("from 1970-01-01T00:00:00.000Z to 9999-01-01T00:00:00.000Z"),
                "{e}"
            );
        }
        for s in [
            "",
            "NaN",
            "inf",
            "1e9",
            "0x10",
            "2026-13-01T00:00:00Z",
            "12:00Z",
        ] {
            assert!(
                matches!(Wall90k::parse(s), Err(ParseTimeError::Invalid { .. })),
                "{s}"
            );
        }
    }

    #[test]
    fn the_far_end_displays_as_itself() {
        let t = Wall90k::parse("9998-12-31T00:00:00Z").unwrap();
        assert_eq!(t.to_string(), "9998-12-31T00:00:00.000Z");
        assert_eq!(Wall90k::MAX.to_string(), "9999-01-01T00:00:00.000Z");
        assert_eq!(
            Wall90k::parse("9999-01-01T00:00:00Z").unwrap(),
            Wall90k::MAX
        );
        assert_eq!(
            Wall90k::parse("1795927174.5").unwrap().to_string(),
            "2026-11-29T04:39:34.500Z"
        );
        // Exact decimals: no float rounding.
        assert_eq!(Wall90k::parse("1.000011111").unwrap(), Wall90k(90_000));
        assert_eq!(Wall90k::parse("0.1").unwrap(), Wall90k(9_000));
    }

    #[test]
    fn system_time_round_trip() {
        let t = Wall90k(1_700_000_000 * TIME_UNITS_PER_SEC + 12_345);
        assert_eq!(Wall90k::from_system(t.to_system()), t);
        assert_eq!(Wall90k::from_unix_millis(t.unix_millis()).0 / 90, t.0 / 90);
    }
}
