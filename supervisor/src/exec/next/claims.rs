//! A queued run's handles on a busy child's queue: the [`Ticket`] the dispatcher claims before
//! it starts the run, and the [`Queued`] place the run deposits its request into and may
//! withdraw from.

use super::{Entry, Handoff, NextSlot};
use std::sync::Arc;
use std::time::Duration;
use stem_protocol::TaskRequest;
use tokio::sync::oneshot;

/// A claim on a place in a busy child's queue, taken by the dispatcher before it starts the
/// run. Dropped unused, it frees the place.
pub struct Ticket {
    pub(super) slot: Option<Arc<NextSlot>>,
}

impl Ticket {
    /// Puts the run's request in the queue; the receiver gets the child when the tasks ahead
    /// end. None when the child stopped serving before the deposit (acquire a child as usual).
    pub fn deposit(
        mut self,
        request: TaskRequest,
        soft: Option<Duration>,
        hard: Option<Duration>,
    ) -> Option<(Queued, oneshot::Receiver<Handoff>)> {
        let slot = self.slot.take()?;
        let mut s = slot.lock();
        s.claimed = s.claimed.saturating_sub(1);
        if !s.active
            || s.poisoned
            || s.running_workflow
            || s.entries.back().is_some_and(|e| e.workflow)
        {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        let seq = s.next_seq;
        s.next_seq += 1;
        let workflow = request.workflow.is_some();
        s.entries.push_back(Entry {
            seq,
            id: request.id.clone(),
            pending: Some((request, soft, hard)),
            written: false,
            withdrawing: false,
            withdraw_sent: false,
            workflow,
            waiter: Some(tx),
        });
        let ahead = s.ahead;
        drop(s);
        if ahead {
            slot.wake.notify_one();
        }
        Some((Queued { slot, seq }, rx))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut s = slot.lock();
            s.claimed = s.claimed.saturating_sub(1);
        }
    }
}

/// A run waiting in a busy child's queue.
pub struct Queued {
    slot: Arc<NextSlot>,
    seq: u64,
}

impl Queued {
    /// The run stops waiting (revoked with terminate, cold shutdown). Its request is dropped
    /// if not yet written; if it was, a child that takes lines ahead is sent `withdraw` (and
    /// killed should it start the task anyway), any other is poisoned (the stop came in the
    /// instant between the answer and the handoff). False when the handoff was already sent:
    /// the receiver holds it.
    pub fn cancel(self) -> bool {
        let mut s = self.slot.lock();
        let Some(at) = s.entries.iter().position(|e| e.seq == self.seq) else {
            return false;
        };
        if !s.entries[at].written {
            s.entries.remove(at);
            return true;
        }
        let ahead = s.ahead;
        let e = &mut s.entries[at];
        e.waiter = None;
        e.pending = None;
        if ahead {
            e.withdrawing = true;
            drop(s);
            self.slot.wake.notify_one();
        } else {
            s.entries.remove(at);
            s.poisoned = true;
        }
        true
    }
}
