//! Per-stream counters, shared by the stream task, the writer and `/metrics`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use vidimus_core::camera::CameraId;

/// Counters of one camera's stream. All are monotonic except `connected`.
#[derive(Debug, Default)]
pub struct StreamStats {
    pub name: Mutex<String>,
    /// Frames received from the camera.
    pub frames_received: AtomicU64,
    /// Frames written to segment files.
    pub frames_written: AtomicU64,
    /// Bytes written to segment files (headers included).
    pub bytes_written: AtomicU64,
    /// Frames received but not stored (writer backlog full, write error, or before
    /// the first key frame of a session).
    pub frames_dropped: AtomicU64,
    /// Sessions started after the first.
    pub reconnects: AtomicU64,
    /// Gaps opened.
    pub gaps: AtomicU64,
    /// Fragments written.
    pub fragments_written: AtomicU64,
    pub connected: AtomicBool,
    /// The last session error (never contains credentials).
    pub last_error: Mutex<Option<String>>,
}

impl StreamStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}

/// All streams' counters, by camera.
#[derive(Clone, Debug, Default)]
pub struct StatsRegistry {
    inner: Arc<Mutex<BTreeMap<CameraId, Arc<StreamStats>>>>,
}

impl StatsRegistry {
    /// The counters of a camera, created on first use.
    pub fn stream(&self, camera: CameraId, name: &str) -> Arc<StreamStats> {
        let mut m = self.inner.lock().expect("stats lock");
        let s = m.entry(camera).or_default().clone();
        if !name.is_empty() {
            *s.name.lock().expect("name lock") = name.to_owned();
        }
        s
    }

    /// A snapshot of all streams.
    pub fn all(&self) -> Vec<(CameraId, Arc<StreamStats>)> {
        let m = self.inner.lock().expect("stats lock");
        m.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Renders the Prometheus text exposition format.
    pub fn prometheus(&self) -> String {
        use std::fmt::Write;
        let all = self.all();
        let mut out = String::new();
        let metric = |out: &mut String,
                      name: &str,
                      kind: &str,
                      help: &str,
                      f: &dyn Fn(&StreamStats) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (id, s) in &all {
                let cam = s
                    .name
                    .lock()
                    .expect("name lock")
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                let _ = writeln!(
                    out,
                    "{name}{{camera_id=\"{id}\",camera=\"{cam}\"}} {}",
                    f(s)
                );
            }
        };
        metric(
            &mut out,
            "vidimus_stream_frames_received_total",
            "counter",
            "Frames received from the camera.",
            &|s| StreamStats::get(&s.frames_received),
        );
        metric(
            &mut out,
            "vidimus_stream_frames_written_total",
            "counter",
            "Frames written to segment files.",
            &|s| StreamStats::get(&s.frames_written),
        );
        metric(
            &mut out,
            "vidimus_stream_frames_dropped_total",
            "counter",
            "Frames received but not stored.",
            &|s| StreamStats::get(&s.frames_dropped),
        );
        metric(
            &mut out,
            "vidimus_stream_bytes_written_total",
            "counter",
            "Bytes written to segment files.",
            &|s| StreamStats::get(&s.bytes_written),
        );
        metric(
            &mut out,
            "vidimus_stream_fragments_written_total",
            "counter",
            "Fragments written.",
            &|s| StreamStats::get(&s.fragments_written),
        );
        metric(
            &mut out,
            "vidimus_stream_reconnects_total",
            "counter",
            "RTSP sessions started after the first.",
            &|s| StreamStats::get(&s.reconnects),
        );
        metric(
            &mut out,
            "vidimus_stream_gaps_total",
            "counter",
            "Recording gaps opened.",
            &|s| StreamStats::get(&s.gaps),
        );
        metric(
            &mut out,
            "vidimus_stream_connected",
            "gauge",
            "1 while the camera's session delivers frames.",
            &|s| u64::from(s.connected.load(Relaxed)),
        );
        out
    }
}
