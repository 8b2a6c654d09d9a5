//! Every process a child started, whatever group or session it moved to: the [`Tree`] of one
//! child the executor spawned. It is killed whole when the child's task is stopped by force
//! (hard limit, revoke `--terminate`, cold shutdown) and when the child is done; the processes a
//! warm child's task left behind are killed when that task ends ([`Tree::kill_except`]).
//!
//! With cgroup v2 (`cgroup.rs`) the tree is the child's cgroup. Without, it is tracked through
//! /proc: the child's descendants by parent links, plus orphans re-parented to the worker (a
//! subreaper) attributed to the tree they came from — seen in it on an earlier walk (the walk
//! runs every [`SAMPLE_EVERY`] while trees are live), or carrying its `STEM_TREE` marker in
//! their environment, or the only live tree. Each process is remembered with its start time
//! and signalled through a pidfd checked against it, so a recycled pid is never hit. A kill
//! stops every member with SIGSTOP first (a stopped process cannot fork), walks again until no
//! new member appears, then sends SIGKILL.

use super::cgroup::Cgroup;
use super::procfs::{self, Proc, Table};
use nix::sys::signal::Signal;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// The environment variable naming a tracked child's tree (not set under cgroups).
pub const MARKER_VAR: &str = "STEM_TREE";
/// How often live tracked trees are walked, so a short-lived middle process is seen.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(200);

static SEQ: AtomicU64 = AtomicU64::new(1);
/// Tracked (not cgroup) trees that are alive.
static LIVE: Mutex<Vec<Weak<Inner>>> = Mutex::new(Vec::new());

struct Inner {
    marker: String,
    cgroup: Mutex<Option<Cgroup>>,
    root: Mutex<Option<Proc>>,
    seen: Mutex<BTreeSet<Proc>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The processes of one spawned child.
pub struct Tree {
    inner: Arc<Inner>,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// A tree for a child about to be spawned: its own cgroup when cgroups are on.
    pub fn new() -> Tree {
        let marker = format!(
            "{}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        Tree {
            inner: Arc::new(Inner {
                marker,
                cgroup: Mutex::new(Cgroup::create()),
                root: Mutex::new(None),
                seen: Mutex::new(BTreeSet::new()),
            }),
        }
    }

    /// The variable the child is spawned with when its tree is tracked (None under a cgroup).
    pub fn marker(&self) -> Option<(&'static str, String)> {
        let tracked = lock(&self.inner.cgroup).is_none();
        tracked.then(|| (MARKER_VAR, self.inner.marker.clone()))
    }

    /// The `cgroup.procs` descriptor the forked child writes `0` to before exec, if any.
    pub fn cgroup_fd(&self) -> Option<i32> {
        lock(&self.inner.cgroup).as_ref().map(Cgroup::procs_fd)
    }

    /// The child was spawned as `pid`: checks it is in its cgroup (moving it there, or falling
    /// back to tracking), and registers a tracked tree for the periodic walk.
    pub fn started(&self, pid: u32) {
        *lock(&self.inner.root) = procfs::proc_of(pid);
        let mut cgroup = lock(&self.inner.cgroup);
        if let Some(cg) = cgroup.as_ref() {
            if !cg.pids().contains(&pid) && !cg.adopt(pid) {
                tracing::warn!(pid, "child is not in its cgroup; tracking its tree instead");
                if let Some(cg) = cgroup.take() {
                    cg.remove();
                }
            }
        }
        if cgroup.is_none() {
            lock(&LIVE).push(Arc::downgrade(&self.inner));
        }
    }

    /// Every live process of the tree now (the child included while it lives).
    pub fn members(&self) -> Vec<Proc> {
        self.inner.members(&procfs::table())
    }

    /// SIGKILL to the whole tree.
    pub fn kill_all(&self) {
        self.inner.kill_all();
    }

    /// SIGKILL to every process of the tree but `keep` (a warm child, a fork server and the
    /// fork that is finishing), stopped first so none forks meanwhile.
    pub fn kill_except(&self, keep: &[u32]) {
        self.inner.stop_and_kill(keep);
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        self.inner.kill_all();
        if let Some(cg) = lock(&self.inner.cgroup).take() {
            cg.remove();
        }
        let me = Arc::as_ptr(&self.inner);
        lock(&LIVE).retain(|w| w.strong_count() > 0 && w.as_ptr() != me);
    }
}

impl Inner {
    fn members(&self, table: &Table) -> Vec<Proc> {
        if let Some(cg) = lock(&self.cgroup).as_ref() {
            return cg
                .pids()
                .into_iter()
                .filter_map(|p| table.proc(p))
                .collect();
        }
        let mut roots: BTreeSet<Proc> = BTreeSet::new();
        if let Some(root) = *lock(&self.root) {
            roots.insert(root);
        }
        let mut seen = lock(&self.seen);
        roots.extend(seen.iter().copied());
        let sole = live_trees() == 1;
        for orphan in table.orphans_of(std::process::id()) {
            if super::reaper::is_owned(orphan.pid) {
                continue;
            }
            if sole || procfs::environ_has(orphan.pid, MARKER_VAR, &self.marker) {
                roots.insert(orphan);
            }
        }
        let members: Vec<Proc> = table.with_descendants(roots.into_iter());
        seen.extend(members.iter().copied());
        seen.retain(|p| table.proc(p.pid) == Some(*p));
        members
    }

