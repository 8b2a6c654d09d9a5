//! Unique jobs: a publish that would duplicate a live task is a no-op that names the task
//! already there. The lock is the flow-control store's (`claim_unique`), so it holds across
//! producers on every machine:
//! - `--id ID`: one live run per id. Each publish of the id is a new run with its own token
//!   (`ID#NONCE`, the lock's holder and the `run` of its records); the lock goes when that run's
//!   final outcome is committed (the worker releases it, by token, after the final commit), and
//!   a lock whose run has a final record is stale and taken over. An earlier run's final record
//!   does not free the lock of a newer run. A new run of an id that has a record resets it to
//!   `pending` (one generation above the old record, so the old run's late writes are refused);
//! - `--unique-key KEY` (with `--unique-for` or the manifest's `unique_for`: for that window,
//!   also after the task finished; without a window: until it finishes);
//! - the manifest's `unique_for` alone: one task per name and arguments for the window.
//!
//! The lock travels in the envelope's headers, so the worker knows what to release.

use super::OpsResult;
use sha2::{Digest, Sha256};
use std::time::Duration;
use stem_adapters::{flow, Adapters};
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

/// The lock's key.
pub const KEY: &str = "stem-unique-key";
/// Who holds it: `TASK_ID#NONCE`, one per run (the records' `run`).
pub const HOLDER: &str = stem_protocol::record::RUN_HEADER;
/// Present when the lock goes once the task finishes.
pub const RELEASE: &str = "stem-unique-release";
/// How long a lock that waits for its task to finish lives at most.
const UNTIL_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long the `pending` record of a new run of a reused id is kept (a worker's own writes
/// then keep it for the worker's result TTL).
const RESET_TTL: Duration = Duration::from_secs(24 * 3600);

/// What a producer asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Uniqueness {
    /// The task id was given (`--id`).
    pub by_id: bool,
    pub key: Option<String>,
    /// The window (the option's, else the manifest's `unique_for`).
    pub window: Option<Duration>,
}

/// The live task that holds a lock a publish wanted.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// Its task id.
    pub id: String,
    /// Its run (the lock's holder).
    pub run: String,
}

/// Writes the lock `want` asks for into `env`'s headers (nothing when it asks for none).
pub fn apply(env: &mut TaskEnvelope, want: &Uniqueness) {
    let (key, ttl) = match (&want.key, want.window, want.by_id) {
        (Some(key), window, _) => (format!("key:{}:{key}", env.name), window),
        (None, Some(window), _) => (
            format!("args:{}:{}", env.name, args_digest(env)),
            Some(window),
        ),
        (None, None, true) => (format!("id:{}", env.id), None),
        (None, None, false) => return,
    };
    env.headers.insert(KEY.into(), key);
    new_run(env);
    match ttl {
        Some(window) => env
            .headers
            .insert("stem-unique-ttl-ms".into(), window.as_millis().to_string()),
        None => env.headers.insert(RELEASE.into(), "1".into()),
    };
}

/// Gives `env` a fresh run token (a new publish of it: a replay). Returns it.
pub fn new_run(env: &mut TaskEnvelope) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let run = format!("{}#{}", env.id, &nonce[..16]);
    env.headers.insert(HOLDER.into(), run.clone());
    run
}

