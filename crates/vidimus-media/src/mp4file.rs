//! The video track of an ordinary (progressive) MP4 file — an export of ours or anyone's
//! H.264/H.265 file — read sans-IO: the caller walks top-level boxes with
//! [`box_header`] until it finds `moov` and reads it, [`video_track`] turns it into the
//! track's sample entry and its samples (offset, size, decode and presentation time,
//! key frame), and the caller reads each sample's bytes at its offset. Box parsing is
//! `mp4-atom`'s; this module only resolves the sample tables (stts, ctts, stss, stsc,
//! stsz, stco/co64) into samples, checking that they agree.

use mp4_atom::{Codec, Decode, Encode, FourCC, Header, Moov, StszSamples};

/// The most samples a track may have (about 4.6 days at 25 frames per second): a
/// table claiming more is refused before anything is allocated for it.
pub const MAX_SAMPLES: usize = 10_000_000;

/// What cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Mp4FileError {
    #[error("not an MP4 file this can read: {0}")]
    Atom(String),
    #[error("the file has no H.264 (avc1) or H.265 (hvc1, hev1) video track")]
    NoVideo,
    #[error("the video track's sample tables disagree: {0}")]
    Table(String),
}

/// One sample of the track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSample {
    /// Where its bytes are in the file, and how many.
    pub offset: u64,
    pub size: u32,
    /// Decode and presentation time, in the track's timescale.
    pub dts: i64,
    pub pts: i64,
    pub is_key: bool,
}

/// The first video track of a file.
#[derive(Clone, Debug)]
pub struct VideoTrack {
    /// The complete visual sample entry box (`avc1`/`hvc1`/`hev1` with its config).
    pub sample_entry: Vec<u8>,
    pub width: u16,
    pub height: u16,
    /// Ticks per second of [`FileSample::dts`] and [`FileSample::pts`].
    pub timescale: u32,
    pub samples: Vec<FileSample>,
}

/// A box's header: its kind, the header's length, and the box's whole size (`None`:
/// it runs to the end of the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoxHeader {
    pub kind: [u8; 4],
    pub header_len: usize,
    pub size: Option<u64>,
}

/// The header of the box at the start of `bytes`; `None` if `bytes` is too short for one.
pub fn box_header(bytes: &[u8]) -> Result<Option<BoxHeader>, Mp4FileError> {
    let mut rest = bytes;
    let h = <Header as mp4_atom::DecodeMaybe>::decode_maybe(&mut rest)
        .map_err(|e| Mp4FileError::Atom(e.to_string()))?;
    Ok(h.map(|h| {
        let header_len = bytes.len() - rest.len();
        BoxHeader {
            kind: h.kind.into(),
            header_len,
            size: h.size.map(|body| (body + header_len) as u64),
        }
    }))
}