    fn kill_all(&self) {
        if let Some(cg) = lock(&self.cgroup).as_ref() {
            cg.kill_all();
            return;
        }
        self.stop_and_kill(&[]);
    }

    /// Whether the tree surely holds no process but `keep`, found without reading the whole of
    /// /proc (which a warm child's every task end would otherwise pay): its cgroup lists only
    /// them; or, tracked, its root is kept, it was never seen with another member, no kept
    /// process has a child and the worker has no orphan it did not spawn.
    fn nothing_else(&self, keep: &[u32]) -> bool {
        if let Some(cg) = lock(&self.cgroup).as_ref() {
            return cg.pids().iter().all(|p| keep.contains(p));
        }
        if lock(&self.root).is_some_and(|r| !keep.contains(&r.pid))
            || !lock(&self.seen).iter().all(|p| keep.contains(&p.pid))
        {
            return false;
        }
        let childless = |pid: u32| procfs::children(pid).is_some_and(|c| c.is_empty());
        keep.iter().all(|p| childless(*p))
            && procfs::children(std::process::id())
                .is_some_and(|c| c.iter().all(|p| super::reaper::is_owned(*p)))
    }

    fn stop_and_kill(&self, keep: &[u32]) {
        if !keep.is_empty() && self.nothing_else(keep) {
            return;
        }
        let mut stopped: BTreeSet<Proc> = BTreeSet::new();
        for _ in 0..50 {
            let table = procfs::table();
            let new: Vec<Proc> = self
                .members(&table)
                .into_iter()
                .filter(|p| !keep.contains(&p.pid) && !stopped.contains(p))
                .collect();
            if new.is_empty() {
                break;
            }
            for p in new {
                procfs::signal(p, Signal::SIGSTOP);
                stopped.insert(p);
            }
        }
        for p in stopped {
            procfs::signal(p, Signal::SIGKILL);
        }
    }
}

fn live_trees() -> usize {
    lock(&LIVE).iter().filter(|w| w.strong_count() > 0).count()
}

/// Walks every live tracked tree (remembering its members), and kills orphans of the worker
/// that no live tree can claim (their task is over). Runs every [`SAMPLE_EVERY`].
pub fn sample() {
    let trees: Vec<Arc<Inner>> = {
        let mut live = lock(&LIVE);
        live.retain(|w| w.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
    };
    let table = procfs::table();
    for tree in &trees {
        tree.members(&table);
    }
    if trees.is_empty() {
        kill_unclaimed_orphans(&table);
    }
}

/// Orphans re-parented to the worker while no task runs belong to no live task: killed.
fn kill_unclaimed_orphans(table: &Table) {
    let orphans: Vec<Proc> = table
        .orphans_of(std::process::id())
        .into_iter()
        .filter(|p| !super::reaper::is_owned(p.pid) && table.state(p.pid) != Some('Z'))
        .collect();
    if orphans.is_empty() {
        return;
    }
    let all = table.with_descendants(orphans.into_iter());
    for p in &all {
        procfs::signal(*p, Signal::SIGSTOP);
    }
    for p in all {
        tracing::info!(
            pid = p.pid,
            "killing a process left behind by a finished task"
        );
        procfs::signal(p, Signal::SIGKILL);
    }
}

/// The tracked-tree walk, until dropped (only needed without cgroups), and the retry of cgroup
/// removals.
pub async fn run() {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let tracking = !super::cgroup::enabled();
    loop {
        tick.tick().await;
        if tracking {
            let _ = tokio::task::spawn_blocking(sample).await;
        } else {
            super::cgroup::sweep_removed();
        }
    }
}

/// At worker exit: nothing any task started outlives the worker.
pub fn teardown() {
    let trees: Vec<Arc<Inner>> = lock(&LIVE).iter().filter_map(Weak::upgrade).collect();
    for tree in trees {
        tree.kill_all();
    }
    kill_unclaimed_orphans(&procfs::table());
    super::cgroup::teardown();
}
