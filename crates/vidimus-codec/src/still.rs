//! Stills: the frame at an instant of a recording, decoded, as a JPEG (snapshots, a
//! reproduction like any export), and timeline thumbnails: key frames shrunk
//! ([`shrink`]) and laid side by side in one strip ([`strip`]).
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

/// `frame` shrunk by the whole factor that brings its width to `max_width` or below,
/// each output sample the mean of the block it covers (a box filter: no aliasing
/// shimmer from skipping pixels). The size stays even (I420).
pub fn shrink(frame: &Frame, max_width: usize) -> Frame {
    let k = frame.width().div_ceil(max_width.max(2)).max(1);
    let (w, h) = ((frame.width() / k) & !1, (frame.height() / k) & !1);
    let (w, h) = (w.max(2), h.max(2));
    let mut out = Frame::black(w, h, frame.pts);
    let planes = [(Plane::Y, 1), (Plane::U, 2), (Plane::V, 2)];
    for (plane, sub) in planes {
        let (src_stride, dst_stride) = (frame.stride(plane), out.stride(plane));
        let (dw, dh) = (w / sub, h / sub);
        let (sw, sh) = (frame.width().div_ceil(sub), frame.height().div_ceil(sub));
        let src = frame.plane(plane);
        let dst = out.plane_mut(plane);
        for y in 0..dh {
            for x in 0..dw {
                let (mut sum, mut n) = (0u32, 0u32);
                for yy in y * k..((y + 1) * k).min(sh) {
                    for xx in x * k..((x + 1) * k).min(sw) {
                        sum += u32::from(src[yy * src_stride + xx]);
                        n += 1;
                    }
                }
                dst[y * dst_stride + x] = (sum / n.max(1)) as u8;
            }
        }
    }
    out
}

/// Frames side by side, left to right (a thumbnail strip), in the first one's height:
/// a shorter frame is letterboxed (black above and below), a taller one keeps its
/// middle rows.
pub fn strip(frames: &[Frame]) -> Result<Frame, CodecError> {
    let first = frames
        .first()
        .ok_or_else(|| CodecError::Frame("a strip of no frames".into()))?;
    let h = first.height();
    let w: usize = frames.iter().map(|f| f.width()).sum();
    let mut out = Frame::black(w, h, first.pts);
    let mut left = 0;
    for f in frames {
        // Rows of black above a shorter frame; rows skipped above a taller one's middle.
        let top = (h.saturating_sub(f.height()) / 2) & !1;
        let skip = (f.height().saturating_sub(h) / 2) & !1;
        for (plane, sub) in [(Plane::Y, 1), (Plane::U, 2), (Plane::V, 2)] {
            let (ss, ds) = (f.stride(plane), out.stride(plane));
            let rows = (f.height().min(h) / sub).min(h / sub - top / sub);
            let cols = f.width() / sub;
            let src = f.plane(plane);
            let dst = out.plane_mut(plane);
            for y in 0..rows {
                let d = (top / sub + y) * ds + left / sub;
                let s = (skip / sub + y) * ss;
                dst[d..d + cols].copy_from_slice(&src[s..s + cols]);
            }
        }
        left += f.width();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_shrink_by_the_mean_and_lie_side_by_side() {
        // A 64x48 frame, left half white (235), right half black (16).
        let mut f = Frame::black(64, 48, 7);
        let s = f.stride(Plane::Y);
        for y in 0..48 {
            for x in 0..32 {
                f.plane_mut(Plane::Y)[y * s + x] = 235;
            }
        }
        let t = shrink(&f, 16);
        assert_eq!((t.width(), t.height(), t.pts), (16, 12, 7));
        assert_eq!((t.luma(0, 0), t.luma(15, 11)), (235, 16));
        assert_eq!(t.luma(7, 5), 235, "the block left of the edge is all white");
        // A block straddling an edge is the mean of what it covers.
        let mut g = Frame::black(8, 8, 0);
        g.plane_mut(Plane::Y)[0] = 116; // one of four samples: (116+16*3)/4 = 41
        assert_eq!(shrink(&g, 4).luma(0, 0), 41);
        // Already small enough: the same size.
        assert_eq!(shrink(&g, 100).width(), 8);
        let st = strip(&[t.clone(), shrink(&Frame::black(64, 48, 9), 16), t]).unwrap();
        assert_eq!((st.width(), st.height()), (48, 12));
        assert_eq!(
            (st.luma(0, 0), st.luma(16, 0), st.luma(32, 0)),
            (235, 16, 235)
        );
        assert!(strip(&[]).is_err());
        // A taller frame keeps its middle: rows 4..16 of a 16x20 frame whose middle is white.
        let mut tall = Frame::black(16, 20, 0);
        let ts = tall.stride(Plane::Y);
        for y in 4..16 {
            for x in 0..16 {
                tall.plane_mut(Plane::Y)[y * ts + x] = 235;
            }
        }
        let st = strip(&[Frame::black(16, 12, 0), tall]).unwrap();
        assert_eq!((st.width(), st.height()), (32, 12));
        assert_eq!(
            (st.luma(16, 0), st.luma(31, 11)),
            (235, 235),
            "the middle rows"
        );
        // A shorter one is letterboxed: black above and below.
        let mut short = Frame::black(16, 8, 0);
        let ss = short.stride(Plane::Y);
        for v in short.plane_mut(Plane::Y)[..8 * ss].iter_mut() {
            *v = 235;
        }
        let st = strip(&[Frame::black(16, 12, 0), short]).unwrap();
        assert_eq!(
            (st.luma(20, 0), st.luma(20, 2), st.luma(20, 11)),
            (16, 235, 16)
        );
    }

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
