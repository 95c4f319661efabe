//! What goes into a decoder: access units in either NAL framing, and the stream's
//! parameter sets — taken from an MP4 sample entry (`avc1`/`hvc1` with `avcC`/`hvcC`, as
//! Vidimus segments store them), from the bare configuration box, or from NAL units.
//!
//! Both decoders read Annex B, so [`AccessUnit::append_annex_b`] rewrites
//! length-prefixed samples (MP4's framing) with start codes.

use crate::CodecError;
use vidimus_media::VideoCodec;

const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// How the NAL units of an access unit are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NalFraming {
    /// Start codes (`00 00 01` / `00 00 00 01`), as in an `.h264`/`.h265` file.
    AnnexB,
    /// Big-endian length before each NAL unit, this many bytes (1, 2 or 4), as in MP4
    /// samples; Vidimus segments use 4.
    LengthPrefixed(u8),
}

/// One coded picture (all its NAL units) and its presentation time.
#[derive(Clone, Copy, Debug)]
pub struct AccessUnit<'a> {
    pub data: &'a [u8],
    pub framing: NalFraming,
    /// Presentation time stamp, 90 kHz. Decoders hand it back on the frame decoded from
    /// this access unit (in presentation order, for streams that reorder).
    pub pts: i64,
}

impl AccessUnit<'_> {
    /// Appends the access unit to `out` in Annex B framing.
    pub fn append_annex_b(&self, out: &mut Vec<u8>) -> Result<(), CodecError> {
        match self.framing {
            NalFraming::AnnexB => {
                out.extend_from_slice(self.data);
                Ok(())
            }
            NalFraming::LengthPrefixed(n) => {
                for nal in length_prefixed_nals(self.data, n)? {
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(nal);
                }
                Ok(())
            }
        }
    }

    /// Whether the access unit carries a coded picture (not only parameter sets or SEI).
    pub fn has_picture(&self, codec: VideoCodec) -> Result<bool, CodecError> {
        let is_vcl = |nal: &&[u8]| match codec {
            VideoCodec::H264 => nal.first().is_some_and(|b| (1..=5).contains(&(b & 0x1f))),
            VideoCodec::H265 => nal.first().is_some_and(|b| (b >> 1) & 0x3f < 32),
        };
        Ok(match self.framing {
            NalFraming::AnnexB => vidimus_media::h264::split_annexb(self.data)
                .iter()
                .any(is_vcl),
            NalFraming::LengthPrefixed(n) => length_prefixed_nals(self.data, n)?.iter().any(is_vcl),
        })
    }
}

/// Splits length-prefixed NAL units.
pub fn length_prefixed_nals(data: &[u8], length_size: u8) -> Result<Vec<&[u8]>, CodecError> {
    let n = usize::from(length_size);
    if !matches!(n, 1 | 2 | 4) {
        return Err(CodecError::Bitstream(format!("NAL length size {n}")));
    }
    let mut nals = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < n {
            return Err(CodecError::Bitstream("truncated NAL length".into()));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let body = rest
            .get(n..n + len)
            .ok_or_else(|| CodecError::Bitstream(format!("NAL of {len} bytes past the end")))?;
        nals.push(body);
        rest = &rest[n + len..];
    }
    Ok(nals)
}

/// The parameter sets a decoder needs before the first picture (H.264: SPS, PPS; H.265:
/// VPS, SPS, PPS), as NAL units without framing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParameterSets {
    pub nals: Vec<Vec<u8>>,
    /// The NAL length size that samples of this stream use (from the configuration box;
    /// 4 when unknown).
    pub nal_length_size: u8,
}

