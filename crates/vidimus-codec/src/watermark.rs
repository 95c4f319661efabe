//! The visible watermark of view-only playback (Art. 35): text lines burned into a
//! frame's pixels — who is watching, for which organisation, under which request, and
//! when — so that a screen recording carries them.
//!
//! Each copy of the text sits in a box: the luma under the box is darkened towards
//! `box_luma` by `box_opacity` (the video stays visible through it), the chroma under it
//! is set neutral (grey), and the glyphs are drawn opaque in `text_luma`. The glyphs are
//! the public-domain 8×8 `font8x8` bitmaps scaled up nearest-neighbour (`scale`).
//!
//! Placement: by default three copies on a diagonal — top right, centre, bottom left —
//! so cropping away any corner, or both edges, leaves at least one whole copy, while the
//! spots where cameras commonly burn their own clock and name (top left, bottom right)
//! stay visible; [`Placement::At`] puts a copy anywhere. Boxes start on even coordinates so that they cover whole chroma
//! samples, and are clipped to the frame.
//!
//! Characters: printable ASCII and Latin-1 (U+00A0–U+00FF) have glyphs. Anything else —
//! Chinese names among them — is drawn as a hollow box (□), one cell per character, so
//! callers should put an ASCII form beside such names (the user's login, pinyin, the
//! request number). GNU Unifont (16×16, whole BMP) would render CJK; its ~1 MB of glyph
//! data and GPL/OFL licence were left out of this first version.

use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};

use crate::{Frame, Plane};

/// Where one copy of the text goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    TopLeft,
    TopRight,
    Centre,
    BottomLeft,
    BottomRight,
    /// The box's top-left corner at (x, y) (rounded down to even).
    At {
        x: usize,
        y: usize,
    },
}

/// How the watermark looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatermarkStyle {
    /// Each font pixel becomes `scale` × `scale` frame pixels (a glyph is 8·scale).
    pub scale: usize,
    /// Space between the text and the box edge, frame pixels.
    pub padding: usize,
    /// Space between lines, frame pixels.
    pub line_gap: usize,
    /// Distance of the corner copies from the frame edges, frame pixels.
    pub margin: usize,
    /// Luma of the glyph strokes.
    pub text_luma: u8,
    /// Luma the box darkens towards.
    pub box_luma: u8,
    /// 0: the box leaves the video as it is; 255: the box is solid `box_luma`.
    pub box_opacity: u8,
    pub placements: Vec<Placement>,
}

impl WatermarkStyle {
    /// Readable at any size: 16 px glyphs at 720p, 24 px at 1080p; three copies.
    pub fn for_size(_width: usize, height: usize) -> Self {
        let scale = (height / 360).max(1);
        WatermarkStyle {
            scale,
            padding: 3 * scale,
            line_gap: 2 * scale,
            margin: 8 * scale,
            text_luma: 235,
            box_luma: 16,
            box_opacity: 176,
            placements: vec![
                Placement::TopRight,
                Placement::Centre,
                Placement::BottomLeft,
            ],
        }
    }

    /// The box size for these lines, before clipping.
    pub fn box_size(&self, lines: &[String]) -> (usize, usize) {
        let cols = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let n = lines.len();
        let cell = 8 * self.scale;
        (
            cols * cell + 2 * self.padding,
            n * cell + n.saturating_sub(1) * self.line_gap + 2 * self.padding,
        )
    }
}

/// A rectangle of a frame, in luma pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: usize,
    pub y: usize,
    pub width: usize,
    pub height: usize,
}

impl Rect {
    pub fn contains(&self, x: usize, y: usize) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.width && y < self.y + self.height
    }
}

