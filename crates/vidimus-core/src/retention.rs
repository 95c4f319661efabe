//! Which segments may be deleted (sans-IO).
//!
//! A segment may go only when its newest video is at least the camera's retention
//! period old — and that period is never taken below the rulebook's minimum, whatever
//! was stored — and when no active legal hold covers any of its time. Everything else
//! stays, however full the disk is: the cleaner never frees space early.

use crate::camera::CameraId;
use crate::time::{Duration90k, Wall90k};

/// A recorded segment, as the cleaner sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSpan {
    pub id: i64,
    pub camera_id: CameraId,
    pub start: Wall90k,
    pub end: Wall90k,
}

/// An active legal hold: keeps the camera's video in `[from, to)` past retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    pub camera_id: CameraId,
    pub from: Wall90k,
    pub to: Wall90k,
}

/// One day in 90 kHz units.
pub const DAY: Duration90k = Duration90k::from_secs(86_400);

/// The retention a camera actually gets: its configured days, but never fewer than
/// the legal minimum.
pub fn effective_days(configured: Option<u32>, legal_min: u32) -> u32 {
    configured.unwrap_or(legal_min).max(legal_min)
}

/// Whether a segment is old enough to delete after `days` of retention at `now`.
pub fn expired(seg: &SegmentSpan, days: u32, now: Wall90k) -> bool {
    seg.end + Duration90k(DAY.0 * i64::from(days)) <= now
}

/// Whether an active hold covers any of the segment.
pub fn held(seg: &SegmentSpan, holds: &[Hold]) -> bool {
    holds
        .iter()
        .any(|h| h.camera_id == seg.camera_id && h.from < seg.end && seg.start < h.to)
}

/// The segments that may be deleted now. `days_of` gives each camera's effective
/// retention (see [`effective_days`]).
pub fn deletable(
    segments: &[SegmentSpan],
    days_of: impl Fn(CameraId) -> u32,
    holds: &[Hold],
    now: Wall90k,
) -> Vec<i64> {
    segments
        .iter()
        .filter(|s| expired(s, days_of(s.camera_id), now) && !held(s, holds))
        .map(|s| s.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn boundary_is_inclusive_and_holds_win() {
        let s = SegmentSpan {
            id: 1,
            camera_id: 7,
            start: Wall90k(0),
            end: Wall90k(60 * 90_000),
        };
        let thirty = s.end + Duration90k(30 * DAY.0);
        assert!(!expired(&s, 30, thirty - Duration90k(1)));
        assert!(
            expired(&s, 30, thirty),
            "30 days old is 'not less than 30 days'"
        );
        let h = Hold {
            camera_id: 7,
            from: Wall90k(30 * 90_000),
            to: Wall90k(31 * 90_000),
        };
        assert!(deletable(&[s], |_| 30, &[h], thirty + DAY).is_empty());
        let other_cam = Hold { camera_id: 8, ..h };
        assert_eq!(deletable(&[s], |_| 30, &[other_cam], thirty), vec![1]);
        assert_eq!(
            effective_days(Some(10), 30),
            30,
            "a stored value below the minimum is ignored"
        );
        assert_eq!(effective_days(Some(45), 30), 45);
        assert_eq!(effective_days(None, 90), 90);
    }

    proptest! {
        /// Nothing younger than the legal minimum, and nothing under hold, is ever deleted,
        /// for any configuration, holds and clock.
        #[test]
        fn never_early_never_held(
            segs in proptest::collection::vec((0i64..4, 0i64..200 * 86_400, 1i64..3_600), 1..60),
            configured in proptest::collection::vec(proptest::option::of(0u32..120), 4),
            key in proptest::collection::vec(any::<bool>(), 4),
            holds in proptest::collection::vec((0i64..4, 0i64..200 * 86_400, 1i64..20 * 86_400), 0..5),
            now_s in 0i64..300 * 86_400,
        ) {
            let segs: Vec<SegmentSpan> = segs.iter().enumerate().map(|(i, &(c, s, d))| SegmentSpan {
                id: i as i64, camera_id: c, start: Wall90k(s * 90_000), end: Wall90k((s + d) * 90_000),
            }).collect();
            let holds: Vec<Hold> = holds.iter().map(|&(c, f, d)| Hold {
                camera_id: c, from: Wall90k(f * 90_000), to: Wall90k((f + d) * 90_000),
            }).collect();
            let min = |c: CameraId| if key[c as usize] { 90 } else { 30 };
            let days_of = |c: CameraId| effective_days(configured[c as usize], min(c));
            let now = Wall90k(now_s * 90_000);
            for id in deletable(&segs, days_of, &holds, now) {
                let s = segs[id as usize];
                prop_assert!(now - s.end >= Duration90k(DAY.0 * i64::from(min(s.camera_id))));
                prop_assert!(!held(&s, &holds));
            }
        }
    }
}
