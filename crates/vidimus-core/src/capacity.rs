//! Storage capacity forecast (pure): from measured per-camera bitrates and the disk's
//! size, how many days the store can hold, and whether that covers every camera's
//! legal minimum retention (Art. 32) plus a safety margin — so the alarm sounds weeks
//! before the disk fills, not when it does.
//!
//! The store's steady state is every camera's bitrate times its retention: the cleaner
//! deletes nothing younger (never early), so if that does not fit, the disk fills and
//! recording pauses. Capacity counts what is recorded now plus what is free, minus the
//! reserve kept for the index and the pause itself.

/// One camera's measured rate and its retention.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StreamRate {
    pub camera_id: i64,
    /// Measured over the recent past (e.g. the last day's segments).
    pub bytes_per_day: f64,
    /// Retention the camera gets (configured, never below the legal minimum).
    pub retention_days: u32,
    /// The rulebook's minimum for this camera.
    pub legal_min_days: u32,
}

/// The disk as measured.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct DiskUsage {
    pub total_bytes: u64,
    pub free_bytes: u64,
    /// Bytes of recorded segments on it.
    pub recorded_bytes: u64,
    /// Kept free: recording pauses below it.
    pub reserve_bytes: u64,
}

/// How the forecast compares with what the store must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityStatus {
    /// Holds every camera's configured retention.
    Ok,
    /// Holds the legal minimum plus the margin, but not every configured retention:
    /// the disk will fill and recording pause before the longer periods are reached.
    BelowConfiguredRetention,
    /// Cannot hold the legal minimum plus the margin.
    BelowLegalMinimum,
}

/// The forecast.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Forecast {
    pub bytes_per_day: f64,
    /// Recorded + free − reserve.
    pub capacity_bytes: u64,
    /// Days of all cameras the capacity holds at the measured rates (None: nothing is
    /// being recorded).
    pub days_storable: Option<f64>,
    /// Bytes needed for every camera's legal minimum plus the margin, and for every
    /// camera's configured retention.
    pub legal_bytes: f64,
    pub configured_bytes: f64,
    pub longest_legal_days: u32,
    pub margin_days: u32,
    pub status: CapacityStatus,
    /// A sentence for the operator.
    pub message: String,
    /// The same in Chinese.
    pub message_zh: String,
}