impl ParameterSets {
    /// From NAL units (e.g. taken out of an Annex B stream).
    pub fn from_nals<'a>(nals: impl IntoIterator<Item = &'a [u8]>) -> Self {
        ParameterSets {
            nals: nals.into_iter().map(<[u8]>::to_vec).collect(),
            nal_length_size: 4,
        }
    }

    /// From a complete MP4 visual sample entry box (`avc1`/`avc3` or `hvc1`/`hev1`, as in
    /// a segment's `stsd` and `InitParams::sample_entry`): the codec and its parameter sets.
    pub fn from_sample_entry(entry: &[u8]) -> Result<(VideoCodec, Self), CodecError> {
        let bad = |why: &str| CodecError::Bitstream(format!("sample entry: {why}"));
        let fourcc: [u8; 4] = entry
            .get(4..8)
            .ok_or_else(|| bad("too short"))?
            .try_into()
            .expect("4");
        let codec = VideoCodec::from_sample_entry(fourcc).ok_or_else(|| {
            bad(&format!(
                "not H.264/H.265: {}",
                String::from_utf8_lossy(&fourcc)
            ))
        })?;
        // 8-byte box header + 78 bytes of VisualSampleEntry, then child boxes.
        let mut children = entry.get(86..).ok_or_else(|| bad("too short"))?;
        let want = match codec {
            VideoCodec::H264 => b"avcC",
            VideoCodec::H265 => b"hvcC",
        };
        while children.len() >= 8 {
            let size = u32::from_be_bytes(children[..4].try_into().expect("4")) as usize;
            if size < 8 || size > children.len() {
                return Err(bad("child box size"));
            }
            if &children[4..8] == want {
                let body = &children[8..size];
                let sets = match codec {
                    VideoCodec::H264 => Self::from_avcc(body)?,
                    VideoCodec::H265 => Self::from_hvcc(body)?,
                };
                return Ok((codec, sets));
            }
            children = &children[size..];
        }
        Err(bad("no avcC/hvcC"))
    }

    /// From the body of an `avcC` box (ISO/IEC 14496-15 §5.3.3.1).
    pub fn from_avcc(body: &[u8]) -> Result<Self, CodecError> {
        let bad = || CodecError::Bitstream("avcC truncated".into());
        let mut r = Reader(body);
        let _version_profile_compat_level = r.take(4).ok_or_else(bad)?;
        let nal_length_size = (r.u8().ok_or_else(bad)? & 3) + 1;
        let mut nals = Vec::new();
        let sps_count = r.u8().ok_or_else(bad)? & 0x1f;
        for _ in 0..sps_count {
            nals.push(r.sized_u16().ok_or_else(bad)?.to_vec());
        }
        let pps_count = r.u8().ok_or_else(bad)?;
        for _ in 0..pps_count {
            nals.push(r.sized_u16().ok_or_else(bad)?.to_vec());
        }
        Ok(ParameterSets {
            nals,
            nal_length_size,
        })
    }

    /// From the body of an `hvcC` box (ISO/IEC 14496-15 §8.3.3.1).
    pub fn from_hvcc(body: &[u8]) -> Result<Self, CodecError> {
        let bad = || CodecError::Bitstream("hvcC truncated".into());
        let mut r = Reader(body);
        r.take(21).ok_or_else(bad)?;
        let nal_length_size = (r.u8().ok_or_else(bad)? & 3) + 1;
        let arrays = r.u8().ok_or_else(bad)?;
        let mut nals = Vec::new();
        for _ in 0..arrays {
            let _type = r.u8().ok_or_else(bad)?;
            let count = u16::from_be_bytes(r.take(2).ok_or_else(bad)?.try_into().expect("2"));
            for _ in 0..count {
                nals.push(r.sized_u16().ok_or_else(bad)?.to_vec());
            }
        }
        Ok(ParameterSets {
            nals,
            nal_length_size,
        })
    }

    /// The parameter sets in Annex B framing.
    pub fn annex_b(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for nal in &self.nals {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(nal);
        }
        out
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn sized_u16(&mut self) -> Option<&'a [u8]> {
        let len = u16::from_be_bytes(self.take(2)?.try_into().ok()?);
        self.take(usize::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_to_annex_b() {
        let au = AccessUnit {
            data: &[0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06],
            framing: NalFraming::LengthPrefixed(4),
            pts: 0,
        };
        let mut out = Vec::new();
        au.append_annex_b(&mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0x88, 0, 0, 0, 1, 0x06]);
        assert!(au.has_picture(VideoCodec::H264).unwrap());
        let truncated = AccessUnit {
            data: &[0, 0, 0, 9, 0x65],
            ..au
        };
        assert!(truncated.append_annex_b(&mut out).is_err());
        assert!(length_prefixed_nals(&[1, 2], 3).is_err());
    }

    #[test]
    fn avcc_and_sample_entry() {
        let sps = [0x67u8, 0x42, 0xc0, 0x1f, 0xaa];
        let pps = [0x68u8, 0xce, 0x3c, 0x80];
        let sets = crate::avc::H264ParameterSets {
            sps: sps.to_vec(),
            pps: pps.to_vec(),
        };
        let parsed = ParameterSets::from_avcc(&sets.avcc_body()).unwrap();
        assert_eq!(parsed.nals, vec![sps.to_vec(), pps.to_vec()]);
        assert_eq!(parsed.nal_length_size, 4);
        let (codec, from_entry) =
            ParameterSets::from_sample_entry(&sets.avc1_sample_entry(1280, 720)).unwrap();
        assert_eq!(codec, VideoCodec::H264);
        assert_eq!(from_entry, parsed);
        assert!(ParameterSets::from_sample_entry(b"\0\0\0\x08mp4a").is_err());
        assert!(ParameterSets::from_avcc(&[1, 0x42]).is_err());
    }

    #[test]
    fn hvcc() {
        let mut body = vec![0u8; 21];
        body.push(0xff); // lengthSizeMinusOne 3
        body.push(2); // arrays
        for (t, nal) in [(32u8, &[0x40u8, 1, 7][..]), (33, &[0x42, 1][..])] {
            body.extend_from_slice(&[t, 0, 1, 0, nal.len() as u8]);
            body.extend_from_slice(nal);
        }
        let sets = ParameterSets::from_hvcc(&body).unwrap();
        assert_eq!(sets.nals, vec![vec![0x40, 1, 7], vec![0x42, 1]]);
        assert_eq!(
            sets.annex_b(),
            [0, 0, 0, 1, 0x40, 1, 7, 0, 0, 0, 1, 0x42, 1]
        );
        assert!(ParameterSets::from_hvcc(&body[..25]).is_err());
    }
}
