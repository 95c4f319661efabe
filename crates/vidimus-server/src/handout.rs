//! Hand-outs in progress: every live view, playback and download being served, with
//! the grant it is served under. A grant holds for the whole hand-out and no further:
//! the watcher ([`Handouts::watch`]) ends every hand-out whose grant was revoked — by
//! any door, the API or the command line, so it reads the index, not a notification —
//! or expired, within [`CHECK_EVERY`]; likewise every hand-out of a camera whose
//! privacy mask changed since it was decided (set, changed or removed, by any door),
//! so nothing goes on being served under a mask that is no longer the camera's. The
//! hand-out's register entry ends with the reason.
//!
//! The watcher is its own thread with its own index connection: a busy blocking pool
//! or a slow handler cannot delay it. Expiry is enforced from the clock alone, and if
//! the index cannot be read for [`FAIL_CLOSED_AFTER`], every hand-out stops (a
//! revocation it cannot see must not go on serving).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use vidimus_core::clock::Clocks;
use vidimus_core::time::Wall90k;

/// How often the watcher looks at the grants of the hand-outs in progress.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);
/// How long the grants may go unchecked before every hand-out stops.
pub const FAIL_CLOSED_AFTER: Duration = Duration::from_secs(2);

/// Why a hand-out ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The grant was revoked while serving.
    Revoked,
    /// The grant expired while serving.
    Expired,
    /// The server is shutting down.
    Shutdown,
    /// The grant could not be checked (the index was unreadable).
    Unchecked,
    /// The camera's privacy mask was set, changed or removed after the hand-out was
    /// decided (by any door: the API or the command line).
    MaskChanged,
}

impl Stop {
    /// The reason, as registered.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Revoked => "grant revoked",
            Stop::Expired => "grant expired",
            Stop::Shutdown => "server stopped",
            Stop::Unchecked => "grant could not be checked",
            Stop::MaskChanged => "privacy mask changed",
        }
    }
}

