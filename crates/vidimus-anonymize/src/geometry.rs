//! Boxes in frame pixels: overlap, enlargement, merging, non-maximum suppression.

use serde::Serialize;

/// An axis-aligned box, `x1 <= x2`, `y1 <= y2`, in pixels of the full frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rect {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl Rect {
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Rect {
            x1: x1.min(x2),
            y1: y1.min(y2),
            x2: x1.max(x2),
            y2: y1.max(y2),
        }
    }

    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }

    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn center(&self) -> (f32, f32) {
        ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    /// The overlap of two boxes (empty: area 0).
    pub fn intersection(&self, o: &Rect) -> Rect {
        Rect {
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
            x2: self.x2.min(o.x2).max(self.x1.max(o.x1)),
            y2: self.y2.min(o.y2).max(self.y1.max(o.y1)),
        }
    }

    /// Intersection over union, 0..=1.
    pub fn iou(&self, o: &Rect) -> f32 {
        let i = self.intersection(o).area();
        let u = self.area() + o.area() - i;
        if u <= 0.0 { 0.0 } else { i / u }
    }

    /// The share of `self` that `o` covers, 0..=1.
    pub fn covered_by(&self, o: &Rect) -> f32 {
        let a = self.area();
        if a <= 0.0 {
            return 1.0;
        }
        self.intersection(o).area() / a
    }

    /// The box scaled by `f` about its centre.
    pub fn enlarged(&self, f: f32) -> Rect {
        let (cx, cy) = self.center();
        let (hw, hh) = (self.width() * f / 2.0, self.height() * f / 2.0);
        Rect::new(cx - hw, cy - hh, cx + hw, cy + hh)
    }

    /// The box grown by `px` on every side.
    pub fn grown(&self, px: f32) -> Rect {
        Rect::new(self.x1 - px, self.y1 - px, self.x2 + px, self.y2 + px)
    }

    /// The box moved by `(dx, dy)`.
    pub fn shifted(&self, dx: f32, dy: f32) -> Rect {
        Rect::new(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)
    }

    /// The smallest box holding both.
    pub fn union(&self, o: &Rect) -> Rect {
        Rect::new(
            self.x1.min(o.x1),
            self.y1.min(o.y1),
            self.x2.max(o.x2),
            self.y2.max(o.y2),
        )
    }

    /// The box cut to a `w`×`h` frame.
    pub fn clamped(&self, w: f32, h: f32) -> Rect {
        Rect::new(
            self.x1.clamp(0.0, w),
            self.y1.clamp(0.0, h),
            self.x2.clamp(0.0, w),
            self.y2.clamp(0.0, h),
        )
    }

    /// `a` at `t = 0`, `b` at `t = 1`, linearly between.
    pub fn lerp(a: &Rect, b: &Rect, t: f32) -> Rect {
        let l = |p: f32, q: f32| p + (q - p) * t;
        Rect::new(l(a.x1, b.x1), l(a.y1, b.y1), l(a.x2, b.x2), l(a.y2, b.y2))
    }
}

/// A box a detector found, with its score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub rect: Rect,
    pub score: f32,
}

/// Greedy non-maximum suppression: highest score first, dropping boxes that overlap a
/// kept one by more than `iou`.
pub fn nms(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if kept.iter().all(|k| k.rect.iou(&d.rect) <= iou) {
            kept.push(d);
        }
    }
    kept
}

/// Merges boxes that overlap (or touch within `gap` pixels) until none do: masks of
/// one object from two detectors, or of neighbours, become one region.
pub fn merge(mut rects: Vec<Rect>, gap: f32) -> Vec<Rect> {
    loop {
        let mut merged = false;
        'outer: for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                if rects[i].grown(gap).intersection(&rects[j]).area() > 0.0 {
                    let u = rects[i].union(&rects[j]);
                    rects[i] = u;
                    rects.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            return rects;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_and_suppression() {
        let a = Rect::new(0.0, 0.0, 10.0, 10.0);
        let b = Rect::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&Rect::new(20.0, 20.0, 30.0, 30.0)), 0.0);
        assert!((a.covered_by(&b) - 0.5).abs() < 1e-6);
        let kept = nms(
            vec![
                Detection {
                    rect: a,
                    score: 0.5,
                },
                Detection {
                    rect: a.shifted(1.0, 0.0),
                    score: 0.9,
                },
                Detection {
                    rect: Rect::new(50.0, 50.0, 60.0, 60.0),
                    score: 0.3,
                },
            ],
            0.3,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        let m = merge(vec![a, b, Rect::new(40.0, 40.0, 41.0, 41.0)], 0.0);
        assert_eq!(m.len(), 2);
        assert!(m.contains(&Rect::new(0.0, 0.0, 15.0, 10.0)));
    }

    #[test]
    fn enlarging_keeps_the_centre() {
        let r = Rect::new(10.0, 10.0, 20.0, 30.0).enlarged(2.0);
        assert_eq!(r, Rect::new(5.0, 0.0, 25.0, 40.0));
        assert_eq!(r.clamped(22.0, 100.0).x2, 22.0);
    }
}
