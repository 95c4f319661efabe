//! Steering a stream's wall clock by its RTP timestamps.
//!
//! A camera's RTP clock says how long each frame lasts (the *media duration*), but
//! cameras' oscillators drift from the recorder's UTC clock, and network delay jitters
//! arrival times. Vidimus keeps both: the media duration exactly as the camera stamped
//! it, and a *wall duration* that follows the media duration but is pulled toward the
//! recorder's clock by at most [`MAX_STEER_PPM`] parts per million. Frames therefore
//! never jump in wall time, and a long run never drifts away from UTC.

use crate::time::{Duration90k, Wall90k};

/// The most the wall duration may differ from the media duration, in parts per million.
pub const MAX_STEER_PPM: i64 = 500;

/// Wall-clock position of one continuous run of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallSteer {
    wall: Wall90k,
}

impl WallSteer {
    /// Starts a run whose first frame was received at `local_now`.
    pub fn start(local_now: Wall90k) -> Self {
        WallSteer { wall: local_now }
    }

    /// The wall time of the current position.
    pub fn position(&self) -> Wall90k {
        self.wall
    }

    /// Advances by `media` (from RTP timestamps); `local_now` is the recorder's clock
    /// when the end of that media was received. Returns the wall duration assigned.
    pub fn advance(&mut self, media: Duration90k, local_now: Wall90k) -> Duration90k {
        let unsteered = self.wall + media;
        let error = (local_now - unsteered).0;
        let bound = media.0.abs() * MAX_STEER_PPM / 1_000_000;
        let adjust = error.clamp(-bound, bound);
        let wall = Duration90k(media.0 + adjust);
        self.wall = self.wall + wall;
        wall
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn follows_media_when_clocks_agree() {
        let mut s = WallSteer::start(Wall90k(0));
        let d = s.advance(Duration90k(180_000), Wall90k(180_000));
        assert_eq!(d, Duration90k(180_000));
        assert_eq!(s.position(), Wall90k(180_000));
    }

    #[test]
    fn converges_on_a_fast_camera() {
        // A camera whose clock runs 200 ppm fast: 2 s of media arrives in 1.9996 s.
        let mut s = WallSteer::start(Wall90k(0));
        let mut local = 0i64;
        for _ in 0..10_000 {
            local += 180_000 - 36;
            s.advance(Duration90k(180_000), Wall90k(local));
        }
        assert!((s.position().0 - local).abs() <= 180_000 * MAX_STEER_PPM / 1_000_000);
    }

    proptest! {
        #[test]
        fn wall_stays_within_ppm_of_media(media in 1i64..10_000_000, local in -1i64<<40..1i64<<40) {
            let mut s = WallSteer::start(Wall90k(0));
            let w = s.advance(Duration90k(media), Wall90k(local));
            prop_assert!((w.0 - media).abs() <= media * MAX_STEER_PPM / 1_000_000);
        }
    }
}
