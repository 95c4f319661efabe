//! Live fan-out.
//!
//! Each camera's session offers every frame it receives to one broadcast channel, so
//! any number of live viewers share the one RTSP session the recorder already has.
//! Frames are shared (`Bytes`), not copied, and only while someone is watching. A
//! viewer that falls more than [`LiveHub::CAPACITY`] frames behind loses the oldest
//! ones (it is told how many) and resumes at the next key frame, so a slow client
//! costs bounded memory.

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

/// The live channels of all cameras.
#[derive(Clone, Debug)]
pub struct LiveHub {
    inner: Arc<Mutex<HashMap<CameraId, broadcast::Sender<Arc<LiveFrame>>>>>,
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
    pub fn sender(&self, camera: CameraId) -> broadcast::Sender<Arc<LiveFrame>> {
        self.inner
            .lock()
            .expect("live lock")
            .entry(camera)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .clone()
    }

    /// A new viewer of a camera.
    pub fn subscribe(&self, camera: CameraId) -> broadcast::Receiver<Arc<LiveFrame>> {
        self.sender(camera).subscribe()
    }
}
