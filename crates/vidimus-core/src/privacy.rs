//! Static privacy masks (Art. 10, 30): the parts of a camera's picture no one without
//! the right to lift them may see — a neighbour's window, a door the camera must not
//! look into. A mask is a few polygons in fractions of the picture (0..1 across, 0..1
//! down), so one mask fits the main stream, a sub-stream and a thumbnail alike. The
//! server burns it into the decoded pixels (see `vidimus-codec`); it is never a
//! client-side overlay.
//!
//! Pure: the model, its limits, and [`PrivacyMask::coverage`], the pixels a mask
//! covers in a picture of a given size (by the nonzero winding rule, as the console's
//! editor fills a polygon). Coverage is conservative: a pixel is covered
//! when any part of it lies inside a polygon (the polygon's edges widened by one
//! pixel), so nothing at a mask's edge leaks at any resolution.

use serde::{Deserialize, Serialize};

/// At most this many polygons per camera.
pub const MAX_POLYGONS: usize = 32;
/// Corners per polygon.
pub const MIN_POINTS: usize = 3;
pub const MAX_POINTS: usize = 64;
/// The picture (4K UHD) in which [`PrivacyMask::exposes`] compares two masks.
pub const EXPOSURE_GRID: (usize, usize) = (3840, 2160);

/// A camera's mask: polygons, each a list of `[x, y]` corners in fractions of the
/// picture's width and height. The empty mask masks nothing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyMask {
    pub polygons: Vec<Vec<[f64; 2]>>,
}

/// Why a mask is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MaskError {
    #[error("a privacy mask has at most {MAX_POLYGONS} polygons, not {0}")]
    TooManyPolygons(usize),
    #[error("polygon {polygon} has {points} corners; a polygon has {MIN_POINTS} to {MAX_POINTS}")]
    Corners { polygon: usize, points: usize },
    #[error(
        "polygon {polygon}, corner {corner}: [{x}, {y}] is outside the picture (each coordinate is a fraction from 0 to 1)"
    )]
    Outside {
        polygon: usize,
        corner: usize,
        x: f64,
        y: f64,
    },
    #[error("polygon {polygon} covers no area (its corners are on one line)")]
    Degenerate { polygon: usize },
}

impl PrivacyMask {
    /// Checks the limits: polygon and corner counts, every coordinate a finite
    /// fraction in 0..=1, no polygon without area.
    pub fn validate(&self) -> Result<(), MaskError> {
        if self.polygons.len() > MAX_POLYGONS {
            return Err(MaskError::TooManyPolygons(self.polygons.len()));
        }
        for (i, p) in self.polygons.iter().enumerate() {
            if !(MIN_POINTS..=MAX_POINTS).contains(&p.len()) {
                return Err(MaskError::Corners {
                    polygon: i,
                    points: p.len(),
                });
            }
            for (j, &[x, y]) in p.iter().enumerate() {
                let ok = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
                if !ok(x) || !ok(y) {
                    return Err(MaskError::Outside {
                        polygon: i,
                        corner: j,
                        x,
                        y,
                    });
                }
            }
            if area(p).abs() < 1e-9 {
                return Err(MaskError::Degenerate { polygon: i });
            }
        }
        Ok(())
    }

    /// Whether it masks anything.
    pub fn is_empty(&self) -> bool {
        self.polygons.is_empty()
    }

    /// Whether this mask, put in place of `before`, leaves uncovered any pixel that
    /// `before` covered, in a picture of [`EXPOSURE_GRID`] (the largest camera picture
    /// we expect; a mask is in fractions, so what a finer picture could show is below
    /// one of its pixels). Removing a mask, shrinking a polygon, moving one off what
    /// it covered: all expose; growing, adding, or redrawing the same area does not.
    /// Exposing is what the two-person rule of mask changes guards.
    ///
    /// Compared by the pixels whose centres each mask contains
    /// ([`PrivacyMask::centre_coverage`]), not by the widened [`coverage`] that is
    /// burned: widening gives every edge a pixel more, so slivers thinner than a pixel
    /// (a "comb" of them) would seem to cover rows they do not hold at all.
    ///
    /// [`coverage`]: PrivacyMask::coverage
    pub fn exposes(&self, before: &PrivacyMask) -> bool {
        if before.is_empty() {
            return false;
        }
        let (w, h) = EXPOSURE_GRID;
        let (old, new) = (before.centre_coverage(w, h), self.centre_coverage(w, h));
        old.rows
            .iter()
            .zip(&new.rows)
            .any(|(o, n)| !spans_within(o, n))
    }

