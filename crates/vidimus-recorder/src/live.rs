//! Live fan-out.
//!
//! Each camera's session offers every frame it receives to one broadcast channel, so
//! any number of live viewers share the one RTSP session the recorder already has.
//! Frames are shared (`Bytes`), not copied, and only while someone is watching. A
//! viewer that falls more than [`LiveHub::CAPACITY`] frames behind loses the oldest
//! ones (it is told how many) and resumes at the next key frame, so a slow client
//! costs bounded memory.
//!
//! Each camera's channel also keeps its current group of pictures — the frames since
//! the last key frame, at most [`MAX_GOP_BYTES`] — so a new viewer starts at once from
//! the key frame already received instead of waiting up to a GOP for the next one.
//! Cameras recorded from their main stream publish every frame for this (sharing the
//! frame's bytes with the writer: the cost is the retained GOP, about bitrate × GOP
//! length, e.g. 0.5 MB for 2 Mbit/s and 2 s); live-only sub-streams run only while
//! watched.

use crate::segmenter::StreamParams;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use vidimus_core::camera::CameraId;
use vidimus_core::time::Wall90k;

/// One received frame, as live viewers get it.
#[derive(Debug)]
pub struct LiveFrame {
    /// RTP timestamp (90 kHz) since the session started.
    pub ts: i64,
    pub is_key: bool,
    /// 4-byte length-prefixed NAL units.
    pub data: bytes::Bytes,
    /// When the recorder received it.
    pub received: Wall90k,
    pub params: Arc<StreamParams>,
}

/// The most bytes of a group of pictures kept for new viewers; a longer GOP is not
/// kept (its viewers wait for the next key frame).
pub const MAX_GOP_BYTES: usize = 8 << 20;

#[derive(Debug, Default)]
struct Gop {
    frames: Vec<Arc<LiveFrame>>,
    bytes: usize,
}

/// A camera's sending side: the broadcast channel and its current GOP.
#[derive(Clone, Debug)]
pub struct LiveSender {
    tx: broadcast::Sender<Arc<LiveFrame>>,
    gop: Arc<Mutex<Gop>>,
}

impl LiveSender {
    /// Offers a frame to the viewers, and keeps it in the current GOP.
    pub fn send(&self, f: Arc<LiveFrame>) {
        let mut g = self.gop.lock().expect("gop lock");
        if f.is_key {
            g.frames.clear();
            g.bytes = 0;
        }
        if !g.frames.is_empty() || f.is_key {
            if g.bytes + f.data.len() <= MAX_GOP_BYTES {
                g.bytes += f.data.len();
                g.frames.push(f.clone());
            } else {
                g.frames.clear();
                g.bytes = 0;
            }
        }
        // Sent under the lock: a subscriber sees each frame exactly once, in the GOP
        // it copied or on its channel.
        let _ = self.tx.send(f);
    }

    /// How many viewers are subscribed.
    pub fn receiver_count(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Forgets the current GOP (the stream ended: its frames are no longer current).
    pub fn clear(&self) {
        let mut g = self.gop.lock().expect("gop lock");
        g.frames.clear();
        g.bytes = 0;
    }
}

/// A new viewer: the current GOP (from its key frame; may be empty), then every
/// frame after it.
pub struct LiveSubscription {
    pub gop: Vec<Arc<LiveFrame>>,
    pub rx: broadcast::Receiver<Arc<LiveFrame>>,
}

/// The live channels of all cameras.
#[derive(Clone, Debug)]
pub struct LiveHub {
    inner: Arc<Mutex<HashMap<CameraId, LiveSender>>>,
    capacity: usize,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new(Self::CAPACITY)
    }
}

impl LiveHub {
    /// Default frames a viewer may fall behind before it skips ahead (~10 s at 25 fps).
    pub const CAPACITY: usize = 256;

    /// A hub whose viewers may fall `capacity` frames behind.
    pub fn new(capacity: usize) -> Self {
        LiveHub {
            inner: Default::default(),
            capacity: capacity.max(1),
        }
    }

    /// The sending side for a camera (created on first use).
    pub fn sender(&self, camera: CameraId) -> LiveSender {
        self.inner
            .lock()
            .expect("live lock")
            .entry(camera)
            .or_insert_with(|| LiveSender {
                tx: broadcast::channel(self.capacity).0,
                gop: Default::default(),
            })
            .clone()
    }

    /// A new viewer of a camera: the GOP so far and the frames to come.
    pub fn subscribe(&self, camera: CameraId) -> LiveSubscription {
        let s = self.sender(camera);
        let g = s.gop.lock().expect("gop lock");
        LiveSubscription {
            gop: g.frames.clone(),
            rx: s.tx.subscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts: i64, is_key: bool, len: usize) -> Arc<LiveFrame> {
        Arc::new(LiveFrame {
            ts,
            is_key,
            data: bytes::Bytes::from(vec![0u8; len]),
            received: Wall90k(ts),
            params: Arc::new(StreamParams {
                codec: vidimus_media::VideoCodec::H264,
                rfc6381: "avc1.64001f".into(),
                sample_entry: Vec::new(),
                width: 16,
                height: 16,
            }),
        })
    }

    #[test]
    fn a_new_viewer_gets_the_current_gop_then_every_frame_once() {
        let hub = LiveHub::new(16);
        let tx = hub.sender(1);
        tx.send(frame(0, false, 10)); // before any key frame: not kept
        assert!(hub.subscribe(1).gop.is_empty());
        tx.send(frame(1, true, 10));
        tx.send(frame(2, false, 10));
        let mut sub = hub.subscribe(1);
        assert_eq!(sub.gop.iter().map(|f| f.ts).collect::<Vec<_>>(), [1, 2]);
        tx.send(frame(3, false, 10));
        assert_eq!(sub.rx.try_recv().unwrap().ts, 3, "after the GOP, no repeat");
        // A new key frame starts a new GOP.
        tx.send(frame(4, true, 10));
        assert_eq!(
            hub.subscribe(1)
                .gop
                .iter()
                .map(|f| f.ts)
                .collect::<Vec<_>>(),
            [4]
        );
        // A GOP past the limit is not kept.
        tx.send(frame(5, false, MAX_GOP_BYTES));
        assert!(hub.subscribe(1).gop.is_empty());
        tx.send(frame(6, true, 10));
        tx.clear();
        assert!(hub.subscribe(1).gop.is_empty());
    }
}
