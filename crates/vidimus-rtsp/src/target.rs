//! What an RTSP URL asks for: a camera's live stream, or its recordings from a time.
//!
//! - `/cameras/{id}/live`
//! - `/cameras/{id}/recorded?start=T[&end=T]`: `T` is an RFC 3339 time with its
//!   offset (`2026-12-04T10:00:00+08:00`, the `+` sent as `%2B` or as it is), the
//!   compact UTC form clients of ONVIF send (`20261204T020000Z`), or a civil time
//!   (`2026-12-04T10:00:00`, `2026-12-04 10:00:00`) read in the site's time zone.
//!   Without `end`, an hour is played; at most a day is.
//!
//! Times are read by `jiff`, never by hand.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The longest recorded range one URL may ask for.
pub const MAX_RANGE: SignedDuration = SignedDuration::from_hours(24);
/// The range played when a URL names no end.
pub const DEFAULT_RANGE: SignedDuration = SignedDuration::from_hours(1);

/// What is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Live {
        camera: i64,
    },
    Recorded {
        camera: i64,
        from: Timestamp,
        to: Timestamp,
    },
}

impl Target {
    pub fn camera(&self) -> i64 {
        match self {
            Target::Live { camera } | Target::Recorded { camera, .. } => *camera,
        }
    }
}

/// Why a URL names nothing to play.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error(
        "{0:?} is not a stream: the paths are /cameras/{{id}}/live and /cameras/{{id}}/recorded?start=…"
    )]
    Path(String),
    #[error("{0}")]
    Time(String),
}

/// Reads a request URI (absolute `rtsp://host/...` or a bare path).
pub fn parse(uri: &str, tz: &TimeZone) -> Result<Target, TargetError> {
    let path_and_query = match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => uri,
    };
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let bad = || TargetError::Path(path.to_owned());
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (camera, kind) = match parts.as_slice() {
        ["cameras", id, kind] => (id, *kind),
        _ => return Err(bad()),
    };
    let camera: i64 = camera
        .parse()
        .ok()
        .filter(|c| *c > 0 && camera.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(bad)?;
    match kind {
        "live" => Ok(Target::Live { camera }),
        "recorded" => {
            let (mut start, mut end) = (None, None);
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                // Percent-decoded only: a `+` is the offset's sign, not a space.
                let v = percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .map_err(|_| TargetError::Time(format!("{k}: not UTF-8")))?;
                match k {
                    "start" => start = Some(time(&v, tz).map_err(|e| field("start", &v, e))?),
                    "end" => end = Some(time(&v, tz).map_err(|e| field("end", &v, e))?),
                    _ => {}
                }
            }
            let from = start.ok_or_else(|| {
                TargetError::Time(
                    "a recorded stream needs ?start= (e.g. start=2026-12-04T10:00:00%2B08:00)"
                        .into(),
                )
            })?;
            let to = match end {
                Some(t) => t,
                None => from
                    .checked_add(DEFAULT_RANGE)
                    .map_err(|e| TargetError::Time(e.to_string()))?,
            };
            if to <= from {
                return Err(TargetError::Time(format!(
                    "end {to} is not after start {from}"
                )));
            }
            if to.duration_since(from) > MAX_RANGE {
                return Err(TargetError::Time(format!(
                    "{from} to {to} is longer than a day: ask for at most {} hours",
                    MAX_RANGE.as_hours()
                )));
            }
            Ok(Target::Recorded { camera, from, to })
        }
        _ => Err(bad()),
    }
}

fn field(name: &str, v: &str, e: String) -> TargetError {
    TargetError::Time(format!("{name}={v:?}: {e}"))
}

/// One time as a URL may give it.
pub fn time(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = s.trim();
    // An instant: with an offset or `Z` (extended or the compact basic form).
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    // A civil time, in the site's zone (a space for the `T` too).
    let civil = s.replacen(' ', "T", 1);
    match civil.parse::<jiff::civil::DateTime>() {
        Ok(dt) => tz
            .to_ambiguous_zoned(dt)
            .compatible()
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!(
            "not a time ({e}); give e.g. 2026-12-04T10:00:00+08:00, 20261204T020000Z or 2026-12-04T10:00:00 (the site's zone)"
        )),
    }
}

/// `npt=` or `clock=` start of a `Range` header (RFC 2326 §12.29), as seconds from the
/// range's start `from`. `None`: no start named (`npt=now-`, or no header).
pub fn range_start(header: &str, from: Timestamp) -> Result<Option<f64>, String> {
    let h = header.trim();
    if let Some(v) = h.strip_prefix("npt=") {
        let start = v.split('-').next().unwrap_or("").trim();
        if start.is_empty() || start == "now" {
            return Ok(None);
        }
        return npt(start).map(Some);
    }
    if let Some(v) = h.strip_prefix("clock=") {
        let start = v.split('-').next().unwrap_or("").trim();
        if start.is_empty() {
            return Ok(None);
        }
        let t = start
            .parse::<Timestamp>()
            .map_err(|e| format!("Range clock={start:?}: {e}"))?;
        return Ok(Some(t.duration_since(from).as_secs_f64()));
    }
    Err(format!("Range {h:?}: only npt= and clock= are served"))
}

