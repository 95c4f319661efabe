//! MANSRTSP (GB/T 28181 §B): the RTSP-like bodies of `INFO` requests that control a
//! playback in its dialog — `PLAY` (resume, with `Scale` for speed and `Range` to
//! seek), `PAUSE`, `TEARDOWN`.

/// What is wrong with a MANSRTSP body.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MansRtspError {
    #[error("the MANSRTSP body is not text")]
    NotText,
    #[error("MANSRTSP request line {0:?} is not `PLAY|PAUSE|TEARDOWN MANSRTSP/1.0`")]
    RequestLine(String),
    #[error("MANSRTSP {field} {value:?} is not {what}")]
    Value {
        field: &'static str,
        value: String,
        what: &'static str,
    },
    #[error("MANSRTSP CSeq missing")]
    NoCSeq,
}

fn bad(field: &'static str, value: &str, what: &'static str) -> MansRtspError {
    MansRtspError::Value {
        field,
        value: value.chars().take(40).collect(),
        what,
    }
}

/// The slowest and fastest playback speeds accepted (GB/T 28181 peers send 0.25–8;
/// negative speeds, playing backwards, are not offered).
pub const SCALES: std::ops::RangeInclusive<f64> = 0.25..=8.0;

/// A control request.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    /// Resume; `scale` changes the speed, `from` seeks to seconds from the start of
    /// the requested range.
    Play {
        cseq: u32,
        scale: Option<f64>,
        from: Option<f64>,
    },
    Pause {
        cseq: u32,
    },
    Teardown {
        cseq: u32,
    },
}

impl Control {
    pub fn parse(body: &[u8]) -> Result<Control, MansRtspError> {
        let text = std::str::from_utf8(body).map_err(|_| MansRtspError::NotText)?;
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let first = lines.next().unwrap_or_default();
        let mut parts = first.split_whitespace();
        let (Some(method), Some(version), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(MansRtspError::RequestLine(first.chars().take(60).collect()));
        };
        if !version.eq_ignore_ascii_case("MANSRTSP/1.0")
            && !version.eq_ignore_ascii_case("RTSP/1.0")
        {
            return Err(MansRtspError::RequestLine(first.chars().take(60).collect()));
        }
        let (mut cseq, mut scale, mut from) = (None, None, None);
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "cseq" => cseq = Some(value.parse().map_err(|_| bad("CSeq", value, "a number"))?),
                "scale" => {
                    let s: f64 = value.parse().map_err(|_| bad("Scale", value, "a number"))?;
                    if !SCALES.contains(&s) {
                        return Err(bad("Scale", value, "a speed from 0.25 to 8"));
                    }
                    scale = Some(s);
                }
                "range" => {
                    let npt = value
                        .strip_prefix("npt=")
                        .ok_or_else(|| bad("Range", value, "npt=SECONDS-"))?;
                    let (start, _) = npt
                        .split_once('-')
                        .ok_or_else(|| bad("Range", value, "npt=SECONDS-"))?;
                    let start = start.trim();
                    if start != "now" {
                        let s: f64 = start
                            .parse()
                            .map_err(|_| bad("Range", value, "npt=SECONDS-"))?;
                        if !s.is_finite() || s < 0.0 {
                            return Err(bad("Range", value, "a time from the start"));
                        }
                        from = Some(s);
                    }
                }
                _ => {}
            }
        }
        let cseq = cseq.ok_or(MansRtspError::NoCSeq)?;
        match method.to_ascii_uppercase().as_str() {
            "PLAY" => Ok(Control::Play { cseq, scale, from }),
            "PAUSE" => Ok(Control::Pause { cseq }),
            "TEARDOWN" => Ok(Control::Teardown { cseq }),
            _ => Err(MansRtspError::RequestLine(first.chars().take(60).collect())),
        }
    }

    pub fn to_text(&self) -> String {
        match self {
            Control::Play { cseq, scale, from } => {
                let mut s = format!("PLAY MANSRTSP/1.0\r\nCSeq: {cseq}\r\n");
                if let Some(sc) = scale {
                    s.push_str(&format!("Scale: {sc}\r\n"));
                }
                if let Some(f) = from {
                    s.push_str(&format!("Range: npt={f}-\r\n"));
                }
                s
            }
            Control::Pause { cseq } => {
                format!("PAUSE MANSRTSP/1.0\r\nCSeq: {cseq}\r\nPauseTime: now\r\n")
            }
            Control::Teardown { cseq } => format!("TEARDOWN MANSRTSP/1.0\r\nCSeq: {cseq}\r\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_parse_and_round_trip() {
        let c =
            Control::parse(b"PLAY MANSRTSP/1.0\r\nCSeq: 5\r\nScale: 2.0\r\nRange: npt=100-\r\n")
                .unwrap();
        assert_eq!(
            c,
            Control::Play {
                cseq: 5,
                scale: Some(2.0),
                from: Some(100.0)
            }
        );
        assert_eq!(Control::parse(c.to_text().as_bytes()).unwrap(), c);
        let resume = Control::parse(b"PLAY MANSRTSP/1.0\nCSeq: 6\nRange: npt=now-\n").unwrap();
        assert_eq!(
            resume,
            Control::Play {
                cseq: 6,
                scale: None,
                from: None
            }
        );
        let p = Control::parse(b"PAUSE MANSRTSP/1.0\r\nCSeq: 7\r\nPauseTime: now\r\n").unwrap();
        assert_eq!(p, Control::Pause { cseq: 7 });
        assert_eq!(Control::parse(p.to_text().as_bytes()).unwrap(), p);
        let t = Control::Teardown { cseq: 8 };
        assert_eq!(Control::parse(t.to_text().as_bytes()).unwrap(), t);
    }

    #[test]
    fn bad_controls_say_what_is_wrong() {
        let cases: &[(&[u8], MansRtspError)] = &[
            (
                b"PLAY\r\nCSeq: 1\r\n",
                MansRtspError::RequestLine("PLAY".into()),
            ),
            (
                b"JUMP MANSRTSP/1.0\r\nCSeq: 1\r\n",
                MansRtspError::RequestLine("JUMP MANSRTSP/1.0".into()),
            ),
            (b"PLAY MANSRTSP/1.0\r\n", MansRtspError::NoCSeq),
            (
                b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: 64\r\n",
                bad("Scale", "64", "a speed from 0.25 to 8"),
            ),
            (
                b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nScale: NaN\r\n",
                bad("Scale", "NaN", "a speed from 0.25 to 8"),
            ),
            (
                b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: npt=-5-\r\n",
                bad("Range", "npt=-5-", "npt=SECONDS-"),
            ),
            (
                b"PLAY MANSRTSP/1.0\r\nCSeq: 1\r\nRange: clock=x\r\n",
                bad("Range", "clock=x", "npt=SECONDS-"),
            ),
            (b"\xff", MansRtspError::NotText),
        ];
        for (body, want) in cases {
            assert_eq!(&Control::parse(body).unwrap_err(), want);
        }
    }
}
