//! Progressive MP4 for exports (sans-IO).
//!
//! An export is one ordinary MP4 that any player accepts: `moov` first (so it plays
//! while downloading), then one `mdat` holding the selected samples exactly as
//! recorded — never transcoded:
//!
//! ```text
//! ftyp                 isom, compatible isom iso2 mp41
//! moov
//!   mvhd               timescale 90000
//!   trak
//!     tkhd
//!     edts / elst      one edit: starts playback `trim` ticks into the media, so an
//!                      export that must begin at a key frame before the requested
//!                      instant still shows the requested instant first
//!     mdia
//!       mdhd hdlr
//!       minf / vmhd dinf
//!         stbl
//!           stsd       every distinct sample entry of the source segments
//!           stts stss stsz stsc co64   the full sample tables
//!   udta / vdms        export metadata (opaque bytes from the caller)
//! mdat                 the samples, chunk by chunk
//! ```
//!
//! [`plan`] computes the header and where each chunk's bytes come from; the caller
//! copies those byte ranges after the header, in order.

use crate::fmp4::{
    METADATA_BOX, Sample, UNITY_MATRIX as MATRIX, put_u16, put_u32 as u32be, put_u64 as u64be,
    write_box, write_full_box,
};

/// A run of consecutive samples that sit contiguously in one source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkIn {
    /// Caller's identifier of the source (e.g. an index into its segment list).
    pub source: usize,
    /// Byte offset and length of the samples' data in the source.
    pub offset: u64,
    pub len: u64,
    pub samples: Vec<Sample>,
    /// Which of [`ExportParams::sample_entries`] describes these samples.
    pub sample_entry: usize,
}

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportParams<'a> {
    pub sample_entries: &'a [Vec<u8>],
    pub width: u16,
    pub height: u16,
    /// Media ticks (90 kHz) to skip at the start of playback (edit list).
    pub trim: u64,
    /// Media ticks at the end not to present (an export bundle carries whole
    /// fragments, but shows only the requested range).
    pub trim_end: u64,
    pub metadata: &'a [u8],
}

/// The computed file: write `header`, then each chunk's source bytes in order.
#[derive(Clone, Debug)]
pub struct ExportPlan {
    pub header: Vec<u8>,
    /// (source, offset, len) per chunk, in file order.
    pub copies: Vec<(usize, u64, u64)>,
    pub total_len: u64,
    /// Media duration of all samples, and of the presented part (after `trim`).
    pub media_duration: u64,
    pub presented_duration: u64,
    pub samples: u64,
}

/// A request that cannot produce a valid MP4.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExportError {
    #[error("nothing to export")]
    Empty,
    #[error("the export must start with a key frame")]
    NoKeyFrame,
    #[error("chunk refers to sample entry {0}, which does not exist")]
    BadSampleEntry(usize),
    #[error("trim of {trim} ticks is not shorter than the {duration} ticks exported")]
    TrimTooLong { trim: u64, duration: u64 },
}

/// Plans an export of `chunks`, in order.
pub fn plan(p: &ExportParams<'_>, chunks: &[ChunkIn]) -> Result<ExportPlan, ExportError> {
    let first = chunks
        .iter()
        .flat_map(|c| c.samples.first())
        .next()
        .ok_or(ExportError::Empty)?;
    if !first.is_key {
        return Err(ExportError::NoKeyFrame);
    }
    if let Some(c) = chunks
        .iter()
        .find(|c| c.sample_entry >= p.sample_entries.len())
    {
        return Err(ExportError::BadSampleEntry(c.sample_entry));
    }
    let chunks: Vec<&ChunkIn> = chunks.iter().filter(|c| !c.samples.is_empty()).collect();
    let media_duration: u64 = chunks
        .iter()
        .flat_map(|c| &c.samples)
        .map(|s| u64::from(s.duration))
        .sum();
    if p.trim + p.trim_end >= media_duration {
        return Err(ExportError::TrimTooLong {
            trim: p.trim + p.trim_end,
            duration: media_duration,
        });
    }
    let presented = media_duration - p.trim - p.trim_end;
    let samples: u64 = chunks.iter().map(|c| c.samples.len() as u64).sum();
    let data_len: u64 = chunks.iter().map(|c| c.len).sum();
    // The header's size does not depend on the chunk offsets (co64 entries are fixed
    // size), so build it once to measure, then again with the real offsets.
    let build = |mdat_start: u64| -> Vec<u8> {
        let mut offsets = Vec::with_capacity(chunks.len());
        let mut pos = mdat_start;
        for c in &chunks {
            offsets.push(pos);
            pos += c.len;
        }
        header(p, &chunks, &offsets, media_duration, presented, data_len)
    };
    let header_len = build(0).len() as u64;
    let header = build(header_len);
    debug_assert_eq!(header.len() as u64, header_len);
    Ok(ExportPlan {
        copies: chunks.iter().map(|c| (c.source, c.offset, c.len)).collect(),
        total_len: header.len() as u64 + data_len,
        header,
        media_duration,
        presented_duration: presented,
        samples,
    })
}

