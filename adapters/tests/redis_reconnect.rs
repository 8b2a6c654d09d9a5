//! A dropped connection does not end a store: the test kills this process's own Redis client
//! connections (found through `/proc/self/fd` and `CLIENT LIST`, so nobody else's are touched)
//! and checks that publish, fetch, ack and results carry on after a reconnect.

#![cfg(all(feature = "redis", target_os = "linux"))]

mod redis_support;

use redis_support::{fresh_namespace, open, raw, redis_url};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use stem_protocol::{TaskEnvelope, TaskRecord, TaskState};

/// Local TCP ports of this process's sockets.
fn own_tcp_ports() -> HashSet<u16> {
    let inodes: HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|link| {
                    let link = link.to_string_lossy().into_owned();
                    link.strip_prefix("socket:[")
                        .and_then(|s| s.strip_suffix(']'))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut ports = HashSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 9 && inodes.contains(cols[9]) {
                if let Some(port) = cols[1].rsplit(':').next() {
                    ports.extend(u16::from_str_radix(port, 16).ok());
                }
            }
        }
    }
    ports
}

/// Kills every Redis client connection of this process except `keep`; returns how many.
async fn kill_own_clients(conn: &mut redis::aio::MultiplexedConnection, keep: i64) -> usize {
    let ports = own_tcp_ports();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(conn)
        .await
        .unwrap();
    let mut killed = 0;
    for line in list.lines() {
        let field = |name: &str| {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(name).map(str::to_string))
        };
        let (Some(id), Some(addr)) = (field("id="), field("addr=")) else {
            continue;
        };
        let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        let id: i64 = id.parse().unwrap();
        if id != keep && port.is_some_and(|p| ports.contains(&p)) {
            let _: redis::RedisResult<i64> = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(id)
                .query_async(conn)
                .await;
            killed += 1;
        }
    }
    killed
}

/// Retries `op` until it succeeds, failing after 10 s.
macro_rules! eventually {
    ($what:expr, $op:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match $op.await {
                Ok(value) => break value,
                Err(e) => {
                    assert!(e.is_transient(), "{}: not a transient error: {e}", $what);
                    assert!(Instant::now() < deadline, "{}: still failing: {e}", $what);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_carries_on_after_its_connections_are_killed() {
    let Some(url) = redis_url("store_carries_on_after_its_connections_are_killed") else {
        return;
    };
    let store = open(&url, &fresh_namespace()).await;
    let queues = vec!["default".to_string()];
    let mut admin = raw(&url).await;
    let admin_id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut admin)
        .await
        .unwrap();

    // A fetch is blocked on its own connection while everything is cut.
    let blocked = {
        let store = store.clone();
        let queues = queues.clone();
        tokio::spawn(async move {
            store
                .fetch(
                    "c",
                    &queues,
                    1,
                    Duration::from_secs(30),
                    Duration::from_secs(2),
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = kill_own_clients(&mut admin, admin_id).await;
    assert!(
        killed >= 2,
        "expected the shared and a blocking connection, killed {killed}"
    );
    match blocked.await.unwrap() {
        Ok(got) => assert!(got.is_empty()),
        Err(e) => assert!(e.is_transient(), "a cut connection is transient: {e}"),
    }

    let env = TaskEnvelope::new("after-drop");
    eventually!("publish", store.publish(std::slice::from_ref(&env)));
    let got = eventually!(
        "fetch",
        store.fetch(
            "c",
            &queues,
            1,
            Duration::from_secs(30),
            Duration::from_secs(2)
        )
    );
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].task_id(), env.id);
    let mut record = TaskRecord::pending(&env);
    record.state = TaskState::Success;

    // Cut again between the fetch and the outcome: the outcome and the ack still go through.
    kill_own_clients(&mut admin, admin_id).await;
    eventually!(
        "set result",
        store.set(std::slice::from_ref(&record), Duration::from_secs(60))
    );
    eventually!("ack", store.ack(&got));
    let waited = eventually!("wait", store.wait(&env.id, Duration::from_secs(1)));
    assert_eq!(waited.map(|r| r.state), Some(TaskState::Success));
    let counts = eventually!("counts", store.counts("default"));
    assert_eq!((counts.ready, counts.leased), (0, 0));
}
