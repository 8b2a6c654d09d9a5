//! Schedules: reading a file of them (strict, tasks checked against the manifest), applying
//! it to the schedule store (create, update, prune), listing with each one's state and next
//! fire, enabling, disabling, deleting, and the next fire times of a spec (`dry-run`).

use super::{OpsError, OpsResult};
use crate::beat::due::{next_after, upcoming};
use crate::manifest::LoadedManifest;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;
use stem_adapters::{Adapters, Leader, StoredSchedule};
use stem_protocol::manifest::Manifest;
use stem_protocol::now_ms;
use stem_protocol::schedule::{check_task, format_time, CatchUp, Schedule, Spec};

/// The schedules of the TOML file at `path`, checked against the tasks of the file itself when
/// it has any, else of `manifest`.
pub fn load_file(path: &Path, manifest: Option<&LoadedManifest>) -> OpsResult<Vec<Schedule>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OpsError::Schedule(format!("cannot read {}: {e}", path.display())))?;
    let file = Manifest::parse(&text, &path.display().to_string())
        .map_err(|e| OpsError::Schedule(e.to_string()))?;
    let schedules = file
        .schedules()
        .map_err(|e| OpsError::Schedule(format!("{}: {e}", path.display())))?;
    let tasks = if !file.tasks.is_empty() {
        &file.tasks
    } else if let Some(m) = manifest {
        &m.manifest.tasks
    } else {
        return Err(OpsError::Schedule(format!(
            "{}: no manifest to check the schedules' tasks against: pass --manifest (or run \
             where stem.toml is)",
            path.display()
        )));
    };
    for s in &schedules {
        check_task(s, tasks.keys())
            .map_err(|e| OpsError::Schedule(format!("{}: {e}", path.display())))?;
    }
    Ok(schedules)
}

/// The next whole second after `ms`: fires counted from there, and an `every` without an
/// anchor fires on whole seconds.
fn next_second(ms: i64) -> i64 {
    (ms.div_euclid(1000) + 1) * 1000
}

/// What [`apply`] did (or, with `dry_run`, would do), by schedule id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Applied {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub pruned: Vec<String>,
}

/// Stores `schedules`: new ones start counting fires now; an updated one keeps its fire history
/// unless its times changed. With `prune`, schedules not among them are deleted.
pub async fn apply(
    adapters: &Adapters,
    schedules: &[Schedule],
    prune: bool,
    dry_run: bool,
) -> OpsResult<Applied> {
    let store = &adapters.schedules;
    let mut out = Applied::default();
    let now = next_second(now_ms());
    for s in schedules {
        let mut s = s.clone();
        match store.get_schedule(&s.id).await? {
            None => {
                s.since = now;
                out.created.push(s.id.clone());
            }
            Some(old) => {
                s.since = if old.schedule.same_times(&s) {
                    old.schedule.since
                } else {
                    now
                };
                if old.schedule == s {
                    out.unchanged.push(s.id.clone());
                    continue;
                }
                out.updated.push(s.id.clone());
            }
        }
        if !dry_run {
            store.put_schedule(&s).await?;
        }
    }
    if prune {
        let keep: BTreeSet<&str> = schedules.iter().map(|s| s.id.as_str()).collect();
        for stored in store.list_schedules().await? {
            let id = stored.schedule.id;
            if !keep.contains(id.as_str()) {
                if !dry_run {
                    store.delete_schedule(&id).await?;
                }
                out.pruned.push(id);
            }
        }
    }
    Ok(out)
}

/// One schedule as shown by `list`, `show` and `observe schedules`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleView {
    pub id: String,
    pub task: String,
    /// `every 30s`, `cron "*/5 * * * *" in Europe/Paris`, `at 2026-12-24T18:00:00Z`.
    pub when: String,
    pub enabled: bool,
    pub catch_up: CatchUp,
    pub last_fire: Option<String>,
    /// Computed from the spec and the last fire.
    pub next_fire: Option<String>,
    pub run_count: u64,
    pub last_error: Option<String>,
    pub drift_ms: Option<i64>,
    pub schedule: Schedule,
}

fn describe(spec: &Spec) -> String {
    match spec {
        Spec::Every { every_ms, anchor } => {
            let d = std::time::Duration::from_millis(*every_ms);
            match anchor {
                Some(a) => format!("every {d:?} from {}", format_time(*a)),
                None => format!("every {d:?}"),
            }
        }
        Spec::Cron { expr, timezone } => format!("cron {expr:?} in {timezone}"),
        Spec::At { at } => format!("at {}", format_time(*at)),
    }
}

pub fn view(stored: StoredSchedule, now: i64) -> ScheduleView {
    let s = stored.schedule;
    let st = stored.state;
    let after = st
        .last_fire
        .unwrap_or(i64::MIN)
        .max(s.since - 1)
        .max(now - 1);
    let next = if s.enabled {
        next_after(&s.spec, s.since, after).ok().flatten()
    } else {
        None
    };
    ScheduleView {
        id: s.id.clone(),
        task: s.task.clone(),
        when: describe(&s.spec),
        enabled: s.enabled,
        catch_up: s.catch_up,
        last_fire: st.last_fire.map(format_time),
        next_fire: next.map(format_time),
        run_count: st.run_count,
        last_error: st.last_error,
        drift_ms: st.drift_ms,
        schedule: s,
    }
}

pub async fn list(adapters: &Adapters) -> OpsResult<Vec<ScheduleView>> {
    let now = now_ms();
    Ok(adapters
        .schedules
        .list_schedules()
        .await?
        .into_iter()
        .map(|s| view(s, now))
        .collect())
}

