//! `rediss+cluster://` on a private TLS-only three-master Redis Cluster (clients and cluster
//! bus over TLS, certificates from the example's `make-certs.sh`): with `STEM_TLS_CA_CERT` the
//! store connects to every node and works across the shards; trusting only the system store it
//! is refused with one line naming the certificate problem; `#insecure` connects without
//! checks. Skips when `redis-server` or openssl is not installed.

#![cfg(feature = "redis")]

mod cluster_support;
mod redis_support;
mod tls_support;

use cluster_support::Cluster;
use std::time::Duration;
use stem_adapters::{AdapterError, ErrorKind};
use stem_protocol::TaskEnvelope;

const VARS: &[&str] = &[
    "STEM_TLS_CA_CERT",
    "STEM_TLS_CLIENT_CERT",
    "STEM_TLS_CLIENT_KEY",
    "STEM_TLS_ALLOW_INSECURE",
    "SSL_CERT_FILE",
];

async fn open_with(
    url: &str,
    set: &[(&str, String)],
) -> Result<std::sync::Arc<dyn stem_adapters::connect::Store>, AdapterError> {
    for name in VARS {
        std::env::remove_var(name);
    }
    for (name, value) in set {
        std::env::set_var(name, value);
    }
    let options = redis_support::options(&redis_support::fresh_namespace());
    stem_adapters::redis::open(url, &options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_cluster_uses_the_tls_settings() {
    let certs = tempfile::tempdir().expect("a temp dir");
    if !tls_support::make_certs("rediss_cluster", certs.path()) {
        return;
    }
    let Some(cluster) = Cluster::start_tls("rediss_cluster", certs.path()) else {
        return;
    };
    let url = cluster.url();
    assert!(url.starts_with("rediss+cluster://"), "{url}");
    let ca = certs.path().join("ca.pem").display().to_string();
    let store = open_with(&url, &[("STEM_TLS_CA_CERT", ca)])
        .await
        .expect("connects with the CA");
    let names = ["a", "b", "c", "d"];
    let tasks: Vec<TaskEnvelope> = names
        .iter()
        .map(|q| {
            let mut env = TaskEnvelope::new("noop");
            env.queue = q.to_string();
            env
        })
        .collect();
    store.publish(&tasks).await.expect("publish over TLS");
    let queues: Vec<String> = names.iter().map(|q| q.to_string()).collect();
    let got = store
        .fetch("w", &queues, 10, Duration::from_secs(60), Duration::ZERO)
        .await
        .expect("fetch over TLS");
    assert_eq!(got.len(), 4, "one task per queue");
    store.ack(&got).await.expect("ack over TLS");

    let err = open_with(&url, &[])
        .await
        .err()
        .expect("refused without the CA");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let text = err.to_string();
    eprintln!("without the CA: refused: {text}");
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");

    let insecure = open_with(&format!("{url}#insecure"), &[])
        .await
        .expect("#insecure connects without checks");
    stem_adapters::Broker::ping(insecure.as_ref())
        .await
        .expect("ping with #insecure");
}
