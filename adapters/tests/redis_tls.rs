//! `rediss://` against a private TLS-only `redis-server` with a self-signed certificate: refused
//! by default, accepted with `#insecure` (what `STEM_TLS_ALLOW_INSECURE` sets) and when the
//! certificate is trusted through OpenSSL's `SSL_CERT_FILE`. Runs when `STEM_TEST_REDIS_URL` is
//! set and `redis-server` (built with TLS) and `openssl` are on the PATH.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, options, redis_url};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use stem_protocol::TaskEnvelope;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn self_signed(dir: &Path) -> bool {
    Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start_tls_server(dir: &Path, port: u16) -> Option<Server> {
    let child = Command::new("redis-server")
        .args(["--port", "0", "--bind", "127.0.0.1", "--save", ""])
        .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(dir.join("cert.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("key.pem"))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_insecure_or_a_trusted_certificate() {
    const TEST: &str = "rediss_with_insecure_or_a_trusted_certificate";
    if redis_url(TEST).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    if !self_signed(dir.path()) {
        eprintln!("{TEST}: openssl could not make a certificate: skipping");
        return;
    }
    let Some(_server) = start_tls_server(dir.path(), port) else {
        eprintln!("{TEST}: no TLS-capable redis-server: skipping");
        return;
    };
    let url = format!("rediss://localhost:{port}/0");
    let ns = fresh_namespace();

    let refused = stem_adapters::redis::open(&url, &options(&ns)).await;
    let err = refused
        .err()
        .expect("a self-signed server is refused by default");
    eprintln!("{TEST}: refused as expected: {err}");
    assert_eq!(err.kind(), stem_adapters::ErrorKind::Config, "{err}");

    let insecure = stem_adapters::redis::open(&format!("{url}#insecure"), &options(&ns))
        .await
        .expect("#insecure connects");
    roundtrip(&insecure).await;

    // Trusting the certificate the OpenSSL way makes the verified connection work.
    std::env::set_var("SSL_CERT_FILE", dir.path().join("cert.pem"));
    let verified = stem_adapters::redis::open(&url, &options(&ns))
        .await
        .expect("trusted certificate connects");
    roundtrip(&verified).await;
}

async fn roundtrip(store: &std::sync::Arc<dyn stem_adapters::connect::Store>) {
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
