//! Dead letters: list, show, replay and purge a queue's. Replay keeps the task id, starts again
//! at attempt 1, and counts replays in the `stem-replays` header (with `stem-replayed-at`).
//! Destructive operations never ask: a caller plans first ([`plan_replay`], or [`purge`] with
//! `dry_run`) and confirms however suits it, then acts.

use super::{OpsError, OpsResult};
use serde::Serialize;
use stem_adapters::{Adapters, DeadLetter};
use stem_protocol::now_ms;

/// The header counting how many times a task was replayed from the dead letters.
pub const REPLAYS_HEADER: &str = "stem-replays";
/// The header holding when it was last replayed (epoch ms).
pub const REPLAYED_AT_HEADER: &str = "stem-replayed-at";

/// Which dead letters of a queue to replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySelection {
    pub queue: String,
    /// At most this many, oldest first.
    pub limit: usize,
    /// Only this one.
    pub id: Option<String>,
    /// Only letters that died at or after this time (epoch ms).
    pub since: Option<i64>,
}

/// The letters a selection picks, split by whether they can be replayed at all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayPlan {
    pub queue: String,
    pub replayable: Vec<DeadLetter>,
    /// Malformed payloads: there is no envelope to publish again.
    pub not_replayable: Vec<DeadLetter>,
}

/// One letter published again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replayed {
    pub id: String,
    pub name: String,
    /// This replay's number (1 for the first).
    pub replay: u32,
}

/// What [`purge`] removed, or with `dry_run` would remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub count: u64,
    pub dry_run: bool,
}

/// Dead letters of `queue`, oldest first, at most `limit`.
pub async fn list(adapters: &Adapters, queue: &str, limit: usize) -> OpsResult<Vec<DeadLetter>> {
    Ok(adapters.admin.dead_letters(queue, limit).await?)
}

/// The dead letter `id` of `queue`.
pub async fn show(adapters: &Adapters, queue: &str, id: &str) -> OpsResult<DeadLetter> {
    adapters
        .admin
        .dead_letters(queue, usize::MAX)
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or_else(|| OpsError::DeadLetterNotFound {
            queue: queue.to_string(),
            id: id.to_string(),
        })
}

/// The letters `selection` picks; changes nothing.
pub async fn plan_replay(
    adapters: &Adapters,
    selection: &ReplaySelection,
) -> OpsResult<ReplayPlan> {
    let queue = &selection.queue;
    let mut letters = match &selection.id {
        Some(id) => vec![show(adapters, queue, id).await?],
        None => adapters.admin.dead_letters(queue, usize::MAX).await?,
    };
    letters.retain(|l| selection.since.is_none_or(|s| l.dead_at >= s));
    letters.truncate(selection.limit);
    let (replayable, not_replayable) = letters.into_iter().partition(|l| l.envelope.is_some());
    Ok(ReplayPlan {
        queue: queue.clone(),
        replayable,
        not_replayable,
    })
}

/// Publishes `letter` of `queue` again, atomically with removing it from the dead letters.
/// `None` when it is no longer there (replayed or purged meanwhile) or has no envelope, or when
/// it was published with `--id` and a live run of that id holds the id's lock: a replay is a
/// new run of the id, so it waits (left in the dead letters, with a warning) until that run is
/// over.
pub async fn replay_letter(
    adapters: &Adapters,
    queue: &str,
    letter: &DeadLetter,
) -> OpsResult<Option<Replayed>> {
    let Some(mut env) = letter.envelope.clone() else {
        return Ok(None);
    };
    let replay = letter.replay_count + 1;
    // A still-sealed envelope (this process has no encryption key) is bound to its attempt:
    // it keeps it, so the worker can open it.
    if env.sealed.is_none() {
        env.attempt = 1;
    }
    env.eta = None;
    env.headers
        .insert(REPLAYS_HEADER.into(), replay.to_string());
    env.headers
        .insert(REPLAYED_AT_HEADER.into(), now_ms().to_string());
    let by_id = super::unique::lock(&env).is_some_and(|(_, _, _, release)| release);
    if by_id {
        super::unique::new_run(&mut env);
        if let Some(held) = super::unique::claim(adapters, &env).await? {
            tracing::warn!(
                task = %letter.id,
                "not replayed: run {} of the id is live (replay it once that run is over)",
                held.run
            );
            return Ok(None);
        }
    }
    let replayed = adapters
        .admin
        .replay_dead_letter(queue, &letter.id, &env)
        .await?;
    if by_id {
        if replayed {
            super::unique::reset_record(adapters, &env).await;
        } else {
            super::unique::release(adapters, &env).await?;
        }
    }
    Ok(replayed.then(|| Replayed {
        id: letter.id.clone(),
        name: env.name,
        replay,
    }))
}

