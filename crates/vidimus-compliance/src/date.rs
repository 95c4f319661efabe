//! Calendar dates: the unit the regulation counts deadlines in ("within 30 days").
//!
//! A [`Date`] is a day number since 1970-01-01 in the proleptic Gregorian calendar,
//! written `YYYY-MM-DD`. Dates are local calendar days; the live system converts its
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

impl Date {
    /// From year, month (1–12) and day (1–31), if that day exists.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m as i32 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Date(era * 146_097 + doe - 719_468))
    }

    /// Year, month, day.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i32::from(m <= 2);
        (y, m, d)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, ParseDateError> {
        let err = || ParseDateError(s.to_owned());
        let mut parts = s.trim().splitn(3, '-');
        let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(err());
        }
        let (Ok(y), Ok(m), Ok(d)) = (y.parse(), m.parse(), d.parse()) else {
            return Err(err());
        };
        Date::from_ymd(y, m, d).ok_or_else(err)
    }

    /// The local (UTC+08:00) calendar day of a Unix time in seconds.
    pub fn from_unix_secs_cst(secs: i64) -> Date {
        Date((secs + CST_OFFSET_SECS).div_euclid(86_400) as i32)
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

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
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
