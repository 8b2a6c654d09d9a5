//! Retrying a task that failed for good: the same task (name, args, kwargs, queue) enqueued
//! again under a new id, checked against the manifest when there is one. Only a task recorded
//! `failure` is retried; anything else is [`OpsError::NotFailed`] (a task still queued, with no
//! record yet, too); an id nothing knows is [`OpsError::NoRecord`].

use super::enqueue::{envelope, publish, EnqueueOptions, Enqueued};
use super::{results, OpsError, OpsResult};
use crate::manifest::LoadedManifest;
use stem_adapters::Adapters;
use stem_protocol::TaskState;

/// Enqueues the failed task `id` again; the answer names the new task.
pub async fn retry(
    adapters: &Adapters,
    manifest: Option<&LoadedManifest>,
    id: &str,
) -> OpsResult<Enqueued> {
    let Some(record) = results::get(adapters, id).await? else {
        // Queued and not yet run: it exists, and it has not failed.
        if adapters.admin.find_task(id).await?.is_some() {
            return Err(OpsError::NotFailed {
                id: id.into(),
                state: "pending".into(),
            });
        }
        return Err(OpsError::NoRecord(id.into()));
    };
    if record.state != TaskState::Failure {
        return Err(OpsError::NotFailed {
            id: id.into(),
            state: record.state.as_str().into(),
        });
    }
    let mut options = EnqueueOptions::new(&record.name);
    options.args = record.args;
    options.kwargs = record.kwargs;
    options.queue = Some(record.queue);
    publish(adapters, manifest, &envelope(&options, manifest)?).await
}
