//! Burning a camera's static privacy mask ([`vidimus_core::privacy`]) into decoded
//! frames: every covered pixel becomes limited-range black (Y 16, U and V 128), a
//! solid fill that keeps nothing of what was there. Chroma samples are covered when
//! any of the four luma pixels they belong to is.

use crate::{Frame, Plane};
use vidimus_core::privacy::{Coverage, PrivacyMask};

/// A mask ready for frames of one size; the coverage is recomputed when the size
/// changes (a new stream, a sub-stream).
#[derive(Clone, Debug)]
pub struct MaskBurner {
    mask: PrivacyMask,
    coverage: Option<Coverage>,
    margin: usize,
}

impl MaskBurner {
    pub fn new(mask: PrivacyMask) -> Self {
        MaskBurner {
            mask,
            coverage: None,
            margin: 0,
        }
    }

    /// Covers `px` more pixels round the mask: for pictures that are not an exact
    /// scale of the recorded frame (thumbnails are cut to a whole shrink factor, so
    /// their fractions drift by up to a few pixels).
    pub fn with_margin(mut self, px: usize) -> Self {
        self.margin = px;
        self.coverage = None;
        self
    }

    /// Fills the mask's pixels of `frame`.
    pub fn burn(&mut self, frame: &mut Frame) {
        if self.mask.is_empty() {
            return;
        }
        let (w, h) = (frame.width(), frame.height());
        let c = match &self.coverage {
            Some(c) if c.width == w && c.height == h => c,
            _ => {
                let c = self.mask.coverage(w, h);
                let c = if self.margin > 0 {
                    c.widened(self.margin)
                } else {
                    c
                };
                self.coverage.insert(c)
            }
        };
        burn(frame, c);
    }
}

/// Fills the covered pixels of `frame` (its size must be the coverage's).
pub fn burn(frame: &mut Frame, c: &Coverage) {
    debug_assert_eq!((frame.width(), frame.height()), (c.width, c.height));
    let ys = frame.stride(Plane::Y);
    let y = frame.plane_mut(Plane::Y);
    for (row, spans) in c.rows.iter().enumerate() {
        for &(a, b) in spans {
            y[row * ys + a..row * ys + b].fill(16);
        }
    }
    let (cw, ch) = frame.chroma_size();
    let cs = frame.stride(Plane::U);
    for plane in [Plane::U, Plane::V] {
        let p = frame.plane_mut(plane);
        for cy in 0..ch {
            for luma_row in [2 * cy, 2 * cy + 1] {
                let Some(spans) = c.rows.get(luma_row) else {
                    continue;
                };
                for &(a, b) in spans {
                    let (ca, cb) = (a / 2, b.div_ceil(2).min(cw));
                    p[cy * cs + ca..cy * cs + cb].fill(128);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_pixels_are_black_and_the_rest_untouched() {
        let mut f = Frame::black(64, 48, 0);
        for p in [Plane::Y, Plane::U, Plane::V] {
            f.plane_mut(p).fill(200);
        }
        let mask = PrivacyMask {
            polygons: vec![vec![[0.25, 0.25], [0.5, 0.25], [0.5, 0.5], [0.25, 0.5]]],
        };
        let c = mask.coverage(64, 48);
        let mut m = MaskBurner::new(mask);
        m.burn(&mut f);
        for y in 0..48 {
            for x in 0..64 {
                let v = f.luma(x, y);
                assert_eq!(v == 16, c.covers(x, y), "({x}, {y}) = {v}");
            }
        }
        let (cw, ch) = f.chroma_size();
        let u = f.plane(Plane::U);
        for cy in 0..ch {
            for cx in 0..cw {
                let any = (0..2).any(|dy| (0..2).any(|dx| c.covers(2 * cx + dx, 2 * cy + dy)));
                assert_eq!(u[cy * cw + cx] == 128, any, "chroma ({cx}, {cy})");
            }
        }
    }
}
