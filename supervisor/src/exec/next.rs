//! Pipelining into warm children: a `pool` child that is running a task can hold the next ones.
//! Each busy child has a [`NextSlot`], a short queue; the dispatcher claims a place in it (a
//! [`Ticket`]) before it starts a run beyond its concurrency; the run deposits its request and
//! waits. A child that said `pipeline` in its hello gets the queued lines at once, written
//! ahead of its current task (limits relative, counted from each task's own start), so it goes
//! from task to task without waiting for the supervisor; any other child gets the next line the
//! moment it has answered the one before (in the same poll that reads the answer). A queued run
//! that stops waiting (revoke with terminate, cold shutdown) is withdrawn: dropped if its line
//! was not written, else sent `withdraw` (the child answers `withdrawn` when its turn comes, or
//! the child, which started it anyway, is killed). The child is handed to the front run when the
//! task before it ends ([`Handoff`]), or, when that task broke it, every queued run starts on
//! another child.

use super::session::Session;
pub use claims::{Queued, Ticket};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stem_protocol::{SupervisorMessage, TaskRequest};
use tokio::sync::{oneshot, Notify};

mod claims;

/// What a queued run gets when the task before it ends.
pub enum Handoff {
    /// The child, healthy; `written` says whether the queued line already went into its stdin.
    Session(Box<Session>, bool),
    /// The child cannot serve again (broke, worn, stopped): the run starts on another child.
    Fresh,
}

/// A queued run's line: its request and (soft, hard) limits until written.
type Pending = (TaskRequest, Option<Duration>, Option<Duration>);

struct Entry {
    seq: u64,
    id: String,
    pending: Option<Pending>,
    /// The line is in the child's stdin.
    written: bool,
    /// Its run stopped waiting after the line was written: a `withdraw` is due (or sent).
    withdrawing: bool,
    withdraw_sent: bool,
    workflow: bool,
    waiter: Option<oneshot::Sender<Handoff>>,
}

struct State {
    /// Places claimed by tickets, not yet deposited.
    claimed: usize,
    entries: VecDeque<Entry>,
    next_seq: u64,
    /// A run owns the child (it is serving a task): deposits are served.
    active: bool,
    /// The running task is a workflow resume: nothing may follow it on the stream.
    running_workflow: bool,
    /// The child ran (or may run) a task that must not run on it: it is killed, never reused.
    poisoned: bool,
    /// How many runs may wait here (the pool's adaptive depth, at most the child's pipeline).
    capacity: usize,
    /// The child takes lines ahead (`hello.pipeline`).
    ahead: bool,
    /// How many it said it takes.
    ahead_max: usize,
}

/// The queue of a busy pool child.
pub struct NextSlot {
    state: Mutex<State>,
    /// Wakes the session's run loop: lines or withdraws to write.
    wake: Notify,
}

impl Default for NextSlot {
    fn default() -> Self {
        NextSlot {
            state: Mutex::new(State {
                claimed: 0,
                entries: VecDeque::new(),
                next_seq: 0,
                active: false,
                running_workflow: false,
                poisoned: false,
                capacity: 1,
                ahead: false,
                ahead_max: 0,
            }),
            wake: Notify::new(),
        }
    }
}

/// Lines written ahead are at most this long; a longer one waits for its turn.
const AHEAD_MAX_BYTES: usize = 64 * 1024;

/// What [`NextSlot::settle`] decided as the current task ended.
pub struct Settled {
    /// The front run, handed the child (with whether its line is written).
    pub next: Option<(oneshot::Sender<Handoff>, bool)>,
    /// Runs that must start on another child.
    pub fresh: Vec<oneshot::Sender<Handoff>>,
    /// Some queued line is in the child's stdin, or it is poisoned: kill it if not handed on.
    pub holds_lines: bool,
}

/// A queued task's line written ahead of its start: its limits relative to that start.
fn ahead_line((request, soft, hard): &Pending) -> String {
    let mut request = request.clone();
    request.deadline = None;
    request.soft_deadline = None;
    request.time_limit_ms = hard.map(|d| d.as_millis() as u64);
    request.soft_time_limit_ms = soft.map(|d| d.as_millis() as u64);
    SupervisorMessage::Task(request).to_line()
}

/// Lines go in groups: none more while the child still holds more than half the queue's worth
/// unstarted, so it reads many at once rather than one per task.
fn top_up(s: &State) -> bool {
    s.entries.iter().filter(|e| e.written).count() <= s.capacity / 2
}

