//! When each attempt in flight started and when its child was done, kept by a sink from the
//! `Started` and `Ran` steps until the attempt's outcome (or its stale commit or give-back).

use super::TaskRef;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime};

/// More attempts in flight than this means outcomes were lost (commit errors): start afresh.
const MAX_IN_FLIGHT: usize = 100_000;

/// One attempt's times.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub started: SystemTime,
    pub started_at: Instant,
    /// When the child was done, if it was.
    pub ran: Option<(SystemTime, Instant)>,
}

impl Timing {
    /// Started to the child done.
    pub fn run(&self) -> Option<std::time::Duration> {
        self.ran.map(|(_, at)| at - self.started_at)
    }
}

#[derive(Default)]
pub struct Timings(Mutex<HashMap<(String, u32), Timing>>);

impl Timings {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u32), Timing>> {
        self.0.lock().expect("timings lock")
    }

    /// Notes that `t` started now; returns the time.
    pub fn started(&self, t: &TaskRef) -> SystemTime {
        let now = SystemTime::now();
        let mut map = self.map();
        if map.len() >= MAX_IN_FLIGHT {
            map.clear();
        }
        map.insert(
            (t.id.clone(), t.attempt),
            Timing {
                started: now,
                started_at: Instant::now(),
                ran: None,
            },
        );
        now
    }

    /// Notes that `t`'s child is done.
    pub fn ran(&self, t: &TaskRef) {
        if let Some(timing) = self.map().get_mut(&(t.id.clone(), t.attempt)) {
            timing.ran = Some((SystemTime::now(), Instant::now()));
        }
    }

    /// The times of `t`, forgotten.
    pub fn take(&self, t: &TaskRef) -> Option<Timing> {
        self.map().remove(&(t.id.clone(), t.attempt))
    }
}
