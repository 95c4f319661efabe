//! Stills: the frame at an instant of a recording, decoded, as a JPEG (snapshots, a
//! reproduction like any export, and later thumbnails).
//!
//! [`frame_at`] decodes access units from a key frame and keeps the last picture at or
//! before the instant asked for; [`jpeg`] encodes an I420 [`Frame`] as a baseline JFIF
//! JPEG (the decoder's limited-range BT.601 samples expanded to JFIF's full range),
//! with a text of the caller's (the export mark) in an APP11 segment.

use crate::{
    AccessUnit, CodecError, Ffmpeg, Frame, NalFraming, ParameterSets, Plane, open_decoder,
};
use jpeg_encoder::{Encoder, ImageBuffer, JpegColorType};

/// The APP11 segment's prefix: what follows is the still's mark (UTF-8).
pub const MARK_PREFIX: &[u8] = b"VIDIMUS\0";

/// The picture shown at presentation time `at` (90 kHz, the units of the access units'
/// pts): the last one whose pts is at or before it. `units` run in decode order from a
/// key frame, as 4-byte length-prefixed NAL units (as recorded).
pub fn frame_at<'a>(
    sample_entry: &[u8],
    units: impl IntoIterator<Item = (i64, &'a [u8])>,
    at: i64,
    ffmpeg: &Ffmpeg,
) -> Result<Frame, CodecError> {
    let (codec, params) = ParameterSets::from_sample_entry(sample_entry)?;
    let mut decoder = open_decoder(codec, &params, ffmpeg)?;
    let mut best: Option<Frame> = None;
    let mut keep = |frames: Vec<Frame>| {
        for f in frames {
            if f.pts <= at && best.as_ref().is_none_or(|b| f.pts >= b.pts) {
                best = Some(f);
            }
        }
    };
    for (pts, data) in units {
        let au = AccessUnit {
            data,
            framing: NalFraming::LengthPrefixed(4),
            pts,
        };
        keep(decoder.decode(&au)?);
    }
    keep(decoder.finish()?);
    best.ok_or_else(|| CodecError::Decode(format!("no picture at or before pts {at}")))
}

/// The frame as JFIF rows for the encoder: full-range Y, Cb, Cr per pixel.
struct Ycbcr<'a>(&'a Frame);

fn full_luma(y: u8) -> u8 {
    (((i32::from(y) - 16) * 255 + 109) / 219).clamp(0, 255) as u8
}

fn full_chroma(c: u8) -> u8 {
    (((i32::from(c) - 128) * 255 + 112) / 224 + 128).clamp(0, 255) as u8
}

impl ImageBuffer for Ycbcr<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }
    fn width(&self) -> u16 {
        self.0.width() as u16
    }
    fn height(&self) -> u16 {
        self.0.height() as u16
    }
    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let f = self.0;
        let y = usize::from(y);
        let (ys, us) = (f.stride(Plane::Y), f.stride(Plane::U));
        let (yp, up, vp) = (f.plane(Plane::Y), f.plane(Plane::U), f.plane(Plane::V));
        for x in 0..f.width() {
            buffers[0].push(full_luma(yp[y * ys + x]));
            buffers[1].push(full_chroma(up[(y / 2) * us + x / 2]));
            buffers[2].push(full_chroma(vp[(y / 2) * us + x / 2]));
        }
    }
}

/// Encodes `frame` as a JPEG of `quality` (1-100), carrying `mark` in APP11.
pub fn jpeg(frame: &Frame, quality: u8, mark: &str) -> Result<Vec<u8>, CodecError> {
    if frame.width() > usize::from(u16::MAX) || frame.height() > usize::from(u16::MAX) {
        return Err(CodecError::Frame("too large for a JPEG".into()));
    }
    let mut out = Vec::new();
    let mut e = Encoder::new(&mut out, quality.clamp(1, 100));
    let mut seg = MARK_PREFIX.to_vec();
    seg.extend_from_slice(mark.as_bytes());
    e.add_app_segment(11, seg)
        .map_err(|e| CodecError::Encode(format!("jpeg mark: {e}")))?;
    e.encode_image(Ycbcr(frame))
        .map_err(|e| CodecError::Encode(format!("jpeg: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_becomes_a_jpeg_with_its_mark() {
        let f = Frame::black(64, 48, 0);
        let j = jpeg(&f, 85, "export 0123 request #7").unwrap();
        assert_eq!(&j[..2], &[0xff, 0xd8], "SOI");
        assert_eq!(&j[j.len() - 2..], &[0xff, 0xd9], "EOI");
        let at = j
            .windows(MARK_PREFIX.len())
            .position(|w| w == MARK_PREFIX)
            .expect("the mark");
        assert!(j[at..].starts_with(b"VIDIMUS\0export 0123 request #7"));
        // Limited range expands to full: black stays black, white stays white.
        assert_eq!((full_luma(16), full_luma(235)), (0, 255));
        assert_eq!(full_chroma(128), 128);
    }
}
