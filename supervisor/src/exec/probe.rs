//! At worker start, one child of each runtime is started and its `hello` read, so a runtime
//! that cannot start (`ModuleNotFoundError: stem_sdk`, a wrong protocol) is reported at start
//! (the probe runs beside the worker's first tasks, delaying none) instead of at its first task, and the tasks it serves are compared with the manifest's: a
//! task the manifest routes to a runtime that does not serve it, or one the runtime serves that
//! the manifest does not name (it never runs), is a warning. The probe child is then ended.

use super::session::Session;
use crate::manifest::LoadedManifest;
use std::collections::BTreeSet;
use std::time::Duration;
use stem_protocol::manifest::{Isolation, TaskKind};

/// How long a runtime may take to say hello at start.
pub const HELLO_WITHIN: Duration = Duration::from_secs(15);

/// What the probe of one runtime found; `Ok` lists warnings (possibly none).
pub type Probe = Result<Vec<String>, String>;

/// Probes every runtime of the manifest, all at once; each result is also logged.
pub async fn probe_all(manifest: &LoadedManifest) -> Vec<(String, Probe)> {
    let probes = manifest.manifest.runtimes.keys().map(|name| async move {
        let result = probe(manifest, name).await;
        match &result {
            Ok(warnings) => {
                for w in warnings {
                    tracing::warn!(runtime = %name, "{w}");
                }
            }
            Err(e) => tracing::error!(
                runtime = %name,
                "runtime {name:?} cannot serve: {e} (its tasks will fail until it is fixed)"
            ),
        }
        (name.clone(), result)
    });
    futures::future::join_all(probes).await
}

async fn probe(manifest: &LoadedManifest, name: &str) -> Probe {
    let rt = &manifest.manifest.runtimes[name];
    let spec = manifest.runtime_spec(name, rt);
    let mut session =
        Session::start(&spec, rt.isolation == Isolation::Forkserver).map_err(|e| e.to_string())?;
    let hello = tokio::time::timeout(HELLO_WITHIN, session.hello()).await;
    session.kill().await;
    let served: BTreeSet<String> = match hello {
        Ok(served) => served?.into_iter().collect(),
        Err(_) => return Err(format!("no hello within {HELLO_WITHIN:?}")),
    };
    let named: BTreeSet<String> = manifest
        .manifest
        .task_names()
        .into_iter()
        .filter(|t| {
            manifest
                .effective(t)
                .is_some_and(|e| e.kind == TaskKind::Runtime(name.to_string()))
        })
        .collect();
    let mut warnings = Vec::new();
    let missing: Vec<&str> = named.difference(&served).map(String::as_str).collect();
    if !missing.is_empty() {
        warnings.push(format!(
            "runtime {name:?} does not serve {} that the manifest routes to it (they will fail as UnknownTask)",
            missing.join(", ")
        ));
    }
    let extra: Vec<&str> = served.difference(&named).map(String::as_str).collect();
    if !extra.is_empty() {
        warnings.push(format!(
            "runtime {name:?} serves {} that the manifest does not name (they never run here)",
            extra.join(", ")
        ));
    }
    Ok(warnings)
}
