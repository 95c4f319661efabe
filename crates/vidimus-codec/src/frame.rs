//! `Frame`: one decoded picture, planar I420 (YUV 4:2:0, 8 bits), with its
//! presentation time. What decoders produce, the watermark draws on, and encoders take.
//!
//! The chroma planes are half the luma size in each direction, rounded up. Rows may be
//! padded (`stride >= width`); a frame built by this crate has no padding.

use crate::CodecError;

/// One of the three planes of an I420 frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plane {
    Y,
    U,
    V,
}

/// A decoded picture in I420 with its presentation time (90 kHz units).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    width: usize,
    height: usize,
    /// Presentation time stamp, 90 kHz.
    pub pts: i64,
    y_stride: usize,
    uv_stride: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("pts", &self.pts)
            .finish_non_exhaustive()
    }
}

impl Frame {
    /// A black frame (Y 16, U and V 128: limited-range black).
    pub fn black(width: usize, height: usize, pts: i64) -> Self {
        let (cw, ch) = chroma_size(width, height);
        Frame {
            width,
            height,
            pts,
            y_stride: width,
            uv_stride: cw,
            y: vec![16; width * height],
            u: vec![128; cw * ch],
            v: vec![128; cw * ch],
        }
    }

    /// A frame from planes with the given strides (U and V share one stride). Checks
    /// that every plane holds its rows (`stride × rows` bytes at least).
    pub fn from_planes(
        width: usize,
        height: usize,
        pts: i64,
        (y_stride, uv_stride): (usize, usize),
        [y, u, v]: [Vec<u8>; 3],
    ) -> Result<Self, CodecError> {
        let (cw, ch) = chroma_size(width, height);
        let fits = |plane: &[u8], stride: usize, w: usize, h: usize| {
            stride >= w && plane.len() >= stride * h
        };
        if width == 0 || height == 0 {
            return Err(CodecError::Frame(format!("empty frame {width}x{height}")));
        }
        if !fits(&y, y_stride, width, height)
            || !fits(&u, uv_stride, cw, ch)
            || !fits(&v, uv_stride, cw, ch)
        {
            return Err(CodecError::Frame(format!(
                "planes of {}/{}/{} bytes with strides {y_stride}/{uv_stride} do not hold a {width}x{height} I420 frame",
                y.len(),
                u.len(),
                v.len()
            )));
        }
        Ok(Frame {
            width,
            height,
            pts,
            y_stride,
            uv_stride,
            y,
            u,
            v,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Width and height of the U and V planes.
    pub fn chroma_size(&self) -> (usize, usize) {
        chroma_size(self.width, self.height)
    }

    /// Bytes from one row of `plane` to the next.
    pub fn stride(&self, plane: Plane) -> usize {
        match plane {
            Plane::Y => self.y_stride,
            Plane::U | Plane::V => self.uv_stride,
        }
    }

    /// The bytes of a plane (rows `stride` apart).
    pub fn plane(&self, plane: Plane) -> &[u8] {
        match plane {
            Plane::Y => &self.y,
            Plane::U => &self.u,
            Plane::V => &self.v,
        }
    }

    /// The bytes of a plane, writable.
    pub fn plane_mut(&mut self, plane: Plane) -> &mut [u8] {
        match plane {
            Plane::Y => &mut self.y,
            Plane::U => &mut self.u,
            Plane::V => &mut self.v,
        }
    }

    /// The luma value at (x, y).
    pub fn luma(&self, x: usize, y: usize) -> u8 {
        self.y[y * self.y_stride + x]
    }

    /// Copies a frame whose rows are `strides` apart into a frame without padding.
    /// `planes` hold at least `height` (luma) and `ceil(height / 2)` (chroma) rows.
    pub(crate) fn copy_from(
        width: usize,
        height: usize,
        pts: i64,
        (y_stride, uv_stride): (usize, usize),
        [y, u, v]: [&[u8]; 3],
    ) -> Self {
        let (cw, ch) = chroma_size(width, height);
        let pack = |src: &[u8], stride: usize, w: usize, h: usize| {
            let mut out = Vec::with_capacity(w * h);
            for row in src.chunks(stride).take(h) {
                out.extend_from_slice(&row[..w]);
            }
            out
        };
        Frame {
            width,
            height,
            pts,
            y_stride: width,
            uv_stride: cw,
            y: pack(y, y_stride, width, height),
            u: pack(u, uv_stride, cw, ch),
            v: pack(v, uv_stride, cw, ch),
        }
    }
}

/// Chroma plane size for a luma size (4:2:0, rounded up).
pub fn chroma_size(width: usize, height: usize) -> (usize, usize) {
    (width.div_ceil(2), height.div_ceil(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_must_hold_their_rows() {
        let ok = Frame::from_planes(4, 3, 0, (4, 2), [vec![0; 12], vec![0; 4], vec![0; 4]]);
        assert!(ok.is_ok());
        let short = Frame::from_planes(4, 3, 0, (4, 2), [vec![0; 11], vec![0; 4], vec![0; 4]]);
        assert!(matches!(short, Err(CodecError::Frame(_))));
        let narrow = Frame::from_planes(4, 2, 0, (3, 2), [vec![0; 12], vec![0; 2], vec![0; 2]]);
        assert!(narrow.is_err());
        assert!(Frame::from_planes(0, 2, 0, (0, 0), [vec![], vec![], vec![]]).is_err());
    }

    #[test]
    fn copy_drops_padding() {
        let y: Vec<u8> = (0..16).collect();
        let f = Frame::copy_from(3, 2, 7, (8, 4), [&y, &[1, 2, 0, 0], &[3, 4, 0, 0]]);
        assert_eq!(f.plane(Plane::Y), &[0, 1, 2, 8, 9, 10]);
        assert_eq!(f.plane(Plane::U), &[1, 2]);
        assert_eq!((f.stride(Plane::Y), f.stride(Plane::V), f.pts), (3, 2, 7));
        assert_eq!(f.luma(1, 1), 9);
    }
}