impl NextSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("next-slot lock")
    }

    /// The child's hello said it takes `n` lines ahead.
    pub fn set_ahead(&self, n: Option<u32>) {
        let mut s = self.lock();
        s.ahead_max = n.unwrap_or(0) as usize;
        s.ahead = s.ahead_max > 0;
    }

    /// A run took the child for a task (a workflow resume or not); `capacity` is how many
    /// runs may queue behind it now.
    pub fn begin(&self, workflow: bool, capacity: usize) {
        let mut s = self.lock();
        s.active = true;
        s.running_workflow = workflow;
        s.capacity = if s.ahead {
            capacity.clamp(1, s.ahead_max)
        } else {
            1
        };
    }

    fn room(s: &State) -> bool {
        s.active
            && !s.poisoned
            && !s.running_workflow
            && !s.entries.back().is_some_and(|e| e.workflow)
            && s.entries.len() + s.claimed < s.capacity
    }

    /// Whether a place could be claimed now, and how many runs wait here.
    pub fn open(&self) -> Option<usize> {
        let s = self.lock();
        Self::room(&s).then_some(s.entries.len() + s.claimed)
    }

    /// Claims a place for a queued run, unless the queue is full.
    pub fn claim(self: &Arc<Self>) -> Option<Ticket> {
        let mut s = self.lock();
        if !Self::room(&s) {
            return None;
        }
        s.claimed += 1;
        Some(Ticket {
            slot: Some(self.clone()),
        })
    }

    /// The lines to write now: on a child that takes lines ahead, every deposited line not yet
    /// written (in order, up to the first long one), with limits relative to each task's start;
    /// on any child, the `withdraw` of every written line whose run stopped waiting. Empty when
    /// nothing is due.
    pub fn due(&self) -> String {
        let mut s = self.lock();
        let mut bytes = String::new();
        let top_up = top_up(&s);
        if s.ahead && !s.poisoned {
            for e in s.entries.iter_mut() {
                if e.written {
                    if e.withdrawing && !e.withdraw_sent {
                        e.withdraw_sent = true;
                        let id = e.id.clone();
                        bytes.push_str(&SupervisorMessage::Withdraw { id }.to_line());
                    }
                    continue;
                }
                if !top_up {
                    continue;
                }
                let Some(pending) = e.pending.as_ref() else {
                    continue;
                };
                let line = ahead_line(pending);
                if line.len() > AHEAD_MAX_BYTES {
                    break;
                }
                e.pending = None;
                e.written = true;
                bytes.push_str(&line);
            }
        }
        bytes
    }

    /// As the current task answers: the front run's line, if not yet written, with its
    /// deadlines from now; on a child that takes lines ahead and holds no more than half its
    /// queue's worth unstarted, also the short lines behind it not yet written (limits
    /// relative), up to the first long one.
    pub fn at_turn(&self) -> Option<String> {
        let mut s = self.lock();
        if s.poisoned {
            return None;
        }
        let now = stem_protocol::now_ms();
        let more = s.ahead && top_up(&s);
        let mut bytes = String::new();
        for (i, e) in s.entries.iter_mut().enumerate() {
            if i > 0 && !more {
                break;
            }
            let Some(pending) = e.pending.as_ref() else {
                continue;
            };
            let line = if i == 0 {
                let (request, soft, hard) = pending;
                let mut request = request.clone();
                request.deadline = hard.map(|d| now + d.as_millis() as i64);
                request.soft_deadline = soft.map(|d| now + d.as_millis() as i64);
                SupervisorMessage::Task(request).to_line()
            } else {
                ahead_line(pending)
            };
            if i > 0 && line.len() > AHEAD_MAX_BYTES {
                break;
            }
            e.pending = None;
            e.written = true;
            bytes.push_str(&line);
        }
        (!bytes.is_empty()).then_some(bytes)
    }

    /// The front queued task when its run stopped waiting after its line was written: the
    /// child answers `withdrawn` for it next, or starts it.
    pub fn front_withdrawing(&self) -> Option<String> {
        let s = self.lock();
        let e = s.entries.front()?;
        (e.written && e.withdrawing).then(|| e.id.clone())
    }

    /// The child answered `withdrawn` for `id`: its entry goes. False if no written entry
    /// was being withdrawn under that id.
    pub fn withdrawn(&self, id: &str) -> bool {
        let mut s = self.lock();
        let Some(at) = s
            .entries
            .iter()
            .position(|e| e.id == id && e.written && e.withdrawing)
        else {
            return false;
        };
        s.entries.remove(at);
        true
    }

    /// The child will not serve again because of a queued task (it started one withdrawn, or
    /// did not answer a withdraw).
    pub fn poison(&self) {
        self.lock().poisoned = true;
    }

    /// Waits until something may be due (a deposit or a withdraw).
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    /// A task started on the child: lines held back for a group may be due now.
    pub fn nudge(&self) {
        if self.lock().ahead {
            self.wake.notify_one();
        }
    }

    /// Whether the child takes lines ahead.
    pub fn ahead(&self) -> bool {
        self.lock().ahead
    }

    /// When the current task ended: the front run gets the child if it is `fit`; else every
    /// queued run starts elsewhere. The slot keeps the runs behind the front one.
    pub fn settle(&self, fit: bool) -> Settled {
        let mut s = self.lock();
        s.running_workflow = false;
        let holds_lines = s.poisoned || s.entries.iter().any(|e| e.written);
        if fit && !s.poisoned {
            if let Some(front) = s.entries.pop_front() {
                s.running_workflow = front.workflow;
                if let Some(waiter) = front.waiter {
                    return Settled {
                        next: Some((waiter, front.written)),
                        fresh: Vec::new(),
                        holds_lines,
                    };
                }
            }
        }
        s.active = false;
        s.claimed = 0;
        let fresh = s.entries.drain(..).filter_map(|e| e.waiter).collect();
        Settled {
            next: None,
            fresh,
            holds_lines,
        }
    }
}