    /// The pixels of a `width` × `height` picture whose centres lie inside the mask
    /// (nonzero winding within a polygon, any polygon): the mask's own area, with
    /// nothing added at its edges.
    pub fn centre_coverage(&self, width: usize, height: usize) -> Coverage {
        let (w, h) = (width as f64, height as f64);
        let polys: Vec<Vec<(f64, f64)>> = self
            .polygons
            .iter()
            .map(|p| p.iter().map(|&[x, y]| (x * w, y * h)).collect())
            .collect();
        let rows = (0..height)
            .map(|y| {
                let line = y as f64 + 0.5;
                let mut r = Vec::new();
                for pts in &polys {
                    for (x0, x1) in cuts(pts, line) {
                        // Pixels x with x0 <= x + 0.5 < x1.
                        let lo = (x0 - 0.5).ceil().max(0.0) as usize;
                        let hi = ((x1 - 0.5).ceil().max(0.0) as usize).min(width);
                        if hi > lo {
                            r.push((lo, hi));
                        }
                    }
                }
                merge(r)
            })
            .collect();
        Coverage {
            width,
            height,
            rows,
        }
    }

    /// The pixels covered in a `width` × `height` picture.
    pub fn coverage(&self, width: usize, height: usize) -> Coverage {
        let mut c = Coverage {
            width,
            height,
            rows: vec![Vec::new(); height],
        };
        if width == 0 || height == 0 {
            return c;
        }
        let (w, h) = (width as f64, height as f64);
        for p in &self.polygons {
            let pts: Vec<(f64, f64)> = p.iter().map(|&[x, y]| (x * w, y * h)).collect();
            // The polygon within the band of row y ([y, y+1]) lies inside the union
            // of its cuts along the band's top and bottom lines and of the x-extents
            // of its edges clipped to the band: going up from any inner point, one
            // meets an edge inside the band or the top line. Widened by one pixel.
            let (ymin, ymax) = pts
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &(_, y)| (a.min(y), b.max(y)));
            let first = (ymin.floor().max(0.0) as usize).min(height - 1);
            let last = (ymax.ceil().max(0.0) as usize).min(height - 1);
            for y in first..=last {
                let (top, bottom) = (y as f64, y as f64 + 1.0);
                let mut spans = cuts(&pts, top);
                spans.extend(cuts(&pts, bottom));
                for k in 0..pts.len() {
                    if let Some(s) = clip(pts[k], pts[(k + 1) % pts.len()], top, bottom) {
                        spans.push(s);
                    }
                }
                for (x0, x1) in spans {
                    let lo = (x0.floor() - 1.0).max(0.0) as usize;
                    let hi = (x1.floor() + 2.0).min(w) as usize;
                    if hi > lo {
                        c.rows[y].push((lo, hi));
                    }
                }
            }
        }
        // Widen by a row up and down, then merge each row's spans.
        let grown: Vec<Vec<(usize, usize)>> = (0..height)
            .map(|y| {
                let mut r: Vec<(usize, usize)> = Vec::new();
                for yy in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                    r.extend_from_slice(&c.rows[yy]);
                }
                merge(r)
            })
            .collect();
        c.rows = grown;
        c
    }
}

