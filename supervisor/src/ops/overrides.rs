//! A producer's per-task overrides of the manifest: `time_limit` and `soft_time_limit`
//! (which may only lower the manifest's: a higher one is refused here when the manifest is at
//! hand, and counts only up to the manifest's at the worker, see
//! `stem_protocol::overrides`) and `ignore_result`.

use super::{OpsError, OpsResult};
use crate::manifest::LoadedManifest;
use std::time::Duration;
use stem_protocol::envelope::MAX_TIME_LIMIT_MS;
use stem_protocol::TaskEnvelope;

/// The overrides one producer asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    pub time_limit: Option<Duration>,
    pub soft_time_limit: Option<Duration>,
    pub ignore_result: bool,
}

fn invalid(field: &str, message: String) -> OpsError {
    OpsError::InvalidSpec {
        field: field.to_string(),
        message,
    }
}

/// Sets the envelope's overrides, checked: each limit from 1 ms (a fraction of a millisecond
/// counts as one) to ten years, and not above the manifest's for the task. A soft limit not
/// below the hard one is taken (it has no effect: the worker drops it).
pub fn apply(
    env: &mut TaskEnvelope,
    o: &Overrides,
    manifest: Option<&LoadedManifest>,
) -> OpsResult<()> {
    let task = manifest.and_then(|m| m.effective(&env.name));
    let limits = [
        (
            "time_limit",
            o.time_limit,
            task.as_ref().and_then(|t| t.time_limit),
        ),
        (
            "soft_time_limit",
            o.soft_time_limit,
            task.as_ref().and_then(|t| t.soft_time_limit),
        ),
    ];
    let mut ms = [None, None];
    for (i, (field, asked, ceiling)) in limits.into_iter().enumerate() {
        let Some(asked) = asked else { continue };
        let value = u64::try_from(asked.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        if value == 0 || value > MAX_TIME_LIMIT_MS {
            return Err(invalid(
                field,
                format!("expected from 1ms to ten years, got {asked:?}"),
            ));
        }
        if let Some(ceiling) = ceiling.filter(|c| asked > *c) {
            return Err(invalid(
                field,
                format!(
                    "{asked:?} is above the manifest's {field} for {} ({ceiling:?}): an enqueue can only lower it",
                    env.name
                ),
            ));
        }
        ms[i] = Some(value);
    }
    env.time_limit_ms = ms[0];
    env.soft_time_limit_ms = ms[1];
    env.ignore_result = o.ignore_result;
    Ok(())
}
