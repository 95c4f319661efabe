//! The injectable clock.
//!
//! Code that depends on time (segment rotation, reconnect back-off, stall timeouts,
//! retention) asks a [`Clocks`] rather than the operating system, so tests can run a
//! simulated clock in microseconds. Only [`RealClocks`] touches the OS.

use crate::time::{Duration90k, Wall90k};
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// A source of wall-clock time (UTC, may jump) and monotonic time (never goes back).
pub trait Clocks: Send + Sync + 'static {
    /// The current UTC time.
    fn realtime(&self) -> Wall90k;
    /// A monotonic instant, for measuring intervals.
    fn monotonic(&self) -> Instant;
}

/// The operating system's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealClocks;

impl Clocks for RealClocks {
    fn realtime(&self) -> Wall90k {
        Wall90k::from_system(SystemTime::now())
    }
    fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct SimulatedClocks {
    inner: Mutex<(Wall90k, Instant)>,
}

impl SimulatedClocks {
    /// Starts at `boot` wall time.
    pub fn new(boot: Wall90k) -> Self {
        SimulatedClocks {
            inner: Mutex::new((boot, Instant::now())),
        }
    }

    /// Advances both clocks by `d`.
    pub fn advance(&self, d: Duration90k) {
        let mut g = self.inner.lock().expect("clock lock");
        g.0 = g.0 + d;
        g.1 += std::time::Duration::from_nanos((d.0.max(0) as u64) * 100_000 / 9);
    }
}

impl Clocks for SimulatedClocks {
    fn realtime(&self) -> Wall90k {
        self.inner.lock().expect("clock lock").0
    }
    fn monotonic(&self) -> Instant {
        self.inner.lock().expect("clock lock").1
    }
}
