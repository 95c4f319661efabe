//! A camera's live frames, or a recorded range, sent out through some protocol's media
//! path — the loops GB/T 28181 sessions (`gb28181`) and the RTSP re-stream (`rtsp`)
//! share, so that both stop the same way: the hand-out is checked before every access
//! unit (a revoked or expired grant sends nothing more), every write is raced against
//! the stop signals and timed ([`SEND_WITHIN`]), and the bytes sent are counted for the
//! register.
//!
//! Recorded ranges are read on a thread of their own, below the recorder's priority,
//! and sent paced — in real time, changed by a `Scale`, held by a pause, moved by a
//! seek — or at a download's speed.

use std::future::Future;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use vidimus_recorder::live::LiveSubscription;
use vidimus_store::export::{PreparedExport, read_samples};

/// How long one access unit may take to be written: a receiver that stops reading
/// ends its session.
pub const SEND_WITHIN: Duration = Duration::from_secs(10);

/// A protocol's media path.
pub trait Out: Send {
    /// Sends one access unit — length-prefixed NAL units, as recorded, of a stream
    /// whose MP4 sample entry is `entry` — at `pts` (90 kHz); the bytes sent, or why
    /// the path failed.
    fn send(
        &mut self,
        entry: &[u8],
        data: &[u8],
        pts: i64,
        key: bool,
    ) -> impl Future<Output = Result<u64, String>> + Send;
}

/// Sends one access unit, raced against the stop signals and timed. `Err`: how the
/// session ended.
async fn send_one<O: Out>(
    out: &mut O,
    handout: &mut crate::handout::Handout,
    bye: &mut oneshot::Receiver<&'static str>,
    (entry, data, pts, key): (&[u8], &[u8], i64, bool),
) -> Result<u64, String> {
    tokio::select! {
        biased;
        why = handout.wait() => Err(why.as_str().to_owned()),
        why = &mut *bye => Err(why.unwrap_or("ended").to_owned()),
        r = tokio::time::timeout(SEND_WITHIN, out.send(entry, data, pts, key)) => match r {
            Ok(r) => r,
            Err(_) => Err("the receiver stopped reading the media".into()),
        },
    }
}

/// Sends the camera's frames, from the kept GOP's key frame on, until the hand-out
/// stops, `bye` says why, or the camera's stream ends; the bytes sent and how it
/// ended.
pub async fn live<O: Out>(
    out: &mut O,
    sub: LiveSubscription,
    mut handout: crate::handout::Handout,
    mut bye: oneshot::Receiver<&'static str>,
) -> (u64, String) {
    let LiveSubscription { gop, mut rx } = sub;
    let mut gop = gop.into_iter();
    let mut sent = 0u64;
    let mut waiting_for_key = true;
    loop {
        // Checked before every frame (the kept GOP too): nothing goes after a stop.
        if let Some(why) = handout.stopped() {
            return (sent, why.as_str().to_owned());
        }
        let frame = if let Some(f) = gop.next() {
            f
        } else {
            tokio::select! {
                biased;
                why = handout.wait() => return (sent, why.as_str().to_owned()),
                why = &mut bye => return (sent, why.unwrap_or("ended").to_owned()),
                r = rx.recv() => match r {
                    Ok(f) => f,
                    Err(RecvError::Lagged(_)) => {
                        waiting_for_key = true;
                        continue;
                    }
                    Err(RecvError::Closed) => return (sent, "the camera's stream ended".into()),
                },
            }
        };
        if waiting_for_key && !frame.is_key {
            continue;
        }
        waiting_for_key = false;
        let au = (
            &frame.params.sample_entry[..],
            &frame.data[..],
            frame.ts,
            frame.is_key,
        );
        match send_one(out, &mut handout, &mut bye, au).await {
            Ok(n) => sent += n,
            Err(why) => return (sent, why),
        }
    }
}

/// A recorded session's state as its client sets it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Control {
    pub paused: bool,
    pub scale: f64,
    /// Seconds from the range's start to go to; each seek is a new `generation`.
    pub seek: f64,
    pub generation: u64,
}

impl Default for Control {
    fn default() -> Self {
        Control {
            paused: false,
            scale: 1.0,
            seek: 0.0,
            generation: 0,
        }
    }
}

/// One access unit read, in the seek generation it was read for.
struct Item {
    generation: u64,
    /// 90 kHz from the range's start (the joined timeline: gaps do not stall).
    pts: i64,
    key: bool,
    entry: usize,
    data: Vec<u8>,
}

/// How a recorded session ended.
pub struct Ended {
    pub bytes: u64,
    pub why: String,
    /// The whole range was sent.
    pub completed: bool,
}

/// What a recorded session sends.
pub struct Recording {
    pub prepared: PreparedExport,
    pub files: vidimus_store::SegmentFiles,
    /// Multiplies the pace: a download's speed, 1 for a playback.
    pub speed: f64,
}

