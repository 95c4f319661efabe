//! Hand-outs in progress: every live view, playback and download being served, with
//! the grant it is served under. A grant holds for the whole hand-out and no further:
//! the watcher ([`Handouts::watch`]) ends every hand-out whose grant was revoked — by
//! any door, the API or the command line, so it reads the index, not a notification —
//! or expired, within [`CHECK_EVERY`]. The hand-out's register entry ends with the
//! reason.

use crate::db::Db;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use vidimus_core::clock::Clocks;
use vidimus_core::time::Wall90k;

/// How often the watcher looks at the grants of the hand-outs in progress.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Why a hand-out ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The grant was revoked while serving.
    Revoked,
    /// The grant expired while serving.
    Expired,
    /// The server is shutting down.
    Shutdown,
}

impl Stop {
    /// The reason, as registered.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Revoked => "grant revoked",
            Stop::Expired => "grant expired",
            Stop::Shutdown => "server stopped",
        }
    }
}

struct Active {
    grant_id: i64,
    user_id: i64,
    transcode: bool,
    expires_90k: i64,
    stop: watch::Sender<Option<Stop>>,
}

/// The most hand-outs one user may have in progress at once (a console uses a few).
pub const MAX_PER_USER: usize = 16;
/// The most view-only transcodes at once (each costs a share of a core: six run in
/// real time on two cores, bench/view-only).
pub const MAX_TRANSCODES: usize = 6;

/// The hand-outs in progress (cheap to clone; shared by every handler).
#[derive(Clone, Default)]
pub struct Handouts {
    active: Arc<Mutex<HashMap<u64, Active>>>,
    next: Arc<AtomicU64>,
}

/// One hand-out in progress; dropping it ends its watch.
pub struct Handout {
    id: u64,
    handouts: Handouts,
    stop: watch::Receiver<Option<Stop>>,
}

impl Handout {
    /// Why it must stop, once it must.
    pub fn stopped(&self) -> Option<Stop> {
        *self.stop.borrow()
    }

    /// Resolves when the hand-out must stop, with the reason.
    pub async fn wait(&mut self) -> Stop {
        loop {
            if let Some(s) = *self.stop.borrow_and_update() {
                return s;
            }
            if self.stop.changed().await.is_err() {
                // The watch is gone: only when the server itself goes.
                return Stop::Shutdown;
            }
        }
    }

    /// A second receiver of the same stop (for a blocking reader thread).
    pub fn stop_signal(&self) -> watch::Receiver<Option<Stop>> {
        self.stop.clone()
    }
}

impl Drop for Handout {
    fn drop(&mut self) {
        self.handouts
            .active
            .lock()
            .expect("hand-outs lock")
            .remove(&self.id);
    }
}

impl Handouts {
    /// Starts watching a hand-out under `grant_id`, which expires at `expires_90k`.
    pub fn begin(&self, grant_id: i64, expires_90k: i64) -> Handout {
        self.admit(0, grant_id, expires_90k, false)
            .expect("no limit for user 0")
    }

