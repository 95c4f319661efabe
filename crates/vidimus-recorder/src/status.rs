//! The site's health as the recorder sees it: active alarms, the disk-full pause, and
//! the latest capacity forecast. Shared by the writer (which pauses on a full disk),
//! the streams (which stop cutting segments while paused), the capacity task, and the
//! HTTP server (API, metrics, console banner).
//!
//! Raising or clearing an alarm returns whether it changed, so the caller records
//! each transition — not each check — in the system log.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use vidimus_core::capacity::Forecast;
use vidimus_core::lang::Text;
use vidimus_core::time::Wall90k;

/// How bad an alarm is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Video is being lost now, or the law cannot be met.
    Critical,
    Warning,
}

/// An active alarm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// Stable id: `disk_full`, `capacity`.
    pub id: String,
    pub severity: Severity,
    pub message: String,
    /// The same in Chinese.
    pub message_zh: String,
    /// When it was raised (RFC 3339).
    pub since: String,
}

#[derive(Default)]
struct Inner {
    alarms: Mutex<BTreeMap<String, Alarm>>,
    disk_full: AtomicBool,
    free_bytes: AtomicU64,
    total_bytes: AtomicU64,
    capacity: Mutex<Option<Forecast>>,
}

/// Shared, cheap to clone.
#[derive(Clone, Default)]
pub struct SiteStatus(Arc<Inner>);

impl SiteStatus {
    /// Raises (or updates the message of) an alarm; true if it was not active.
    pub fn raise(&self, id: &str, severity: Severity, message: Text, now: Wall90k) -> bool {
        let mut a = self.0.alarms.lock().expect("alarms lock");
        let Text {
            en: message,
            zh: message_zh,
        } = message;
        match a.get_mut(id) {
            Some(x) => {
                x.message = message;
                x.message_zh = message_zh;
                x.severity = severity;
                false
            }
            None => {
                a.insert(
                    id.to_owned(),
                    Alarm {
                        id: id.to_owned(),
                        severity,
                        message,
                        message_zh,
                        since: now.to_string(),
                    },
                );
                true
            }
        }
    }

    /// Clears an alarm; true if it was active.
    pub fn clear(&self, id: &str) -> bool {
        self.0
            .alarms
            .lock()
            .expect("alarms lock")
            .remove(id)
            .is_some()
    }

    pub fn alarms(&self) -> Vec<Alarm> {
        self.0
            .alarms
            .lock()
            .expect("alarms lock")
            .values()
            .cloned()
            .collect()
    }

    /// Whether recording is paused because the disk is full.
    pub fn disk_full(&self) -> bool {
        self.0.disk_full.load(Ordering::Acquire)
    }

    pub fn set_disk_full(&self, full: bool) {
        self.0.disk_full.store(full, Ordering::Release);
    }

    /// The segment filesystem's last measured (free, total) bytes.
    pub fn disk_space(&self) -> (u64, u64) {
        (
            self.0.free_bytes.load(Ordering::Relaxed),
            self.0.total_bytes.load(Ordering::Relaxed),
        )
    }

    pub fn set_disk_space(&self, free: u64, total: u64) {
        self.0.free_bytes.store(free, Ordering::Relaxed);
        self.0.total_bytes.store(total, Ordering::Relaxed);
    }

    pub fn capacity(&self) -> Option<Forecast> {
        self.0.capacity.lock().expect("capacity lock").clone()
    }

    pub fn set_capacity(&self, f: Forecast) {
        *self.0.capacity.lock().expect("capacity lock") = Some(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_reported_once() {
        let s = SiteStatus::default();
        assert!(s.raise(
            "disk_full",
            Severity::Critical,
            Text::new("a", "甲"),
            Wall90k(0)
        ));
        assert!(!s.raise(
            "disk_full",
            Severity::Critical,
            Text::new("b", "乙"),
            Wall90k(9)
        ));
        assert_eq!(s.alarms()[0].message, "b");
        assert_eq!(s.alarms()[0].since, Wall90k(0).to_string());
        assert!(s.clear("disk_full"));
        assert!(!s.clear("disk_full"));
        assert!(s.alarms().is_empty());
    }
}