fn header(
    p: &ExportParams<'_>,
    chunks: &[&ChunkIn],
    offsets: &[u64],
    media_duration: u64,
    presented: u64,
    data_len: u64,
) -> Vec<u8> {
    let mut o =
        Vec::with_capacity(4096 + 16 * chunks.iter().map(|c| c.samples.len()).sum::<usize>());
    write_box(&mut o, b"ftyp", |o| {
        o.extend_from_slice(b"isom");
        u32be(o, 0x200);
        o.extend_from_slice(b"isomiso2mp41");
    });
    write_box(&mut o, b"moov", |o| {
        write_full_box(o, b"mvhd", 1, 0, |o| {
            u64be(o, 0);
            u64be(o, 0);
            u32be(o, 90_000);
            u64be(o, presented);
            u32be(o, 0x0001_0000);
            put_u16(o, 0x0100);
            o.extend_from_slice(&[0; 10]);
            MATRIX.iter().for_each(|&m| u32be(o, m));
            o.extend_from_slice(&[0; 24]);
            u32be(o, 2);
        });
        write_box(o, b"trak", |o| {
            write_full_box(o, b"tkhd", 1, 3, |o| {
                u64be(o, 0);
                u64be(o, 0);
                u32be(o, 1);
                u32be(o, 0);
                u64be(o, presented);
                o.extend_from_slice(&[0; 8]);
                o.extend_from_slice(&[0; 8]); // layer, alternate_group, volume, reserved
                MATRIX.iter().for_each(|&m| u32be(o, m));
                u32be(o, u32::from(p.width) << 16);
                u32be(o, u32::from(p.height) << 16);
            });
            write_box(o, b"edts", |o| {
                write_full_box(o, b"elst", 1, 0, |o| {
                    u32be(o, 1);
                    u64be(o, presented); // segment_duration (movie timescale)
                    u64be(o, p.trim); // media_time
                    u32be(o, 0x0001_0000); // media_rate 1.0
                });
            });
            write_box(o, b"mdia", |o| {
                write_full_box(o, b"mdhd", 1, 0, |o| {
                    u64be(o, 0);
                    u64be(o, 0);
                    u32be(o, 90_000);
                    u64be(o, media_duration);
                    put_u16(o, 0x55c4);
                    o.extend_from_slice(&[0; 2]);
                });
                write_full_box(o, b"hdlr", 0, 0, |o| {
                    u32be(o, 0);
                    o.extend_from_slice(b"vide");
                    o.extend_from_slice(&[0; 12]);
                    o.extend_from_slice(b"Vidimus export\0");
                });
                write_box(o, b"minf", |o| {
                    write_full_box(o, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
                    write_box(o, b"dinf", |o| {
                        write_full_box(o, b"dref", 0, 0, |o| {
                            u32be(o, 1);
                            write_full_box(o, b"url ", 0, 1, |_| {});
                        });
                    });
                    write_box(o, b"stbl", |o| stbl(o, p, chunks, offsets));
                });
            });
        });
        write_box(o, b"udta", |o| {
            write_box(o, &METADATA_BOX, |o| o.extend_from_slice(p.metadata))
        });
    });
    if data_len + 8 > u64::from(u32::MAX) {
        u32be(&mut o, 1);
        o.extend_from_slice(b"mdat");
        u64be(&mut o, data_len + 16);
    } else {
        u32be(&mut o, (data_len + 8) as u32);
        o.extend_from_slice(b"mdat");
    }
    o
}

fn stbl(o: &mut Vec<u8>, p: &ExportParams<'_>, chunks: &[&ChunkIn], offsets: &[u64]) {
    let all = || chunks.iter().flat_map(|c| c.samples.iter());
    write_full_box(o, b"stsd", 0, 0, |o| {
        u32be(o, p.sample_entries.len() as u32);
        p.sample_entries.iter().for_each(|e| o.extend_from_slice(e));
    });
    // Durations, run-length encoded.
    let mut stts: Vec<(u32, u32)> = Vec::new();
    for s in all() {
        match stts.last_mut() {
            Some((n, d)) if *d == s.duration => *n += 1,
            _ => stts.push((1, s.duration)),
        }
    }
    write_full_box(o, b"stts", 0, 0, |o| {
        u32be(o, stts.len() as u32);
        for (n, d) in &stts {
            u32be(o, *n);
            u32be(o, *d);
        }
    });
    let keys: Vec<u32> = all()
        .enumerate()
        .filter(|(_, s)| s.is_key)
        .map(|(i, _)| i as u32 + 1)
        .collect();
    write_full_box(o, b"stss", 0, 0, |o| {
        u32be(o, keys.len() as u32);
        keys.iter().for_each(|&k| u32be(o, k));
    });
    write_full_box(o, b"stsz", 0, 0, |o| {
        u32be(o, 0);
        u32be(o, all().count() as u32);
        all().for_each(|s| u32be(o, s.size));
    });
    // Samples per chunk and sample entry, run-length encoded by first chunk.
    let mut stsc: Vec<(u32, u32, u32)> = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let (n, sdi) = (c.samples.len() as u32, c.sample_entry as u32 + 1);
        if stsc.last().is_none_or(|&(_, ln, ls)| (ln, ls) != (n, sdi)) {
            stsc.push((i as u32 + 1, n, sdi));
        }
    }
    write_full_box(o, b"stsc", 0, 0, |o| {
        u32be(o, stsc.len() as u32);
        for (f, n, s) in &stsc {
            u32be(o, *f);
            u32be(o, *n);
            u32be(o, *s);
        }
    });
    write_full_box(o, b"co64", 0, 0, |o| {
        u32be(o, offsets.len() as u32);
        offsets.iter().for_each(|&x| u64be(o, x));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(source: usize, n: usize, key_first: bool) -> ChunkIn {
        ChunkIn {
            source,
            offset: 100,
            len: n as u64 * 10,
            samples: (0..n)
                .map(|i| Sample {
                    duration: 3600,
                    size: 10,
                    is_key: i == 0 && key_first,
                })
                .collect(),
            sample_entry: 0,
        }
    }

    #[test]
    fn plans_offsets_and_durations() {
        let se = vec![vec![0, 0, 0, 8, b'a', b'v', b'c', b'1']];
        let p = ExportParams {
            sample_entries: &se,
            width: 1280,
            height: 720,
            trim: 7200,
            trim_end: 0,
            metadata: b"{}",
        };
        let plan = plan(&p, &[chunk(0, 50, true), chunk(1, 25, false)]).unwrap();
        assert_eq!(plan.samples, 75);
        assert_eq!(plan.media_duration, 75 * 3600);
        assert_eq!(plan.presented_duration, 75 * 3600 - 7200);
        assert_eq!(plan.total_len, plan.header.len() as u64 + 750);
        assert_eq!(plan.copies, vec![(0, 100, 500), (1, 100, 250)]);
        // The header ends with the mdat header, and the first chunk starts right after.
        assert_eq!(&plan.header[plan.header.len() - 4..], b"mdat");
        // Trimming the end shortens what is presented, never what is carried.
        let p = ExportParams {
            trim_end: 3600,
            ..p
        };
        let short = super::plan(&p, &[chunk(0, 50, true), chunk(1, 25, false)]).unwrap();
        assert_eq!(short.presented_duration, 75 * 3600 - 7200 - 3600);
        assert_eq!(short.total_len, short.header.len() as u64 + 750);
    }

    #[test]
    fn refuses_what_cannot_play() {
        let se = vec![vec![0; 8]];
        let p = ExportParams {
            sample_entries: &se,
            width: 1,
            height: 1,
            trim: 0,
            trim_end: 0,
            metadata: b"",
        };
        assert_eq!(plan(&p, &[]).unwrap_err(), ExportError::Empty);
        assert_eq!(
            plan(&p, &[chunk(0, 3, false)]).unwrap_err(),
            ExportError::NoKeyFrame
        );
        let p2 = ExportParams {
            trim: 10 * 3600,
            trim_end: 0,
            ..p.clone()
        };
        assert!(matches!(
            plan(&p2, &[chunk(0, 3, true)]),
            Err(ExportError::TrimTooLong { .. })
        ));
    }
}