pub async fn show(adapters: &Adapters, id: &str) -> OpsResult<ScheduleView> {
    match adapters.schedules.get_schedule(id).await? {
        Some(s) => Ok(view(s, now_ms())),
        None => Err(OpsError::ScheduleNotFound { id: id.to_string() }),
    }
}

/// Deletes a schedule (with `dry_run`, only checks it exists).
pub async fn delete(adapters: &Adapters, id: &str, dry_run: bool) -> OpsResult<()> {
    let found = if dry_run {
        adapters.schedules.get_schedule(id).await?.is_some()
    } else {
        adapters.schedules.delete_schedule(id).await?
    };
    if found {
        Ok(())
    } else {
        Err(OpsError::ScheduleNotFound { id: id.to_string() })
    }
}

/// Enables or disables a schedule. Enabling starts counting fires now: the times it was
/// disabled are not missed fires to catch up on.
pub async fn set_enabled(adapters: &Adapters, id: &str, enabled: bool) -> OpsResult<ScheduleView> {
    let Some(mut stored) = adapters.schedules.get_schedule(id).await? else {
        return Err(OpsError::ScheduleNotFound { id: id.to_string() });
    };
    if stored.schedule.enabled != enabled {
        stored.schedule.enabled = enabled;
        if enabled {
            stored.schedule.since = next_second(now_ms());
        }
        adapters.schedules.put_schedule(&stored.schedule).await?;
    }
    Ok(view(stored, now_ms()))
}

/// Publishes `id`'s task now, once, outside its timetable (an operator's "run now"): the task,
/// arguments, queue, priority and headers a fire would publish, under a new task id, with the
/// `stem-schedule` header naming the schedule; its next fire, run count and state are untouched.
/// A disabled schedule runs too: it is the operator's explicit ask.
pub async fn run_now(
    adapters: &Adapters,
    manifest: Option<&crate::manifest::LoadedManifest>,
    id: &str,
) -> OpsResult<super::enqueue::Enqueued> {
    let Some(stored) = adapters.schedules.get_schedule(id).await? else {
        return Err(OpsError::ScheduleNotFound { id: id.to_string() });
    };
    let routes = crate::beat::fire::Routes::new(manifest.map(|m| m.manifest.clone()));
    let queue = routes.queue(&stored.schedule).map_err(OpsError::Schedule)?;
    let mut env = crate::beat::fire::envelope(&stored.schedule, now_ms(), queue, 0.0);
    env.id = stem_protocol::new_task_id();
    env.eta = None;
    super::enqueue::publish(adapters, manifest, &env).await
}

/// The next `count` fire times of `spec` from `from` (epoch ms), as RFC 3339.
pub fn dry_run(spec: &Spec, since: i64, from: i64, count: usize) -> OpsResult<Vec<String>> {
    let times =
        upcoming(spec, since, from, count).map_err(|e| OpsError::Schedule(e.to_string()))?;
    Ok(times.into_iter().map(format_time).collect())
}

/// `stem observe schedules`: the lock holder and every schedule.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub leader: Option<Leader>,
    pub schedules: Vec<ScheduleView>,
}

pub async fn overview(adapters: &Adapters) -> OpsResult<Overview> {
    Ok(Overview {
        leader: adapters.schedules.leader().await?,
        schedules: list(adapters).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::memory;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const FILE: &str =
        "[tasks.t]\nexec = [\"true\"]\n\n[schedules.a]\ntask = \"t\"\nevery = \"1m\"\n\n\
                        [schedules.b]\ntask = \"t\"\ncron = \"0 * * * *\"\n";

    #[tokio::test]
    async fn apply_creates_updates_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let adapters = memory("schedules-apply").await;
        let first = load_file(&write(dir.path(), "s.toml", FILE), None).unwrap();
        let done = apply(&adapters, &first, false, false).await.unwrap();
        assert_eq!(done.created, ["a", "b"]);
        let again = apply(&adapters, &first, false, false).await.unwrap();
        assert_eq!(again.unchanged, ["a", "b"], "{again:?}");
        let changed = FILE.replace("every = \"1m\"", "every = \"2m\"");
        let only_a = changed.split("[schedules.b]").next().unwrap().to_string();
        let second = load_file(&write(dir.path(), "s2.toml", &only_a), None).unwrap();
        let plan = apply(&adapters, &second, true, true).await.unwrap();
        assert_eq!(
            (plan.updated.clone(), plan.pruned.clone()),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        assert_eq!(
            list(&adapters).await.unwrap().len(),
            2,
            "a dry run changes nothing"
        );
        apply(&adapters, &second, true, false).await.unwrap();
        let views = list(&adapters).await.unwrap();
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].when, "every 120s");
        assert!(views[0].next_fire.is_some());
        let off = set_enabled(&adapters, "a", false).await.unwrap();
        assert!(!off.enabled && off.next_fire.is_none());
        delete(&adapters, "a", false).await.unwrap();
        let err = show(&adapters, "a").await.unwrap_err();
        assert_eq!(err.to_string(), "no schedule \"a\"");
    }

    #[test]
    fn bad_files_are_refused_with_schedule_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = FILE.replace("task = \"t\"\nevery", "task = \"nope\"\nevery");
        let e = load_file(&write(dir.path(), "u.toml", &unknown), None).unwrap_err();
        assert!(
            e.to_string()
                .contains("schedules.a.task: unknown task \"nope\""),
            "{e}"
        );
        let only = write(
            dir.path(),
            "o.toml",
            "[schedules.x]\ntask = \"t\"\nevery = \"1s\"\n",
        );
        let e = load_file(&only, None).unwrap_err();
        assert!(e.to_string().contains("no manifest"), "{e}");
    }
}
