//! The anonymizer: decoded frames in, masked frames out, with a report of what was
//! masked where and what the re-check found.
//!
//! Frames are held until the next detection frame (every `detect_every`-th, and the
//! last), so that the [`Tracker`] can put a box on each of them; the boxes are enlarged
//! (faces 1.3×, plates 1.2×, as deface does for faces), merged, and their pixels
//! destroyed ([`mask::destroy`]). Then the **re-check**: both detectors run again on the
//! masked frame, at lower thresholds and at another scale than detection's; a find
//! outside the masks is masked too and the frame checked again (up to
//! [`Params::recheck_rounds`] times, [`RECHECK_ROUNDS`] by default; 0, the strict
//! mode, masks nothing the re-check finds); what the last look still finds is a
//! [`Finding`] that blocks release ([`Report::released`] is false).
//!
//! A find is first looked up in the **source**: the same detector, at the re-check's
//! scales and threshold, on the frame as decoded, around the find. If the source holds
//! nothing there that the masks leave uncovered, what the detector saw was made by the
//! masks themselves (a flat block against a neck or a collar reads as a weak face) and
//! shows nothing of the source: it is an [`Artifact`], reported where it is, and does
//! not block. Whatever the source holds uncovered there is a finding. The strict mode
//! treats every find as a finding.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use vidimus_codec::Frame;

use crate::AnonymizeError;
use crate::detect::{Detector, FaceDetector, PlateDetector};
use crate::geometry::{Detection, Rect, merge};
use crate::mask;
use crate::motion::Motion;
use crate::track::{Kind, Round, Tracker};

/// How many times the re-check masks what it found and looks again, by default.
pub const RECHECK_ROUNDS: usize = 3;

/// How the anonymizer works; [`Params::default`] is what publication uses.
#[derive(Clone, Debug, Serialize)]
pub struct Params {
    /// Detect on every n-th frame (1: every frame); tracking covers the others.
    pub detect_every: usize,
    /// The scales frames are detected at (1.0: full size), per detector.
    pub face_scale: f32,
    pub plate_scale: f32,
    pub face_threshold: f32,
    pub plate_threshold: f32,
    /// Masks are the detected boxes enlarged by these factors.
    pub face_enlarge: f32,
    pub plate_enlarge: f32,
    /// And by at least this many pixels on every side: the encoder predicts a block
    /// from its neighbours, so a thin margin lets the unmasked picture around a small
    /// face seep back into it as a faint gradient.
    pub min_margin: f32,
    /// Detection rounds a lost object stays masked.
    pub hold: usize,
    /// The figure mode (Art. 31 体貌): also mask whatever moves, whole.
    pub figures: bool,
    /// The re-check: thresholds (lower than detection's) and scales (a second, finer
    /// look beside the detection's own).
    pub recheck_face_threshold: f32,
    pub recheck_plate_threshold: f32,
    pub recheck_face_scales: Vec<f32>,
    pub recheck_plate_scales: Vec<f32>,
    /// Re-check every n-th frame (1: every frame)...
    pub recheck_every: usize,
    /// ...those whose index less this is a multiple of `recheck_every` (a live feed
    /// re-checks the middle of every detection round, where the masks are followed
    /// rather than detected).
    pub recheck_phase: usize,
    /// How many times what the re-check finds is masked and looked at again; 0 (the
    /// strict mode): anything it finds blocks release, for a person to look at.
    pub recheck_rounds: usize,
    /// Whether a find is looked up in the source first: what the source does not hold
    /// there, uncovered, is an [`Artifact`] of the masks, not a finding. Off in the
    /// strict mode.
    pub recheck_source: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            detect_every: 8,
            face_scale: 0.5,
            plate_scale: 0.75,
            face_threshold: 0.2,
            plate_threshold: 0.4,
            face_enlarge: 1.3,
            plate_enlarge: 1.4,
            min_margin: 8.0,
            hold: 3,
            figures: false,
            recheck_face_threshold: 0.15,
            recheck_plate_threshold: 0.3,
            recheck_face_scales: vec![0.75],
            recheck_plate_scales: vec![1.0],
            recheck_every: 25,
            recheck_phase: 0,
            recheck_rounds: RECHECK_ROUNDS,
            recheck_source: true,
        }
    }
}

/// A mask on one frame.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Masked {
    pub kind: Kind,
    pub track: u64,
    pub rect: Rect,
    pub detected: bool,
}

