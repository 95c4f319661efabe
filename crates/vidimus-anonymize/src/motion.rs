//! Figures (Art. 31 "figures", 体貌): the whole-person mode masks whatever moves. No
//! permissively licensed person detector ships in a registry package we know of (YOLOv8
//! is AGPL), so a background model stands in: luma averaged over 8×8 blocks, a running
//! average per block as the background, blocks that differ from it by more than a
//! threshold are foreground, grown by one block and grouped into connected regions,
//! each masked whole. It is learned on every frame (cheap: 160×90 blocks at 720p), so
//! it needs no tracking. Something that stops moving fades into the background slowly
//! (its blocks learn at a tenth of the rate), so a person who stands still stays masked
//! for a while; faces and plates are masked by their detectors whatever moves.

use vidimus_codec::{Frame, Plane};

use crate::geometry::Rect;

/// Block side in pixels.
const BLOCK: usize = 8;

/// The background model of one stream.
#[derive(Clone, Debug)]
pub struct Motion {
    cols: usize,
    rows: usize,
    background: Vec<f32>,
    seen: usize,
    /// Difference from the background (luma levels) that makes a block foreground.
    pub threshold: f32,
    /// How fast the background learns, per frame (0..1).
    pub learn: f32,
    /// Regions of fewer blocks than this are noise, not a figure.
    pub min_blocks: usize,
}

impl Default for Motion {
    fn default() -> Self {
        Motion {
            cols: 0,
            rows: 0,
            background: Vec::new(),
            seen: 0,
            threshold: 18.0,
            learn: 0.05,
            min_blocks: 3,
        }
    }
}

impl Motion {
    /// The frame's block means.
    fn blocks(&self, frame: &Frame) -> Vec<f32> {
        let (w, h) = (frame.width(), frame.height());
        let s = frame.stride(Plane::Y);
        let y = frame.plane(Plane::Y);
        let mut out = vec![0f32; self.cols * self.rows];
        for r in 0..self.rows {
            for c in 0..self.cols {
                let (x0, y0) = (c * BLOCK, r * BLOCK);
                let (x1, y1) = ((x0 + BLOCK).min(w), (y0 + BLOCK).min(h));
                let mut sum = 0u32;
                for yy in y0..y1 {
                    sum += y[yy * s + x0..yy * s + x1]
                        .iter()
                        .map(|&v| v as u32)
                        .sum::<u32>();
                }
                out[r * self.cols + c] = sum as f32 / ((x1 - x0) * (y1 - y0)).max(1) as f32;
            }
        }
        out
    }

    /// The moving regions of `frame` (full-frame pixels); the background learns from it.
    /// The first frame only teaches the background.
    pub fn regions(&mut self, frame: &Frame) -> Vec<Rect> {
        let (cols, rows) = (
            frame.width().div_ceil(BLOCK),
            frame.height().div_ceil(BLOCK),
        );
        if (cols, rows) != (self.cols, self.rows) {
            *self = Motion {
                cols,
                rows,
                background: Vec::new(),
                seen: 0,
                ..self.clone()
            };
        }
        let now = self.blocks(frame);
        if self.seen == 0 {
            self.background = now;
            self.seen = 1;
            return Vec::new();
        }
        self.seen += 1;
        let fg: Vec<bool> = now
            .iter()
            .zip(&self.background)
            .map(|(v, b)| (v - b).abs() > self.threshold)
            .collect();
        // Learn: the background fast where it is background, slowly under a figure.
        for (i, (v, b)) in now.iter().zip(self.background.iter_mut()).enumerate() {
            let rate = if fg[i] { self.learn / 10.0 } else { self.learn };
            *b += (v - *b) * rate;
        }
        // Grow by one block, then group (4-neighbours) into regions.
        let mut grown = fg.clone();
        for r in 0..rows {
            for c in 0..cols {
                if fg[r * cols + c] {
                    for (dr, dc) in [
                        (-1i64, 0i64),
                        (1, 0),
                        (0, -1),
                        (0, 1),
                        (-1, -1),
                        (-1, 1),
                        (1, -1),
                        (1, 1),
                    ] {
                        let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                        if rr >= 0 && cc >= 0 && (rr as usize) < rows && (cc as usize) < cols {
                            grown[rr as usize * cols + cc as usize] = true;
                        }
                    }
                }
            }
        }
        let mut seen = vec![false; cols * rows];
        let mut out = Vec::new();
        for start in 0..cols * rows {
            if !grown[start] || seen[start] {
                continue;
            }
            let (mut c0, mut r0, mut c1, mut r1, mut n, mut core) =
                (usize::MAX, usize::MAX, 0, 0, 0, 0);
            let mut stack = vec![start];
            seen[start] = true;
            while let Some(i) = stack.pop() {
                let (r, c) = (i / cols, i % cols);
                (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
                n += 1;
                core += fg[i] as usize;
                let mut push = |j: usize| {
                    if grown[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if r > 0 {
                    push(i - cols);
                }
                if r + 1 < rows {
                    push(i + cols);
                }
                if c > 0 {
                    push(i - 1);
                }
                if c + 1 < cols {
                    push(i + 1);
                }
            }
            let _ = n;
            if core >= self.min_blocks {
                out.push(
                    Rect::new(
                        (c0 * BLOCK) as f32,
                        (r0 * BLOCK) as f32,
                        ((c1 + 1) * BLOCK) as f32,
                        ((r1 + 1) * BLOCK) as f32,
                    )
                    .clamped(frame.width() as f32, frame.height() as f32),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured still background with a bright 40×60 "figure" at `x`.
    fn scene(x: usize, pts: i64) -> Frame {
        let mut f = Frame::black(320, 240, pts);
        let s = f.stride(Plane::Y);
        for y in 0..240 {
            for xx in 0..320 {
                let bg = 40 + ((xx / 16 + y / 16) % 2) as u8 * 30;
                let fig = (x..x + 40).contains(&xx) && (100..160).contains(&y);
                f.plane_mut(Plane::Y)[y * s + xx] = if fig { 200 } else { bg };
            }
        }
        f
    }

    #[test]
    fn what_moves_is_masked_and_what_stands_still_is_not() {
        let mut m = Motion::default();
        assert!(
            m.regions(&scene(0, 0)).is_empty(),
            "the first frame only teaches"
        );
        // Once it has left where it stood in the first frame (which the background
        // learned), the figure is masked in every frame.
        for i in 1..20usize {
            let x = 10 * i;
            let rs = m.regions(&scene(x, i as i64));
            if x < 40 {
                continue;
            }
            let figure = Rect::new(x as f32, 100.0, x as f32 + 40.0, 160.0);
            assert!(
                rs.iter().any(|r| figure.covered_by(r) >= 0.99),
                "frame {i}: {figure:?} not covered by {rs:?}"
            );
            // Nothing far from the figure (and its trail) is masked.
            for r in &rs {
                assert!(r.y1 >= 80.0 && r.y2 <= 180.0, "frame {i}: {r:?}");
            }
        }
        // A still scene: nothing masked once the background has learned it.
        let mut still = Motion::default();
        for i in 0..5 {
            assert!(still.regions(&scene(100, i)).is_empty());
        }
    }
}
