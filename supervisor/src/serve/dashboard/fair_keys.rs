//! A queue page's fairness section: the fairness keys among the next tasks to be served (the
//! first [`SCAN`] waiting, in fetch order) and among the leased ones, top keys first; and the
//! time the fleet's deliveries waited at flow-control gates, by limit, from the heartbeats.

use super::html::{dur, esc, list};
use crate::ops::queue_tasks::{self, QueueList};
use crate::ops::workers::WorkerStatus;
use crate::serve::ApiError;
use std::collections::{BTreeMap, HashMap};
use stem_adapters::connect::Adapters;

/// How many waiting and leased tasks are looked at.
const SCAN: usize = 1000;
/// Keys shown.
const TOP: usize = 10;

/// The section, or nothing when no scanned task has a fairness key.
pub async fn section(adapters: &Adapters, queue: &str) -> Result<String, ApiError> {
    let waiting = queue_tasks::tasks(adapters, queue, QueueList::Waiting, SCAN).await?;
    let leased = queue_tasks::tasks(adapters, queue, QueueList::Leased, SCAN).await?;
    let mut keys: HashMap<String, (usize, usize)> = HashMap::new();
    for t in &waiting {
        if let Some(k) = &t.fair_key {
            keys.entry(k.clone()).or_default().0 += 1;
        }
    }
    for t in &leased {
        if let Some(k) = &t.fair_key {
            keys.entry(k.clone()).or_default().1 += 1;
        }
    }
    if keys.is_empty() {
        return Ok(String::new());
    }
    let mut top: Vec<(String, (usize, usize))> = keys.into_iter().collect();
    top.sort_by(|a, b| {
        (b.1 .0 + b.1 .1)
            .cmp(&(a.1 .0 + a.1 .1))
            .then(a.0.cmp(&b.0))
    });
    let more = top.len().saturating_sub(TOP);
    let rows: Vec<Vec<String>> = top
        .into_iter()
        .take(TOP)
        .map(|(k, (w, l))| {
            vec![
                format!("<code>{}</code>", esc(&k)),
                w.to_string(),
                l.to_string(),
            ]
        })
        .collect();
    let mut out = format!(
        "<section><h2>Fairness keys</h2><p class=\"muted\">Among the next {} waiting (served \
         round-robin across keys, see docs/fairness.md) and the {} leased.</p>{}",
        waiting.len(),
        leased.len(),
        list("fair-keys", &["key", "waiting", "leased"], &rows, "")
    );
    if more > 0 {
        out.push_str(&format!("<p class=\"muted\">and {more} more keys</p>"));
    }
    out.push_str("</section>");
    Ok(out)
}

/// The time deliveries waited at gates, by limit, summed over the live workers' heartbeats.
pub fn throttled(fleet: &[WorkerStatus]) -> String {
    let mut by_limit: BTreeMap<String, u64> = BTreeMap::new();
    for w in fleet.iter().filter(|w| !w.lapsed) {
        if let Some(m) = w.heartbeat.stats["throttled_ms"].as_object() {
            for (limit, ms) in m {
                *by_limit.entry(limit.clone()).or_default() += ms.as_u64().unwrap_or(0);
            }
        }
    }
    if by_limit.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = by_limit
        .into_iter()
        .map(|(limit, ms)| vec![format!("<code>{}</code>", esc(&limit)), dur(ms as i64)])
        .collect();
    format!(
        "<section><h2>Throttled</h2><p class=\"muted\">Time deliveries waited at flow-control \
         gates since each live worker started, by limit.</p>{}</section>",
        list("throttled", &["limit", "waited"], &rows, "")
    )
}