/// What the re-check found on a masked frame, outside every mask.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Finding {
    pub frame: usize,
    pub kind: Kind,
    pub rect: Rect,
    pub score: f32,
    /// Masked and checked again (true), or still there (false: blocks release).
    pub masked_after: bool,
}

/// What the re-check saw on a masked frame that the source does not hold there
/// uncovered: made by the masks, showing nothing of the source; it does not block.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Artifact {
    pub frame: usize,
    pub kind: Kind,
    pub rect: Rect,
    pub score: f32,
}

/// Time spent in each stage.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Timings {
    pub detect: Duration,
    pub track: Duration,
    pub motion: Duration,
    pub mask: Duration,
    pub recheck: Duration,
}

/// What was done to a stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub frames: usize,
    /// Per frame, its masks (what was found or followed, enlarged).
    pub masks: Vec<Vec<Masked>>,
    /// Per frame, the regions destroyed (the masks merged, and what the re-check added).
    pub regions: Vec<Vec<Rect>>,
    /// Frames the re-check looked at.
    pub rechecked: usize,
    pub findings: Vec<Finding>,
    /// What the re-check saw that the masks made (see [`Artifact`]).
    pub artifacts: Vec<Artifact>,
    pub timings: Timings,
}

impl Report {
    /// Whether the output may be released: the re-check left nothing unmasked.
    pub fn released(&self) -> bool {
        self.findings.iter().all(|f| f.masked_after)
    }
}

/// The detectors a run uses.
pub struct Detectors {
    pub faces: FaceDetector,
    pub plates: PlateDetector,
}

/// Masks a stream, frame by frame in presentation order.
pub struct Anonymizer {
    det: Arc<Detectors>,
    params: Params,
    tracker: Tracker,
    /// Frames waiting for the next detection frame, with their moving regions.
    held: VecDeque<(Frame, Vec<Rect>)>,
    /// The figure mode's background model.
    motion: Option<Motion>,
    /// Index of the first held frame.
    first: usize,
    report: Report,
}

impl Anonymizer {
    pub fn new(det: Arc<Detectors>, params: Params) -> Self {
        let hold = params.hold;
        Anonymizer {
            det,
            motion: params.figures.then(Motion::default),
            params,
            tracker: Tracker::new(hold),
            held: VecDeque::new(),
            first: 0,
            report: Report::default(),
        }
    }

    /// Takes the next frame; returns the frames whose masks are now known, masked.
    pub fn push(&mut self, frame: Frame) -> Result<Vec<Frame>, AnonymizeError> {
        let index = self.first + self.held.len();
        let t = Instant::now();
        let moving = self
            .motion
            .as_mut()
            .map_or_else(Vec::new, |m| m.regions(&frame));
        self.report.timings.motion += t.elapsed();
        self.held.push_back((frame, moving));
        if index.is_multiple_of(self.params.detect_every.max(1)) {
            self.round(index)
        } else {
            Ok(Vec::new())
        }
    }

    /// End of stream: the held frames, with the last one detected on.
    pub fn finish(&mut self) -> Result<Vec<Frame>, AnonymizeError> {
        if self.held.is_empty() {
            return Ok(Vec::new());
        }
        let last = self.first + self.held.len() - 1;
        self.round(last)
    }

    /// The report so far (complete after [`Anonymizer::finish`]).
    pub fn report(&self) -> &Report {
        &self.report
    }

    pub fn into_report(self) -> Report {
        self.report
    }

    /// The report since the last call, emptied: a stream that never ends (a live
    /// feed) keeps its memory bounded this way. Frame numbers go on counting.
    pub fn take_report(&mut self) -> Report {
        std::mem::take(&mut self.report)
    }

    /// The parameters, to change between frames (the next round uses them).
    pub fn params_mut(&mut self) -> &mut Params {
        &mut self.params
    }

    /// The frames taken so far.
    pub fn frames_in(&self) -> usize {
        self.first + self.held.len()
    }

