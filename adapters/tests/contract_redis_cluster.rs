//! Runs the adapter contract suite against the Redis backend on a private three-master Redis
//! Cluster (`redis+cluster://`), each case under a fresh namespace; one cluster per test
//! process. Skips when `redis-server` is not installed.

#![cfg(feature = "redis")]

mod cluster_support;
mod redis_support;

use cluster_support::Cluster;
use std::sync::OnceLock;

/// The cluster of this process: its watchdogs stop it when the process ends.
fn cluster_url() -> Option<String> {
    static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| Cluster::start("contract_redis_cluster"))
        .as_ref()
        .map(Cluster::url)
}

stem_contract::contract_tests!(async {
    let url = tokio::task::spawn_blocking(cluster_url)
        .await
        .expect("start the cluster")?;
    Some(redis_support::open(&url, &redis_support::fresh_namespace()).await)
});
