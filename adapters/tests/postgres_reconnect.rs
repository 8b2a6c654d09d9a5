//! A Postgres restart, simulated by terminating every connection of one store
//! (`pg_terminate_backend`, the same "admin shutdown" a restart sends), must not kill the
//! caller: errors in the meantime are transient, the pool makes new connections, and the
//! listener comes back so idle fetches still wake on publish. Needs `STEM_TEST_POSTGRES_URL`.

use std::time::{Duration, Instant};
use stem_adapters::{postgres, ConnectOptions, ErrorKind};
use stem_protocol::TaskEnvelope;

fn task() -> TaskEnvelope {
    let mut env = TaskEnvelope::new("t");
    env.queue = "q".to_string();
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_survives_its_connections_being_killed() {
    let Ok(base) = std::env::var("STEM_TEST_POSTGRES_URL") else {
        eprintln!("skipping: STEM_TEST_POSTGRES_URL is not set");
        return;
    };
    let ns = format!("t{}", uuid::Uuid::new_v4().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}application_name={ns}");
    let options = ConnectOptions {
        namespace: ns.clone(),
    };
    let store = postgres::open(&url, &options).await.unwrap();
    let (admin, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let q = vec!["q".to_string()];
    let lease = Duration::from_secs(60);

    for round in 0..3 {
        // Load: publish and drain while the connections are killed under it.
        let worker = {
            let store = store.clone();
            let q = q.clone();
            tokio::spawn(async move {
                let (mut done, mut transient) = (0, 0);
                let until = Instant::now() + Duration::from_millis(800);
                while Instant::now() < until {
                    let step = async {
                        store.publish(&[task()]).await?;
                        let got = store.fetch("w", &q, 10, lease, Duration::ZERO).await?;
                        store.ack(&got).await
                    };
                    match step.await {
                        Ok(()) => done += 1,
                        Err(e) if e.kind() == ErrorKind::Transient => transient += 1,
                        Err(e) => panic!("round {round}: a non-transient error: {e}"),
                    }
                }
                (done, transient)
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&ns],
            )
            .await
            .unwrap();
        let (done, transient) = worker.await.unwrap();
        eprintln!("round {round}: {done} steps, {transient} transient errors");
        assert!(
            done > 0,
            "round {round}: no progress ({transient} transient errors)"
        );
    }

    // The listener reconnects: an idle fetch wakes promptly on a publish.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiter = {
            let store = store.clone();
            let q = q.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let got = store
                    .fetch("w", &q, 1, lease, Duration::from_secs(20))
                    .await;
                (got, started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let publish = store.publish(&[task()]).await;
        let (got, took) = waiter.await.unwrap();
        if let (Ok(()), Ok(got)) = (publish, got) {
            if got.len() == 1 && took < Duration::from_secs(2) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the listener did not come back");
    }
    drop(store);
    let _ = admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {ns} CASCADE"))
        .await;
}
