//! Writing fragmented-MP4 segments.
//!
//! A Vidimus segment file is one self-contained fragmented MP4 (ISO/IEC 14496-12) with
//! a single video track at a 90 kHz timescale:
//!
//! ```text
//! ftyp                       major brand iso6, compatible isom iso6 mp41
//! moov
//!   mvhd                     timescale 90000, duration 0 (fragmented)
//!   trak
//!     tkhd                   track 1, width x height
//!     mdia
//!       mdhd                 timescale 90000
//!       hdlr                 vide
//!       minf
//!         vmhd
//!         dinf / dref / url
//!         stbl
//!           stsd             the camera's sample entry (avc1+avcC or hvc1+hvcC)
//!           stts stsc stsz stco   empty: samples live in fragments
//!   mvex / trex              track 1 defaults
//!   udta / vdms              Vidimus metadata (opaque bytes: camera, segment, start)
//! then, once per GOP:
//! prft                       wall-clock (NTP) time of the fragment's first sample
//! moof
//!   mfhd                     sequence number, from 1
//!   traf
//!     tfhd                   track 1, default-base-is-moof
//!     tfdt                   base media decode time (90 kHz, from the segment start)
//!     trun                   per sample: duration, size, flags; data offset into mdat
//! mdat                       the samples, as received (4-byte length-prefixed NALs)
//! ```
//!
//! The writer produces only headers: a fragment's header is built from the samples'
//! durations and sizes, and the caller writes the sample bytes after it with vectored
//! IO, so sample data is never copied.

/// Fourcc of the Vidimus metadata box inside `moov/udta`.
pub const METADATA_BOX: [u8; 4] = *b"vdms";

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: i64 = 2_208_988_800;

/// One sample (frame) of a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Duration in 90 kHz units.
    pub duration: u32,
    /// Size of the sample data in bytes.
    pub size: u32,
    /// Whether this sample is a random access point (key frame).
    pub is_key: bool,
}

/// What the init segment describes.
#[derive(Clone, Debug)]
pub struct InitParams<'a> {
    /// The complete visual sample entry box (`avc1`/`hvc1` with its `avcC`/`hvcC`).
    pub sample_entry: &'a [u8],
    pub width: u16,
    pub height: u16,
    /// Opaque metadata stored in `moov/udta/vdms`.
    pub metadata: &'a [u8],
}