    /// Like [`Handouts::begin`] for `user_id`, unless they already have
    /// [`MAX_PER_USER`] in progress, or (a `transcode`) [`MAX_TRANSCODES`] are running:
    /// one user cannot tie up the server's threads and cores.
    pub fn admit(
        &self,
        user_id: i64,
        grant_id: i64,
        expires_90k: i64,
        transcode: bool,
    ) -> Option<Handout> {
        let mut active = self.active.lock().expect("hand-outs lock");
        if user_id != 0 {
            if active.values().filter(|a| a.user_id == user_id).count() >= MAX_PER_USER {
                return None;
            }
            if transcode && active.values().filter(|a| a.transcode).count() >= MAX_TRANSCODES {
                return None;
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        active.insert(
            id,
            Active {
                grant_id,
                user_id,
                transcode,
                expires_90k,
                stop: tx,
            },
        );
        Some(Handout {
            id,
            handouts: self.clone(),
            stop: rx,
        })
    }

    /// How many are in progress.
    pub fn len(&self) -> usize {
        self.active.lock().expect("hand-outs lock").len()
    }

    /// Whether none is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops every hand-out under `grant_id` (the revoking handler calls this so its
    /// own revocation takes effect at once; the watcher catches every other door).
    pub fn end_grant(&self, grant_id: i64, why: Stop) {
        for a in self.active.lock().expect("hand-outs lock").values() {
            if a.grant_id == grant_id {
                a.stop.send_replace(Some(why));
            }
        }
    }

    /// Stops the hand-outs whose grants have ended at `now`, given each grant's
    /// current `(id, expires_90k, revoked_90k)` from the index; grants missing from
    /// `ends` are treated as revoked.
    pub fn apply(&self, ends: &[(i64, i64, Option<i64>)], now: Wall90k) {
        let by_id: HashMap<i64, (i64, Option<i64>)> =
            ends.iter().map(|&(id, e, r)| (id, (e, r))).collect();
        for a in self.active.lock().expect("hand-outs lock").values_mut() {
            if a.stop.borrow().is_some() {
                continue;
            }
            let why = match by_id.get(&a.grant_id) {
                None | Some((_, Some(_))) => Some(Stop::Revoked),
                Some(&(expires, None)) => {
                    // The index may shorten a grant; never lengthen one in flight.
                    a.expires_90k = a.expires_90k.min(expires);
                    (a.expires_90k <= now.0).then_some(Stop::Expired)
                }
            };
            if let Some(w) = why {
                a.stop.send_replace(Some(w));
            }
        }
    }

    fn grant_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .active
            .lock()
            .expect("hand-outs lock")
            .values()
            .filter(|a| a.stop.borrow().is_none())
            .map(|a| a.grant_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Runs forever: every [`CHECK_EVERY`], reads the grants of the hand-outs in
    /// progress from the index and stops those revoked or expired.
    pub async fn watch(self, db: Db, clocks: Arc<dyn Clocks>) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let ids = self.grant_ids();
            if ids.is_empty() {
                continue;
            }
            match db.run(move |ix| Ok(ix.grant_ends(&ids)?)).await {
                Ok(ends) => self.apply(&ends, clocks.realtime()),
                Err(e) => {
                    tracing::error!(error = ?e.message, "could not check the grants of hand-outs in progress")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_expired_and_missing_grants_stop_their_hand_outs_only() {
        let h = Handouts::default();
        let a = h.begin(1, 1_000);
        let b = h.begin(2, 5_000);
        let c = h.begin(3, 5_000);
        let d = h.begin(4, 5_000);
        h.apply(
            &[(1, 1_000, None), (2, 5_000, Some(10)), (4, 900, None)],
            Wall90k(1_000),
        );
        assert_eq!(a.stopped(), Some(Stop::Expired));
        assert_eq!(b.stopped(), Some(Stop::Revoked));
        assert_eq!(
            c.stopped(),
            Some(Stop::Revoked),
            "a grant gone from the index"
        );
        assert_eq!(d.stopped(), Some(Stop::Expired), "shortened in the index");
        let e = h.begin(5, 5_000);
        // An index that lengthens a grant does not lengthen a hand-out in flight.
        h.apply(&[(5, 9_000, None)], Wall90k(4_999));
        assert_eq!(e.stopped(), None);
        h.apply(&[(5, 9_000, None)], Wall90k(5_000));
        assert_eq!(e.stopped(), Some(Stop::Expired));
        drop((a, b, c, d, e));
        assert!(h.is_empty());
    }

    #[test]
    fn one_user_cannot_take_every_thread() {
        let h = Handouts::default();
        let mine: Vec<Handout> = (0..MAX_PER_USER)
            .map(|_| h.admit(7, 1, i64::MAX, false).unwrap())
            .collect();
        assert!(h.admit(7, 1, i64::MAX, false).is_none());
        assert!(
            h.admit(8, 2, i64::MAX, false).is_some(),
            "others still get theirs"
        );
        drop(mine);
        assert!(h.admit(7, 1, i64::MAX, false).is_some());
        let views: Vec<Handout> = (0..MAX_TRANSCODES)
            .map(|u| h.admit(100 + u as i64, 3, i64::MAX, true).unwrap())
            .collect();
        assert!(h.admit(200, 3, i64::MAX, true).is_none());
        drop(views);
        assert!(h.admit(200, 3, i64::MAX, true).is_some());
    }

    #[test]
    fn ending_a_grant_wakes_its_waiters() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let h = Handouts::default();
            let mut a = h.begin(7, i64::MAX);
            let other = h.begin(8, i64::MAX);
            let h2 = h.clone();
            tokio::spawn(async move { h2.end_grant(7, Stop::Revoked) });
            assert_eq!(a.wait().await, Stop::Revoked);
            assert_eq!(other.stopped(), None);
        });
    }
}
