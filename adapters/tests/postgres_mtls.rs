//! Postgres over mutual TLS against a private cluster started in the test (run as the
//! `postgres` user; `hostssl … clientcert=verify-ca`, certificates from the example's
//! `make-certs.sh`): `sslmode=verify-full` with `sslrootcert`, `sslcert` and `sslkey` connects;
//! no client certificate, a certificate from another CA, or trusting the wrong CA is refused
//! with one clear line naming the server and the options. Runs when `STEM_TEST_POSTGRES_URL` is
//! set (the suites' switch for Postgres) and this machine can run a private cluster.

mod tls_support;

use std::path::Path;
use stem_adapters::{postgres, AdapterError, ConnectOptions};
use tls_support::{free_port, make_certs, postgres_mtls};

fn url(port: u16, dir: &Path, query: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| match *k {
            "sslmode" => format!("{k}={v}"),
            _ => format!("{k}={}", dir.join(v).display()),
        })
        .collect();
    format!(
        "postgres://postgres@127.0.0.1:{port}/postgres?{}",
        pairs.join("&")
    )
}

fn refused(case: &str, result: Result<Vec<String>, AdapterError>, says: &[&str]) {
    let err = result.expect_err(case);
    eprintln!("{case}: refused: {err}");
    let text = err.to_string();
    assert!(!text.contains('\n'), "{case}: one line: {text}");
    assert!(
        text.contains("127.0.0.1:"),
        "{case}: names the server: {text}"
    );
    for word in says {
        assert!(text.contains(word), "{case}: {word:?} missing from: {text}");
    }
}

#[tokio::test]
async fn verify_full_with_a_client_certificate() {
    const TEST: &str = "verify_full_with_a_client_certificate";
    if std::env::var("STEM_TEST_POSTGRES_URL").is_err() {
        eprintln!("{TEST}: STEM_TEST_POSTGRES_URL is not set: skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if !make_certs(TEST, dir.path()) {
        return;
    }
    let port = free_port();
    let _server = match postgres_mtls(dir.path(), port) {
        Ok(server) => server,
        Err(why) => {
            eprintln!("{TEST}: cannot run a private postgres here ({why}): skipping");
            return;
        }
    };
    let at = dir.path();
    let options = ConnectOptions {
        namespace: "stem_mtls".to_string(),
    };
    let full = ("sslmode", "verify-full");
    let ca = ("sslrootcert", "ca.pem");
    let (cert, key) = (("sslcert", "client.pem"), ("sslkey", "client.key"));

    let applied = postgres::migrate(&url(port, at, &[full, ca, cert, key]), &options)
        .await
        .expect("verify-full with the right CA and client certificate");
    assert!(!applied.is_empty(), "a fresh cluster gets every migration");
    let store = postgres::open(&url(port, at, &[full, ca, cert, key]), &options)
        .await
        .expect("the store opens over mutual TLS");
    drop(store);

    refused(
        "no client certificate",
        postgres::migrate(&url(port, at, &[full, ca]), &options).await,
        &["certificate", "no client certificate"],
    );
    refused(
        "a stranger's certificate",
        postgres::migrate(
            &url(
                port,
                at,
                &[
                    full,
                    ca,
                    ("sslcert", "other-client.pem"),
                    ("sslkey", "other-client.key"),
                ],
            ),
            &options,
        )
        .await,
        &["other-client.pem"],
    );
    refused(
        "trusting the wrong CA",
        postgres::migrate(
            &url(
                port,
                at,
                &[full, ("sslrootcert", "other-ca.pem"), cert, key],
            ),
            &options,
        )
        .await,
        &["UnknownIssuer", "other-ca.pem"],
    );
    // `require` encrypts without checking the server: the wrong CA does not matter then.
    postgres::migrate(
        &url(port, at, &[("sslmode", "require"), cert, key]),
        &options,
    )
    .await
    .expect("require with a client certificate");
}
