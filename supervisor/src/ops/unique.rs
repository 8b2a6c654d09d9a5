//! Unique jobs: a publish that would duplicate a live task is a no-op that names the task
//! already there. The lock is the flow-control store's (`claim_unique`), so it holds across
//! producers on every machine:
//! - `--id ID`: one live task per id; the lock goes when the task finishes (the worker releases
//!   it after the final commit), and a lock whose task has a final record is stale and taken over;
//! - `--unique-key KEY` (with `--unique-for` or the manifest's `unique_for`: for that window,
//!   also after the task finished; without a window: until it finishes);
//! - the manifest's `unique_for` alone: one task per name and arguments for the window.
//!
//! The lock travels in the envelope's headers, so the worker knows what to release.

use super::OpsResult;
use sha2::{Digest, Sha256};
use std::time::Duration;
use stem_adapters::Adapters;
use stem_protocol::TaskEnvelope;

/// The lock's key.
pub const KEY: &str = "stem-unique-key";
/// Who holds it: `TASK_ID#NONCE`.
pub const HOLDER: &str = "stem-unique-holder";
/// Present when the lock goes once the task finishes.
pub const RELEASE: &str = "stem-unique-release";
/// How long a lock that waits for its task to finish lives at most.
const UNTIL_FINISHED: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a producer asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Uniqueness {
    /// The task id was given (`--id`).
    pub by_id: bool,
    pub key: Option<String>,
    /// The window (the option's, else the manifest's `unique_for`).
    pub window: Option<Duration>,
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
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    env.headers.insert(KEY.into(), key);
    env.headers
        .insert(HOLDER.into(), format!("{}#{}", env.id, &nonce[..12]));
    match ttl {
        Some(window) => env
            .headers
            .insert("stem-unique-ttl-ms".into(), window.as_millis().to_string()),
        None => env.headers.insert(RELEASE.into(), "1".into()),
    };
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

/// Takes `env`'s lock, if it carries one. `Some(id)` when a live task `id` holds it (the
/// publish must not happen); a lock left by a task that has finished is taken over.
pub async fn claim(adapters: &Adapters, env: &TaskEnvelope) -> OpsResult<Option<String>> {
    let Some((key, holder, ttl, release)) = lock(env) else {
        return Ok(None);
    };
    for _ in 0..2 {
        let Some(other) = adapters.flow.claim_unique(key, holder, ttl).await? else {
            return Ok(None);
        };
        let existing = other.split('#').next().unwrap_or(&other).to_string();
        let finished = release
            && adapters
                .backend
                .get(&existing)
                .await?
                .is_some_and(|r| r.state.is_terminal());
        if !finished {
            return Ok(Some(existing));
        }
        // Its task finished but the lock was not released (the worker stopped in between).
        adapters.flow.release_unique(key, &other).await?;
    }
    Ok(None)
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
            claim(&adapters, &again).await.unwrap(),
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
            claim(&adapters, &with(keyed, "b")).await.unwrap(),
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
        assert_eq!(claim(&adapters, &two).await.unwrap(), Some(one.id.clone()));
        assert_eq!(
            claim(&adapters, &three).await.unwrap(),
            None,
            "other arguments"
        );
    }
}