/// Where [`burn`] draws, clipped to the frame: one box per placement (none for no text).
pub fn text_boxes(
    width: usize,
    height: usize,
    lines: &[String],
    style: &WatermarkStyle,
) -> Vec<Rect> {
    if lines.is_empty() {
        return Vec::new();
    }
    let (bw, bh) = style.box_size(lines);
    style
        .placements
        .iter()
        .map(|p| {
            let (x, y) = match *p {
                Placement::TopLeft => (style.margin, style.margin),
                Placement::TopRight => (width.saturating_sub(bw + style.margin), style.margin),
                Placement::BottomLeft => (style.margin, height.saturating_sub(bh + style.margin)),
                Placement::Centre => (width.saturating_sub(bw) / 2, height.saturating_sub(bh) / 2),
                Placement::BottomRight => (
                    width.saturating_sub(bw + style.margin),
                    height.saturating_sub(bh + style.margin),
                ),
                Placement::At { x, y } => (x, y),
            };
            let (x, y) = (x & !1, y & !1);
            let (x, y) = (x.min(width), y.min(height));
            Rect {
                x,
                y,
                width: bw.min(width - x),
                height: bh.min(height - y),
            }
        })
        .filter(|r| r.width > 0 && r.height > 0)
        .collect()
}

/// The 8×8 bitmap of a character (row per byte, bit 0 leftmost); a hollow box for a
/// character the font lacks.
pub fn glyph(c: char) -> [u8; 8] {
    const MISSING: [u8; 8] = [0x00, 0x7e, 0x42, 0x42, 0x42, 0x42, 0x7e, 0x00];
    match c as u32 {
        0x20..=0x7e => BASIC_LEGACY[c as usize],
        cp @ 0xa0..=0xff => LATIN_LEGACY[(cp - 0xa0) as usize],
        _ => MISSING,
    }
}

/// Burns `lines` into the frame at every placement of `style`. Pure: the same frame,
/// lines and style give the same pixels.
pub fn burn(frame: &mut Frame, lines: &[String], style: &WatermarkStyle) {
    let scale = style.scale.max(1);
    for rect in text_boxes(frame.width(), frame.height(), lines, style) {
        darken_box(frame, rect, style);
        let cell = 8 * scale;
        for (row, line) in lines.iter().enumerate() {
            let top = rect.y + style.padding + row * (cell + style.line_gap);
            for (col, c) in line.chars().enumerate() {
                let left = rect.x + style.padding + col * cell;
                draw_glyph(frame, rect, glyph(c), (left, top), scale, style.text_luma);
            }
        }
    }
}

fn darken_box(frame: &mut Frame, rect: Rect, style: &WatermarkStyle) {
    let a = u32::from(style.box_opacity);
    let target = u32::from(style.box_luma);
    let stride = frame.stride(Plane::Y);
    let luma = frame.plane_mut(Plane::Y);
    for y in rect.y..rect.y + rect.height {
        let row = &mut luma[y * stride + rect.x..y * stride + rect.x + rect.width];
        for px in row {
            *px = ((u32::from(*px) * (255 - a) + target * a + 127) / 255) as u8;
        }
    }
    let (cw, ch) = frame.chroma_size();
    let (x0, y0) = (rect.x / 2, rect.y / 2);
    let (x1, y1) = (
        (rect.x + rect.width).div_ceil(2).min(cw),
        (rect.y + rect.height).div_ceil(2).min(ch),
    );
    let cstride = frame.stride(Plane::U);
    for plane in [Plane::U, Plane::V] {
        let p = frame.plane_mut(plane);
        for y in y0..y1 {
            p[y * cstride + x0..y * cstride + x1].fill(128);
        }
    }
}

