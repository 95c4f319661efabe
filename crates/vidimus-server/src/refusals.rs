//! Refused attempts, counted per user: a flood of refused video requests (a script, a
//! console retrying in a loop) must neither fill the register nor the disk, nor go
//! unregistered.
//!
//! Each user may be refused [`BURST`] times in a burst, and one more every
//! [`REFILL`]; each such refusal is its own register entry, as always. Past that, the
//! gate is not asked at all: the request is answered `429 too_many_refusals` and
//! *counted*, and every [`SUMMARY_EVERY`] the counts become one register entry per
//! user ("12 further attempts, refused unanswered, between … and …"), so the register
//! still holds every attempt — in aggregate — at a bounded rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use vidimus_core::time::Wall90k;

/// Refusals registered one by one before a user is counted instead.
pub const BURST: f64 = 30.0;
/// One more refusal registered one by one per this much time.
pub const REFILL: Duration = Duration::from_secs(2);
/// How often counted attempts are written to the register.
pub const SUMMARY_EVERY: Duration = Duration::from_secs(5);

struct Bucket {
    tokens: f64,
    at: Instant,
    username: String,
    counted: u64,
    first: Option<Wall90k>,
    last: Wall90k,
}

/// Attempts counted, not yet registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    pub user_id: i64,
    pub username: String,
    pub attempts: u64,
    pub first: Wall90k,
    pub last: Wall90k,
}

/// The per-user refusal buckets.
#[derive(Default)]
pub struct Refusals {
    users: Mutex<HashMap<i64, Bucket>>,
}

impl Refusals {
    fn refill(b: &mut Bucket, now: Instant) {
        let gained = now.duration_since(b.at).as_secs_f64() / REFILL.as_secs_f64();
        b.tokens = (b.tokens + gained).min(BURST);
        b.at = now;
    }

    /// Whether the gate may be asked for `user_id` now; if not, the attempt is counted
    /// and the time until one will be is returned.
    pub fn admit(
        &self,
        user_id: i64,
        username: &str,
        now: Instant,
        wall: Wall90k,
    ) -> Result<(), Duration> {
        let mut users = self.users.lock().expect("refusals lock");
        let Some(b) = users.get_mut(&user_id) else {
            return Ok(());
        };
        Self::refill(b, now);
        if b.tokens >= 1.0 {
            return Ok(());
        }
        b.counted += 1;
        b.first.get_or_insert(wall);
        b.last = wall;
        b.username = username.to_owned();
        Err(REFILL.mul_f64(1.0 - b.tokens))
    }

    /// Notes that the gate refused `user_id` (a refusal it registered).
    pub fn refused(&self, user_id: i64, username: &str, now: Instant) {
        let mut users = self.users.lock().expect("refusals lock");
        let b = users.entry(user_id).or_insert_with(|| Bucket {
            tokens: BURST,
            at: now,
            username: username.to_owned(),
            counted: 0,
            first: None,
            last: Wall90k(0),
        });
        Self::refill(b, now);
        b.tokens = (b.tokens - 1.0).max(0.0);
    }

    /// Takes the counted attempts (for the register), and forgets users whose bucket
    /// is full again.
    pub fn take_counted(&self, now: Instant) -> Vec<Counted> {
        let mut users = self.users.lock().expect("refusals lock");
        let mut out = Vec::new();
        for (id, b) in users.iter_mut() {
            if let Some(first) = b.first.take() {
                out.push(Counted {
                    user_id: *id,
                    username: b.username.clone(),
                    attempts: std::mem::take(&mut b.counted),
                    first,
                    last: b.last,
                });
            }
        }
        users.retain(|_, b| {
            Self::refill(b, now);
            b.tokens < BURST
        });
        out.sort_by_key(|c| c.user_id);
        out
    }

    /// The register entry for counted attempts.
    pub fn entry(c: &Counted, now: Wall90k) -> serde_json::Value {
        serde_json::json!({
            "v": 1,
            "kind": "access",
            "at": now.to_string(),
            "user_id": c.user_id,
            "user": c.username,
            "allowed": false,
            "attempts": c.attempts,
            "from": c.first.to_string(),
            "to": c.last.to_string(),
            "reason": format!(
                "{} further attempts between {} and {}, refused unanswered: more than {} refusals in a burst",
                c.attempts, c.first, c.last, BURST as u64
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_registered_then_counted_then_summed_up() {
        let r = Refusals::default();
        let t0 = Instant::now();
        let w = Wall90k(1_800_000_000 * 90_000);
        for _ in 0..BURST as usize {
            assert!(r.admit(1, "ada", t0, w).is_ok());
            r.refused(1, "ada", t0);
        }
        // Past the burst: counted, with how long to wait.
        let wait = r.admit(1, "ada", t0, w).unwrap_err();
        assert!(wait <= REFILL && wait > Duration::ZERO, "{wait:?}");
        assert!(r.admit(1, "ada", t0, Wall90k(w.0 + 90_000)).is_err());
        // Others are not affected.
        assert!(r.admit(2, "bo", t0, w).is_ok());
        let c = r.take_counted(t0);
        assert_eq!(
            c,
            [Counted {
                user_id: 1,
                username: "ada".into(),
                attempts: 2,
                first: w,
                last: Wall90k(w.0 + 90_000)
            }]
        );
        assert!(r.take_counted(t0).is_empty(), "taken once");
        // One refill later, one more is asked again.
        assert!(r.admit(1, "ada", t0 + REFILL, w).is_ok());
        // A full bucket is forgotten.
        r.take_counted(t0 + REFILL * 40);
        assert!(r.users.lock().unwrap().is_empty());
        let e = Refusals::entry(&c[0], w);
        assert_eq!(e["attempts"], 2);
        assert!(e["reason"].as_str().unwrap().contains("2 further attempts"));
    }
}
