//! Per-task-type statistics from the kept records of a window: how many of each task ended in
//! each state, the failure rate, run time and queue wait at p50 and p95, and the same two times
//! per minute for the latency charts. Read from the most recent records (at most
//! [`SAMPLE`]): the records are the source, so the figures cover what the result TTL keeps; the
//! exact, unsampled histograms are the OpenTelemetry ones (docs/observability.md).

use super::{results, OpsResult};
use serde::Serialize;
use std::collections::BTreeMap;
use stem_adapters::backend::MAX_LIST;
use stem_adapters::{Adapters, RecordFilter};
use stem_protocol::{TaskRecord, TaskState};

/// The most records read for one answer.
pub const SAMPLE: usize = 20_000;

/// p50 and p95 of some durations, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub samples: usize,
}

impl Spread {
    fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        let at = |q: f64| -> Option<i64> {
            if values.is_empty() {
                return None;
            }
            let i = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len()) - 1;
            Some(values[i])
        };
        Spread {
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            samples: values.len(),
        }
    }
}

/// One task type's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskStats {
    pub task: String,
    /// Records by state.
    pub states: BTreeMap<&'static str, u64>,
    pub finished: u64,
    /// Failures over finished runs that succeeded or failed (0 to 1).
    pub failure_rate: Option<f64>,
    /// From start to finish.
    pub run_time: Spread,
    /// From enqueue to the last attempt's start (a countdown, an eta or retries count as
    /// waiting: the record keeps no eta).
    pub queue_wait: Spread,
}

/// One minute's latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinuteLatency {
    /// The minute's start (epoch ms).
    pub minute: i64,
    pub run_time: Spread,
    pub queue_wait: Spread,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub since: i64,
    /// Records read.
    pub records: usize,
    /// More records were in the window than were read.
    pub sampled: bool,
    pub tasks: Vec<TaskStats>,
    pub minutes: Vec<MinuteLatency>,
}

fn run_time(r: &TaskRecord) -> Option<i64> {
    Some(r.finished_at? - r.started_at?).filter(|d| *d >= 0)
}

fn queue_wait(r: &TaskRecord) -> Option<i64> {
    Some(r.started_at? - r.created_at).map(|d| d.max(0))
}

/// The figures of the records updated since `since` (epoch ms), of one task or all.
pub async fn stats(adapters: &Adapters, since: i64, task: Option<String>) -> OpsResult<Stats> {
    let mut filter = RecordFilter {
        since: Some(since),
        name: task,
        limit: MAX_LIST,
        ..Default::default()
    };
    let mut records = Vec::new();
    let mut sampled = false;
    loop {
        let (page, next) = results::page(adapters, &filter).await?;
        records.extend(page);
        match next {
            Some(_) if records.len() >= SAMPLE => {
                sampled = true;
                break;
            }
            Some(cursor) => filter.after = Some(cursor),
            None => break,
        }
    }
    records.truncate(SAMPLE);
    Ok(summarize(since, records, sampled))
}

fn summarize(since: i64, records: Vec<TaskRecord>, sampled: bool) -> Stats {
    let mut by_task: BTreeMap<String, Vec<&TaskRecord>> = BTreeMap::new();
    let mut by_minute: BTreeMap<i64, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for r in &records {
        by_task.entry(r.name.clone()).or_default().push(r);
        if let Some(f) = r.finished_at {
            let m = by_minute.entry(stem_adapters::minute_of(f)).or_default();
            m.0.extend(run_time(r));
            m.1.extend(queue_wait(r));
        }
    }
    let tasks = by_task
        .into_iter()
        .map(|(task, rs)| {
            let mut states: BTreeMap<&'static str, u64> = BTreeMap::new();
            for r in &rs {
                *states.entry(r.state.as_str()).or_default() += 1;
            }
            let count = |s: TaskState| states.get(s.as_str()).copied().unwrap_or(0);
            let (ok, failed) = (count(TaskState::Success), count(TaskState::Failure));
            TaskStats {
                task,
                finished: rs.iter().filter(|r| r.state.is_terminal()).count() as u64,
                failure_rate: (ok + failed > 0).then(|| failed as f64 / (ok + failed) as f64),
                run_time: Spread::of(rs.iter().filter_map(|r| run_time(r)).collect()),
                queue_wait: Spread::of(rs.iter().filter_map(|r| queue_wait(r)).collect()),
                states,
            }
        })
        .collect();
    let minutes = by_minute
        .into_iter()
        .map(|(minute, (run, wait))| MinuteLatency {
            minute,
            run_time: Spread::of(run),
            queue_wait: Spread::of(wait),
        })
        .collect();
    Stats {
        since,
        records: records.len(),
        sampled,
        tasks,
        minutes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stem_protocol::TaskEnvelope;

    fn record(name: &str, state: TaskState, wait: i64, run: i64) -> TaskRecord {
        let mut r = TaskRecord::pending(&TaskEnvelope::new(name));
        r.state = state;
        r.created_at = 1_000_000;
        r.started_at = Some(1_000_000 + wait);
        r.finished_at = Some(1_000_000 + wait + run);
        r
    }

    #[test]
    fn percentiles_rates_and_minutes() {
        let mut rs: Vec<TaskRecord> = (1..=20)
            .map(|i| record("add", TaskState::Success, i, i * 10))
            .collect();
        rs.push(record("add", TaskState::Failure, 5, 1000));
        rs.push(record("mail", TaskState::Failure, 0, 0));
        let s = summarize(0, rs, false);
        let add = &s.tasks[0];
        assert_eq!(add.task, "add");
        assert_eq!(add.states["success"], 20);
        assert_eq!(add.failure_rate, Some(1.0 / 21.0));
        assert_eq!(add.run_time.samples, 21);
        assert_eq!(add.run_time.p50_ms, Some(110));
        assert_eq!(add.run_time.p95_ms, Some(200));
        assert_eq!(add.queue_wait.p50_ms, Some(10));
        assert_eq!(s.tasks[1].failure_rate, Some(1.0));
        assert_eq!(s.minutes.len(), 1, "every run ended in the same minute");
        assert_eq!(s.minutes[0].run_time.samples, 22);
        assert_eq!(Spread::of(vec![]).p50_ms, None);
    }
}
