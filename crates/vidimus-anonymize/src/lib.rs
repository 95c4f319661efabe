//! Vidimus anonymize: makes persons, figures and licence plates in recorded video
//! unidentifiable and unrestorable before it is published (Art. 31) or shared openly
//! (Art. 23). We detect faces and plates only to hide them (Art. 30(6)): nothing here
//! recognises, compares or keeps who anyone is.
//!
//! The pipeline, frames in and frames out (sans-IO; decoding and encoding are
//! `vidimus-codec`'s):
//!
//! ```text
//! Frame --detect (sampled frames, reduced scale)--> boxes --track--> a box on every
//!       frame (interpolated between detections, held through misses)
//!       --mask (enlarged, merged; pixels destroyed)--> Frame --re-check--> report
//! ```
//!
//! - [`geometry`]: boxes, overlap, non-maximum suppression.
//! - [`models`]: the detector weights (CenterFace, clp_det), found and checked by SHA-256.
//! - [`detect`]: [`detect::FaceDetector`] (CenterFace) and [`detect::PlateDetector`]
//!   (clp_det) on an I420 frame at a chosen scale, through `tract-onnx`.
//! - [`track`]: boxes followed across frames so that sampled detection covers every frame.
//! - [`mask`]: irreversible destruction of a region (a solid fill of its quantised mean).
//! - [`motion`]: the figure mode's background model: whatever moves, masked whole.
//! - [`pipeline`]: [`pipeline::Anonymizer`], the whole of it with its report.

pub mod detect;
mod error;
pub mod geometry;
pub mod mask;
pub mod models;
pub mod motion;
pub mod pipeline;
pub mod track;

pub use error::AnonymizeError;
pub use geometry::Rect;