/// An NPT time: seconds (`12.5`) or `h:mm:ss(.frac)`.
fn npt(s: &str) -> Result<f64, String> {
    let bad = || format!("Range npt={s:?} is not a time");
    let v = if s.contains(':') {
        let p: Vec<&str> = s.split(':').collect();
        let [h, m, sec] = p.as_slice() else {
            return Err(bad());
        };
        let h: f64 = h.parse().map_err(|_| bad())?;
        let m: f64 = m.parse().map_err(|_| bad())?;
        let sec: f64 = sec.parse().map_err(|_| bad())?;
        h * 3600.0 + m * 60.0 + sec
    } else {
        s.parse().map_err(|_| bad())?
    };
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> TimeZone {
        TimeZone::get("Asia/Shanghai").unwrap()
    }

    #[test]
    fn live_and_recorded_paths() {
        let tz = shanghai();
        assert_eq!(
            parse("rtsp://127.0.0.1:8554/cameras/3/live", &tz),
            Ok(Target::Live { camera: 3 })
        );
        assert_eq!(
            parse("/cameras/3/live/", &tz),
            Ok(Target::Live { camera: 3 })
        );
        for bad in [
            "rtsp://h/cameras/0/live",
            "rtsp://h/cameras/-1/live",
            "rtsp://h/cameras/+1/live",
            "rtsp://h/cameras/1/other",
            "rtsp://h/cameras/1/live/more",
            "rtsp://h/../cameras/1/live",
            "rtsp://h/",
            "*",
        ] {
            assert!(
                matches!(parse(bad, &tz), Err(TargetError::Path(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn times_with_offsets_civil_times_and_the_compact_form_name_one_instant() {
        let tz = shanghai();
        let want: Timestamp = "2026-12-04T02:00:00Z".parse().unwrap();
        for start in [
            "2026-12-04T10:00:00%2B08:00",
            "2026-12-04T10:00:00+08:00",
            "2026-12-04T02:00:00Z",
            "20261204T020000Z",
            "2026-12-04T10:00:00",
            "2026-12-04%2010:00:00",
        ] {
            let t = parse(&format!("rtsp://h/cameras/2/recorded?start={start}"), &tz);
            assert_eq!(
                t,
                Ok(Target::Recorded {
                    camera: 2,
                    from: want,
                    to: want.checked_add(DEFAULT_RANGE).unwrap()
                }),
                "{start}"
            );
        }
        // In another zone the civil time is another instant.
        let utc = parse(
            "/cameras/2/recorded?start=2026-12-04T10:00:00",
            &TimeZone::UTC,
        )
        .unwrap();
        assert!(
            matches!(utc, Target::Recorded { from, .. } if from == "2026-12-04T10:00:00Z".parse::<Timestamp>().unwrap())
        );
    }

    #[test]
    fn ranges_are_checked() {
        let tz = shanghai();
        let p = |q: &str| parse(&format!("/cameras/1/recorded?{q}"), &tz);
        assert!(matches!(p(""), Err(TargetError::Time(_))));
        assert!(matches!(p("start=yesterday"), Err(TargetError::Time(_))));
        assert!(matches!(
            p("start=2026-12-04T10:00:00Z&end=2026-12-04T09:00:00Z"),
            Err(TargetError::Time(_))
        ));
        assert!(matches!(
            p("start=2026-12-04T10:00:00Z&end=2026-12-06T10:00:00Z"),
            Err(TargetError::Time(_))
        ));
        assert!(matches!(p("start=%FF"), Err(TargetError::Time(_))));
        let Ok(Target::Recorded { from, to, .. }) =
            p("start=2026-12-04T10:00:00Z&end=2026-12-04T10:05:00Z")
        else {
            panic!()
        };
        assert_eq!(to.duration_since(from), SignedDuration::from_mins(5));
    }

    #[test]
    fn range_headers() {
        let from: Timestamp = "2026-12-04T02:00:00Z".parse().unwrap();
        assert_eq!(range_start("npt=0.000-", from), Ok(Some(0.0)));
        assert_eq!(range_start("npt=12.5-", from), Ok(Some(12.5)));
        assert_eq!(range_start("npt=0:01:02.5-", from), Ok(Some(62.5)));
        assert_eq!(range_start("npt=now-", from), Ok(None));
        assert_eq!(range_start("clock=20261204T020130Z-", from), Ok(Some(90.0)));
        assert!(range_start("npt=NaN-", from).is_err());
        assert!(range_start("smpte=0:10:00-", from).is_err());
    }
}