/// Sends the prepared recording through `out`, paced as `control` says.
pub async fn recorded<O: Out>(
    out: &mut O,
    source: Recording,
    mut handout: crate::handout::Handout,
    mut bye: oneshot::Receiver<&'static str>,
    mut control: watch::Receiver<Control>,
) -> Ended {
    let ended = |bytes, why: &str, completed| Ended {
        bytes,
        why: why.to_owned(),
        completed,
    };
    let Recording {
        prepared,
        files,
        speed,
    } = source;
    let entries = prepared.samples.entries.clone();
    let (tx, mut rx) = mpsc::channel::<Item>(16);
    let stop = handout.stop_signal();
    let reader_control = control.clone();
    let reader = crate::background::below_recording("recorded session", move || {
        read(&prepared, &files, &tx, &reader_control, &stop)
    });
    let mut sent = 0u64;
    let mut state = *control.borrow();
    // (when, pts): the frame at `pts` was due at `when`; later ones follow at the pace.
    let mut base: Option<(Instant, i64)> = None;
    // The next access unit to send, held while paused.
    let mut pending: Option<Item> = None;
    let result = loop {
        if pending.is_none() || state.paused {
            tokio::select! {
                biased;
                why = handout.wait() => break ended(sent, why.as_str(), false),
                why = &mut bye => break ended(sent, why.unwrap_or("ended"), false),
                c = control.changed() => {
                    if c.is_err() {
                        break ended(sent, "the session ended", false);
                    }
                    state = *control.borrow();
                    base = None;
                    continue;
                }
                i = rx.recv(), if !state.paused && pending.is_none() => match i {
                    Some(i) => pending = Some(i),
                    None => break ended(sent, "completed", true),
                },
            }
        }
        let Some(item) = pending.take() else {
            continue;
        };
        if item.generation != state.generation {
            continue; // read before a seek
        }
        let rate = (state.scale * speed).max(0.01);
        let (when, pts0) = *base.get_or_insert((Instant::now(), item.pts));
        let due = when + Duration::from_secs_f64((item.pts - pts0).max(0) as f64 / 90_000.0 / rate);
        // Wait for its time, still hearing the client and the hand-out; a change of
        // state (pause, speed, seek) decides again about this access unit.
        tokio::select! {
            biased;
            why = handout.wait() => break ended(sent, why.as_str(), false),
            why = &mut bye => break ended(sent, why.unwrap_or("ended"), false),
            c = control.changed() => {
                if c.is_err() {
                    break ended(sent, "the session ended", false);
                }
                state = *control.borrow();
                base = None;
                pending = Some(item);
                continue;
            }
            _ = tokio::time::sleep_until(due) => {}
        }
        let au = (&entries[item.entry][..], &item.data[..], item.pts, item.key);
        match send_one(out, &mut handout, &mut bye, au).await {
            Ok(n) => sent += n,
            Err(why) => break ended(sent, &why, false),
        }
    };
    drop(rx);
    // A reading that failed (a segment unreadable, the thread lost) did not complete
    // the range, whatever was sent before.
    let read = reader.await;
    let failed = match read {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("the recording could not be read: {e}")),
        Err(e) => Some(format!("the recording's reader failed: {e}")),
    };
    match failed {
        Some(why) if result.completed => Ended {
            bytes: result.bytes,
            why,
            completed: false,
        },
        _ => result,
    }
}

/// The reading thread: samples in order from the seek point's key frame on, read
/// again from there whenever the client seeks.
fn read(
    prepared: &PreparedExport,
    files: &vidimus_store::SegmentFiles,
    tx: &mpsc::Sender<Item>,
    control: &watch::Receiver<Control>,
    stop: &watch::Receiver<Option<crate::handout::Stop>>,
) -> Result<(), String> {
    let start = prepared.samples.start_90k;
    loop {
        let Control {
            seek, generation, ..
        } = *control.borrow();
        // (Bounded: a client's seek is at most a few days.)
        let from = start.saturating_add((seek.clamp(0.0, 1e6) * 90_000.0) as i64);
        let mut started = false;
        let mut reseek = false;
        read_samples(prepared, files, |s| {
            if stop.borrow().is_some() || tx.is_closed() {
                return Ok(false);
            }
            if control.borrow().generation != generation {
                reseek = true;
                return Ok(false);
            }
            // From the first key frame at or after the seek point.
            if !started {
                if s.media_90k < from || !s.is_key {
                    return Ok(true);
                }
                started = true;
            }
            let item = Item {
                generation,
                pts: s.media_90k - start,
                key: s.is_key,
                entry: s.sample_entry,
                data: s.data,
            };
            Ok(tx.blocking_send(item).is_ok())
        })
        .map_err(|e| e.to_string())?;
        if !reseek {
            return Ok(());
        }
    }
}
