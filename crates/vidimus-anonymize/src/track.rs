//! Following boxes across frames, so that detection can run on every `k`-th frame and
//! still put a mask on every frame, without flicker.
//!
//! Detection frames come in order (`update`); each returns the [`Round`] of frames
//! since the previous detection frame (exclusive) up to this one (inclusive). Within a
//! round every track has a box on every frame:
//! - seen at both ends: linearly between its two boxes;
//! - new at this end: its box here (an object found late is masked over the whole
//!   round, before it was found too);
//! - not found this time (a missed detection): where its motion predicts, for up to
//!   `hold` detection rounds, then dropped.
//!
//! Boxes are matched to tracks greedily by overlap with the track's predicted box
//! (same kind only), falling back to centre distance for small, fast objects.

use serde::Serialize;

use crate::geometry::{Detection, Rect};

/// What a box holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Face,
    Plate,
    /// A region that moves (the figure mode's foreground).
    Motion,
}

#[derive(Clone, Debug)]
struct Track {
    id: u64,
    kind: Kind,
    /// Its last detected box and frame.
    last: (usize, Rect),
    /// The one before, for its velocity.
    before: Option<(usize, Rect)>,
    misses: usize,
    detections: usize,
}

impl Track {
    fn velocity(&self) -> (f32, f32) {
        match self.before {
            Some((at, r)) if at < self.last.0 => {
                let dt = (self.last.0 - at) as f32;
                let (a, b) = (r.center(), self.last.1.center());
                ((b.0 - a.0) / dt, (b.1 - a.1) / dt)
            }
            _ => (0.0, 0.0),
        }
    }

    fn predicted(&self, at: usize) -> Rect {
        let (vx, vy) = self.velocity();
        let dt = at as f32 - self.last.0 as f32;
        self.last.1.shifted(vx * dt, vy * dt)
    }
}

/// A box of a track on one frame.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct TrackBox {
    pub track: u64,
    pub kind: Kind,
    pub rect: Rect,
    /// Found on this very frame (not interpolated, predicted or held).
    pub detected: bool,
}

/// The frames `(after, to]` and what to mask on each.
#[derive(Debug, Default)]
pub struct Round {
    pub after: Option<usize>,
    pub to: usize,
    plans: Vec<Plan>,
}

#[derive(Debug)]
enum Plan {
    Between {
        track: u64,
        kind: Kind,
        a: (usize, Rect),
        b: (usize, Rect),
    },
    Fixed {
        track: u64,
        kind: Kind,
        rect: Rect,
        at: usize,
    },
    Predicted {
        track: u64,
        kind: Kind,
        from: (usize, Rect),
        v: (f32, f32),
    },
}

/// How far an object of box `r` may move in `frames` frames without being seen: a
/// tenth of its size per frame (a walking person's face, a car's plate at town speed),
/// at least a pixel.
fn reach(r: &Rect, frames: usize) -> f32 {
    (0.1 * r.width().max(r.height())).max(1.0) * frames as f32
}

impl Round {
    /// The boxes of frame `t` (`after < t <= to`).
    pub fn boxes_at(&self, t: usize) -> Vec<TrackBox> {
        self.plans
            .iter()
            .map(|p| match *p {
                Plan::Between { track, kind, a, b } => {
                    let s = (t - a.0) as f32 / (b.0 - a.0).max(1) as f32;
                    TrackBox {
                        track,
                        kind,
                        rect: Rect::lerp(&a.1, &b.1, s),
                        detected: t == b.0,
                    }
                }
                Plan::Fixed {
                    track,
                    kind,
                    rect,
                    at,
                } => TrackBox {
                    track,
                    kind,
                    // Before it was found it may have been elsewhere: grown by how far
                    // it could have moved.
                    rect: rect.grown(reach(&rect, at.saturating_sub(t))),
                    detected: t == at,
                },
                Plan::Predicted {
                    track,
                    kind,
                    from,
                    v,
                } => {
                    let dt = t as f32 - from.0 as f32;
                    TrackBox {
                        track,
                        kind,
                        rect: from
                            .1
                            .shifted(v.0 * dt, v.1 * dt)
                            .grown(reach(&from.1, t.saturating_sub(from.0))),
                        detected: false,
                    }
                }
            })
            .collect()
    }

    /// The frames this round covers.
    pub fn frames(&self) -> std::ops::RangeInclusive<usize> {
        self.after.map_or(0, |a| a + 1)..=self.to
    }
}

/// The tracks of one stream.
#[derive(Debug)]
pub struct Tracker {
    tracks: Vec<Track>,
    next: u64,
    last_at: Option<usize>,
    /// Detection rounds a track is kept (and masked) without being found again.
    pub hold: usize,
}

impl Tracker {
    pub fn new(hold: usize) -> Self {
        Tracker {
            tracks: Vec::new(),
            next: 1,
            last_at: None,
            hold,
        }
    }

    /// Follows `dets` (found by the re-check on frame `at` of the round just planned)
    /// from now on as tracks of their own: masked where they are, predicted and held
    /// like any track.
    pub fn adopt(&mut self, at: usize, dets: &[(Kind, Detection)]) {
        for (kind, d) in dets {
            let id = self.next;
            self.next += 1;
            self.tracks.push(Track {
                id,
                kind: *kind,
                last: (at, d.rect),
                before: None,
                misses: 0,
                detections: 1,
            });
        }
    }