struct Active {
    grant_id: i64,
    /// The camera, and the version of its privacy mask the hand-out was decided
    /// under (`None`: it had none); `None` for hand-outs of no one camera.
    mask: Option<(i64, Option<i64>)>,
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
        self.admit(0, grant_id, expires_90k, false, None)
            .expect("no limit for user 0")
    }

    /// Like [`Handouts::begin`] for `user_id`, unless they already have
    /// [`MAX_PER_USER`] in progress, or (a `transcode`) [`MAX_TRANSCODES`] are running:
    /// one user cannot tie up the server's threads and cores. `mask`: the camera and
    /// the version of its privacy mask the hand-out was decided under; a change of it
    /// stops the hand-out ([`Stop::MaskChanged`]).
    pub fn admit(
        &self,
        user_id: i64,
        grant_id: i64,
        expires_90k: i64,
        transcode: bool,
        mask: Option<(i64, Option<i64>)>,
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
                mask,
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

    /// Stops the hand-outs whose camera's privacy mask is no longer the one they were
    /// decided under, given every mask's `(camera_id, version)` now.
    pub fn apply_masks(&self, versions: &[(i64, i64)]) {
        let now: HashMap<i64, i64> = versions.iter().copied().collect();
        for a in self.active.lock().expect("hand-outs lock").values() {
            if a.stop.borrow().is_some() {
                continue;
            }
            if let Some((camera, decided)) = a.mask
                && now.get(&camera).copied() != decided
            {
                a.stop.send_replace(Some(Stop::MaskChanged));
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

    /// Stops every hand-out still going with `why`.
    pub fn stop_all(&self, why: Stop) {
        for a in self.active.lock().expect("hand-outs lock").values() {
            if a.stop.borrow().is_none() {
                a.stop.send_replace(Some(why));
            }
        }
    }

    /// Stops the hand-outs whose grant has expired by `now`, by the expiry they were
    /// admitted with (no index needed).
    pub fn expire(&self, now: Wall90k) {
        for a in self.active.lock().expect("hand-outs lock").values() {
            if a.stop.borrow().is_none() && a.expires_90k <= now.0 {
                a.stop.send_replace(Some(Stop::Expired));
            }
        }
    }

    /// Starts the watcher thread: every [`CHECK_EVERY`] it expires hand-outs by the
    /// clock, reads the grants of the rest from the index at `index_path` (its own
    /// connection) and stops those revoked or shortened; after [`FAIL_CLOSED_AFTER`]
    /// of failed reads it stops them all. The thread ends when the guard is dropped.
    pub fn watch(&self, index_path: PathBuf, clocks: Arc<dyn Clocks>) -> Watcher {
        let done = Arc::new(AtomicBool::new(false));
        let handouts = self.clone();
        let d = done.clone();
        std::thread::Builder::new()
            .name("handout-watch".into())
            .spawn(move || {
                let mut ix: Option<vidimus_store::SqliteIndex> = None;
                let mut checked = std::time::Instant::now();
                while !d.load(Ordering::Relaxed) {
                    std::thread::sleep(CHECK_EVERY);
                    let now = clocks.realtime();
                    handouts.expire(now);
                    let ids = handouts.grant_ids();
                    if ids.is_empty() {
                        checked = std::time::Instant::now();
                        continue;
                    }
                    if ix.is_none() {
                        ix = vidimus_store::SqliteIndex::open(&index_path)
                            .map_err(|e| tracing::error!(error = %e, "hand-out watcher cannot open the index"))
                            .ok();
                    }
                    let read = ix
                        .as_ref()
                        .map(|ix| Ok::<_, vidimus_store::StoreError>((ix.grant_ends(&ids)?, ix.mask_versions()?)));
                    match read {
                        Some(Ok((ends, masks))) => {
                            handouts.apply(&ends, now);
                            handouts.apply_masks(&masks);
                            checked = std::time::Instant::now();
                        }
                        Some(Err(e)) => {
                            tracing::error!(error = %e, "could not check the grants of hand-outs in progress");
                            ix = None;
                        }
                        None => {}
                    }
                    if checked.elapsed() >= FAIL_CLOSED_AFTER {
                        tracing::error!("grants unchecked for {FAIL_CLOSED_AFTER:?}: stopping every hand-out");
                        handouts.stop_all(Stop::Unchecked);
                    }
                }
            })
            .expect("spawn the hand-out watcher");
        Watcher { done }
    }
}

/// The running watcher; dropping it ends the thread (within [`CHECK_EVERY`]).
pub struct Watcher {
    done: Arc<AtomicBool>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
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
    fn the_watcher_expires_by_the_clock_and_fails_closed_without_an_index() {
        struct Fixed(i64);
        impl Clocks for Fixed {
            fn realtime(&self) -> Wall90k {
                Wall90k(self.0)
            }
            fn monotonic(&self) -> std::time::Instant {
                std::time::Instant::now()
            }
        }
        let h = Handouts::default();
        let expired = h.begin(1, 1_000);
        let later = h.begin(2, 5_000);
        // No index at this path: expiry still works at once, the rest stop after
        // FAIL_CLOSED_AFTER.
        let w = h.watch("/nonexistent/dir/index.db".into(), Arc::new(Fixed(2_000)));
        std::thread::sleep(CHECK_EVERY * 3);
        assert_eq!(expired.stopped(), Some(Stop::Expired));
        assert_eq!(later.stopped(), None, "not before FAIL_CLOSED_AFTER");
        std::thread::sleep(FAIL_CLOSED_AFTER);
        assert_eq!(later.stopped(), Some(Stop::Unchecked));
        drop(w);
    }

    #[test]
    fn one_user_cannot_take_every_thread() {
        let h = Handouts::default();
        let mine: Vec<Handout> = (0..MAX_PER_USER)
            .map(|_| h.admit(7, 1, i64::MAX, false, None).unwrap())
            .collect();
        assert!(h.admit(7, 1, i64::MAX, false, None).is_none());
        assert!(
            h.admit(8, 2, i64::MAX, false, None).is_some(),
            "others still get theirs"
        );
        drop(mine);
        assert!(h.admit(7, 1, i64::MAX, false, None).is_some());
        let views: Vec<Handout> = (0..MAX_TRANSCODES)
            .map(|u| h.admit(100 + u as i64, 3, i64::MAX, true, None).unwrap())
            .collect();
        assert!(h.admit(200, 3, i64::MAX, true, None).is_none());
        drop(views);
        assert!(h.admit(200, 3, i64::MAX, true, None).is_some());
    }

    #[test]
    fn a_changed_mask_stops_the_hand_outs_of_its_camera_only() {
        let h = Handouts::default();
        let plain = h.admit(1, 1, i64::MAX, false, Some((7, None))).unwrap();
        let masked = h.admit(1, 1, i64::MAX, true, Some((8, Some(100)))).unwrap();
        let other = h.admit(1, 1, i64::MAX, false, Some((9, None))).unwrap();
        let no_camera = h.begin(1, i64::MAX);
        // Nothing changed: nothing stops.
        h.apply_masks(&[(8, 100)]);
        assert!(
            [&plain, &masked, &other]
                .iter()
                .all(|x| x.stopped().is_none())
        );
        // Camera 7 masked, camera 8's mask replaced.
        h.apply_masks(&[(7, 200), (8, 300)]);
        assert_eq!(plain.stopped(), Some(Stop::MaskChanged));
        assert_eq!(masked.stopped(), Some(Stop::MaskChanged));
        assert_eq!(other.stopped(), None);
        assert_eq!(no_camera.stopped(), None);
        // A removed mask stops what was decided under it.
        let under = h.admit(1, 1, i64::MAX, false, Some((9, Some(5)))).unwrap();
        h.apply_masks(&[]);
        assert_eq!(under.stopped(), Some(Stop::MaskChanged));
        assert_eq!(other.stopped(), None);
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
