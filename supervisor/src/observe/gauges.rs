//! The worker's gauges: what it holds (running, reserved), its pools' children, its RSS, and the
//! depth of the queues it consumes (ready, delayed, leased, dead letters) and the workflow runs by
//! state. The heartbeat loop and
//! a queue-count loop keep the latest values here; the meter's callbacks read them at export or
//! scrape time.

use opentelemetry::metrics::Meter;
use opentelemetry::KeyValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stem_adapters::{BrokerAdmin, QueueCounts, WorkflowStore};

#[derive(Default)]
struct Values {
    running: u64,
    reserved: u64,
    rss_bytes: u64,
    /// Children per runtime.
    pools: BTreeMap<String, u64>,
    queues: BTreeMap<String, QueueCounts>,
    /// Workflow runs by state (`stem.workflow.runs.current`).
    runs: BTreeMap<String, u64>,
}

/// The latest gauge values; cheap to clone.
#[derive(Clone, Default)]
pub struct Gauges(Arc<Mutex<Values>>);

impl Gauges {
    fn with<T>(&self, f: impl FnOnce(&mut Values) -> T) -> T {
        f(&mut self.0.lock().expect("gauges lock"))
    }

    /// Takes the values of a stats snapshot (the keys of `stem worker stats`).
    pub fn update_from_stats(&self, stats: &Value) {
        let n = |k: &str| stats[k].as_u64().unwrap_or(0);
        let pools: BTreeMap<String, u64> = stats["pools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["runtime"].as_str()?.to_string(), p["size"].as_u64()?)))
            .collect();
        self.with(|v| {
            v.running = n("in_flight");
            v.reserved = n("reserved");
            v.rss_bytes = n("rss_mb") * 1024 * 1024;
            v.pools = pools;
        });
    }

    /// Counts `queues` (and, when the manifest declares workflows, the runs by state) every
    /// `every`, until the process ends.
    pub async fn poll_queues(
        self,
        admin: Arc<dyn BrokerAdmin>,
        workflows: Option<Arc<dyn WorkflowStore>>,
        queues: Vec<String>,
        every: Duration,
    ) {
        loop {
            if let Some(store) = &workflows {
                match store.wf_counts().await {
                    Ok(counts) => self.with(|v| {
                        v.runs = counts
                            .into_iter()
                            .map(|(s, n)| (s.as_str().to_string(), n))
                            .collect()
                    }),
                    Err(e) => tracing::debug!("cannot count the workflow runs ({e})"),
                }
            }
            for q in &queues {
                match admin.counts(q).await {
                    Ok(c) => self.with(|v| v.queues.insert(q.clone(), c)),
                    Err(e) => {
                        tracing::debug!(queue = %q, "cannot count the queue ({e})");
                        None
                    }
                };
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Registers the observable gauges on `meter`.
    pub fn register(&self, meter: &Meter) {
        let g = self.clone();
        meter
            .u64_observable_gauge("stem.tasks.running")
            .with_description("Tasks running now")
            .with_callback(move |o| o.observe(g.with(|v| v.running), &[]))
            .build();
        let g = self.clone();
        meter
            .u64_observable_gauge("stem.tasks.reserved")
            .with_description("Deliveries leased and waiting for a run slot")
            .with_callback(move |o| o.observe(g.with(|v| v.reserved), &[]))
            .build();
        let g = self.clone();
        meter
            .u64_observable_gauge("stem.worker.memory.rss")
            .with_unit("By")
            .with_description("Resident memory of the worker process")
            .with_callback(move |o| o.observe(g.with(|v| v.rss_bytes), &[]))
            .build();
        let g = self.clone();
        meter
            .u64_observable_gauge("stem.pool.children")
            .with_description("Children in each runtime's pool")
            .with_callback(move |o| {
                for (runtime, n) in g.with(|v| v.pools.clone()) {
                    o.observe(n, &[KeyValue::new("runtime", runtime)]);
                }
            })
            .build();
        let g = self.clone();
        meter
            .u64_observable_gauge("stem.workflow.runs.current")
            .with_description("Workflow runs by state (suspended: waiting for a timer, an event, a call or a child)")
            .with_callback(move |o| {
                for (state, n) in g.with(|v| v.runs.clone()) {
                    o.observe(n, &[KeyValue::new("state", state)]);
                }
            })
            .build();
        let g = self.clone();
        meter
            .u64_observable_gauge("stem.queue.depth")
            .with_description(
                "Tasks in each consumed queue, by state (ready, delayed, leased, dead)",
            )
            .with_callback(move |o| {
                for (queue, c) in g.with(|v| v.queues.clone()) {
                    for (state, n) in [
                        ("ready", c.ready),
                        ("delayed", c.delayed),
                        ("leased", c.leased),
                        ("dead", c.dead),
                    ] {
                        o.observe(
                            n,
                            &[
                                KeyValue::new("queue", queue.clone()),
                                KeyValue::new("state", state),
                            ],
                        );
                    }
                }
            })
            .build();
    }
}