/// Replays every replayable letter of `plan`, in order; returns those that were.
pub async fn replay(adapters: &Adapters, plan: &ReplayPlan) -> OpsResult<Vec<Replayed>> {
    let mut done = Vec::new();
    for letter in &plan.replayable {
        done.extend(replay_letter(adapters, &plan.queue, letter).await?);
    }
    Ok(done)
}

/// Deletes every dead letter of `queue` for good; with `dry_run`, only counts them.
pub async fn purge(adapters: &Adapters, queue: &str, dry_run: bool) -> OpsResult<Purged> {
    let count = if dry_run {
        adapters.admin.counts(queue).await?.dead
    } else {
        adapters.admin.purge_dead_letters(queue).await?
    };
    Ok(Purged { count, dry_run })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::{dead_letter, memory};
    use crate::ops::OpsErrorKind;
    use std::time::Duration;

    fn everything(queue: &str) -> ReplaySelection {
        ReplaySelection {
            queue: queue.into(),
            limit: usize::MAX,
            id: None,
            since: None,
        }
    }

    #[tokio::test]
    async fn replay_keeps_the_id_and_counts_replays() {
        let adapters = memory("dlq-replay").await;
        let id = dead_letter(&adapters, "q").await;
        let letter = show(&adapters, "q", &id).await.expect("dead-lettered");
        assert_eq!(letter.replay_count, 0);

        let plan = plan_replay(&adapters, &everything("q"))
            .await
            .expect("plan");
        assert_eq!(plan.replayable.len(), 1);
        assert!(plan.not_replayable.is_empty());
        // Planning changes nothing.
        assert_eq!(list(&adapters, "q", 10).await.expect("list").len(), 1);

        let done = replay(&adapters, &plan).await.expect("replay");
        assert_eq!(
            done,
            vec![Replayed {
                id: id.clone(),
                name: "t".into(),
                replay: 1
            }]
        );
        assert!(list(&adapters, "q", 10).await.expect("list").is_empty());
        let got = adapters
            .broker
            .fetch(
                "w",
                &["q".into()],
                1,
                Duration::from_secs(30),
                Duration::from_secs(5),
            )
            .await
            .expect("fetch");
        let env = got[0].task().expect("an envelope");
        assert_eq!((env.id.as_str(), env.attempt), (id.as_str(), 1));
        assert_eq!(
            env.headers.get(REPLAYS_HEADER).map(String::as_str),
            Some("1")
        );

        // A second replay of the same letter finds nothing to do.
        assert_eq!(replay(&adapters, &plan).await.expect("replay"), vec![]);
    }

    #[tokio::test]
    async fn a_selection_filters_by_id_time_and_limit() {
        let adapters = memory("dlq-select").await;
        let first = dead_letter(&adapters, "q").await;
        let second = dead_letter(&adapters, "q").await;
        let ids = |p: &ReplayPlan| {
            p.replayable
                .iter()
                .map(|l| l.id.clone())
                .collect::<Vec<_>>()
        };

        let mut one = everything("q");
        one.limit = 1;
        assert_eq!(
            ids(&plan_replay(&adapters, &one).await.expect("plan")),
            [first]
        );
        let mut by_id = everything("q");
        by_id.id = Some(second.clone());
        assert_eq!(
            ids(&plan_replay(&adapters, &by_id).await.expect("plan")),
            [second]
        );
        let mut later = everything("q");
        later.since = Some(now_ms() + 60_000);
        assert!(plan_replay(&adapters, &later)
            .await
            .expect("plan")
            .replayable
            .is_empty());

        let mut missing = everything("q");
        missing.id = Some("nope".into());
        let err = plan_replay(&adapters, &missing)
            .await
            .expect_err("no such letter");
        assert_eq!(err.kind(), OpsErrorKind::NotFound);
        assert_eq!(err.to_string(), "no dead letter \"nope\" in queue \"q\"");
    }

    #[tokio::test]
    async fn purge_counts_on_a_dry_run_and_deletes_otherwise() {
        let adapters = memory("dlq-purge").await;
        dead_letter(&adapters, "q").await;
        dead_letter(&adapters, "q").await;
        let preview = purge(&adapters, "q", true).await.expect("dry run");
        assert_eq!(
            preview,
            Purged {
                count: 2,
                dry_run: true
            }
        );
        assert_eq!(list(&adapters, "q", 10).await.expect("list").len(), 2);
        let done = purge(&adapters, "q", false).await.expect("purge");
        assert_eq!(
            done,
            Purged {
                count: 2,
                dry_run: false
            }
        );
        assert!(list(&adapters, "q", 10).await.expect("list").is_empty());
    }
}