fn args_digest(env: &TaskEnvelope) -> String {
    let canonical = serde_json::json!([env.args, env.kwargs]).to_string();
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The lock `env` carries: key, holder, how long, and whether it goes when the task finishes.
pub fn lock(env: &TaskEnvelope) -> Option<(&str, &str, Duration, bool)> {
    let key = env.headers.get(KEY)?;
    let holder = env.headers.get(HOLDER)?;
    let release = env.headers.contains_key(RELEASE);
    let ttl = env
        .headers
        .get("stem-unique-ttl-ms")
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(UNTIL_FINISHED);
    Some((key, holder, ttl, release))
}

/// Takes `env`'s lock, if it carries one. `Some(held)` when a live task holds it (the publish
/// must not happen); a lock whose run has a final record is taken over.
pub async fn claim(adapters: &Adapters, env: &TaskEnvelope) -> OpsResult<Option<Held>> {
    let Some((key, holder, ttl, release)) = lock(env) else {
        return Ok(None);
    };
    let other = if release {
        flow::claim_run(
            adapters.flow.as_ref(),
            adapters.backend.as_ref(),
            key,
            holder,
            ttl,
        )
        .await?
    } else {
        adapters.flow.claim_unique(key, holder, ttl, None).await?
    };
    Ok(other.map(|run| Held {
        id: flow::run_task_id(&run).to_string(),
        run,
    }))
}

/// After `env` was published: when its id has a record of another run (a reused id), that
/// record is reset to `pending` for this run, one generation above the old one, so `stem
/// result` and waiters follow the new run and the old run's late writes are refused. A record
/// this run's worker already wrote (a newer generation) stays.
/// Best effort: a failure is logged (the lock does not depend on it).
pub async fn reset_record(adapters: &Adapters, env: &TaskEnvelope) {
    let Some((_, holder, _, true)) = lock(env) else {
        return;
    };
    let reset = async {
        let Some(old) = adapters.backend.get(&env.id).await? else {
            return Ok(());
        };
        if old.run.as_deref() == Some(holder) {
            return Ok(());
        }
        let mut record = TaskRecord::pending(env);
        record.generation = old.generation.saturating_add(1);
        adapters.backend.set(&[record], RESET_TTL).await.map(drop)
    };
    if let Err(e) = reset.await {
        tracing::warn!(task = %env.id, "cannot reset the record of its new run to pending: {e}");
    }
}

/// The state of the live run `held`: its record's, or `pending` while the record is still an
/// earlier run's (or there is none yet).
pub fn held_state(held: &Held, record: Option<&TaskRecord>) -> TaskState {
    record
        .filter(|r| r.run.as_deref() == Some(held.run.as_str()) || r.run.is_none())
        .map_or(TaskState::Pending, |r| r.state)
}

/// Gives `env`'s lock back (its publish failed, or its task finished).
pub async fn release(adapters: &Adapters, env: &TaskEnvelope) -> OpsResult<()> {
    if let Some((key, holder, _, _)) = lock(env) {
        adapters.flow.release_unique(key, holder).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;

    fn with(want: Uniqueness, id: &str) -> TaskEnvelope {
        let mut env = TaskEnvelope::new("mail");
        env.id = id.into();
        apply(&mut env, &want);
        env
    }

    #[tokio::test]
    async fn an_id_is_one_live_task_until_it_finishes() {
        let adapters = memory("unique-id").await;
        let by_id = Uniqueness {
            by_id: true,
            ..Default::default()
        };
        let first = with(by_id.clone(), "job-1");
        assert_eq!(claim(&adapters, &first).await.unwrap(), None);
        let again = with(by_id.clone(), "job-1");
        assert_eq!(
            claim(&adapters, &again).await.unwrap().map(|h| h.id),
            Some("job-1".into())
        );
        assert_eq!(
            claim(&adapters, &with(by_id.clone(), "job-2"))
                .await
                .unwrap(),
            None
        );
        release(&adapters, &first).await.unwrap();
        assert_eq!(
            claim(&adapters, &again).await.unwrap(),
            None,
            "free once finished"
        );
    }

    async fn finish(adapters: &Adapters, env: &TaskEnvelope, generation: u64) {
        let mut record = TaskRecord::pending(env);
        record.state = TaskState::Success;
        record.generation = generation;
        adapters.backend.set(&[record], RESET_TTL).await.unwrap();
    }

    #[tokio::test]
    async fn an_earlier_runs_final_record_does_not_free_a_newer_runs_lock() {
        let adapters = memory("unique-runs").await;
        let by_id = Uniqueness {
            by_id: true,
            ..Default::default()
        };
        let first = with(by_id.clone(), "job-1");
        assert_eq!(claim(&adapters, &first).await.unwrap(), None);
        finish(&adapters, &first, 10).await;
        // Its worker stopped before releasing: the lock of a finished run is taken over.
        let second = with(by_id.clone(), "job-1");
        assert_eq!(claim(&adapters, &second).await.unwrap(), None);
        reset_record(&adapters, &second).await;
        let reset = adapters.backend.get("job-1").await.unwrap().unwrap();
        assert_eq!(reset.state, TaskState::Pending, "the new run's record");
        assert_eq!(
            (reset.generation, reset.run.as_deref()),
            (11, lock(&second).map(|l| l.1))
        );
        // The first run's late write is refused by the reset record.
        finish(&adapters, &first, 10).await;
        assert_eq!(
            adapters.backend.get("job-1").await.unwrap().unwrap().state,
            TaskState::Pending
        );
        // Every further producer is a duplicate while the second run is live, also before its
        // reset (the old run's success is still the record).
        let third = with(by_id.clone(), "job-1");
        let held = claim(&adapters, &third).await.unwrap().expect("live");
        assert_eq!(held_state(&held, Some(&reset)), TaskState::Pending);
        assert_eq!(held.run, lock(&second).unwrap().1);
        // The first run's release does not free the second run's lock.
        release(&adapters, &first).await.unwrap();
        assert!(claim(&adapters, &third).await.unwrap().is_some());
        // Once the second run's final record is there, the next producer takes over.
        finish(&adapters, &second, 20).await;
        assert_eq!(claim(&adapters, &third).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_window_dedups_by_key_or_arguments_whatever_the_id() {
        let adapters = memory("unique-window").await;
        let keyed = Uniqueness {
            key: Some("report-7".into()),
            window: Some(Duration::from_secs(600)),
            ..Default::default()
        };
        assert_eq!(
            claim(&adapters, &with(keyed.clone(), "a")).await.unwrap(),
            None
        );
        assert_eq!(
            claim(&adapters, &with(keyed, "b"))
                .await
                .unwrap()
                .map(|h| h.id),
            Some("a".into())
        );
        let by_args = Uniqueness {
            window: Some(Duration::from_secs(600)),
            ..Default::default()
        };
        let mut one = TaskEnvelope::new("mail");
        one.args = vec![serde_json::json!(1)];
        let mut two = one.clone();
        two.id = "other".into();
        let mut three = one.clone();
        three.args = vec![serde_json::json!(2)];
        for env in [&mut one, &mut two, &mut three] {
            apply(env, &by_args);
        }
        assert!(
            !one.headers.contains_key(RELEASE),
            "a window outlives the task"
        );
        assert_eq!(claim(&adapters, &one).await.unwrap(), None);
        assert_eq!(
            claim(&adapters, &two).await.unwrap().map(|h| h.id),
            Some(one.id.clone())
        );
        assert_eq!(
            claim(&adapters, &three).await.unwrap(),
            None,
            "other arguments"
        );
    }
}