/// The first video track of a file, from its `moov` box (header included).
pub fn video_track(moov: &[u8]) -> Result<VideoTrack, Mp4FileError> {
    let moov = Moov::decode(&mut &moov[..]).map_err(|e| Mp4FileError::Atom(e.to_string()))?;
    let table = |m: String| Mp4FileError::Table(m);
    for trak in &moov.trak {
        if trak.mdia.hdlr.handler != FourCC::new(b"vide") {
            continue;
        }
        let stbl = &trak.mdia.minf.stbl;
        let Some(codec) = stbl.stsd.codecs.first() else {
            continue;
        };
        let (width, height) = match codec {
            Codec::Avc1(c) => (c.visual.width, c.visual.height),
            Codec::Hvc1(c) => (c.visual.width, c.visual.height),
            Codec::Hev1(c) => (c.visual.width, c.visual.height),
            _ => continue,
        };
        let mut sample_entry = Vec::new();
        codec
            .encode(&mut sample_entry)
            .map_err(|e| Mp4FileError::Atom(e.to_string()))?;
        let count = match &stbl.stsz.samples {
            StszSamples::Identical { count, .. } => *count as usize,
            StszSamples::Different { sizes } => sizes.len(),
        };
        if count > MAX_SAMPLES {
            return Err(table(format!(
                "{count} samples; at most {MAX_SAMPLES} are read"
            )));
        }
        let sizes: Vec<u32> = match &stbl.stsz.samples {
            StszSamples::Identical { count, size } => vec![*size; *count as usize],
            StszSamples::Different { sizes } => sizes.clone(),
        };
        let n = sizes.len();
        let chunks: Vec<u64> = match (&stbl.co64, &stbl.stco) {
            (Some(c), _) => c.entries.clone(),
            (None, Some(c)) => c.entries.iter().map(|&o| o as u64).collect(),
            (None, None) => return Err(table("no chunk offsets (stco/co64)".into())),
        };
        // Offsets: chunk by chunk, the samples of each one after another.
        let mut offsets = Vec::with_capacity(n);
        let runs = &stbl.stsc.entries;
        if runs
            .windows(2)
            .any(|w| w[1].first_chunk <= w[0].first_chunk)
        {
            return Err(table("stsc runs are not in chunk order".into()));
        }
        let mut run = 0usize;
        for (ci, &start) in chunks.iter().enumerate() {
            let chunk = ci as u32 + 1;
            // The run this chunk is in: runs are walked once, in order.
            while run + 1 < runs.len() && runs[run + 1].first_chunk <= chunk {
                run += 1;
            }
            let per = runs
                .get(run)
                .filter(|r| r.first_chunk <= chunk)
                .map(|r| r.samples_per_chunk)
                .ok_or_else(|| table(format!("chunk {chunk} is in no stsc run")))?;
            let mut at = start;
            for _ in 0..per {
                let i = offsets.len();
                let Some(&size) = sizes.get(i) else {
                    return Err(table(format!(
                        "stsc places more samples than the {n} of stsz"
                    )));
                };
                offsets.push(at);
                at = at
                    .checked_add(size as u64)
                    .ok_or_else(|| table(format!("sample {} lies past the largest file", i + 1)))?;
            }
        }
        if offsets.len() != n {
            return Err(table(format!(
                "stsc places {} samples, stsz has {n}",
                offsets.len()
            )));
        }
        // Times: decode times from stts, presentation offsets from ctts.
        let mut dts = Vec::with_capacity(n);
        let mut t: i64 = 0;
        'stts: for e in &stbl.stts.entries {
            for _ in 0..e.sample_count {
                if dts.len() == n {
                    break 'stts;
                }
                dts.push(t);
                t += e.sample_delta as i64;
            }
        }
        if dts.len() != n {
            return Err(table(format!(
                "stts times {} samples, stsz has {n}",
                dts.len()
            )));
        }
        let mut shift = vec![0i64; n];
        if let Some(ctts) = &stbl.ctts {
            let mut i = 0;
            for e in &ctts.entries {
                let k = (e.sample_count as usize).min(n - i);
                shift[i..i + k].fill(e.sample_offset);
                i += k;
                if i == n {
                    break;
                }
            }
        }
        let keys: Option<std::collections::HashSet<u32>> = stbl
            .stss
            .as_ref()
            .map(|s| s.entries.iter().copied().collect());
        let samples = (0..n)
            .map(|i| FileSample {
                offset: offsets[i],
                size: sizes[i],
                dts: dts[i],
                pts: dts[i] + shift[i],
                is_key: keys.as_ref().is_none_or(|k| k.contains(&(i as u32 + 1))),
            })
            .collect();
        return Ok(VideoTrack {
            sample_entry,
            width,
            height,
            timescale: trak.mdia.mdhd.timescale,
            samples,
        });
    }
    Err(Mp4FileError::NoVideo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{ChunkIn, ExportParams, plan};
    use crate::fmp4::Sample;

    /// A sample entry good enough for the reader (it does not look into avcC).
    fn avc1() -> Vec<u8> {
        let mut avcc = vec![0, 0, 0, 0];
        avcc.extend_from_slice(b"avcC");
        avcc.extend_from_slice(&[
            1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 4, 0x68, 0xee, 0x3c,
            0x80,
        ]);
        let l = avcc.len() as u32;
        avcc[..4].copy_from_slice(&l.to_be_bytes());
        let mut e = vec![0, 0, 0, 0];
        e.extend_from_slice(b"avc1");
        e.extend_from_slice(&[0; 6]);
        e.extend_from_slice(&1u16.to_be_bytes());
        e.extend_from_slice(&[0; 16]);
        e.extend_from_slice(&1280u16.to_be_bytes());
        e.extend_from_slice(&720u16.to_be_bytes());
        e.extend_from_slice(&0x0048_0000u32.to_be_bytes());
        e.extend_from_slice(&0x0048_0000u32.to_be_bytes());
        e.extend_from_slice(&[0; 4]);
        e.extend_from_slice(&1u16.to_be_bytes());
        e.extend_from_slice(&[0; 32]);
        e.extend_from_slice(&0x18u16.to_be_bytes());
        e.extend_from_slice(&0xffffu16.to_be_bytes());
        e.extend_from_slice(&avcc);
        let l = e.len() as u32;
        e[..4].copy_from_slice(&l.to_be_bytes());
        e
    }

    #[test]
    fn our_own_export_reads_back_sample_for_sample() {
        let entry = avc1();
        let samples: Vec<Sample> = (0..7)
            .map(|i| Sample {
                duration: 3600,
                size: 100 + i,
                is_key: i % 3 == 0,
            })
            .collect();
        let len: u64 = samples.iter().map(|s| s.size as u64).sum();
        let p = plan(
            &ExportParams {
                sample_entries: std::slice::from_ref(&entry),
                width: 1280,
                height: 720,
                trim: 0,
                trim_end: 0,
                metadata: b"",
            },
            &[ChunkIn {
                source: 0,
                offset: 0,
                len,
                samples: samples.clone(),
                sample_entry: 0,
            }],
        )
        .unwrap();
        // Walk the boxes to moov, as a caller does.
        let mut at = 0usize;
        let moov = loop {
            let h = box_header(&p.header[at..]).unwrap().unwrap();
            let size = h.size.unwrap() as usize;
            if &h.kind == b"moov" {
                break &p.header[at..at + size];
            }
            at += size;
        };
        let t = video_track(moov).unwrap();
        assert_eq!((t.width, t.height, t.timescale), (1280, 720, 90_000));
        assert_eq!(t.samples.len(), 7);
        let data_start = p.header.len() as u64;
        let mut off = data_start;
        for (i, s) in t.samples.iter().enumerate() {
            assert_eq!(s.offset, off, "{i}");
            assert_eq!(s.size, 100 + i as u32);
            assert_eq!(s.dts, 3600 * i as i64);
            assert_eq!(s.pts, s.dts);
            assert_eq!(s.is_key, i % 3 == 0);
            off += s.size as u64;
        }
        assert!(t.sample_entry.windows(4).any(|w| w == b"avcC"));
    }

    /// `our_own_export…`'s file with one box of its moov rewritten.
    fn rewritten(patch: impl Fn(&mut Moov)) -> Vec<u8> {
        let entry = avc1();
        let samples: Vec<Sample> = (0..3)
            .map(|i| Sample {
                duration: 3600,
                size: 10,
                is_key: i == 0,
            })
            .collect();
        let p = plan(
            &ExportParams {
                sample_entries: std::slice::from_ref(&entry),
                width: 1280,
                height: 720,
                trim: 0,
                trim_end: 0,
                metadata: b"",
            },
            &[ChunkIn {
                source: 0,
                offset: 0,
                len: 30,
                samples,
                sample_entry: 0,
            }],
        )
        .unwrap();
        let mut at = 0usize;
        loop {
            let h = box_header(&p.header[at..]).unwrap().unwrap();
            let size = h.size.unwrap() as usize;
            if &h.kind == b"moov" {
                let mut moov = Moov::decode(&mut &p.header[at..at + size]).unwrap();
                patch(&mut moov);
                let mut out = Vec::new();
                moov.encode(&mut out).unwrap();
                return out;
            }
            at += size;
        }
    }

    /// Each of these would allocate gigabytes, loop for hours or wrap an offset if the
    /// tables were believed; each is refused or bounded (a hang fails the test run).
    #[test]
    fn hostile_sample_tables_are_refused_or_bounded() {
        // Four billion samples of one size: refused before allocating.
        let huge = rewritten(|m| {
            m.trak[0].mdia.minf.stbl.stsz.samples = StszSamples::Identical {
                count: u32::MAX,
                size: 1,
            };
        });
        assert!(matches!(video_track(&huge), Err(Mp4FileError::Table(_))));
        // A thousand ctts runs of four billion samples: bounded by the samples there are.
        let ctts = rewritten(|m| {
            m.trak[0].mdia.minf.stbl.ctts = Some(mp4_atom::Ctts {
                entries: vec![
                    mp4_atom::CttsEntry {
                        sample_count: u32::MAX,
                        sample_offset: 0
                    };
                    1000
                ],
            });
        });
        assert_eq!(video_track(&ctts).unwrap().samples.len(), 3);
        // A chunk offset at the end of the address space: refused, not wrapped.
        let far = rewritten(|m| {
            let stbl = &mut m.trak[0].mdia.minf.stbl;
            stbl.co64 = Some(mp4_atom::Co64 {
                entries: vec![u64::MAX - 5],
            });
            stbl.stco = None;
        });
        assert!(matches!(video_track(&far), Err(Mp4FileError::Table(_))));
    }

    #[test]
    fn what_is_not_an_mp4_says_so() {
        assert!(video_track(b"\0\0\0\x10moovgarbage!").is_err());
        assert!(box_header(b"\0\0").unwrap().is_none());
    }
}