    /// The detections of frame `at` (later than any before). Returns what to mask on
    /// the frames since the previous detection frame, this one included.
    pub fn update(&mut self, at: usize, dets: &[(Kind, Detection)]) -> Round {
        let after = self.last_at;
        assert!(after.is_none_or(|a| a < at), "detection frames go forward");
        // Candidate pairs by overlap with the prediction, best first.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            let p = t.predicted(at);
            for (di, (kind, d)) in dets.iter().enumerate() {
                if *kind != t.kind {
                    continue;
                }
                let iou = p.iou(&d.rect);
                let (a, b) = (p.center(), d.rect.center());
                let dist = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
                let size = p
                    .width()
                    .max(p.height())
                    .max(d.rect.width().max(d.rect.height()));
                let near = dist < 1.5 * size;
                if iou > 0.05 || near {
                    // Overlap first; among non-overlapping, the nearest.
                    pairs.push((
                        iou + if near {
                            0.01 * (1.0 - dist / size)
                        } else {
                            0.0
                        },
                        ti,
                        di,
                    ));
                }
            }
        }
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut track_of: Vec<Option<usize>> = vec![None; dets.len()];
        let mut matched = vec![false; self.tracks.len()];
        for (_, ti, di) in pairs {
            if !matched[ti] && track_of[di].is_none() {
                matched[ti] = true;
                track_of[di] = Some(ti);
            }
        }
        let mut plans = Vec::new();
        for (ti, t) in self.tracks.iter_mut().enumerate() {
            if !matched[ti] {
                t.misses += 1;
                if t.misses <= self.hold {
                    plans.push(Plan::Predicted {
                        track: t.id,
                        kind: t.kind,
                        from: t.last,
                        v: t.velocity(),
                    });
                }
            }
        }
        for (di, (kind, d)) in dets.iter().enumerate() {
            match track_of[di] {
                Some(ti) => {
                    let t = &mut self.tracks[ti];
                    plans.push(Plan::Between {
                        track: t.id,
                        kind: t.kind,
                        a: t.last,
                        b: (at, d.rect),
                    });
                    t.before = Some(t.last);
                    t.last = (at, d.rect);
                    t.misses = 0;
                    t.detections += 1;
                }
                None => {
                    let id = self.next;
                    self.next += 1;
                    plans.push(Plan::Fixed {
                        track: id,
                        kind: *kind,
                        rect: d.rect,
                        at,
                    });
                    self.tracks.push(Track {
                        id,
                        kind: *kind,
                        last: (at, d.rect),
                        before: None,
                        misses: 0,
                        detections: 1,
                    });
                }
            }
        }
        let hold = self.hold;
        self.tracks.retain(|t| t.misses <= hold);
        self.last_at = Some(at);
        Round {
            after,
            to: at,
            plans,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, y: f32, s: f32) -> Detection {
        Detection {
            rect: Rect::new(x, y, x + s, y + s),
            score: 0.9,
        }
    }

    #[test]
    fn a_moving_box_is_interpolated_and_a_missed_one_held() {
        let mut t = Tracker::new(2);
        let r0 = t.update(0, &[(Kind::Plate, det(100.0, 50.0, 20.0))]);
        assert_eq!(r0.frames(), 0..=0);
        let r1 = t.update(4, &[(Kind::Plate, det(80.0, 50.0, 20.0))]);
        assert_eq!(r1.frames(), 1..=4);
        let b = r1.boxes_at(2);
        assert_eq!(b.len(), 1);
        assert!((b[0].rect.x1 - 90.0).abs() < 1e-4, "{b:?}");
        assert_eq!(b[0].track, r0.boxes_at(0)[0].track, "one track");
        // Missed at frame 8: predicted on (5 px/frame to the left), still masked, and
        // grown by how far it could have strayed (a tenth of its size per frame: 2 px
        // a side per frame since it was last seen, at frame 4).
        let r2 = t.update(8, &[]);
        let b = r2.boxes_at(6);
        assert_eq!(b.len(), 1);
        assert!((b[0].rect.x1 - 66.0).abs() < 1e-4, "{b:?}");
        assert!((b[0].rect.x2 - 94.0).abs() < 1e-4, "{b:?}");
        assert!((b[0].rect.y1 - 46.0).abs() < 1e-4, "{b:?}");
        assert!(!b[0].detected);
        // Found again where the motion says: the same track.
        let r3 = t.update(12, &[(Kind::Plate, det(60.0, 50.0, 20.0))]);
        assert_eq!(r3.boxes_at(12)[0].track, b[0].track);
        // Gone for longer than the hold: dropped.
        t.update(16, &[]);
        t.update(20, &[]);
        assert!(t.update(24, &[]).boxes_at(24).is_empty());
    }

    #[test]
    fn a_new_object_is_masked_over_its_whole_round_and_kinds_do_not_mix() {
        let mut t = Tracker::new(1);
        t.update(0, &[(Kind::Face, det(10.0, 10.0, 30.0))]);
        let r = t.update(
            5,
            &[
                (Kind::Plate, det(10.0, 10.0, 30.0)),
                (Kind::Face, det(11.0, 10.0, 30.0)),
            ],
        );
        let at1 = r.boxes_at(1);
        assert_eq!(
            at1.iter().filter(|b| b.kind == Kind::Plate).count(),
            1,
            "{at1:?}"
        );
        assert_eq!(
            at1.iter().filter(|b| b.kind == Kind::Face).count(),
            1,
            "{at1:?}"
        );
    }
}