    /// Both detectors on `frame`, each at its scales, side by side on two threads.
    fn detect(
        &self,
        frame: &Frame,
        (face_scales, faces): (&[f32], f32),
        (plate_scales, plates): (&[f32], f32),
    ) -> Result<Vec<(Kind, Detection)>, AnonymizeError> {
        let det = &*self.det;
        let (f, p) = std::thread::scope(|s| {
            let f = s.spawn(|| -> Result<Vec<Detection>, AnonymizeError> {
                let mut out = Vec::new();
                for &sc in face_scales {
                    out.extend(det.faces.detect(frame, sc, faces)?);
                }
                Ok(out)
            });
            let mut p: Result<Vec<Detection>, AnonymizeError> = Ok(Vec::new());
            for &sc in plate_scales {
                if let Ok(v) = &mut p {
                    match det.plates.detect(frame, sc, plates) {
                        Ok(d) => v.extend(d),
                        Err(e) => p = Err(e),
                    }
                }
            }
            (f.join().expect("face detection thread"), p)
        });
        let mut out: Vec<(Kind, Detection)> = f?.into_iter().map(|d| (Kind::Face, d)).collect();
        out.extend(p?.into_iter().map(|d| (Kind::Plate, d)));
        Ok(out)
    }

    fn enlarge(&self, kind: Kind, r: &Rect) -> Rect {
        match kind {
            Kind::Face => r
                .enlarged(self.params.face_enlarge)
                .union(&r.grown(self.params.min_margin)),
            Kind::Plate => r
                .enlarged(self.params.plate_enlarge)
                .union(&r.grown(self.params.min_margin)),
            Kind::Motion => *r,
        }
    }

    /// Detection on frame `at` (the last held), then masks for every held frame, then
    /// the re-check of the round.
    fn round(&mut self, at: usize) -> Result<Vec<Frame>, AnonymizeError> {
        let t = Instant::now();
        let frame = &self.held.back().expect("a held frame").0;
        let p = &self.params;
        let dets = self.detect(
            frame,
            (&[p.face_scale], p.face_threshold),
            (&[p.plate_scale], p.plate_threshold),
        )?;
        self.report.timings.detect += t.elapsed();
        let t = Instant::now();
        let round: Round = self.tracker.update(at, &dets);
        self.report.timings.track += t.elapsed();
        let mut done: Vec<Done> = Vec::with_capacity(self.held.len());
        while let Some((mut f, moving)) = self.held.pop_front() {
            let source = self.params.recheck_source.then(|| f.clone());
            let index = self.first;
            self.first += 1;
            let boxes = if round.frames().contains(&index) {
                round.boxes_at(index)
            } else {
                Vec::new()
            };
            let (w, h) = (f.width() as f32, f.height() as f32);
            let masks: Vec<Masked> = boxes
                .iter()
                .map(|b| Masked {
                    kind: b.kind,
                    track: b.track,
                    rect: self.enlarge(b.kind, &b.rect).clamped(w, h),
                    detected: b.detected,
                })
                .chain(moving.iter().map(|r| Masked {
                    kind: Kind::Motion,
                    track: 0,
                    rect: *r,
                    detected: true,
                }))
                .filter(|m| m.rect.area() > 0.0)
                .collect();
            let t = Instant::now();
            let regions = merge(masks.iter().map(|m| m.rect).collect(), 2.0);
            for r in &regions {
                mask::destroy(&mut f, r);
            }
            self.report.timings.mask += t.elapsed();
            self.report.masks.push(masks);
            done.push(Done {
                index,
                frame: f,
                regions,
                source,
            });
        }
        let t = Instant::now();
        self.recheck(&mut done)?;
        self.report.timings.recheck += t.elapsed();
        let mut out = Vec::with_capacity(done.len());
        for d in done {
            self.report.regions.push(d.regions);
            self.report.frames += 1;
            out.push(d.frame);
        }
        Ok(out)
    }

    /// What the detectors find on a masked frame (lower thresholds, another scale) that
    /// is more than a fifth outside the masks, on frame `index` of the round; artifacts
    /// (see [`Artifact`]) go to the report, the rest is returned.
    fn look(&mut self, d: &Done) -> Result<Vec<(usize, Kind, Detection)>, AnonymizeError> {
        let p = &self.params;
        let finds: Vec<(Kind, Detection)> = self
            .detect(
                &d.frame,
                (&p.recheck_face_scales, p.recheck_face_threshold),
                (&p.recheck_plate_scales, p.recheck_plate_threshold),
            )?
            .into_iter()
            .filter(|(_, f)| uncovered(&f.rect, &d.regions) > 0.2)
            .collect();
        let mut out = Vec::new();
        for (kind, f) in finds {
            let held = match &d.source {
                Some(source) => self.in_source(source, kind, &f.rect, &d.regions)?,
                None => true,
            };
            if held {
                out.push((d.index, kind, f));
            } else {
                self.report.artifacts.push(Artifact {
                    frame: d.index,
                    kind,
                    rect: f.rect,
                    score: f.score,
                });
            }
        }
        Ok(out)
    }

