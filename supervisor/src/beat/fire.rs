//! One fire: the task it publishes (routed by the manifest, with the `stem-schedule` and
//! `stem-fire-time` headers and an id derived from both), and the fires claimed but not yet
//! published because the broker failed, kept and retried every tick: a claimed fire is this
//! beat's to publish, whoever leads by then.

use std::collections::VecDeque;
use stem_protocol::envelope::DEFAULT_QUEUE;
use stem_protocol::manifest::Manifest;
use stem_protocol::schedule::{
    fire_task_id, format_time, Schedule, FIRE_TIME_HEADER, SCHEDULE_HEADER,
};
use stem_protocol::TaskEnvelope;

/// Where a schedule's tasks go: its own `queue`, else the manifest's queue for the task.
pub struct Routes {
    manifest: Option<Manifest>,
}

impl Routes {
    pub fn new(manifest: Option<Manifest>) -> Self {
        Routes { manifest }
    }

    /// The queue of `schedule`'s task, or why it cannot fire (a task the manifest lacks).
    pub fn queue(&self, schedule: &Schedule) -> Result<String, String> {
        let Some(m) = &self.manifest else {
            return Ok(schedule
                .queue
                .clone()
                .unwrap_or_else(|| DEFAULT_QUEUE.to_string()));
        };
        match m.effective(&schedule.task) {
            Some(t) => Ok(schedule.queue.clone().unwrap_or(t.queue)),
            None => Err(format!(
                "schedules.{}.task: unknown task {:?}: the beat's manifest does not name it",
                schedule.id, schedule.task
            )),
        }
    }
}

/// The task `schedule` publishes for `fire_time`; `jitter_unit` in `[0, 1)` picks its delay
/// within the schedule's jitter.
pub fn envelope(
    schedule: &Schedule,
    fire_time: i64,
    queue: String,
    jitter_unit: f64,
) -> TaskEnvelope {
    let mut env = TaskEnvelope::new(&schedule.task);
    env.id = fire_task_id(&schedule.id, fire_time);
    env.args = schedule.args.clone();
    env.kwargs = schedule.kwargs.clone();
    env.queue = queue;
    env.priority = schedule.priority;
    env.headers = schedule.headers.clone();
    env.headers
        .insert(SCHEDULE_HEADER.to_string(), schedule.id.clone());
    env.headers
        .insert(FIRE_TIME_HEADER.to_string(), format_time(fire_time));
    if let Some(jitter) = schedule.jitter_ms {
        let delay = (jitter as f64 * jitter_unit.clamp(0.0, 1.0)) as i64;
        env.eta = Some(fire_time + delay);
    }
    env
}

/// A claimed fire still to publish.
#[derive(Debug, Clone)]
pub struct Pending {
    pub schedule_id: String,
    pub fire_time: i64,
    pub envelope: TaskEnvelope,
}

/// Claimed fires the broker has not taken yet, oldest first.
#[derive(Default)]
pub struct Outbox {
    queue: VecDeque<Pending>,
}

impl Outbox {
    pub fn push(&mut self, p: Pending) {
        self.queue.push_back(p);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn front(&self) -> Option<&Pending> {
        self.queue.front()
    }

    pub fn pop(&mut self) -> Option<Pending> {
        self.queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stem_protocol::schedule::Spec;

    #[test]
    fn a_fire_names_its_schedule_and_time() {
        let mut s = Schedule::new("nightly", "report", Spec::At { at: 0 });
        s.headers.insert("team".into(), "ops".into());
        s.jitter_ms = Some(10_000);
        let env = envelope(&s, 1_000, "default".into(), 0.5);
        assert_eq!(env.id, "nightly@1970-01-01T00:00:01Z");
        assert_eq!(env.headers[SCHEDULE_HEADER], "nightly");
        assert_eq!(env.headers[FIRE_TIME_HEADER], "1970-01-01T00:00:01Z");
        assert_eq!(env.headers["team"], "ops");
        assert_eq!(env.eta, Some(6_000));
        assert!(env.validate().is_ok());
    }

    #[test]
    fn routes_follow_the_manifest() {
        let m = Manifest::parse("[tasks.t]\nexec = [\"true\"]\nqueue = \"q\"\n", "m").unwrap();
        let routes = Routes::new(Some(m));
        let mut s = Schedule::new("s", "t", Spec::At { at: 0 });
        assert_eq!(routes.queue(&s).unwrap(), "q");
        s.queue = Some("other".into());
        assert_eq!(routes.queue(&s).unwrap(), "other");
        s.task = "nope".into();
        assert!(routes.queue(&s).unwrap_err().contains("unknown task"));
        assert_eq!(Routes::new(None).queue(&s).unwrap(), "other");
    }
}
