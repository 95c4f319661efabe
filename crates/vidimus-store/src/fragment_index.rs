//! The per-segment fragment table stored in `segment.fragment_index`.
//!
//! One entry per fragment, four unsigned LEB128 varints each: length in bytes, media
//! duration (90 kHz), frames, and wall start relative to the segment's start (clamped
//! at zero). A 60 s segment with 2 s GOPs needs about 30 × 8 bytes.

/// One fragment as the index knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FragmentEntry {
    pub len: u64,
    pub media_duration: u64,
    pub frames: u64,
    pub wall_offset: u64,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Appends one entry.
pub fn push(out: &mut Vec<u8>, e: &FragmentEntry) {
    put_varint(out, e.len);
    put_varint(out, e.media_duration);
    put_varint(out, e.frames);
    put_varint(out, e.wall_offset);
}

/// Decodes a whole table; `None` if it is malformed.
pub fn decode(data: &[u8]) -> Option<Vec<FragmentEntry>> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        out.push(FragmentEntry {
            len: get_varint(data, &mut pos)?,
            media_duration: get_varint(data, &mut pos)?,
            frames: get_varint(data, &mut pos)?,
            wall_offset: get_varint(data, &mut pos)?,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let es = [
            FragmentEntry {
                len: 500_000,
                media_duration: 180_000,
                frames: 50,
                wall_offset: 0,
            },
            FragmentEntry {
                len: 1,
                media_duration: u64::MAX,
                frames: 0,
                wall_offset: 180_090,
            },
        ];
        let mut b = Vec::new();
        es.iter().for_each(|e| push(&mut b, e));
        assert_eq!(decode(&b).unwrap(), es);
        assert!(decode(&b[..b.len() - 1]).is_none());
    }
}
