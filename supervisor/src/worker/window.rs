//! The prefetch window, and the dispatcher asking for more while it has room: how many
//! deliveries a worker leases ahead of its free run slots. Set with `--prefetch`, it is that
//! number. By default it adapts to how long tasks take: at least
//! 4 × concurrency (as Celery's prefetch multiplier), and for short tasks as many as the slots
//! run in about [`HOLD`] (at most [`MOST`]), so a worker draining millisecond tasks fetches and
//! commits in batches while one running long tasks never hoards more than the floor.

use super::dispatcher::{Dispatcher, Phase, MAX_FETCH};
use super::fetcher::FetchRequest;
use std::time::{Duration, Instant};

/// How long after the last delivery with a fairness key an adaptive window stays narrow.
const FAIR_SPELL: Duration = Duration::from_secs(5);

/// The work, per run slot, that an adaptive window holds ahead.
pub const HOLD: Duration = Duration::from_millis(100);
/// The widest adaptive window ahead of the slots.
pub const MOST: usize = 256;
/// Weight of the latest run in the moving average of run times.
const WEIGHT: f64 = 0.05;

#[derive(Debug, Clone)]
pub struct Prefetch {
    floor: usize,
    adaptive: bool,
    /// Moving average of run times, ms (none until a run finished).
    average_ms: Option<f64>,
    /// Until when deliveries with fairness keys were lately seen.
    fair_until: Option<Instant>,
}

impl Prefetch {
    /// `--prefetch N` (fixed) or the default (adaptive above 4 × concurrency).
    pub fn new(flag: Option<usize>, concurrency: usize) -> Self {
        Prefetch {
            floor: flag.unwrap_or(4 * concurrency),
            adaptive: flag.is_none(),
            average_ms: None,
            fair_until: None,
        }
    }

    /// A delivery with a fairness key arrived: for the next few seconds an adaptive window holds
    /// one delivery ahead per slot and fetches as soon as it has room, so a key that became
    /// active waits for at most a slot's worth of other keys' tasks held here (the broker
    /// already serves keys round-robin).
    pub fn saw_fair_key(&mut self) {
        self.fair_until = Some(Instant::now() + FAIR_SPELL);
    }

    /// Whether the window is narrow for fairness now.
    pub fn fair(&self) -> bool {
        self.adaptive && self.fair_until.is_some_and(|t| Instant::now() < t)
    }

    /// A run took `ms` (from its start to its child's answer).
    pub fn observe(&mut self, ms: i64) {
        let ms = ms.max(0) as f64;
        self.average_ms = Some(match self.average_ms {
            Some(avg) => avg + WEIGHT * (ms - avg),
            None => ms,
        });
    }

    /// Deliveries to hold ahead of `concurrency` slots now.
    pub fn current(&self, concurrency: usize) -> usize {
        if self.fair() {
            return concurrency.max(1);
        }
        match (self.adaptive, self.average_ms) {
            (true, Some(avg)) => {
                // Runs shorter than 0.1 ms count as 0.1 ms (times are whole milliseconds).
                let per_slot = HOLD.as_secs_f64() * 1000.0 / avg.max(0.1);
                let wide = (per_slot * concurrency as f64).min(MOST as f64) as usize;
                wide.max(self.floor)
            }
            _ => self.floor,
        }
    }

    pub fn floor(&self) -> usize {
        self.floor
    }

    pub fn adaptive(&self) -> bool {
        self.adaptive
    }
}

impl Dispatcher {
    /// Asks for more deliveries when the prefetch window has room: at once while few wait
    /// reserved, else once it has drained to half, so each fetch brings a batch.
    pub(super) fn fetch_more(&mut self) {
        if self.fetching || self.phase != Phase::Running {
            return;
        }
        // After a broker call failed (an outage), what is held is confirmed first: a fetch now
        // could take back this worker's own lapsed leases as new deliveries.
        if self.broker_unconfirmed.is_some() && !self.entries.is_empty() {
            return;
        }
        // Runs queued on busy warm children (beyond the run slots) do not eat the prefetch.
        let queued = self.running.saturating_sub(self.config.concurrency);
        let window =
            self.config.concurrency + self.prefetch.current(self.config.concurrency) + queued;
        // Deliveries held at a flow-control gate leave room for others (up to three windows).
        let held = self.held().min(3 * window);
        let free = (window + held).saturating_sub(self.entries.len());
        // While enough wait, fetch in batches (half the window, at most half a fetch), so a
        // busy worker neither asks one at a time nor stops at half of a large prefetch.
        let wanted = if self.prefetch.fair() {
            1
        } else if self.waiting.len() >= self.config.concurrency {
            (window / 2).clamp(1, MAX_FETCH / 2)
        } else {
            1
        };
        if free < wanted {
            return;
        }
        let queues: Vec<String> = self
            .config
            .queues
            .iter()
            .filter(|q| !self.paused.contains(*q) && !self.stored_pauses.contains(*q))
            .cloned()
            .collect();
        if queues.is_empty() {
            return;
        }
        let max = free.min(MAX_FETCH);
        if self.fetch_tx.send(FetchRequest { max, queues }).is_ok() {
            self.fetching = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fairness_keys_narrow_an_adaptive_window_only() {
        let mut p = Prefetch::new(None, 2);
        p.observe(1);
        assert_eq!(p.current(2), 200);
        p.saw_fair_key();
        assert!(p.fair());
        assert_eq!(p.current(2), 2, "one ahead per slot while keys are seen");
        let mut fixed = Prefetch::new(Some(50), 2);
        fixed.saw_fair_key();
        assert!(!fixed.fair(), "--prefetch is kept as given");
        assert_eq!(fixed.current(2), 50);
    }

    #[test]
    fn a_fixed_prefetch_never_moves() {
        let mut p = Prefetch::new(Some(3), 2);
        p.observe(0);
        assert_eq!(p.current(2), 3);
        let mut p = Prefetch::new(Some(0), 2);
        p.observe(0);
        assert_eq!(p.current(2), 0);
    }

    #[test]
    fn the_default_widens_for_short_tasks_and_keeps_the_floor_for_long_ones() {
        let mut p = Prefetch::new(None, 2);
        assert_eq!(p.current(2), 8, "no run yet: the floor");
        p.observe(1);
        assert_eq!(p.current(2), 200, "1 ms runs: 100 ms of work per slot");
        p.observe(0);
        assert!(p.current(2) <= MOST);
        let mut long = Prefetch::new(None, 2);
        long.observe(2000);
        assert_eq!(long.current(2), 8, "2 s runs: the floor");
        for _ in 0..200 {
            long.observe(0);
        }
        assert_eq!(long.current(2), MOST, "the average follows the runs");
    }
}