/// Appends a box: writes a placeholder size, runs `body`, then patches the size.
pub(crate) fn write_box(out: &mut Vec<u8>, fourcc: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(fourcc);
    body(out);
    let size = u32::try_from(out.len() - start).expect("box under 4 GiB");
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Appends a full box (version and flags after the header).
pub(crate) fn write_full_box(
    out: &mut Vec<u8>,
    fourcc: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    write_box(out, fourcc, |out| {
        out.extend_from_slice(&((u32::from(version) << 24) | (flags & 0xff_ffff)).to_be_bytes());
        body(out);
    });
}

pub(crate) const UNITY_MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

pub(crate) fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Builds the init segment (`ftyp` + `moov`).
pub fn init_segment(p: &InitParams<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + p.sample_entry.len() + p.metadata.len());
    write_box(&mut out, b"ftyp", |o| {
        o.extend_from_slice(b"iso6");
        put_u32(o, 0);
        o.extend_from_slice(b"isomiso6mp41");
    });
    write_box(&mut out, b"moov", |o| {
        write_full_box(o, b"mvhd", 0, 0, |o| {
            put_u32(o, 0); // creation_time
            put_u32(o, 0); // modification_time
            put_u32(o, 90_000); // timescale
            put_u32(o, 0); // duration
            put_u32(o, 0x0001_0000); // rate
            put_u16(o, 0x0100); // volume
            o.extend_from_slice(&[0; 10]); // reserved
            UNITY_MATRIX.iter().for_each(|&m| put_u32(o, m));
            o.extend_from_slice(&[0; 24]); // pre_defined
            put_u32(o, 2); // next_track_ID
        });
        write_box(o, b"trak", |o| {
            write_full_box(o, b"tkhd", 0, 3, |o| {
                put_u32(o, 0); // creation_time
                put_u32(o, 0); // modification_time
                put_u32(o, 1); // track_ID
                put_u32(o, 0); // reserved
                put_u32(o, 0); // duration
                o.extend_from_slice(&[0; 8]); // reserved
                put_u16(o, 0); // layer
                put_u16(o, 0); // alternate_group
                put_u16(o, 0); // volume
                put_u16(o, 0); // reserved
                UNITY_MATRIX.iter().for_each(|&m| put_u32(o, m));
                put_u32(o, u32::from(p.width) << 16);
                put_u32(o, u32::from(p.height) << 16);
            });
            write_box(o, b"mdia", |o| {
                write_full_box(o, b"mdhd", 0, 0, |o| {
                    put_u32(o, 0);
                    put_u32(o, 0);
                    put_u32(o, 90_000);
                    put_u32(o, 0);
                    put_u16(o, 0x55c4); // language "und"
                    put_u16(o, 0);
                });
                write_full_box(o, b"hdlr", 0, 0, |o| {
                    put_u32(o, 0);
                    o.extend_from_slice(b"vide");
                    o.extend_from_slice(&[0; 12]);
                    o.extend_from_slice(b"Vidimus video\0");
                });
                write_box(o, b"minf", |o| {
                    write_full_box(o, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
                    write_box(o, b"dinf", |o| {
                        write_full_box(o, b"dref", 0, 0, |o| {
                            put_u32(o, 1);
                            write_full_box(o, b"url ", 0, 1, |_| {});
                        });
                    });
                    write_box(o, b"stbl", |o| {
                        write_full_box(o, b"stsd", 0, 0, |o| {
                            put_u32(o, 1);
                            o.extend_from_slice(p.sample_entry);
                        });
                        write_full_box(o, b"stts", 0, 0, |o| put_u32(o, 0));
                        write_full_box(o, b"stsc", 0, 0, |o| put_u32(o, 0));
                        write_full_box(o, b"stsz", 0, 0, |o| {
                            put_u32(o, 0);
                            put_u32(o, 0);
                        });
                        write_full_box(o, b"stco", 0, 0, |o| put_u32(o, 0));
                    });
                });
            });
        });
        write_box(o, b"mvex", |o| {
            write_full_box(o, b"trex", 0, 0, |o| {
                put_u32(o, 1); // track_ID
                put_u32(o, 1); // default_sample_description_index
                put_u32(o, 0);
                put_u32(o, 0);
                put_u32(o, 0);
            });
        });
        write_box(o, b"udta", |o| {
            write_box(o, &METADATA_BOX, |o| o.extend_from_slice(p.metadata));
        });
    });
    out
}

/// Sample flags (ISO/IEC 14496-12 §8.8.3.1) for a key frame and for other frames.
pub const KEY_SAMPLE_FLAGS: u32 = 0x0200_0000; // depends on no other sample
pub const NON_KEY_SAMPLE_FLAGS: u32 = 0x0101_0000; // depends on others; not a sync sample

/// Converts 90 kHz ticks since the Unix epoch to a 64-bit NTP timestamp.
pub fn ntp_from_unix_90k(t: i64) -> u64 {
    let secs = t.div_euclid(90_000) + NTP_UNIX_OFFSET_SECS;
    let frac = ((t.rem_euclid(90_000) as u64) << 32) / 90_000;
    ((secs as u64) << 32) | frac
}

/// Converts a 64-bit NTP timestamp back to 90 kHz ticks since the Unix epoch.
pub fn unix_90k_from_ntp(ntp: u64) -> i64 {
    let secs = (ntp >> 32) as i64 - NTP_UNIX_OFFSET_SECS;
    let frac = ((ntp & 0xffff_ffff) * 90_000).div_ceil(1 << 32) as i64;
    secs * 90_000 + frac
}

/// Header of one fragment: everything before the first sample byte.
///
/// `sequence` counts fragments from 1 within the segment; `base_decode_time` is the
/// fragment's start in 90 kHz units from the segment start; `wall_90k` is the wall-clock
/// time of its first sample (written as a `prft` box). After these bytes the caller
/// writes exactly the samples' data, in order.
pub fn fragment_header(
    sequence: u32,
    base_decode_time: u64,
    wall_90k: i64,
    samples: &[Sample],
    out: &mut Vec<u8>,
) {
    out.clear();
    write_full_box(out, b"prft", 1, 0, |o| {
        put_u32(o, 1);
        put_u64(o, ntp_from_unix_90k(wall_90k));
        put_u64(o, base_decode_time);
    });
    let moof_start = out.len();
    let mut data_offset_pos = 0;
    write_box(out, b"moof", |o| {
        write_full_box(o, b"mfhd", 0, 0, |o| put_u32(o, sequence));
        write_box(o, b"traf", |o| {
            write_full_box(o, b"tfhd", 0, 0x02_0000, |o| put_u32(o, 1));
            write_full_box(o, b"tfdt", 1, 0, |o| put_u64(o, base_decode_time));
            write_full_box(o, b"trun", 0, 0x00_0701, |o| {
                put_u32(o, samples.len() as u32);
                data_offset_pos = o.len();
                put_u32(o, 0); // data_offset, patched below
                for s in samples {
                    put_u32(o, s.duration);
                    put_u32(o, s.size);
                    put_u32(
                        o,
                        if s.is_key {
                            KEY_SAMPLE_FLAGS
                        } else {
                            NON_KEY_SAMPLE_FLAGS
                        },
                    );
                }
            });
        });
    });
    let moof_len = out.len() - moof_start;
    let data: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
    let mdat_header = if data + 8 > u64::from(u32::MAX) {
        16
    } else {
        8
    };
    let data_offset = (moof_len + mdat_header) as u32;
    out[data_offset_pos..data_offset_pos + 4].copy_from_slice(&data_offset.to_be_bytes());
    if mdat_header == 16 {
        put_u32(out, 1);
        out.extend_from_slice(b"mdat");
        put_u64(out, data + 16);
    } else {
        put_u32(out, (data + 8) as u32);
        out.extend_from_slice(b"mdat");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_round_trip() {
        for t in [0i64, 1, 89_999, 90_000, 1_764_000_000 * 90_000 + 12_345] {
            assert_eq!(unix_90k_from_ntp(ntp_from_unix_90k(t)), t, "t={t}");
        }
    }

    #[test]
    fn header_data_offset_points_past_mdat_header() {
        let samples = [
            Sample {
                duration: 3600,
                size: 100,
                is_key: true,
            },
            Sample {
                duration: 3600,
                size: 50,
                is_key: false,
            },
        ];
        let mut h = Vec::new();
        fragment_header(1, 0, 0, &samples, &mut h);
        // The header ends with the mdat box header announcing 150 bytes of samples.
        assert_eq!(&h[h.len() - 4..], b"mdat");
        assert_eq!(
            u32::from_be_bytes(h[h.len() - 8..h.len() - 4].try_into().unwrap()),
            158
        );
    }
}
