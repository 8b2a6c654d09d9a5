//! Debounced enqueues (a task with `debounce` in the manifest): each enqueue is put into its
//! key's burst in the broker's store (`FlowControl::debounce_put`, the latest envelope encoded
//! by the codec, so signed and sealed like any payload); only the enqueue that opens a burst
//! publishes a task — the burst's one run, with `debounce` set to the key and due when the
//! burst is. The worker asks the store for the latest envelope before running it
//! (`worker/debounce.rs`). Every enqueue of a burst answers with the burst's task id, as a
//! duplicate after the first. The SQL `enqueue()` function of Postgres does not debounce.

use super::enqueue::Enqueued;
use super::OpsResult;
use crate::manifest::LoadedManifest;
use stem_adapters::codec;
use stem_adapters::Adapters;
use stem_protocol::fairness::Debounce;
use stem_protocol::{TaskEnvelope, TaskState};

/// The debounce of `env`'s task in `manifest`, if it has one.
pub fn of(manifest: Option<&LoadedManifest>, env: &TaskEnvelope) -> Option<Debounce> {
    manifest?.effective(&env.name)?.flow.debounce
}

/// Puts `env` into its burst; publishes the burst's task when `env` opens it.
pub async fn publish(
    adapters: &Adapters,
    debounce: &Debounce,
    env: &TaskEnvelope,
) -> OpsResult<Enqueued> {
    let key = debounce.key_of(&env.name, env);
    let mut run = env.clone();
    run.debounce = Some(key.clone());
    let payload = codec::encode_envelope(&run);
    let put = adapters
        .flow
        .debounce_put(&key, &run.id, &payload, debounce.window, debounce.max_wait)
        .await?;
    if put.first {
        // The stored envelope is the one that runs; this one only stands for it until due.
        run.eta = Some(put.due);
        if let Err(e) = adapters.broker.publish(std::slice::from_ref(&run)).await {
            // No task stands for the burst: forget it, so the next enqueue opens a new one.
            let _ = adapters.flow.debounce_done(&key, &run.id).await;
            return Err(e.into());
        }
    }
    Ok(Enqueued {
        id: put.id,
        queue: env.queue.clone(),
        state: TaskState::Pending,
        duplicate: !put.first,
    })
}
