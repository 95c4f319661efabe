//! Destroying a region's pixels so that nothing of it can be restored (Art. 31
//! "unrestorable"). The region is not blurred (a blur is a linear filter, largely
//! invertible) nor encrypted (a key restores it), nor pixelated (block means are a
//! picture of the face at low resolution): every pixel is replaced by one colour, the
//! region's mean, coarsely quantised (3 bits of luma, 2 of each chroma). That colour
//! is all that is left of the original, and it identifies no one.
//!
//! A solid fill, not noise: noise independent of the original still correlates with
//! it by chance, the more so once an encoder has smoothed it into a few dozen
//! blotches (about one masked face in six had |r| ≥ 0.3 with blocks of noise of a
//! quarter of its side, one in fifty with 2–16 px blocks); a flat region has nothing
//! to correlate. It is also reproducible (the same input gives the same bytes, so a
//! publication's provenance can be re-derived) and cheap to encode.

use vidimus_codec::{Frame, Plane};

use crate::geometry::Rect;

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

/// Replaces every pixel of `r` in `frame` with the region's mean colour, quantised.
pub fn destroy(frame: &mut Frame, r: &Rect) {
    let (w, h) = (frame.width(), frame.height());
    let Some((x1, y1, x2, y2)) = pixel_box(r, w, h) else {
        return;
    };
    let ys = frame.stride(Plane::Y);
    let cs = frame.stride(Plane::U);
    let q = |v: i32, step: i32| ((v / step) * step + step / 2) as u8;
    let my = q(mean(frame.plane(Plane::Y), ys, x1, y1, x2, y2), 32).clamp(16, 235);
    let (cx1, cy1, cx2, cy2) = (x1 / 2, y1 / 2, x2.div_ceil(2), y2.div_ceil(2));
    let mu = q(mean(frame.plane(Plane::U), cs, cx1, cy1, cx2, cy2), 64).clamp(16, 240);
    let mv = q(mean(frame.plane(Plane::V), cs, cx1, cy1, cx2, cy2), 64).clamp(16, 240);
    let yp = frame.plane_mut(Plane::Y);
    for y in y1..y2 {
        yp[y * ys + x1..y * ys + x2].fill(my);
    }
    for (plane, v) in [(Plane::U, mu), (Plane::V, mv)] {
        let p = frame.plane_mut(plane);
        for cy in cy1..cy2 {
            p[cy * cs + cx1..cy * cs + cx2].fill(v);
        }
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
        // Inside: one value, a quantised level.
        let mut values = std::collections::BTreeSet::new();
        for y in 10..30 {
            for x in 10..40 {
                values.insert(f.plane(Plane::Y)[y * ys + x]);
            }
        }
        assert_eq!(values.len(), 1, "{values:?}");
        assert_eq!(values.first().unwrap() % 32, 16);
        // The same input gives the same output (reproducible provenance).
        let mut again = orig.clone();
        destroy(&mut again, &r);
        assert_eq!(again, f);
    }
}
