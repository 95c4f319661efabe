//! What a muxer needs of our H.264 output: the `avcC` configuration record, the whole
//! `avc1` sample entry (what `vidimus_media::fmp4::InitParams::sample_entry` takes), and
//! the RFC 6381 codec string for the browser's `MediaSource.addSourceBuffer`.
//!
//! ```text
//! avc1                         VisualSampleEntry (ISO/IEC 14496-12 §12.1.3), 78 bytes
//!   avcC                       AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1)
//!     version 1, profile, compatibility, level (bytes 1..4 of the SPS)
//!     lengthSizeMinusOne 3     samples are 4-byte length-prefixed
//!     1 SPS, 1 PPS
//!     (High profiles: chroma 4:2:0, 8-bit luma and chroma, no SPS extensions)
//! ```

/// The SPS and PPS of an H.264 stream we encoded (NAL units, no framing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct H264ParameterSets {
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
}

impl H264ParameterSets {
    /// `profile_idc`, `constraint_set` flags and `level_idc` (the three bytes after the
    /// SPS's NAL header).
    fn profile_compat_level(&self) -> [u8; 3] {
        let b = |i: usize| self.sps.get(i).copied().unwrap_or(0);
        [b(1), b(2), b(3)]
    }

    /// The body of the `avcC` box (without its 8-byte header).
    pub fn avcc_body(&self) -> Vec<u8> {
        let [profile, compat, level] = self.profile_compat_level();
        let mut out = vec![1, profile, compat, level, 0xfc | 3, 0xe0 | 1];
        out.extend_from_slice(&(self.sps.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.sps);
        out.push(1);
        out.extend_from_slice(&(self.pps.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.pps);
        if matches!(profile, 100 | 110 | 122 | 144) {
            // chroma_format 1 (4:2:0), bit depths 8, no SPS extensions.
            out.extend_from_slice(&[0xfc | 1, 0xf8, 0xf8, 0]);
        }
        out
    }

    /// The complete `avcC` box.
    pub fn avcc_box(&self) -> Vec<u8> {
        let body = self.avcc_body();
        let mut out = Vec::with_capacity(8 + body.len());
        out.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
        out.extend_from_slice(b"avcC");
        out.extend_from_slice(&body);
        out
    }

    /// The complete `avc1` visual sample entry with its `avcC`.
    pub fn avc1_sample_entry(&self, width: u16, height: u16) -> Vec<u8> {
        let mut e = Vec::with_capacity(86 + 64);
        e.extend_from_slice(&[0; 4]); // size, patched below
        e.extend_from_slice(b"avc1");
        e.extend_from_slice(&[0; 6]); // reserved
        e.extend_from_slice(&1u16.to_be_bytes()); // data_reference_index
        e.extend_from_slice(&[0; 16]); // pre_defined, reserved
        e.extend_from_slice(&width.to_be_bytes());
        e.extend_from_slice(&height.to_be_bytes());
        e.extend_from_slice(&0x0048_0000u32.to_be_bytes()); // 72 dpi
        e.extend_from_slice(&0x0048_0000u32.to_be_bytes());
        e.extend_from_slice(&[0; 4]); // reserved
        e.extend_from_slice(&1u16.to_be_bytes()); // frame_count
        e.extend_from_slice(&[0; 32]); // compressorname
        e.extend_from_slice(&0x0018u16.to_be_bytes()); // depth
        e.extend_from_slice(&0xffffu16.to_be_bytes()); // pre_defined -1
        e.extend_from_slice(&self.avcc_box());
        let size = e.len() as u32;
        e[..4].copy_from_slice(&size.to_be_bytes());
        e
    }

    /// The RFC 6381 codec string, e.g. `avc1.42c01f`.
    pub fn codec_string(&self) -> String {
        let [p, c, l] = self.profile_compat_level();
        format!("avc1.{p:02x}{c:02x}{l:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_entry_layout() {
        let sets = H264ParameterSets {
            sps: vec![0x67, 0x64, 0x00, 0x1f, 0xac],
            pps: vec![0x68, 0xee],
        };
        assert_eq!(sets.codec_string(), "avc1.64001f");
        let body = sets.avcc_body();
        assert_eq!(&body[..6], &[1, 0x64, 0, 0x1f, 0xff, 0xe1]);
        assert_eq!(&body[body.len() - 4..], &[0xfd, 0xf8, 0xf8, 0]); // High: extension
        let entry = sets.avc1_sample_entry(1280, 720);
        assert_eq!(
            u32::from_be_bytes(entry[..4].try_into().unwrap()) as usize,
            entry.len()
        );
        assert_eq!(&entry[4..8], b"avc1");
        assert_eq!(&entry[32..36], &[5, 0, 2, 208]); // 1280 x 720, where scan.rs reads them
        assert_eq!(&entry[90..94], b"avcC");
    }
}
