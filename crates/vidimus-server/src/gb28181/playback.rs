//! Playback and download sessions of recordings (GB/T 28181 `s=Playback`,
//! `s=Download`): the recorded samples of the granted range read on a thread of their
//! own, below the recorder's priority, and sent paced — in real time for a playback,
//! changed by MANSRTSP `Scale`, held by `PAUSE`, moved by `Range`; at the offer's
//! `a=downloadspeed` for a download — as MPEG-PS in RTP, until the range is done (the
//! caller then tells the superior with MediaStatus 121), the superior says BYE, or
//! the hand-out must stop.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use vidimus_store::export::{PreparedExport, read_samples};

use super::media::{PackRtp, Path, Sink};

/// The playback's state as the superior's MANSRTSP sets it.
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
    /// The whole range was sent: the superior is told (MediaStatus 121).
    pub completed: bool,
}

/// What a recorded session sends.
pub struct Source {
    pub prepared: PreparedExport,
    pub files: vidimus_store::SegmentFiles,
    pub ssrc: u32,
    /// Multiplies the pace: a download's `a=downloadspeed`, 1 for a playback.
    pub speed: f64,
}

/// Sends the prepared recording over `path`.
pub async fn stream(
    path: Path,
    source: Source,
    mut handout: crate::handout::Handout,
    mut bye: tokio::sync::oneshot::Receiver<&'static str>,
    mut control: watch::Receiver<Control>,
) -> Ended {
    let ended = |bytes, why: &str, completed| Ended {
        bytes,
        why: why.to_owned(),
        completed,
    };
    let Source {
        prepared,
        files,
        ssrc,
        speed,
    } = source;
    let mut sink = match Sink::open(path).await {
        Ok(s) => s,
        Err(e) => return ended(0, &format!("media not sent: {e}"), false),
    };
    let entries = prepared.samples.entries.clone();
    let (tx, mut rx) = mpsc::channel::<Item>(16);
    let stop = handout.stop_signal();
    let reader_control = control.clone();
    let reader = crate::background::below_recording("gb28181 playback", move || {
        read(&prepared, &files, &tx, &reader_control, &stop)
    });
    let mut pack = PackRtp::new(ssrc);
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
        // Wait for its time, still hearing the superior and the hand-out; a change of
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
        let packets = match pack.packets(&entries[item.entry], &item.data, item.pts, item.key) {
            Ok(p) => p,
            Err(e) => break ended(sent, &e, false),
        };
        match sink.send(&packets).await {
            Ok(n) => sent += n,
            Err(e) => {
                break ended(
                    sent,
                    &format!("the superior's media path failed: {e}"),
                    false,
                );
            }
        }
    };
    drop(rx);
    let _ = reader.await;
    result
}

/// The reading thread: samples in order from the seek point's key frame on, read
/// again from there whenever the superior seeks.
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
        let from = start + (seek * 90_000.0) as i64;
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
