//! Pipelining into warm children: a `pool` child that is running a task can hold the next one.
//! Each busy child has one [`NextSlot`]; the dispatcher claims it (a [`Ticket`]) before it
//! starts a run beyond its concurrency; the run deposits its request and waits. The session
//! writes the next task's line the moment it has read the answer to the current one — in the
//! same poll, before the outcome goes anywhere — so the child goes from one task to the next
//! without waiting for the dispatcher, the commit or a new run to be set up. The line is not
//! written earlier on purpose: until then the queued task can be withdrawn (revoked, cold
//! shutdown) without the child ever seeing it, and its deadlines are set when it starts. The
//! child is then handed to the queued run ([`Handoff`]), or, when the current task broke it,
//! the queued run starts on another child.

use super::session::Session;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stem_protocol::{SupervisorMessage, TaskRequest};
use tokio::sync::oneshot;

/// What a queued run gets when the task before it ends.
pub enum Handoff {
    /// The child, healthy; `written` says whether the queued line already went into its stdin.
    Session(Box<Session>, bool),
    /// The child cannot serve again (broke, worn, stopped): the run starts on another child.
    Fresh,
}

#[derive(Default)]
struct State {
    /// A ticket holds the slot.
    claimed: bool,
    /// The queued task's request and its (soft, hard) time limits, deposited, not yet written.
    request: Option<(TaskRequest, Option<Duration>, Option<Duration>)>,
    /// The queued line is in the child's stdin.
    written: bool,
    /// The queued run gave up after its line was written: the child runs it anyway, so it is
    /// killed, never reused.
    poisoned: bool,
    waiter: Option<oneshot::Sender<Handoff>>,
    /// Counts the tasks ended on this child, so a late cancel does not touch the next one's
    /// slot.
    epoch: u64,
}

/// The one-deep queue of a busy pool child.
#[derive(Default)]
pub struct NextSlot {
    state: Mutex<State>,
}

impl NextSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("next-slot lock")
    }

    /// Whether the slot could be claimed now.
    pub fn free(&self) -> bool {
        let s = self.lock();
        !s.claimed && !s.poisoned
    }

    /// Claims the slot for a queued run, unless another holds it.
    pub fn claim(self: &Arc<Self>) -> Option<Ticket> {
        let mut s = self.lock();
        if s.claimed || s.poisoned {
            return None;
        }
        s.claimed = true;
        Some(Ticket {
            slot: Some(self.clone()),
            epoch: s.epoch,
        })
    }

    /// The deposited task's line with its deadlines from now, for the session to write as the
    /// child becomes free.
    pub fn take_line(&self) -> Option<String> {
        let mut s = self.lock();
        let (mut request, soft, hard) = s.request.take()?;
        s.written = true;
        drop(s);
        let now = stem_protocol::now_ms();
        request.deadline = hard.map(|d| now + d.as_millis() as i64);
        request.soft_deadline = soft.map(|d| now + d.as_millis() as i64);
        Some(SupervisorMessage::Task(request).to_line())
    }

    /// When the current task ended: the waiting run (if any), whether its line was written, and
    /// whether the child must not serve again because of it. The slot is empty afterwards.
    pub fn settle(&self) -> (Option<oneshot::Sender<Handoff>>, bool, bool) {
        let mut guard = self.lock();
        let epoch = guard.epoch + 1;
        let s = std::mem::replace(
            &mut *guard,
            State {
                epoch,
                ..State::default()
            },
        );
        (s.waiter, s.written, s.poisoned)
    }
}

/// A claim on a busy child's next slot, taken by the dispatcher before it starts the run.
/// Dropped unused, it frees the slot.
pub struct Ticket {
    slot: Option<Arc<NextSlot>>,
    epoch: u64,
}

impl Ticket {
    /// Puts the run's request in the slot; the receiver gets the child when the current task
    /// ends. None when that task ended before the deposit (acquire a child as usual).
    pub fn deposit(
        mut self,
        request: TaskRequest,
        soft: Option<Duration>,
        hard: Option<Duration>,
    ) -> Option<(Queued, oneshot::Receiver<Handoff>)> {
        let slot = self.slot.take()?;
        let mut s = slot.lock();
        if s.epoch != self.epoch {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        s.request = Some((request, soft, hard));
        s.waiter = Some(tx);
        let epoch = s.epoch;
        drop(s);
        Some((Queued { slot, epoch }, rx))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let mut s = slot.lock();
            if s.epoch == self.epoch {
                s.claimed = false;
            }
        }
    }
}

/// A run waiting in a busy child's slot.
pub struct Queued {
    slot: Arc<NextSlot>,
    epoch: u64,
}

impl Queued {
    /// The run stops waiting (revoked, cold shutdown). Its request is withdrawn if not yet
    /// written; if it was (the stop came in the instant between the answer and the handoff),
    /// the child is poisoned: it will not serve again. False when the handoff was already
    /// sent: the receiver holds it.
    pub fn cancel(self) -> bool {
        let mut s = self.slot.lock();
        if s.epoch != self.epoch {
            return false;
        }
        if s.written {
            s.poisoned = true;
        }
        s.request = None;
        s.waiter = None;
        s.claimed = false;
        true
    }
}
