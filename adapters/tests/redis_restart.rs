//! Redis itself restarted under load: a private `redis-server` (AOF on, so acknowledged writes are
//! durable) is killed with SIGKILL and started again on the same port while a consumer drains
//! and a producer publishes. Every task whose publish returned Ok is delivered afterwards.
//! Runs when `STEM_TEST_REDIS_URL` is set and `redis-server` is on the PATH.

#![cfg(feature = "redis")]

mod redis_support;

use redis_support::{fresh_namespace, open, redis_url};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stem_protocol::TaskEnvelope;

/// A private Redis server, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(port: u16, dir: tempfile::TempDir) -> Option<Server> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        Some(Server { child, port, dir })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(client) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                    let pong: redis::RedisResult<String> =
                        redis::cmd("PING").query_async(&mut conn).await;
                    if pong.is_ok() {
                        return;
                    }
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, then the same server again on the same port and data directory.
    fn crash_and_restart(mut self) -> Server {
        self.child.kill().expect("kill redis-server");
        self.child.wait().expect("reap redis-server");
        let (port, dir) = (
            self.port,
            std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()),
        );
        Server::start(port, dir).expect("restart redis-server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_published_task_is_lost_when_redis_restarts() {
    if redis_url("no_published_task_is_lost_when_redis_restarts").is_none() {
        return;
    }
    let Some(server) = Server::start(free_port(), tempfile::tempdir().unwrap()) else {
        eprintln!(
            "no_published_task_is_lost_when_redis_restarts: no redis-server on PATH: skipping"
        );
        return;
    };
    server.wait_ready().await;
    let url = server.url();
    let ns = fresh_namespace();
    let store = open(&url, &ns).await;

    let published: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let consumer = {
        let (store, seen, stop) = (store.clone(), seen.clone(), stop.clone());
        tokio::spawn(async move {
            let queues = vec!["default".to_string()];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let got = match store
                    .fetch(
                        "c1",
                        &queues,
                        5,
                        Duration::from_secs(1),
                        Duration::from_millis(200),
                    )
                    .await
                {
                    Ok(got) => got,
                    Err(e) => {
                        assert!(e.is_transient(), "fetch: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Delivered is what counts (at least once): an ack lost to the crash means the
                // task comes back after its lease, but an ack applied whose answer the crash
                // lost removes it for good, so a task is seen when it is fetched.
                seen.lock().unwrap().extend(got.iter().map(|d| d.task_id()));
                let _ = store.ack(&got).await;
            }
        })
    };

    let publish_batches = |store: Arc<dyn stem_adapters::connect::Store>, n: usize| {
        let published = published.clone();
        async move {
            for _ in 0..n {
                let batch: Vec<_> = (0..10).map(|_| TaskEnvelope::new("noop")).collect();
                match store.publish(&batch).await {
                    Ok(()) => published
                        .lock()
                        .unwrap()
                        .extend(batch.iter().map(|t| t.id.clone())),
                    Err(e) => assert!(e.is_transient(), "publish: {e}"),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    publish_batches(store.clone(), 10).await;
    let server = server.crash_and_restart();
    publish_batches(store.clone(), 10).await;
    server.wait_ready().await;
    publish_batches(store.clone(), 10).await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let missing: Vec<String> = {
            let seen = seen.lock().unwrap();
            let published = published.lock().unwrap();
            published.difference(&seen).cloned().collect()
        };
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} published tasks never delivered after the restart",
            missing.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    consumer.await.unwrap();
    assert!(
        published.lock().unwrap().len() >= 200,
        "publishing recovered"
    );
}
