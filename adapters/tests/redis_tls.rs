//! `rediss://` against a private TLS-only `redis-server` that requires client certificates
//! (`--tls-auth-clients yes`), with a CA, a client and a stranger made by the example's
//! `make-certs.sh`: the right CA and certificate connect; no certificate, a certificate from
//! another CA, or trusting the wrong CA are refused with one clear line; the system store
//! (`SSL_CERT_FILE`) and `STEM_TLS_ALLOW_INSECURE` work. Runs when `STEM_TEST_REDIS_URL` is set
//! and `redis-server` (built with TLS) and `openssl` are on the PATH. The cases share one test
//! because the options are process-wide environment variables.

#![cfg(feature = "redis")]

mod redis_support;
mod tls_support;

use redis_support::{fresh_namespace, options, redis_url};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use stem_adapters::connect::Store;
use stem_adapters::{AdapterError, ErrorKind};
use stem_protocol::TaskEnvelope;
use tls_support::{free_port, make_certs, redis_tls};

const VARS: [&str; 5] = [
    "STEM_TLS_CA_CERT",
    "STEM_TLS_CLIENT_CERT",
    "STEM_TLS_CLIENT_KEY",
    "STEM_TLS_ALLOW_INSECURE",
    "SSL_CERT_FILE",
];

/// Opens the store with exactly the variables `set` (files relative to `dir`).
async fn open_with(
    url: &str,
    dir: &Path,
    set: &[(&str, &str)],
) -> Result<Arc<dyn Store>, AdapterError> {
    for name in VARS {
        std::env::remove_var(name);
    }
    for (name, value) in set {
        let value = if value.ends_with(".pem") || value.ends_with(".key") {
            dir.join(value).display().to_string()
        } else {
            value.to_string()
        };
        std::env::set_var(name, value);
    }
    stem_adapters::redis::open(url, &options(&fresh_namespace())).await
}

fn refused(case: &str, result: Result<Arc<dyn Store>, AdapterError>, says: &[&str]) {
    let err = result
        .err()
        .unwrap_or_else(|| panic!("{case}: connected, expected a refusal"));
    eprintln!("{case}: refused: {err}");
    assert_eq!(err.kind(), ErrorKind::Config, "{case}: {err}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "{case}: one line: {text}");
    for word in says {
        assert!(text.contains(word), "{case}: {word:?} missing from: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_accepts_the_right_identity_and_refuses_the_rest() {
    const TEST: &str = "mutual_tls_accepts_the_right_identity_and_refuses_the_rest";
    if redis_url(TEST).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_certs(TEST, dir.path()) {
        return;
    }
    let port = free_port();
    let Some(_server) = redis_tls(dir.path(), port, true) else {
        eprintln!("{TEST}: no TLS-capable redis-server: skipping");
        return;
    };
    let url = format!("rediss://localhost:{port}/0");
    let at = dir.path();
    let client = [
        ("STEM_TLS_CLIENT_CERT", "client.pem"),
        ("STEM_TLS_CLIENT_KEY", "client.key"),
    ];
    let ca = ("STEM_TLS_CA_CERT", "ca.pem");

    let store = open_with(&url, at, &[ca, client[0], client[1]])
        .await
        .expect("right CA and client");
    roundtrip(&store).await;

    refused(
        "system store only",
        open_with(&url, at, &[]).await,
        &["TLS", "localhost"],
    );
    refused(
        "no client certificate",
        open_with(&url, at, &[ca]).await,
        &["STEM_TLS_CLIENT_CERT", "no client certificate"],
    );
    refused(
        "a stranger's certificate",
        open_with(
            &url,
            at,
            &[
                ca,
                ("STEM_TLS_CLIENT_CERT", "other-client.pem"),
                ("STEM_TLS_CLIENT_KEY", "other-client.key"),
            ],
        )
        .await,
        &["other-client.pem"],
    );
    refused(
        "trusting the wrong CA",
        open_with(
            &url,
            at,
            &[("STEM_TLS_CA_CERT", "other-ca.pem"), client[0], client[1]],
        )
        .await,
        &["other-ca.pem"],
    );
    refused(
        "a certificate without its key",
        open_with(&url, at, &[ca, client[0]]).await,
        &["STEM_TLS_CLIENT_KEY"],
    );

    // The system trust store honours SSL_CERT_FILE; insecure skips the check of the server.
    let store = open_with(
        &url,
        at,
        &[("SSL_CERT_FILE", "ca.pem"), client[0], client[1]],
    )
    .await
    .expect("CA through SSL_CERT_FILE");
    roundtrip(&store).await;
    let store = open_with(
        &url,
        at,
        &[("STEM_TLS_ALLOW_INSECURE", "true"), client[0], client[1]],
    )
    .await
    .expect("insecure with a client certificate");
    roundtrip(&store).await;
}

async fn roundtrip(store: &Arc<dyn Store>) {
    let env = TaskEnvelope::new("over-tls");
    store.publish(std::slice::from_ref(&env)).await.unwrap();
    let got = store
        .fetch(
            "c",
            &["default".to_string()],
            1,
            Duration::from_secs(30),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task_id(), env.id);
    store.ack(&got).await.unwrap();
}
