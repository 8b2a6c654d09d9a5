//! What a worker needs to run: the manifest, the adapters, its queues and its tunables.

use crate::manifest::LoadedManifest;
use crate::telemetry::settings::TelemetryConfig;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::Adapters;

#[derive(Clone)]
pub struct WorkerConfig {
    pub manifest: Arc<LoadedManifest>,
    pub adapters: Adapters,
    pub worker_id: String,
    pub queues: Vec<String>,
    pub concurrency: usize,
    /// Deliveries leased ahead of free run slots (held reserved, leases kept alive): fixed by
    /// `--prefetch`, else adaptive (`window.rs`).
    pub prefetch: super::window::Prefetch,
    /// Lease (visibility timeout) of a fetched task; extended every third of it while running.
    pub lease: Duration,
    pub result_ttl: Duration,
    /// Deliveries of one task beyond this count send it to the dead letters as poison.
    pub max_deliveries: u32,
    /// TERM-to-KILL grace of `revoke --terminate`.
    pub terminate_grace: Duration,
    pub heartbeat_interval: Duration,
    /// Drain the queues and exit: stop once a fetch finds nothing and no task runs.
    pub burst: bool,
    /// Broker and result backend are one store (same URL): outcomes and acks can commit together.
    pub shared_store: bool,
    /// Metrics and traces: exporters and the scrape endpoint.
    pub telemetry: TelemetryConfig,
}

impl WorkerConfig {
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
    pub const DEFAULT_RESULT_TTL: Duration = Duration::from_secs(24 * 3600);
    pub const DEFAULT_MAX_DELIVERIES: u32 = 10;
    pub const DEFAULT_TERMINATE_GRACE: Duration = Duration::from_secs(5);
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(2);
}
