//! Vidimus core: the vocabulary every other crate shares, with no IO.
//!
//! - [`time`]: wall-clock instants and durations in 90 kHz units, UTC formatting.
//! - [`clock`]: the injectable clock, real or simulated, so time-driven code is testable.
//! - [`steer`]: steering a stream's wall clock by its RTP timestamps within a ppm bound.
//! - [`rulebook`]: the regulation as data: Art. 47 and the retention minimums (the
//!   rules and penalties are read by `vidimus-compliance`), pure.
//! - [`retention`]: which segments may be deleted, never early, never under hold.
//! - [`capacity`]: how many days the store holds at measured bitrates, against the law.
//! - [`camera`]: camera identity and source URLs whose credentials never leak.
//! - [`district`]: Shenzhen's districts, the one list regions and districts come from.
//! - [`privacy`]: static privacy masks (polygons per camera) and the pixels they cover.
//! - [`lang`]: the languages (English, 简体中文) and citing articles in each (第二十条).

pub mod camera;
pub mod capacity;
pub mod clock;
pub mod district;
pub mod lang;
pub mod privacy;
pub mod retention;
pub mod rulebook;
pub mod steer;
pub mod time;