/// Forecasts capacity. `margin_days` is added to each camera's legal minimum.
pub fn forecast(streams: &[StreamRate], disk: &DiskUsage, margin_days: u32) -> Forecast {
    let bytes_per_day: f64 = streams.iter().map(|s| s.bytes_per_day).sum();
    let capacity_bytes = (disk.recorded_bytes + disk.free_bytes).saturating_sub(disk.reserve_bytes);
    let days_storable = (bytes_per_day > 0.0).then(|| capacity_bytes as f64 / bytes_per_day);
    let legal_bytes: f64 = streams
        .iter()
        .map(|s| s.bytes_per_day * f64::from(s.legal_min_days + margin_days))
        .sum();
    let configured_bytes: f64 = streams
        .iter()
        .map(|s| s.bytes_per_day * f64::from(s.retention_days.max(s.legal_min_days)))
        .sum();
    let longest_legal_days = streams.iter().map(|s| s.legal_min_days).max().unwrap_or(0);
    let cap = capacity_bytes as f64;
    let status = if cap < legal_bytes {
        CapacityStatus::BelowLegalMinimum
    } else if cap < configured_bytes {
        CapacityStatus::BelowConfiguredRetention
    } else {
        CapacityStatus::Ok
    };
    let gib = |b: f64| b / (1u64 << 30) as f64;
    let days = days_storable.map_or("unlimited".to_owned(), |d| format!("{d:.1}"));
    let days_zh = days_storable.map_or("无限".to_owned(), |d| format!("{d:.1}"));
    let message_zh = match status {
        CapacityStatus::Ok => format!(
            "按实测的每日 {:.2} GiB 计算，存储可保存 {days_zh} 日；每台摄像机的保存期限均可满足",
            gib(bytes_per_day)
        ),
        CapacityStatus::BelowLegalMinimum => format!(
            "按实测的每日 {:.2} GiB 计算，存储只能保存 {days_zh} 日：保存每台摄像机的法定最短期限（第三十二条：最长 {longest_legal_days} 日）另加 {margin_days} 日余量需要 {:.1} GiB，现有 {:.1} GiB——请在磁盘写满前增加存储或降低码率",
            gib(bytes_per_day),
            gib(legal_bytes),
            gib(cap)
        ),
        CapacityStatus::BelowConfiguredRetention => format!(
            "按实测的每日 {:.2} GiB 计算，存储可保存 {days_zh} 日：足以满足法定最短期限，但不足以满足所有设定的保存期限（需要 {:.1} GiB，现有 {:.1} GiB）；磁盘写满时录像将暂停——不会提前删除任何录像",
            gib(bytes_per_day),
            gib(configured_bytes),
            gib(cap)
        ),
    };
    let message = match status {
        CapacityStatus::Ok => format!(
            "the store holds {days} days at the measured {:.2} GiB/day; every camera's retention fits",
            gib(bytes_per_day)
        ),
        CapacityStatus::BelowLegalMinimum => format!(
            "the store holds only {days} days at the measured {:.2} GiB/day: {:.1} GiB is needed to keep every camera's legal minimum (Art. 32: up to {longest_legal_days} days) plus a {margin_days}-day margin, {:.1} GiB is available — add storage or lower bitrates before the disk fills",
            gib(bytes_per_day),
            gib(legal_bytes),
            gib(cap)
        ),
        CapacityStatus::BelowConfiguredRetention => format!(
            "the store holds {days} days at the measured {:.2} GiB/day: enough for the legal minimum, but not for every configured retention ({:.1} GiB needed, {:.1} GiB available); recording will pause when the disk fills — nothing is deleted early",
            gib(bytes_per_day),
            gib(configured_bytes),
            gib(cap)
        ),
    };
    Forecast {
        bytes_per_day,
        capacity_bytes,
        days_storable,
        legal_bytes,
        configured_bytes,
        longest_legal_days,
        margin_days,
        status,
        message,
        message_zh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    fn cam(gib_per_day: f64, retention: u32, legal: u32) -> StreamRate {
        StreamRate {
            camera_id: 1,
            bytes_per_day: gib_per_day * GIB as f64,
            retention_days: retention,
            legal_min_days: legal,
        }
    }

    fn disk(free_gib: u64, recorded_gib: u64) -> DiskUsage {
        DiskUsage {
            total_bytes: 1000 * GIB,
            free_bytes: free_gib * GIB,
            recorded_bytes: recorded_gib * GIB,
            reserve_bytes: GIB,
        }
    }

    #[test]
    fn every_message_is_also_said_in_chinese() {
        let cams = [cam(10.0, 30, 30), cam(10.0, 120, 90)];
        for (free, status) in [
            (10, CapacityStatus::BelowLegalMinimum),
            (1341, CapacityStatus::BelowConfiguredRetention),
            (5000, CapacityStatus::Ok),
        ] {
            let f = forecast(&cams, &disk(free, 0), 7);
            assert_eq!(f.status, status);
            let letters: String = f
                .message_zh
                .replace("GiB", "")
                .chars()
                .filter(char::is_ascii_alphabetic)
                .collect();
            assert!(letters.is_empty(), "{}", f.message_zh);
            assert!(f.message_zh.contains("日"), "{}", f.message_zh);
        }
        let f = forecast(&cams, &disk(10, 0), 7);
        assert!(f.message_zh.contains("第三十二条"), "{}", f.message_zh);
    }

    #[test]
    fn thresholds_are_legal_minimum_plus_margin_then_configured_retention() {
        // Two cameras at 10 GiB/day: 30-day and 90-day (key target) minimums.
        let cams = [cam(10.0, 30, 30), cam(10.0, 120, 90)];
        // Legal + 7-day margin: 10·37 + 10·97 = 1340 GiB; configured: 300 + 1200.
        let f = forecast(&cams, &disk(1341, 0), 7);
        assert_eq!(f.status, CapacityStatus::BelowConfiguredRetention);
        assert!((f.days_storable.unwrap() - 67.0).abs() < 1e-9);
        assert!(
            f.message.contains("nothing is deleted early"),
            "{}",
            f.message
        );
        // One GiB less (the reserve) is below the legal minimum plus margin.
        let f = forecast(&cams, &disk(1340, 0), 7);
        assert_eq!(f.status, CapacityStatus::BelowLegalMinimum);
        assert!(f.message.contains("Art. 32"), "{}", f.message);
        assert!(f.message.contains("90 days"), "{}", f.message);
        // Recorded bytes count: they are what the store already holds.
        let f = forecast(&cams, &disk(501, 1000), 7);
        assert_eq!(f.status, CapacityStatus::Ok);
    }

    #[test]
    fn nothing_recorded_is_ok_and_unlimited() {
        let f = forecast(&[], &disk(10, 0), 7);
        assert_eq!(f.status, CapacityStatus::Ok);
        assert_eq!(f.days_storable, None);
        // Free space below the reserve gives zero capacity, not an underflow.
        let d = DiskUsage {
            free_bytes: 0,
            ..disk(0, 0)
        };
        let f = forecast(&[cam(1.0, 30, 30)], &d, 7);
        assert_eq!(f.capacity_bytes, 0);
        assert_eq!(f.status, CapacityStatus::BelowLegalMinimum);
    }
}
