//! Reading segment files back.
//!
//! [`scan`] walks a segment's top-level boxes without reading sample data: it parses
//! the init segment, then each `prft`/`moof`/`mdat` fragment, checking that every
//! fragment is whole (its `mdat` holds exactly the bytes its `trun` announces), that
//! sequence numbers count up by one and that decode times are contiguous. Its result
//! says where the last complete fragment ends, which is what crash recovery truncates
//! to, and what the init segment's metadata says, which is what re-indexing needs.
//!
//! The scanner reads through [`ReadAt`], so it runs over a file, or a byte slice in tests.

use crate::VideoCodec;
use crate::fmp4::{KEY_SAMPLE_FLAGS, METADATA_BOX, Sample, unix_90k_from_ntp};

/// Random-access reading; implemented by the store for files and here for slices.
pub trait ReadAt {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` from `offset`; fails if that range is not all present.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

impl ReadAt for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| std::io::ErrorKind::UnexpectedEof)?;
        let src = self
            .get(start..start + buf.len())
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// The largest `moov` or `moof` the scanner will read into memory.
const MAX_HEADER_BOX: u64 = 16 << 20;

/// What the init segment says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitInfo {
    pub codec: VideoCodec,
    /// The visual sample entry box, whole.
    pub sample_entry: Vec<u8>,
    pub width: u16,
    pub height: u16,
    pub timescale: u32,
    /// The contents of `moov/udta/vdms`, empty if absent.
    pub metadata: Vec<u8>,
    /// Length of `ftyp` + `moov`: where the first fragment starts.
    pub len: u64,
}

/// One complete fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FragmentInfo {
    /// Offset of the fragment's first box (`prft`, else `moof`).
    pub offset: u64,
    /// Length through the end of its `mdat`.
    pub len: u64,
    pub sequence: u32,
    /// Decode time of the first sample, in the track's timescale.
    pub base_decode_time: u64,
    /// Wall-clock time of the first sample (from `prft`), 90 kHz since the Unix epoch.
    pub wall_90k: Option<i64>,
    /// Sum of sample durations.
    pub duration: u64,
    pub samples: u32,
    pub key_samples: u32,
    pub first_is_key: bool,
    /// Absolute offset and length of the sample data.
    pub data_offset: u64,
    pub data_len: u64,
}

/// The result of scanning a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub init: InitInfo,
    pub fragments: Vec<FragmentInfo>,
    /// Where the last complete fragment (or the init segment) ends.
    pub complete_len: u64,
    /// The length of the source.
    pub source_len: u64,
    /// Why the bytes from `complete_len` on are not a complete fragment, if there are any.
    pub tail_problem: Option<String>,
}

impl Scan {
    /// Total sample duration of all complete fragments.
    pub fn duration(&self) -> u64 {
        self.fragments.iter().map(|f| f.duration).sum()
    }
    /// Total samples of all complete fragments.
    pub fn samples(&self) -> u64 {
        self.fragments.iter().map(|f| u64::from(f.samples)).sum()
    }
}

/// A source that is not a readable segment at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("I/O error reading segment: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a Vidimus segment: {0}")]
    Invalid(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, ScanError> {
    Err(ScanError::Invalid(msg.into()))
}

/// A box header read from the source.
struct BoxHeader {
    fourcc: [u8; 4],
    offset: u64,
    header_len: u64,
    /// Total length, header included.
    len: u64,
}

/// Reads the box header at `offset`; `Ok(None)` if it is cut off or its size is
/// unusable (0 = "to end of file" is never written by Vidimus).
fn read_header(src: &(impl ReadAt + ?Sized), offset: u64) -> Result<Option<BoxHeader>, ScanError> {
    let total = src.len();
    if offset + 8 > total {
        return Ok(None);
    }
    let mut h = [0u8; 16];
    src.read_exact_at(offset, &mut h[..8])?;
    let size32 = u32::from_be_bytes(h[0..4].try_into().expect("4 bytes"));
    let fourcc: [u8; 4] = h[4..8].try_into().expect("4 bytes");
    let (len, header_len) = match size32 {
        0 => return Ok(None),
        1 => {
            if offset + 16 > total {
                return Ok(None);
            }
            src.read_exact_at(offset + 8, &mut h[8..16])?;
            (
                u64::from_be_bytes(h[8..16].try_into().expect("8 bytes")),
                16,
            )
        }
        n => (u64::from(n), 8),
    };
    if len < header_len {
        return Ok(None);
    }
    Ok(Some(BoxHeader {
        fourcc,
        offset,
        header_len,
        len,
    }))
}

fn read_body(src: &(impl ReadAt + ?Sized), h: &BoxHeader) -> Result<Vec<u8>, ScanError> {
    let mut body = vec![0u8; (h.len - h.header_len) as usize];
    src.read_exact_at(h.offset + h.header_len, &mut body)?;
    Ok(body)
}

/// Iterates the child boxes in `data`: `(fourcc, body)`.
fn children(data: &[u8]) -> impl Iterator<Item = Result<([u8; 4], &[u8]), String>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let rest = &data[pos..];
        if rest.len() < 8 {
            pos = data.len();
            return Some(Err("truncated child box header".into()));
        }
        let size = u32::from_be_bytes(rest[0..4].try_into().expect("4")) as usize;
        let fourcc: [u8; 4] = rest[4..8].try_into().expect("4");
        if size < 8 || size > rest.len() {
            pos = data.len();
            return Some(Err(format!(
                "child box {} has bad size {size}",
                String::from_utf8_lossy(&fourcc)
            )));
        }
        pos += size;
        Some(Ok((fourcc, &rest[8..size])))
    })
}

fn child<'a>(data: &'a [u8], want: &[u8; 4]) -> Result<Option<&'a [u8]>, String> {
    for c in children(data) {
        let (fourcc, body) = c?;
        if &fourcc == want {
            return Ok(Some(body));
        }
    }
    Ok(None)
}

fn need<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Result<&'a [u8], String> {
    let mut cur = data;
    for p in path {
        cur = child(cur, p)?
            .ok_or_else(|| format!("missing box {}", String::from_utf8_lossy(&p[..])))?;
    }
    Ok(cur)
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes(s.try_into().expect("4")))
        .ok_or_else(|| "box too short".to_owned())
}

fn be64(b: &[u8], at: usize) -> Result<u64, String> {
    b.get(at..at + 8)
        .map(|s| u64::from_be_bytes(s.try_into().expect("8")))
        .ok_or_else(|| "box too short".to_owned())
}

fn parse_moov(moov: &[u8], len: u64) -> Result<InitInfo, String> {
    let mdhd = need(moov, &[b"trak", b"mdia", b"mdhd"])?;
    let timescale = if mdhd.first() == Some(&1) {
        be32(mdhd, 20)?
    } else {
        be32(mdhd, 12)?
    };
    let stsd = need(moov, &[b"trak", b"mdia", b"minf", b"stbl", b"stsd"])?;
    let entries = stsd.get(8..).ok_or("stsd too short")?;
    let size = be32(entries, 0)? as usize;
    let sample_entry = entries
        .get(..size)
        .filter(|_| size >= 36)
        .ok_or("bad sample entry size")?
        .to_vec();
    let fourcc: [u8; 4] = sample_entry[4..8].try_into().expect("4");
    let codec = VideoCodec::from_sample_entry(fourcc).ok_or_else(|| {
        format!(
            "unsupported sample entry {}",
            String::from_utf8_lossy(&fourcc)
        )
    })?;
    let width = u16::from_be_bytes([sample_entry[32], sample_entry[33]]);
    let height = u16::from_be_bytes([sample_entry[34], sample_entry[35]]);
    let metadata = match child(moov, b"udta")? {
        Some(udta) => child(udta, &METADATA_BOX)?.unwrap_or_default().to_vec(),
        None => Vec::new(),
    };
    Ok(InitInfo {
        codec,
        sample_entry,
        width,
        height,
        timescale,
        metadata,
        len,
    })
}

/// What a parsed `moof` announces.
struct Moof {
    sequence: u32,
    base_decode_time: u64,
    duration: u64,
    samples: u32,
    key_samples: u32,
    first_is_key: bool,
    data_offset: u64,
    data_len: u64,
}

fn parse_moof(moof: &[u8], mut samples_out: Option<&mut Vec<Sample>>) -> Result<Moof, String> {
    let mfhd = need(moof, &[b"mfhd"])?;
    let sequence = be32(mfhd, 4)?;
    let traf = need(moof, &[b"traf"])?;
    let tfhd = need(traf, &[b"tfhd"])?;
    let tfhd_flags = be32(tfhd, 0)? & 0xff_ffff;
    let mut pos = 8usize; // version/flags + track_ID
    let has = |bit: u32| tfhd_flags & bit != 0;
    if has(0x01) {
        // base_data_offset: Vidimus writes default-base-is-moof instead.
        return Err("tfhd base-data-offset is not supported".into());
    }
    if has(0x02) {
        pos += 4;
    }
    let default_duration = if has(0x08) {
        let v = be32(tfhd, pos)?;
        pos += 4;
        Some(v)
    } else {
        None
    };
    let default_size = if has(0x10) {
        let v = be32(tfhd, pos)?;
        pos += 4;
        Some(v)
    } else {
        None
    };
    let default_flags = if has(0x20) {
        Some(be32(tfhd, pos)?)
    } else {
        None
    };
    let tfdt = need(traf, &[b"tfdt"])?;
    let base_decode_time = if tfdt.first() == Some(&1) {
        be64(tfdt, 4)?
    } else {
        u64::from(be32(tfdt, 4)?)
    };
    let trun = need(traf, &[b"trun"])?;
    let flags = be32(trun, 0)? & 0xff_ffff;
    let count = be32(trun, 4)?;
    let mut p = 8usize;
    let data_offset = if flags & 0x1 != 0 {
        let v = be32(trun, p)? as i32;
        p += 4;
        v
    } else {
        return Err("trun without data offset".into());
    };
    let first_flags = if flags & 0x4 != 0 {
        let v = be32(trun, p)?;
        p += 4;
        Some(v)
    } else {
        None
    };
    let (mut duration, mut data_len, mut key_samples, mut first_is_key) = (0u64, 0u64, 0u32, false);
    for i in 0..count {
        let d = if flags & 0x100 != 0 {
            let v = be32(trun, p)?;
            p += 4;
            v
        } else {
            default_duration.ok_or("no sample duration")?
        };
        let s = if flags & 0x200 != 0 {
            let v = be32(trun, p)?;
            p += 4;
            v
        } else {
            default_size.ok_or("no sample size")?
        };
        let f = if flags & 0x400 != 0 {
            let v = be32(trun, p)?;
            p += 4;
            v
        } else if i == 0 && first_flags.is_some() {
            first_flags.expect("checked")
        } else {
            default_flags.unwrap_or(KEY_SAMPLE_FLAGS)
        };
        if flags & 0x800 != 0 {
            p += 4; // composition time offset
        }
        let is_key = f & 0x0001_0000 == 0;
        if is_key {
            key_samples += 1;
        }
        if i == 0 {
            first_is_key = is_key;
        }
        duration += u64::from(d);
        data_len += u64::from(s);
        if let Some(out) = samples_out.as_deref_mut() {
            out.push(Sample {
                duration: d,
                size: s,
                is_key,
            });
        }
    }
    if data_offset < 0 {
        return Err("negative trun data offset".into());
    }
    Ok(Moof {
        sequence,
        base_decode_time,
        duration,
        samples: count,
        key_samples,
        first_is_key,
        data_offset: data_offset as u64,
        data_len,
    })
}

/// Scans a segment. Fails only if the init segment itself is unusable; a damaged or
/// incomplete tail is reported in [`Scan::tail_problem`].
pub fn scan(src: &(impl ReadAt + ?Sized)) -> Result<Scan, ScanError> {
    let total = src.len();
    let Some(ftyp) = read_header(src, 0)? else {
        return invalid("too short for an ftyp box");
    };
    if &ftyp.fourcc != b"ftyp" || ftyp.len > total {
        return invalid("does not start with an ftyp box");
    }
    let Some(moov) = read_header(src, ftyp.len)? else {
        return invalid("no complete moov box after ftyp");
    };
    if &moov.fourcc != b"moov" || moov.len > MAX_HEADER_BOX || moov.offset + moov.len > total {
        return invalid("no complete moov box after ftyp");
    }
    let init_len = moov.offset + moov.len;
    let init = parse_moov(&read_body(src, &moov)?, init_len).map_err(ScanError::Invalid)?;

    let mut fragments: Vec<FragmentInfo> = Vec::new();
    let mut pos = init_len;
    let mut tail_problem = None;
    let mut prft: Option<(u64, i64)> = None; // (offset, wall)
    while pos < total {
        let Some(h) = read_header(src, pos)? else {
            tail_problem = Some(format!("incomplete box header at offset {pos}"));
            break;
        };
        if h.offset + h.len > total {
            tail_problem = Some(format!(
                "{} box at offset {pos} is cut off ({} of {} bytes present)",
                String::from_utf8_lossy(&h.fourcc),
                total - pos,
                h.len
            ));
            break;
        }
        match &h.fourcc {
            b"free" | b"skip" => {}
            b"prft" => {
                let body = read_body(src, &h)?;
                let ntp = if body.first() == Some(&1) || body.len() >= 16 {
                    be64(&body, 8)
                } else {
                    Err("short prft".into())
                };
                match ntp {
                    Ok(ntp) => prft = Some((pos, unix_90k_from_ntp(ntp))),
                    Err(e) => {
                        tail_problem = Some(format!("bad prft at offset {pos}: {e}"));
                        break;
                    }
                }
            }
            b"moof" if h.len <= MAX_HEADER_BOX => {
                let moof = match parse_moof(&read_body(src, &h)?, None) {
                    Ok(m) => m,
                    Err(e) => {
                        tail_problem = Some(format!("bad moof at offset {pos}: {e}"));
                        break;
                    }
                };
                let mdat_at = pos + h.len;
                let mdat = match read_header(src, mdat_at)? {
                    Some(m) if &m.fourcc == b"mdat" => m,
                    Some(m) => {
                        tail_problem = Some(format!(
                            "moof at offset {pos} is followed by {}, not mdat",
                            String::from_utf8_lossy(&m.fourcc)
                        ));
                        break;
                    }
                    None => {
                        tail_problem = Some(format!("moof at offset {pos} has no complete mdat"));
                        break;
                    }
                };
                if mdat.offset + mdat.len > total {
                    tail_problem = Some(format!(
                        "mdat at offset {mdat_at} is cut off ({} of {} bytes present)",
                        total - mdat_at,
                        mdat.len
                    ));
                    break;
                }
                let data_offset = pos + moof.data_offset;
                if data_offset != mdat_at + mdat.header_len
                    || mdat.len - mdat.header_len != moof.data_len
                {
                    tail_problem = Some(format!(
                        "fragment at offset {pos}: mdat holds {} bytes but moof announces {}",
                        mdat.len - mdat.header_len,
                        moof.data_len
                    ));
                    break;
                }
                if let Some(prev) = fragments.last() {
                    if moof.sequence != prev.sequence + 1 {
                        tail_problem = Some(format!(
                            "fragment at offset {pos} has sequence {} after {}",
                            moof.sequence, prev.sequence
                        ));
                        break;
                    }
                    if moof.base_decode_time != prev.base_decode_time + prev.duration {
                        tail_problem = Some(format!(
                            "fragment at offset {pos} starts at decode time {} but the previous ends at {}",
                            moof.base_decode_time,
                            prev.base_decode_time + prev.duration
                        ));
                        break;
                    }
                }
                let start = prft.map_or(pos, |(o, _)| o);
                let end = mdat.offset + mdat.len;
                fragments.push(FragmentInfo {
                    offset: start,
                    len: end - start,
                    sequence: moof.sequence,
                    base_decode_time: moof.base_decode_time,
                    wall_90k: prft.map(|(_, w)| w),
                    duration: moof.duration,
                    samples: moof.samples,
                    key_samples: moof.key_samples,
                    first_is_key: moof.first_is_key,
                    data_offset,
                    data_len: moof.data_len,
                });
                prft = None;
                pos = end;
                continue;
            }
            other => {
                tail_problem = Some(format!(
                    "unexpected {} box at offset {pos}",
                    String::from_utf8_lossy(other)
                ));
                break;
            }
        }
        pos += h.len;
    }
    let complete_len = fragments.last().map_or(init_len, |f| f.offset + f.len);
    if tail_problem.is_none() && complete_len < total {
        tail_problem = Some(format!(
            "{} bytes after the last complete fragment",
            total - complete_len
        ));
    }
    Ok(Scan {
        init,
        fragments,
        complete_len,
        source_len: total,
        tail_problem,
    })
}

/// The samples of one fragment found by [`scan`], read back from its `trun`.
pub fn fragment_samples(
    src: &(impl ReadAt + ?Sized),
    frag: &FragmentInfo,
) -> Result<Vec<Sample>, ScanError> {
    let mut pos = frag.offset;
    while pos < frag.data_offset {
        let Some(h) = read_header(src, pos)? else {
            return invalid(format!("fragment at offset {} is unreadable", frag.offset));
        };
        if &h.fourcc == b"moof" {
            let mut out = Vec::with_capacity(frag.samples as usize);
            parse_moof(&read_body(src, &h)?, Some(&mut out)).map_err(ScanError::Invalid)?;
            return Ok(out);
        }
        pos += h.len;
    }
    invalid(format!("fragment at offset {} has no moof", frag.offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmp4::{InitParams, Sample, fragment_header, init_segment};
    use proptest::prelude::*;

    /// A minimal avc1 sample entry (78 bytes + an avcC) for tests.
    fn sample_entry() -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&0u32.to_be_bytes());
        e.extend_from_slice(b"avc1");
        e.extend_from_slice(&[0; 6]);
        e.extend_from_slice(&1u16.to_be_bytes());
        e.extend_from_slice(&[0; 16]);
        e.extend_from_slice(&1280u16.to_be_bytes());
        e.extend_from_slice(&720u16.to_be_bytes());
        e.extend_from_slice(&[0; 50]);
        let avcc = [
            0u8, 0, 0, 15, b'a', b'v', b'c', b'C', 1, 0x64, 0, 0x1f, 0xff, 0xe0, 0,
        ];
        e.extend_from_slice(&avcc);
        let n = e.len() as u32;
        e[0..4].copy_from_slice(&n.to_be_bytes());
        e
    }

    fn build(gops: &[Vec<u32>]) -> Vec<u8> {
        let se = sample_entry();
        let mut file = init_segment(&InitParams {
            sample_entry: &se,
            width: 1280,
            height: 720,
            metadata: b"{\"camera\":1}",
        });
        let mut t = 0u64;
        let mut h = Vec::new();
        for (i, gop) in gops.iter().enumerate() {
            let samples: Vec<Sample> = gop
                .iter()
                .enumerate()
                .map(|(j, &size)| Sample {
                    duration: 3600,
                    size,
                    is_key: j == 0,
                })
                .collect();
            fragment_header(i as u32 + 1, t, 1_000 + t as i64, &samples, &mut h);
            file.extend_from_slice(&h);
            for &s in gop {
                file.extend(std::iter::repeat_n(0xAB, s as usize));
            }
            t += 3600 * gop.len() as u64;
        }
        file
    }

    #[test]
    fn round_trip() {
        let f = build(&[vec![100, 20, 30], vec![90, 10]]);
        let s = scan(&f[..]).unwrap();
        assert_eq!(s.init.codec, VideoCodec::H264);
        assert_eq!(
            (s.init.width, s.init.height, s.init.timescale),
            (1280, 720, 90_000)
        );
        assert_eq!(s.init.metadata, b"{\"camera\":1}");
        assert_eq!(s.fragments.len(), 2);
        assert_eq!(s.samples(), 5);
        assert_eq!(s.duration(), 5 * 3600);
        assert_eq!(s.fragments[1].base_decode_time, 3 * 3600);
        assert_eq!(s.fragments[1].wall_90k, Some(1_000 + 3 * 3600));
        assert!(
            s.fragments
                .iter()
                .all(|f| f.first_is_key && f.key_samples == 1)
        );
        assert_eq!(s.complete_len, f.len() as u64);
        assert_eq!(s.tail_problem, None);
        let samples = fragment_samples(&f[..], &s.fragments[0]).unwrap();
        assert_eq!(
            samples.iter().map(|x| x.size).collect::<Vec<_>>(),
            vec![100, 20, 30]
        );
        assert!(samples[0].is_key && !samples[1].is_key);
    }

    #[test]
    fn not_a_segment() {
        assert!(matches!(scan(&b"garbage!"[..]), Err(ScanError::Invalid(_))));
        assert!(matches!(scan(&[][..]), Err(ScanError::Invalid(_))));
    }

    proptest! {
        /// Cutting a segment anywhere leaves a valid prefix ending at a fragment boundary.
        #[test]
        fn any_truncation_recovers_whole_fragments(
            gops in proptest::collection::vec(proptest::collection::vec(1u32..300, 1..6), 1..5),
            cut_frac in 0.0f64..1.0,
        ) {
            let f = build(&gops);
            let full = scan(&f[..]).unwrap();
            let init_len = full.init.len as usize;
            let cut = init_len + ((f.len() - init_len) as f64 * cut_frac) as usize;
            let s = scan(&f[..cut]).unwrap();
            prop_assert!(s.complete_len as usize <= cut);
            let ends: Vec<u64> = std::iter::once(full.init.len)
                .chain(full.fragments.iter().map(|f| f.offset + f.len))
                .collect();
            prop_assert!(ends.contains(&s.complete_len));
            prop_assert_eq!(&s.fragments[..], &full.fragments[..s.fragments.len()]);
            // Whatever is whole is kept: no complete fragment is lost.
            let whole = full.fragments.iter().filter(|g| (g.offset + g.len) as usize <= cut).count();
            prop_assert_eq!(s.fragments.len(), whole);
            prop_assert_eq!(s.tail_problem.is_some(), s.complete_len as usize != cut);
        }

        /// Random bytes never panic the scanner.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = scan(&bytes[..]);
            let mut f = build(&[vec![10, 10]]);
            f.extend_from_slice(&bytes);
            let s = scan(&f[..]).unwrap();
            prop_assert!(!s.fragments.is_empty());
        }
    }
}
