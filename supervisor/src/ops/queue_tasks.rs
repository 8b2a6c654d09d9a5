//! What waits in a queue, not only how much: its waiting tasks in fetch order, scheduled ones
//! (an eta or countdown) and retrying ones (a failed attempt's delay) by due time, and leased
//! ones with their worker — for the dashboard's queue page and `GET /v1/queues/{queue}/tasks`.
//! Read from the broker without leasing or changing anything.

use super::OpsResult;
use serde::Serialize;
use serde_json::{Map, Value};
use stem_adapters::{Adapters, Held, Payload, Peeked};

/// The most tasks one listing returns.
pub const MAX_TASKS: usize = 1000;

/// Delayed tasks read to split into scheduled and retrying ones (by due time): past these, a
/// retrying task behind thousands of scheduled ones is not shown.
pub const DELAYED_SCAN: usize = 5000;

/// Which of a queue's tasks to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueList {
    Waiting,
    Scheduled,
    Retrying,
    Leased,
}

impl QueueList {
    pub const ALL: [QueueList; 4] = [
        QueueList::Waiting,
        QueueList::Scheduled,
        QueueList::Retrying,
        QueueList::Leased,
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QueueList::Waiting => "waiting",
            QueueList::Scheduled => "scheduled",
            QueueList::Retrying => "retrying",
            QueueList::Leased => "leased",
        }
    }
}

/// One queued task as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedTask {
    /// The task id (empty for a malformed entry).
    pub id: String,
    pub task: String,
    pub priority: u8,
    /// 1 the first time; a retrying task's next attempt.
    pub attempt: u32,
    pub created_at: i64,
    /// Scheduled and retrying: when it falls due; leased: when the lease runs out (epoch ms).
    pub at: Option<i64>,
    /// Leased: the worker holding it.
    pub worker: Option<String>,
    pub deliveries: u32,
    /// Absent when the envelope is sealed (encryption on): only the supervisor opens it.
    pub args: Option<Vec<Value>>,
    pub kwargs: Option<Map<String, Value>>,
    /// The fairness key and its weight, when the task has one (kept in clear even when sealed).
    pub fair_key: Option<String>,
    pub fair_weight: Option<u32>,
    pub sealed: bool,
    /// Why the entry is not a task envelope, when it is not.
    pub malformed: Option<String>,
}

fn listed(p: Peeked) -> QueuedTask {
    match p.payload {
        Payload::Task(env) => {
            let sealed = env.sealed.is_some();
            QueuedTask {
                id: env.id,
                task: env.name,
                priority: env.priority,
                attempt: env.attempt,
                created_at: env.created_at,
                at: p.at.or(env.eta),
                worker: p.owner,
                deliveries: p.deliveries,
                args: (!sealed).then_some(env.args),
                kwargs: (!sealed).then_some(env.kwargs),
                fair_key: env.fair_key,
                fair_weight: env.fair_weight,
                sealed,
                malformed: None,
            }
        }
        Payload::Malformed { reason, .. } => QueuedTask {
            id: String::new(),
            task: String::new(),
            priority: 0,
            attempt: 0,
            created_at: 0,
            at: p.at,
            worker: p.owner,
            deliveries: p.deliveries,
            args: None,
            kwargs: None,
            fair_key: None,
            fair_weight: None,
            sealed: false,
            malformed: Some(reason),
        },
    }
}

/// Up to `limit` (at most [`MAX_TASKS`]) of `queue`'s tasks in `list`, in the order they will
/// move.
pub async fn tasks(
    adapters: &Adapters,
    queue: &str,
    list: QueueList,
    limit: usize,
) -> OpsResult<Vec<QueuedTask>> {
    let limit = limit.min(MAX_TASKS);
    let admin = &adapters.admin;
    let found = match list {
        QueueList::Waiting => admin.peek(queue, Held::Waiting, limit).await?,
        QueueList::Leased => admin.peek(queue, Held::Leased, limit).await?,
        QueueList::Scheduled | QueueList::Retrying => {
            let retrying = list == QueueList::Retrying;
            admin
                .peek(queue, Held::Delayed, DELAYED_SCAN)
                .await?
                .into_iter()
                .filter(|p| match &p.payload {
                    Payload::Task(env) => (env.attempt > 1) == retrying,
                    Payload::Malformed { .. } => !retrying,
                })
                .take(limit)
                .collect()
        }
    };
    Ok(found.into_iter().map(listed).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;
    use stem_protocol::{now_ms, TaskEnvelope};

    #[tokio::test]
    async fn scheduled_and_retrying_apart() {
        let adapters = memory("queue-tasks").await;
        let mut first = TaskEnvelope::new("later");
        first.eta = Some(now_ms() + 60_000);
        let mut again = TaskEnvelope::new("flaky");
        again.attempt = 2;
        again.eta = Some(now_ms() + 30_000);
        let now = TaskEnvelope::new("now");
        let mut secret = TaskEnvelope::new("secret");
        secret.sealed = Some("k1:AAAA".into());
        secret.fair_key = Some("tenant-a".into());
        secret.fair_weight = Some(3);
        adapters
            .broker
            .publish(&[first.clone(), again.clone(), now.clone(), secret.clone()])
            .await
            .unwrap();
        let q = "default";
        let ids = |l: Vec<QueuedTask>| l.into_iter().map(|t| t.id).collect::<Vec<_>>();
        let scheduled = tasks(&adapters, q, QueueList::Scheduled, 10).await.unwrap();
        assert_eq!(ids(scheduled.clone()), [first.id.clone()]);
        assert_eq!(scheduled[0].at, first.eta);
        let retrying = tasks(&adapters, q, QueueList::Retrying, 10).await.unwrap();
        assert_eq!(retrying[0].attempt, 2);
        assert_eq!(ids(retrying), [again.id.clone()]);
        let waiting = tasks(&adapters, q, QueueList::Waiting, 10).await.unwrap();
        assert_eq!(ids(waiting.clone()), [now.id.clone(), secret.id.clone()]);
        assert_eq!(
            (waiting[0].fair_key.as_deref(), waiting[0].fair_weight),
            (None, None)
        );
        assert_eq!(
            (waiting[1].fair_key.as_deref(), waiting[1].fair_weight),
            (Some("tenant-a"), Some(3)),
            "the fairness key is listed, also when sealed"
        );
        assert!(
            waiting[1].sealed && waiting[1].args.is_none(),
            "sealed args stay hidden"
        );
        assert!(tasks(&adapters, q, QueueList::Leased, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(QueueList::parse("retrying"), Some(QueueList::Retrying));
        assert_eq!(QueueList::parse("ready"), None);
    }
}