/// Twice the signed area (shoelace).
fn area(p: &[[f64; 2]]) -> f64 {
    (0..p.len())
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % p.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// The x-extent of the segment a–b within the band `top..=bottom`, if it meets it.
fn clip(a: (f64, f64), b: (f64, f64), top: f64, bottom: f64) -> Option<(f64, f64)> {
    let (lo, hi) = if a.1 <= b.1 { (a, b) } else { (b, a) };
    if hi.1 < top || lo.1 > bottom {
        return None;
    }
    if hi.1 == lo.1 {
        return Some((a.0.min(b.0), a.0.max(b.0)));
    }
    let at = |y: f64| lo.0 + (y - lo.1) / (hi.1 - lo.1) * (hi.0 - lo.0);
    let (xa, xb) = (at(top.max(lo.1)), at(bottom.min(hi.1)));
    Some((xa.min(xb), xa.max(xb)))
}

/// The spans of a horizontal line inside a polygon, by the nonzero winding rule (what
/// the console's editor fills: a part a self-crossing outline goes round twice is
/// inside, not a hole).
fn cuts(pts: &[(f64, f64)], y: f64) -> Vec<(f64, f64)> {
    let mut xs: Vec<(f64, i32)> = Vec::new();
    for k in 0..pts.len() {
        let (a, b) = (pts[k], pts[(k + 1) % pts.len()]);
        let dir = if a.1 <= y && b.1 > y {
            1
        } else if b.1 <= y && a.1 > y {
            -1
        } else {
            continue;
        };
        xs.push((a.0 + (y - a.1) / (b.1 - a.1) * (b.0 - a.0), dir));
    }
    xs.sort_by(|p, q| p.0.total_cmp(&q.0));
    let mut out = Vec::new();
    let (mut winding, mut from) = (0, 0.0);
    for (x, d) in xs {
        if winding == 0 {
            from = x;
        }
        winding += d;
        if winding == 0 {
            out.push((from, x));
        }
    }
    out
}

/// Whether every span of `inner` lies inside one of `outer` (both sorted, disjoint and
/// merged, as [`Coverage`] rows are).
fn spans_within(inner: &[(usize, usize)], outer: &[(usize, usize)]) -> bool {
    let mut j = 0;
    inner.iter().all(|&(a, b)| {
        while j < outer.len() && outer[j].1 <= a {
            j += 1;
        }
        j < outer.len() && outer[j].0 <= a && b <= outer[j].1
    })
}

fn merge(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The pixels a mask covers in one picture size: per row, sorted disjoint half-open
/// spans `[x0, x1)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub width: usize,
    pub height: usize,
    pub rows: Vec<Vec<(usize, usize)>>,
}

impl Coverage {
    /// Whether pixel (x, y) is covered.
    pub fn covers(&self, x: usize, y: usize) -> bool {
        self.rows
            .get(y)
            .is_some_and(|r| r.iter().any(|&(a, b)| x >= a && x < b))
    }

    /// The coverage grown by `k` more pixels every way (for pictures that are not an
    /// exact scale of the frame, such as thumbnails cut to a whole shrink factor).
    pub fn widened(&self, k: usize) -> Coverage {
        let h = self.height;
        let rows = (0..h)
            .map(|y| {
                let mut r: Vec<(usize, usize)> = Vec::new();
                for yy in y.saturating_sub(k)..=(y + k).min(h.saturating_sub(1)) {
                    r.extend(
                        self.rows[yy]
                            .iter()
                            .map(|&(a, b)| (a.saturating_sub(k), (b + k).min(self.width))),
                    );
                }
                merge(r)
            })
            .collect();
        Coverage {
            width: self.width,
            height: h,
            rows,
        }
    }

    /// Whether nothing is covered.
    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(|r| r.is_empty())
    }

    /// Covered pixels.
    pub fn pixels(&self) -> usize {
        self.rows
            .iter()
            .flat_map(|r| r.iter().map(|(a, b)| b - a))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<[f64; 2]> {
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    }

    #[test]
    fn exposing_is_removing_shrinking_or_moving_never_growing_or_redrawing() {
        let m = |ps: Vec<Vec<[f64; 2]>>| PrivacyMask { polygons: ps };
        let window = m(vec![square(0.2, 0.2, 0.5, 0.6)]);
        // Removed, shrunk (by a few pixels of 4K on one side), moved: exposes.
        assert!(PrivacyMask::default().exposes(&window));
        assert!(m(vec![square(0.2, 0.2, 0.499, 0.6)]).exposes(&window));
        assert!(m(vec![square(0.25, 0.2, 0.55, 0.6)]).exposes(&window));
        // One of two polygons dropped: exposes.
        let two = m(vec![square(0.2, 0.2, 0.5, 0.6), square(0.7, 0.1, 0.9, 0.3)]);
        assert!(window.exposes(&two));
        // Grown, another polygon added, the same area drawn as two halves, the same
        // polygon with its corners in another order: does not.
        assert!(!m(vec![square(0.1, 0.1, 0.6, 0.7)]).exposes(&window));
        assert!(!two.exposes(&window));
        let halves = m(vec![
            square(0.2, 0.2, 0.35, 0.6),
            square(0.35, 0.2, 0.5, 0.6),
        ]);
        assert!(!halves.exposes(&window));
        let reversed = m(vec![vec![[0.2, 0.6], [0.5, 0.6], [0.5, 0.2], [0.2, 0.2]]]);
        assert!(!reversed.exposes(&window));
        // Nothing was masked: nothing can be exposed.
        assert!(!PrivacyMask::default().exposes(&PrivacyMask::default()));
        assert!(!window.exposes(&PrivacyMask::default()));
        // A triangle cut from the square's corner exposes; the square over the
        // triangle does not.
        let tri = m(vec![vec![[0.2, 0.2], [0.5, 0.2], [0.5, 0.6]]]);
        assert!(tri.exposes(&window));
        assert!(!window.exposes(&tri));
    }

    #[test]
    fn a_comb_of_slivers_does_not_pass_for_the_area_it_replaces() {
        // 32 polygons of thin horizontal teeth, each far thinner than a pixel of the
        // grid, one every 3 rows: widened, they would cover every row of the square.
        let window = PrivacyMask {
            polygons: vec![square(0.2, 0.2, 0.5, 0.6)],
        };
        let (_, h) = EXPOSURE_GRID;
        let row = 1.0 / h as f64;
        let mut polygons = Vec::new();
        for p in 0..32 {
            let mut top = Vec::new();
            let mut bottom = Vec::new();
            for t in 0..16 {
                let y = 0.2 + (p * 16 + t) as f64 * 3.0 * row;
                top.push([0.2, y]);
                top.push([0.5, y]);
                bottom.push([0.5, y + row * 0.01]);
                bottom.push([0.2, y + row * 0.01]);
            }
            bottom.reverse();
            top.extend(bottom);
            top.truncate(64);
            polygons.push(top);
        }
        let comb = PrivacyMask { polygons };
        assert!(comb.exposes(&window));
        // Moved by one pixel of the grid on one side: exposes too.
        let (w, _) = EXPOSURE_GRID;
        let shrunk = PrivacyMask {
            polygons: vec![square(0.2 + 1.0 / w as f64, 0.2, 0.5, 0.6)],
        };
        assert!(shrunk.exposes(&window));
        // At the picture's edges: the same full-frame mask, redrawn, does not.
        let full = PrivacyMask {
            polygons: vec![square(0.0, 0.0, 1.0, 1.0)],
        };
        assert!(!full.clone().exposes(&full));
        assert!(
            PrivacyMask {
                polygons: vec![square(0.0, 0.0, 1.0, 0.999)]
            }
            .exposes(&full)
        );
    }

    #[test]
    fn centre_coverage_is_the_area_inside() {
        let m = PrivacyMask {
            polygons: vec![square(0.1, 0.2, 0.5, 0.6)],
        };
        let c = m.centre_coverage(10, 10);
        assert_eq!(c.pixels(), 16);
        assert!(c.covers(1, 2) && c.covers(4, 5) && !c.covers(5, 5) && !c.covers(1, 6));
    }

    #[test]
    fn spans_within_follows_the_rows() {
        assert!(spans_within(&[(2, 4), (6, 8)], &[(0, 10)]));
        assert!(spans_within(&[], &[]));
        assert!(!spans_within(&[(2, 4)], &[]));
        assert!(!spans_within(&[(2, 6)], &[(0, 4), (5, 10)]));
        assert!(spans_within(&[(1, 2), (5, 7)], &[(0, 3), (4, 8)]));
        assert!(!spans_within(&[(1, 2), (8, 9)], &[(0, 3), (4, 8)]));
    }

    #[test]
    fn a_rectangle_covers_its_pixels_and_one_more_around() {
        let m = PrivacyMask {
            polygons: vec![square(0.25, 0.25, 0.5, 0.5)],
        };
        m.validate().unwrap();
        let c = m.coverage(100, 100);
        // Inside, and the pixel just outside each edge; not two pixels out.
        for (x, y) in [(25, 25), (49, 49), (24, 30), (50, 30), (30, 24), (30, 50)] {
            assert!(c.covers(x, y), "({x}, {y}) not covered");
        }
        for (x, y) in [(22, 30), (53, 30), (30, 22), (30, 53), (0, 0), (99, 99)] {
            assert!(!c.covers(x, y), "({x}, {y}) covered");
        }
        // About 25 × 25 plus the border.
        assert!((625..=29 * 29).contains(&c.pixels()), "{}", c.pixels());
        let w = c.widened(3);
        assert!(w.covers(21, 30) && w.covers(53, 30) && !w.covers(19, 30) && !w.covers(56, 30));
    }

    #[test]
    fn a_sliver_thinner_than_a_pixel_still_covers_its_pixels_at_any_scale() {
        // 0.001 of the width: a tenth of a pixel at 100 px, still masked.
        let m = PrivacyMask {
            polygons: vec![square(0.5, 0.1, 0.501, 0.9)],
        };
        m.validate().unwrap();
        for (w, h) in [(100, 100), (1280, 720), (33, 17)] {
            let c = m.coverage(w, h);
            let x = w / 2;
            for y in (h / 10 + 1)..(h * 9 / 10) {
                assert!(c.covers(x, y), "{w}×{h}: ({x}, {y})");
            }
        }
        // A spike: a triangle whose tip is thin still covers the tip's pixel.
        let tri = PrivacyMask {
            polygons: vec![vec![[0.1, 0.1], [0.9, 0.5], [0.1, 0.9]]],
        };
        let c = tri.coverage(200, 200);
        assert!(c.covers(179, 100) && c.covers(180, 100));
    }

    #[test]
    fn every_pixel_whose_centre_is_inside_is_covered() {
        // A concave polygon and an irregular one, at odd sizes.
        let m = PrivacyMask {
            polygons: vec![
                vec![[0.1, 0.1], [0.6, 0.1], [0.35, 0.4], [0.6, 0.7], [0.1, 0.7]],
                vec![[0.7, 0.2], [0.95, 0.33], [0.8, 0.97], [0.66, 0.5]],
            ],
        };
        m.validate().unwrap();
        for (w, h) in [(97, 61), (320, 180), (1280, 720)] {
            let c = m.coverage(w, h);
            for y in 0..h {
                for x in 0..w {
                    let p = ((x as f64 + 0.5) / w as f64, (y as f64 + 0.5) / h as f64);
                    let inside = m.polygons.iter().any(|poly| contains(poly, p));
                    if inside {
                        assert!(c.covers(x, y), "{w}×{h}: ({x}, {y}) inside, not covered");
                    }
                }
            }
        }
    }

    fn contains(poly: &[[f64; 2]], (x, y): (f64, f64)) -> bool {
        let mut inside = false;
        for k in 0..poly.len() {
            let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
            if (a[1] > y) != (b[1] > y) && x < a[0] + (y - a[1]) / (b[1] - a[1]) * (b[0] - a[0]) {
                inside = !inside;
            }
        }
        inside
    }

    #[test]
    fn a_self_crossing_outline_is_filled_as_the_editor_draws_it() {
        // A pentagram: its centre is gone round twice (nonzero: inside; even-odd
        // would leave it a hole).
        let star: Vec<[f64; 2]> = (0..5)
            .map(|i| {
                let a = std::f64::consts::PI * (0.5 + 0.8 * i as f64);
                [0.5 + 0.4 * a.cos(), 0.5 - 0.4 * a.sin()]
            })
            .collect();
        let m = PrivacyMask {
            polygons: vec![star],
        };
        m.validate().unwrap();
        let c = m.coverage(200, 200);
        for (x, y) in [(100, 100), (95, 105), (105, 95)] {
            assert!(c.covers(x, y), "({x}, {y}) in the star's centre");
        }
        // A point outside the star, between two of its tips.
        assert!(!c.covers(100, 185));
    }

    #[test]
    fn limits_are_named() {
        let bad = |p: Vec<Vec<[f64; 2]>>| PrivacyMask { polygons: p }.validate().unwrap_err();
        assert!(matches!(
            bad(vec![vec![[0.0, 0.0], [1.0, 1.0]]]),
            MaskError::Corners { points: 2, .. }
        ));
        assert!(matches!(
            bad(vec![vec![[0.0, 0.0], [1.5, 0.0], [0.0, 1.0]]]),
            MaskError::Outside { corner: 1, .. }
        ));
        assert!(matches!(
            bad(vec![vec![[0.0, 0.0], [f64::NAN, 0.0], [0.0, 1.0]]]),
            MaskError::Outside { .. }
        ));
        assert!(matches!(
            bad(vec![vec![[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]]),
            MaskError::Degenerate { polygon: 0 }
        ));
        assert!(matches!(
            bad(vec![square(0.0, 0.0, 0.1, 0.1); MAX_POLYGONS + 1]),
            MaskError::TooManyPolygons(_)
        ));
        // Unknown fields are refused, not ignored.
        assert!(serde_json::from_str::<PrivacyMask>(r#"{"polygons":[],"blur":true}"#).is_err());
        assert!(PrivacyMask::default().coverage(64, 64).is_empty());
    }
}
