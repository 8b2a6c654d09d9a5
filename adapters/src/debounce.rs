//! Debounce state (`FlowControl::debounce_*`): the bursts of enqueues of one debounce key, each
//! one run of the latest arguments, kept in the broker's store on the store's clock.
//!
//! A burst is a row keyed by its run's task id: the debounce `key`, the latest encoded envelope
//! (`payload`: the codec's sealed and signed form, verified by the worker like any payload),
//! `due` (epoch ms: when it runs), `first_at` (its first enqueue) and whether it is still `open`
//! to enqueues. At most one burst of a key is open.
//!
//! - `debounce_put`: an open burst of the key whose `due` is still ahead takes the enqueue: its
//!   payload becomes this one and `due` moves to `min(now + window, first_at + max_wait)`.
//!   Otherwise (none, or its `due` passed: a quiet `window`, or `max_wait` reached) that burst
//!   closes (it keeps its payload for its run) and a new one opens with this enqueue's id.
//! - `debounce_take`: the worker holding the burst's task asks before running it. An open burst
//!   not yet due says `Wait(due)`; a due one closes and hands its payload; a closed one hands
//!   its payload again (a redelivery after a worker died mid-run must not lose the run); no row
//!   says `Gone` (its run already finished: nothing to run).
//! - `debounce_done`: after the run's final outcome is committed (or a producer's publish of the
//!   burst's task failed) the row goes. Closed rows left behind (a done lost to a crash) are
//!   pruned [`KEEP_TAKEN`] after they were taken.

use std::time::Duration;

/// How long a taken burst's payload is kept for redeliveries when its `done` never comes.
pub const KEEP_TAKEN: Duration = Duration::from_secs(7 * 86_400);

/// What `debounce_put` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebouncePut {
    /// The burst's run: this enqueue's id when `first`, else the open burst's.
    pub id: String,
    /// When the burst runs now (epoch ms, the store's clock).
    pub due: i64,
    /// This enqueue opened the burst: its producer publishes the burst's one task.
    pub first: bool,
}

/// What `debounce_take` says about a burst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebounceTake {
    /// Not due yet: ask again at this time (epoch ms, the store's clock).
    Wait(i64),
    /// Due: run this encoded envelope (the latest enqueue's).
    Take(String),
    /// No such burst: its run already finished.
    Gone,
}

/// A burst as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    pub key: String,
    pub payload: String,
    pub due: i64,
    pub first_at: i64,
    pub open: bool,
    /// When it was taken (closed rows only; 0 when closed by a put, not yet taken).
    pub taken_at: i64,
}

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The `due` of a burst first enqueued at `first_at`, last at `now`.
pub fn due_of(now: i64, first_at: i64, window: Duration, max_wait: Option<Duration>) -> i64 {
    let trailing = now.saturating_add(ms(window));
    match max_wait {
        Some(cap) => trailing.min(first_at.saturating_add(ms(cap))),
        None => trailing,
    }
}

/// Whether the open burst `b` takes an enqueue at `now`.
pub fn joins(b: &Burst, now: i64) -> bool {
    b.open && b.due > now
}

/// The answer of a take of `b` at `now`, and the burst after it (`None`: unchanged).
pub fn take_step(b: &Burst, now: i64) -> (DebounceTake, Option<Burst>) {
    if b.open && b.due > now {
        return (DebounceTake::Wait(b.due), None);
    }
    let after = (b.open || b.taken_at == 0).then(|| Burst {
        open: false,
        taken_at: now,
        ..b.clone()
    });
    (DebounceTake::Take(b.payload.clone()), after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_is_the_trailing_edge_capped_by_max_wait() {
        let w = Duration::from_millis(100);
        assert_eq!(due_of(1000, 1000, w, None), 1100);
        assert_eq!(due_of(1950, 1000, w, Some(Duration::from_secs(1))), 2000);
        assert_eq!(due_of(1500, 1000, w, Some(Duration::from_secs(1))), 1600);
    }

    #[test]
    fn a_take_waits_then_hands_the_payload_each_time() {
        let b = Burst {
            key: "k".into(),
            payload: "p".into(),
            due: 10,
            first_at: 0,
            open: true,
            taken_at: 0,
        };
        assert_eq!(take_step(&b, 5).0, DebounceTake::Wait(10));
        let (t, after) = take_step(&b, 10);
        assert_eq!(t, DebounceTake::Take("p".into()));
        let after = after.expect("closed");
        assert!(!after.open && after.taken_at == 10);
        let (again, unchanged) = take_step(&after, 20);
        assert_eq!(again, DebounceTake::Take("p".into()));
        assert!(unchanged.is_none());
    }
}
