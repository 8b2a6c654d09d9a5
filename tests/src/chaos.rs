//! Helpers for the kill, freeze and restart tests: a task that notes its id, counting the
//! notes, per-worker subfolders, worker flags with a short lease, and a small random source for
//! picking kill and freeze moments.

use crate::Env;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

/// A task that notes its id in `ran.txt` (beside the manifest), then runs for a while.
pub fn note_manifest(sleep: &str) -> String {
    format!(
        "[tasks.note]\nexec = [\"sh\", \"-c\", \"echo $STEM_TASK_ID >> ran.txt; sleep {sleep}\"]\n\
         max_retries = 0\ntime_limit = \"60s\"\n"
    )
}

/// How many times each id was noted in `file`.
pub fn counts(env: &Env, file: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for id in env.read(file).lines().filter(|l| !l.is_empty()) {
        *out.entry(id.to_string()).or_default() += 1;
    }
    out
}

/// A subfolder with the same manifest, so a worker started on it notes its tasks apart.
pub fn subfolder(env: &Env, name: &str, manifest: &str) -> PathBuf {
    std::fs::create_dir_all(env.file(name)).expect("create a subfolder");
    env.write(&format!("{name}/stem.toml"), manifest);
    env.file(&format!("{name}/stem.toml"))
}

/// Flags for a worker with a stable id, `concurrency` slots and a 2 s lease.
pub fn worker_args<'a>(id: &'a str, concurrency: &'a str) -> [&'a str; 6] {
    [
        "--worker-id",
        id,
        "--concurrency",
        concurrency,
        "--visibility-timeout",
        "2s",
    ]
}

/// The at-least-once verdict after killing worker `a` while `b` ran on: neither ran a task
/// twice by itself, every one of `total` tasks ran, and the tasks that ran on both are all among
/// the deliveries `a` left un-acknowledged when it was killed (`left_behind`, read from the
/// broker at the kill) — and there was at least one.
pub fn assert_only_left_behind_ran_twice(
    env: &Env,
    total: usize,
    ran: &BTreeSet<String>,
    left_behind: &BTreeSet<String>,
) {
    let on_a = counts(env, "a/ran.txt");
    let on_b = counts(env, "b/ran.txt");
    assert!(
        on_a.values().all(|&n| n == 1),
        "a ran a task twice: {on_a:?}"
    );
    assert!(
        on_b.values().all(|&n| n == 1),
        "b ran a task twice: {on_b:?}"
    );
    assert_eq!(ran.len(), total, "tasks lost or invented: {ran:?}");
    let twice: BTreeSet<String> = on_a
        .keys()
        .filter(|id| on_b.contains_key(*id))
        .cloned()
        .collect();
    assert!(
        !twice.is_empty() && twice.is_subset(left_behind),
        "only tasks the killed worker left un-acknowledged may run twice: ran twice {twice:?}, \
         left behind {left_behind:?}"
    );
}

/// A small xorshift generator seeded from the clock and the pid (no dependency); its seed is
/// printed so a failing run can be told apart from the next.
pub struct Rng(u64);

impl Rng {
    pub fn seeded(test: &str) -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        let seed = (nanos ^ (u64::from(std::process::id()) << 32)) | 1;
        eprintln!("{test}: random seed {seed:#x}");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A duration in `[0, max)`, to the millisecond.
    pub fn below(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis().max(1) as u64;
        Duration::from_millis(self.next_u64() % ms)
    }
}
