//! H.264 Annex B byte streams: NAL units and access units.
//!
//! Used by the simulated camera to turn its clip into frames, and by tests.

/// NAL unit types (ITU-T H.264 Table 7-1) that matter here.
pub mod nal_type {
    pub const NON_IDR_SLICE: u8 = 1;
    pub const IDR_SLICE: u8 = 5;
    pub const SEI: u8 = 6;
    pub const SPS: u8 = 7;
    pub const PPS: u8 = 8;
    pub const AUD: u8 = 9;
}

/// The type of a NAL unit from its first byte.
pub fn nal_unit_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// Splits an Annex B stream into NAL units (without start codes).
pub fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new(); // (start of start code, start of NAL)
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            let sc = if i > 0 && data[i - 1] == 0 { i - 1 } else { i };
            starts.push((sc, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, nal_start)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |&(sc, _)| sc);
        let mut nal = &data[nal_start..end];
        while let [rest @ .., 0] = nal {
            nal = rest; // trailing_zero_8bits
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

/// One access unit (frame): its NAL units and whether it is an IDR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessUnit<'a> {
    pub nals: Vec<&'a [u8]>,
    pub is_idr: bool,
}

fn is_vcl(t: u8) -> bool {
    (1..=5).contains(&t)
}

/// Whether a slice NAL starts a new picture (first_mb_in_slice == 0, i.e. the first
/// bit of the slice header's ue(v) is 1).
fn first_slice_of_picture(nal: &[u8]) -> bool {
    nal.get(1).is_some_and(|b| b & 0x80 != 0)
}

/// Groups NAL units into access units (ITU-T H.264 §7.4.1.2.3, simplified: a new AU
/// begins at an AUD/SPS/PPS/SEI after a slice, or at a slice with first_mb_in_slice 0
/// after a slice). AUDs are dropped.
pub fn access_units<'a>(nals: &[&'a [u8]]) -> Vec<AccessUnit<'a>> {
    let mut aus: Vec<AccessUnit<'a>> = Vec::new();
    let mut cur = AccessUnit {
        nals: Vec::new(),
        is_idr: false,
    };
    let mut cur_has_vcl = false;
    for &nal in nals {
        let t = nal_unit_type(nal);
        let starts_new = cur_has_vcl
            && (matches!(
                t,
                nal_type::AUD | nal_type::SPS | nal_type::PPS | nal_type::SEI
            ) || (is_vcl(t) && first_slice_of_picture(nal)));
        if starts_new {
            aus.push(std::mem::replace(
                &mut cur,
                AccessUnit {
                    nals: Vec::new(),
                    is_idr: false,
                },
            ));
            cur_has_vcl = false;
        }
        if t == nal_type::AUD {
            continue;
        }
        if is_vcl(t) {
            cur_has_vcl = true;
            cur.is_idr |= t == nal_type::IDR_SLICE;
        }
        cur.nals.push(nal);
    }
    if cur_has_vcl {
        aus.push(cur);
    }
    aus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_groups() {
        let stream = [
            &[0, 0, 0, 1, 0x67, 1, 2][..], // SPS
            &[0, 0, 1, 0x68, 3][..],       // PPS
            &[0, 0, 1, 0x65, 0x88, 9][..], // IDR, first slice
            &[0, 0, 1, 0x41, 0x9a, 7][..], // P, first slice
            &[0, 0, 1, 0x41, 0x9a, 8, 0][..],
        ]
        .concat();
        let nals = split_annexb(&stream);
        assert_eq!(nals.len(), 5);
        assert_eq!(nals[4], &[0x41, 0x9a, 8]);
        let aus = access_units(&nals);
        assert_eq!(aus.len(), 3);
        assert!(aus[0].is_idr);
        assert_eq!(aus[0].nals.len(), 3);
        assert!(!aus[1].is_idr);
    }
}
