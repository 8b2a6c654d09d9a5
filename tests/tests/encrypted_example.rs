//! The encrypted-payload example (`examples/encrypted_payload/run.sh`, run in place with this
//! build's `stem`): a private TLS-only Redis that requires client certificates, a worker and a
//! producer with signing and encryption over mutual TLS, a client without a certificate
//! refused, three card numbers charged, and none of them readable in any Redis key. Runs when
//! `STEM_TEST_REDIS_URL` is set (the switch of every Redis suite; the example starts its own
//! server) and `redis-server`, `redis-cli` and `openssl` are on the PATH.

use std::process::Command;
use stem_e2e::{repo_root, stem_bin};

#[test]
fn encrypted_payload_example_over_mutual_tls() {
    if std::env::var("STEM_TEST_REDIS_URL").is_err() {
        eprintln!("skipping: STEM_TEST_REDIS_URL is not set");
        return;
    }
    let script = repo_root().join("examples/encrypted_payload/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("STEM_BIN", stem_bin())
        .env_remove("STEM_RESULT_BACKEND_URL")
        .env_remove("STEM_MANIFEST")
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("== ok"),
        "run.sh failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("no client certificate"), "{stdout}");
    assert_eq!(
        stdout.matches("\"state\":\"success\"").count(),
        3,
        "{stdout}"
    );
}
