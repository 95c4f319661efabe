//! Calendar dates: the unit the regulation counts deadlines in ("within 30 days").
//!
//! A [`Date`] is a day number since 1970-01-01 in the proleptic Gregorian calendar,
//! written `YYYY-MM-DD`; the calendar (parsing, display, the days of months) is the
//! `jiff` library's. Dates are local calendar days; the live system converts its
//! UTC instants at China Standard Time (UTC+08:00), where the regulation applies.

use std::fmt;

/// A calendar day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// A string that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {0:?}: expected YYYY-MM-DD, e.g. 2027-03-01")]
pub struct ParseDateError(pub String);

/// Seconds east of UTC of China Standard Time.
pub const CST_OFFSET_SECS: i64 = 8 * 3600;

/// The day numbers count from here.
const EPOCH: jiff::civil::Date = jiff::civil::date(1970, 1, 1);

impl Date {
    /// From year, month (1–12) and day (1–31), if that day exists (the calendar is
    /// the `jiff` library's).
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        let c = jiff::civil::Date::new(
            i16::try_from(y).ok()?,
            i8::try_from(m).ok()?,
            i8::try_from(d).ok()?,
        )
        .ok()?;
        Some(Date::from_civil(c))
    }

    fn from_civil(c: jiff::civil::Date) -> Date {
        Date(c.since(EPOCH).map(|s| s.get_days()).unwrap_or(0))
    }

    fn civil(self) -> Option<jiff::civil::Date> {
        EPOCH
            .checked_add(jiff::Span::new().try_days(i64::from(self.0)).ok()?)
            .ok()
    }

    /// Year, month, day (`(0, 0, 0)` outside the years -9999..=9999).
    pub fn ymd(self) -> (i32, u32, u32) {
        self.civil().map_or((0, 0, 0), |c| {
            (
                i32::from(c.year()),
                c.month().unsigned_abs().into(),
                c.day().unsigned_abs().into(),
            )
        })
    }

    /// Parses `YYYY-MM-DD` (exactly that form).
    pub fn parse(s: &str) -> Result<Date, ParseDateError> {
        let err = || ParseDateError(s.to_owned());
        let t = s.trim();
        let b = t.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        t.parse::<jiff::civil::Date>()
            .map(Date::from_civil)
            .map_err(|_| err())
    }

    /// The local (UTC+08:00) calendar day of a Unix time in seconds.
    pub fn from_unix_secs_cst(secs: i64) -> Date {
        let cst = jiff::tz::Offset::from_seconds(CST_OFFSET_SECS as i32)
            .expect("UTC+08:00 is an offset")
            .to_time_zone();
        match jiff::Timestamp::from_second(secs) {
            Ok(t) => Date::from_civil(t.to_zoned(cst).date()),
            // Beyond the calendar's years: count days as the clock does.
            Err(_) => Date((secs + CST_OFFSET_SECS).div_euclid(86_400) as i32),
        }
    }

    /// This day plus `n` days (negative goes back).
    pub fn add_days(self, n: i64) -> Date {
        Date(self.0 + n as i32)
    }

    /// Whole days from `earlier` to `self` (negative if `earlier` is later).
    pub fn days_since(self, earlier: Date) -> i64 {
        i64::from(self.0) - i64::from(earlier.0)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.civil() {
            Some(c) => write!(f, "{c}"),
            None => write!(f, "day {} since 1970-01-01", self.0),
        }
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_counts_days() {
        assert_eq!(Date::parse("1970-01-01").unwrap(), Date(0));
        let d = Date::parse("2027-03-01").unwrap();
        assert_eq!(d.to_string(), "2027-03-01");
        assert_eq!(d.add_days(-1).to_string(), "2027-02-28");
        assert_eq!(
            Date::parse("2028-03-01").unwrap().add_days(-1).to_string(),
            "2028-02-29"
        );
        assert_eq!(
            Date::parse("2027-03-31").unwrap().days_since(d),
            30,
            "1 March to 31 March is 30 days"
        );
        for n in -800_000..800_000 {
            if n % 997 == 0 {
                let (y, m, dd) = Date(n).ymd();
                assert_eq!(Date::from_ymd(y, m, dd), Some(Date(n)));
            }
        }
        for bad in [
            "2027-02-29",
            "2027-13-01",
            "27-03-01",
            "2027-3-1",
            "yesterday",
            "",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        // 2026-11-29T20:00:00Z is already 30 November in Shenzhen.
        assert_eq!(
            Date::from_unix_secs_cst(1_795_982_400).to_string(),
            "2026-11-30"
        );
    }
}