    /// Whether the source frame holds, around `r`, a `kind` the re-check's detector
    /// finds (its scales and threshold) that meets `r` and is more than a fifth
    /// outside the masks.
    fn in_source(
        &self,
        source: &Frame,
        kind: Kind,
        r: &Rect,
        regions: &[Rect],
    ) -> Result<bool, AnonymizeError> {
        let p = &self.params;
        let (scales, threshold) = match kind {
            Kind::Face => (&p.recheck_face_scales, p.recheck_face_threshold),
            Kind::Plate => (&p.recheck_plate_scales, p.recheck_plate_threshold),
            Kind::Motion => return Ok(true),
        };
        for &scale in scales {
            let there = match kind {
                Kind::Face => self.det.faces.detect_near(source, r, scale, threshold)?,
                _ => self.det.plates.detect_near(source, r, scale, threshold)?,
            };
            if there
                .iter()
                .any(|s| s.rect.intersection(r).area() > 0.0 && uncovered(&s.rect, regions) > 0.2)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The re-check of a round: the due frames are looked at; if anything is found,
    /// it is masked on every frame of the round (it was there before and after too),
    /// followed by the tracker from here on, and every frame of the round is looked at
    /// again, up to [`Params::recheck_rounds`] times. What the last look finds blocks
    /// release.
    fn recheck(&mut self, done: &mut [Done]) -> Result<(), AnonymizeError> {
        let every = self.params.recheck_every.max(1);
        let mut found: Vec<(usize, Kind, Detection)> = Vec::new();
        // `rechecked` counts frames, each once however often it is looked at.
        let mut looked = vec![false; done.len()];
        for (k, d) in done.iter().enumerate() {
            if d.index >= self.params.recheck_phase
                && (d.index - self.params.recheck_phase).is_multiple_of(every)
            {
                looked[k] = true;
                self.report.rechecked += 1;
                found.extend(self.look(d)?);
            }
        }
        let rounds = self.params.recheck_rounds;
        for look in 1..=rounds + 1 {
            if found.is_empty() {
                return Ok(());
            }
            let last = look > rounds;
            for (frame, kind, d) in &found {
                self.report.findings.push(Finding {
                    frame: *frame,
                    kind: *kind,
                    rect: d.rect,
                    score: d.score,
                    masked_after: !last,
                });
            }
            if last {
                return Ok(());
            }
            let t = Instant::now();
            let n = done.len() as f32;
            for (_, kind, det) in &found {
                let r = self.enlarge(*kind, &det.rect);
                let r = r.grown(0.1 * r.width().max(r.height()) * n);
                for d in done.iter_mut() {
                    let (w, h) = (d.frame.width() as f32, d.frame.height() as f32);
                    d.regions.push(r.clamped(w, h));
                }
            }
            // Merged with the masks already there and filled again, each merged region
            // with one colour: two fills meeting inside a face would draw an edge
            // across it.
            for d in done.iter_mut() {
                d.regions = merge(std::mem::take(&mut d.regions), 2.0);
                for r in d.regions.iter() {
                    mask::destroy(&mut d.frame, r);
                }
            }
            self.report.timings.mask += t.elapsed();
            // Followed from the frame each was found on.
            for (frame, kind, d) in &found {
                self.tracker.adopt(*frame, &[(*kind, *d)]);
            }
            found.clear();
            for (k, d) in done.iter().enumerate() {
                if !looked[k] {
                    looked[k] = true;
                    self.report.rechecked += 1;
                }
                found.extend(self.look(d)?);
            }
        }
        Ok(())
    }
}

/// A frame of a round, masked: its index, its masked regions, and (for the re-check's
/// look at the source) the frame as it was before.
struct Done {
    index: usize,
    frame: Frame,
    regions: Vec<Rect>,
    source: Option<Frame>,
}

/// The share of `r` outside every region (sampled on a 10×10 grid of points).
fn uncovered(r: &Rect, regions: &[Rect]) -> f32 {
    let mut out = 0;
    for i in 0..10 {
        for j in 0..10 {
            let x = r.x1 + r.width() * (i as f32 + 0.5) / 10.0;
            let y = r.y1 + r.height() * (j as f32 + 0.5) / 10.0;
            if !regions
                .iter()
                .any(|g| x >= g.x1 && x < g.x2 && y >= g.y1 && y < g.y2)
            {
                out += 1;
            }
        }
    }
    out as f32 / 100.0
}
