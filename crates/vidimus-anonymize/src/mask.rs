//! Destroying a region's pixels so that nothing of it can be restored (Art. 31
//! "unrestorable"). The region is not blurred (a blur is a linear filter, largely
//! invertible) nor encrypted (a key restores it): every pixel is replaced by the
//! region's mean colour, coarsely quantised, plus coarse blocks of noise. What is left
//! of the original is a few bits of one colour per region, which identifies no one; the noise comes from a generator
//! seeded by the frame's time and the region's place, not by its pixels, so the
//! output is reproducible (the same input and parameters give the same bytes, which
//! lets a publication's provenance be re-derived) and independent of what was hidden.

use vidimus_codec::{Frame, Plane};

use crate::geometry::Rect;

/// How strongly the blocks vary around the region's mean (luma levels, ±).
const NOISE: i32 = 40;

/// A tiny deterministic generator (xorshift64*).
struct Noise(u64);

impl Noise {
    fn new(seed: u64) -> Self {
        Noise(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `-amp..=amp`.
    fn around(&mut self, amp: i32) -> i32 {
        (self.next() % (2 * amp as u64 + 1)) as i32 - amp
    }
}

/// The pixel box of `r` in a `w`×`h` frame, on even coordinates (so the chroma planes
/// are covered exactly), or `None` if it is empty.
fn pixel_box(r: &Rect, w: usize, h: usize) -> Option<(usize, usize, usize, usize)> {
    let c = r.clamped(w as f32, h as f32);
    let x1 = (c.x1.floor() as usize) & !1;
    let y1 = (c.y1.floor() as usize) & !1;
    let x2 = ((c.x2.ceil() as usize + 1) & !1).min(w);
    let y2 = ((c.y2.ceil() as usize + 1) & !1).min(h);
    (x2 > x1 && y2 > y1).then_some((x1, y1, x2, y2))
}

fn mean(p: &[u8], stride: usize, x1: usize, y1: usize, x2: usize, y2: usize) -> i32 {
    let mut sum = 0u64;
    for y in y1..y2 {
        sum += p[y * stride + x1..y * stride + x2]
            .iter()
            .map(|&v| v as u64)
            .sum::<u64>();
    }
    (sum / ((x2 - x1) * (y2 - y1)).max(1) as u64) as i32
}

/// Replaces every pixel of `r` in `frame`: the region's mean colour, in blocks about a
/// quarter of the region's smaller side (at least 8 px), each block offset by noise.
pub fn destroy(frame: &mut Frame, r: &Rect) {
    let (w, h) = (frame.width(), frame.height());
    let Some((x1, y1, x2, y2)) = pixel_box(r, w, h) else {
        return;
    };
    let block = (((x2 - x1).min(y2 - y1) / 4).max(8) + 1) & !1;
    let seed = (frame.pts as u64).wrapping_mul(0x100_0000_01B3)
        ^ ((x1 as u64) << 32)
        ^ ((y1 as u64) << 16);
    let mut noise = Noise::new(seed);
    let ys = frame.stride(Plane::Y);
    let cs = frame.stride(Plane::U);
    // The means, coarsely quantised: the noise is reproducible from public values, so
    // what an attacker could recover is this (3 bits of luma, 2 of each chroma).
    let q = |v: i32, step: i32| (v / step) * step + step / 2;
    let my = q(mean(frame.plane(Plane::Y), ys, x1, y1, x2, y2), 32);
    let (cx1, cy1, cx2, cy2) = (x1 / 2, y1 / 2, x2.div_ceil(2), y2.div_ceil(2));
    let mu = q(mean(frame.plane(Plane::U), cs, cx1, cy1, cx2, cy2), 64);
    let mv = q(mean(frame.plane(Plane::V), cs, cx1, cy1, cx2, cy2), 64);
    let mut by = y1;
    while by < y2 {
        let ey = (by + block).min(y2);
        let mut bx = x1;
        while bx < x2 {
            let ex = (bx + block).min(x2);
            let ly = (my + noise.around(NOISE)).clamp(16, 235) as u8;
            let lu = (mu + noise.around(NOISE / 4)).clamp(16, 240) as u8;
            let lv = (mv + noise.around(NOISE / 4)).clamp(16, 240) as u8;
            let yp = frame.plane_mut(Plane::Y);
            for y in by..ey {
                yp[y * ys + bx..y * ys + ex].fill(ly);
            }
            let (c1, c2) = (bx / 2, ex.div_ceil(2));
            for cy in by / 2..ey.div_ceil(2) {
                frame.plane_mut(Plane::U)[cy * cs + c1..cy * cs + c2].fill(lu);
                frame.plane_mut(Plane::V)[cy * cs + c1..cy * cs + c2].fill(lv);
            }
            bx = ex;
        }
        by = ey;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Frame {
        let mut f = Frame::black(w, h, 90_000);
        let ys = f.stride(Plane::Y);
        for y in 0..h {
            for x in 0..w {
                f.plane_mut(Plane::Y)[y * ys + x] = (16 + (x * 7 + y * 13) % 200) as u8;
            }
        }
        f
    }

    #[test]
    fn the_region_keeps_nothing_but_its_mean_and_the_rest_is_untouched() {
        let orig = gradient(64, 48);
        let mut f = orig.clone();
        let r = Rect::new(10.0, 10.0, 40.0, 30.0);
        destroy(&mut f, &r);
        let ys = f.stride(Plane::Y);
        // Outside the (even-aligned) box: the same pixels.
        for y in 0..48 {
            for x in 0..64 {
                let inside = (10..40).contains(&x) && (10..30).contains(&y);
                if !inside {
                    assert_eq!(
                        f.plane(Plane::Y)[y * ys + x],
                        orig.plane(Plane::Y)[y * ys + x],
                        "{x},{y}"
                    );
                }
            }
        }
        // Inside: blocks of one value each, at most (region / 8)^2 values in all.
        let mut values = std::collections::BTreeSet::new();
        for y in 10..30 {
            for x in 10..40 {
                values.insert(f.plane(Plane::Y)[y * ys + x]);
            }
        }
        assert!(values.len() <= 12, "{values:?}");
        // The same input gives the same output (reproducible provenance).
        let mut again = orig.clone();
        destroy(&mut again, &r);
        assert_eq!(again, f);
    }
}