fn draw_glyph(
    frame: &mut Frame,
    clip: Rect,
    bits: [u8; 8],
    (left, top): (usize, usize),
    scale: usize,
    luma: u8,
) {
    let stride = frame.stride(Plane::Y);
    let plane = frame.plane_mut(Plane::Y);
    for (gy, row) in bits.iter().enumerate() {
        for gx in 0..8 {
            if row & (1 << gx) == 0 {
                continue;
            }
            for y in top + gy * scale..top + (gy + 1) * scale {
                for x in left + gx * scale..left + (gx + 1) * scale {
                    if clip.contains(x, y) {
                        plane[y * stride + x] = luma;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Frame {
        let mut f = Frame::black(w, h, 0);
        for (n, px) in f.plane_mut(Plane::Y).iter_mut().enumerate() {
            *px = (40 + (n % w + n / w) % 160) as u8;
        }
        for p in [Plane::U, Plane::V] {
            f.plane_mut(p).fill(90);
        }
        f
    }

    fn lines() -> Vec<String> {
        vec!["viewer: li.wei".into(), "REQ-2026-0042 12:00:00".into()]
    }

    #[test]
    fn burns_inside_the_boxes_only() {
        let before = gradient(640, 360);
        let mut f = before.clone();
        let style = WatermarkStyle::for_size(640, 360);
        burn(&mut f, &lines(), &style);
        let boxes = text_boxes(640, 360, &lines(), &style);
        assert_eq!(boxes.len(), 3);
        let mut text = 0;
        for y in 0..360 {
            for x in 0..640 {
                let inside = boxes.iter().any(|b| b.contains(x, y));
                let (a, b) = (before.luma(x, y), f.luma(x, y));
                if !inside {
                    assert_eq!(a, b, "({x},{y}) outside changed");
                } else {
                    assert_ne!(a, b, "({x},{y}) inside unchanged");
                    if b == style.text_luma {
                        text += 1;
                    } else {
                        assert!(b < a, "box background is darker");
                    }
                }
            }
        }
        assert!(text > 500, "glyph strokes drawn: {text}");
        // Neutral chroma under a box, untouched elsewhere.
        let b = boxes[0];
        let cs = f.stride(Plane::U);
        assert_eq!(f.plane(Plane::U)[(b.y / 2 + 1) * cs + b.x / 2 + 1], 128);
        assert_eq!(f.plane(Plane::V)[(b.y + b.height) / 2 * cs + 2], 90);
    }

    #[test]
    fn cutting_away_any_corner_leaves_a_whole_copy() {
        let style = WatermarkStyle::for_size(1280, 720);
        let boxes = text_boxes(1280, 720, &lines(), &style);
        let overlaps = |a: Rect, b: Rect| {
            a.x < b.x + b.width
                && b.x < a.x + a.width
                && a.y < b.y + b.height
                && b.y < a.y + a.height
        };
        for (x, y) in [(0, 0), (640, 0), (0, 360), (640, 360)] {
            let quarter = Rect {
                x,
                y,
                width: 640,
                height: 360,
            };
            assert!(
                boxes.iter().any(|&b| !overlaps(b, quarter)),
                "corner at ({x},{y})"
            );
        }
        // Nor do the default copies cover the top-left and bottom-right corners, where
        // cameras put their own clock and name.
        let osd = [
            Rect {
                x: 0,
                y: 0,
                width: 320,
                height: 60,
            },
            Rect {
                x: 960,
                y: 660,
                width: 320,
                height: 60,
            },
        ];
        assert!(boxes.iter().all(|&b| osd.iter().all(|&o| !overlaps(b, o))));
    }

    #[test]
    fn glyph_pattern_is_the_text() {
        let mut f = Frame::black(64, 32, 0);
        let style = WatermarkStyle {
            placements: vec![Placement::At { x: 0, y: 0 }],
            padding: 0,
            ..WatermarkStyle::for_size(64, 32)
        };
        burn(&mut f, &["L".to_string()], &style);
        // 'L': a vertical stroke at font columns 1-2, the foot on row 6, columns 0-6.
        let lit = |x, y| f.luma(x, y) == 235;
        assert!(lit(1, 0) && lit(2, 3) && !lit(5, 3) && lit(6, 6) && !lit(7, 6) && !lit(3, 7));
    }

    #[test]
    fn unknown_characters_are_boxes_and_nothing_panics() {
        assert_eq!(glyph('张'), glyph('\u{2603}'));
        assert_ne!(glyph('A'), glyph('张'));
        assert_ne!(glyph('é'), glyph('张'));
        let mut f = Frame::black(30, 20, 0);
        let style = WatermarkStyle::for_size(30, 20);
        burn(
            &mut f,
            &["张伟 a very long line that is clipped".into()],
            &style,
        );
        burn(&mut f, &[], &style);
        let far = WatermarkStyle {
            placements: vec![Placement::At { x: 500, y: 500 }],
            ..style
        };
        burn(&mut f, &["x".into()], &far);
        assert!(text_boxes(30, 20, &["x".into()], &far).is_empty());
    }
}
