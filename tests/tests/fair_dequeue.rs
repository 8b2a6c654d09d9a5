//! Fair dequeue from outside, with a real worker on each broker: tenant A's backlog of 300 keyed
//! tasks is enqueued before tenant B's 10, yet B's tasks start among the first few dozen — keys
//! are served round-robin — while without keys (FIFO) they start last. Judged by the order of
//! the recorded starts, not by timings.

use stem_e2e::flow::succeeded;
use stem_e2e::stores::{world, Store};
use stem_e2e::{Env, PATIENCE};

const MANIFEST: &str = "[tasks.a]\nexec = [\"true\"]\n\n[tasks.b]\nexec = [\"true\"]\n";

/// The rank (0-based, among every start) of B's last start.
fn last_b_rank(env: &Env) -> usize {
    let a = succeeded(env, "a", 300, PATIENCE * 6);
    let b = succeeded(env, "b", 10, PATIENCE * 6);
    let mut starts: Vec<(i64, bool)> = a
        .iter()
        .map(|r| (r["started_at"].as_i64().unwrap(), false))
        .chain(b.iter().map(|r| (r["started_at"].as_i64().unwrap(), true)))
        .collect();
    starts.sort();
    starts.iter().rposition(|(_, is_b)| *is_b).unwrap()
}

fn fair_beside_fifo(store: Store, test: &str) {
    for fair in [true, false] {
        let Some(env) = world(store, MANIFEST, test) else {
            return;
        };
        let (ka, kb): (&[&str], &[&str]) = if fair {
            (&["--fair-key", "A"], &["--fair-key", "B"])
        } else {
            (&[], &[])
        };
        let mut args = vec!["enqueue", "a", "--repeat", "300"];
        args.extend_from_slice(ka);
        env.stem(&args).success();
        let mut args = vec!["enqueue", "b", "--repeat", "10"];
        args.extend_from_slice(kb);
        env.stem(&args).success();
        let _worker = env.worker(&["--concurrency", "2", "--prefetch", "2"]);
        let rank = last_b_rank(&env);
        if fair {
            assert!(
                rank < 40,
                "with keys, B's 10 tasks behind A's 300 all start within the first 40 (round-robin), \
                 the last was start #{rank}"
            );
        } else {
            assert!(
                rank >= 300,
                "without keys B waits for A's backlog (FIFO): its last start was #{rank}"
            );
        }
    }
}

#[test]
fn keys_are_served_round_robin_sqlite() {
    fair_beside_fifo(Store::Sqlite, "keys_are_served_round_robin_sqlite");
}

#[test]
fn keys_are_served_round_robin_redis() {
    fair_beside_fifo(Store::Redis, "keys_are_served_round_robin_redis");
}

#[test]
fn keys_are_served_round_robin_postgres() {
    fair_beside_fifo(Store::Postgres, "keys_are_served_round_robin_postgres");
}
