//! Where the broker, result backend, revoke store and schedule store are: flags, then `STEM_*` variables, then
//! the manifest's `[stem]` table, then the embedded default (one SQLite file here). Every command
//! resolves them here, the same way: a command without a `--manifest` of its own reads the
//! `[stem]` table of the manifest `stem enqueue` would find (`STEM_MANIFEST`, else `./stem.toml`).

use super::{CliError, CliResult};
use clap::Args;
use stem_adapters::connect::DEFAULT_URL;
use stem_adapters::{connect, Adapters, ConnectOptions};
use stem_protocol::manifest::Settings;

#[derive(Args, Clone, Debug, Default)]
pub struct ConnArgs {
    /// Broker URL (memory://, sqlite://PATH, redis://, rediss://, redis+cluster://, postgres://).
    #[arg(long, env = "STEM_BROKER_URL", global = true)]
    pub broker: Option<String>,
    /// Result backend URL (default: the broker's URL).
    #[arg(long, env = "STEM_RESULT_BACKEND_URL", global = true)]
    pub backend: Option<String>,
    /// Revoke store URL (default: the result backend's URL).
    #[arg(long, env = "STEM_REVOKE_STORE_URL", global = true)]
    pub revoke_store: Option<String>,
    /// Schedule store URL (default: the broker's URL).
    #[arg(long, env = "STEM_SCHEDULE_STORE_URL", global = true)]
    pub schedule_store: Option<String>,
    /// Namespace of every key and table.
    #[arg(long, env = "STEM_NAMESPACE", global = true)]
    pub namespace: Option<String>,
}

/// The resolved URLs.
#[derive(Debug, Clone)]
pub struct Urls {
    pub broker: String,
    pub backend: String,
    pub revoke: Option<String>,
    pub schedules: String,
    pub namespace: String,
}

impl ConnArgs {
    pub fn urls(&self, settings: Option<&Settings>) -> Urls {
        let s = settings.cloned().unwrap_or_default();
        let broker = self
            .broker
            .clone()
            .or(s.broker)
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let backend = self
            .backend
            .clone()
            .or(s.backend)
            .unwrap_or_else(|| broker.clone());
        Urls {
            revoke: self.revoke_store.clone().or(s.revoke_store),
            schedules: self
                .schedule_store
                .clone()
                .or(s.schedule_store)
                .unwrap_or_else(|| broker.clone()),
            namespace: self
                .namespace
                .clone()
                .or(s.namespace)
                .unwrap_or_else(|| "stem".into()),
            broker,
            backend,
        }
    }

    /// The URLs for a command that takes no `--manifest`: the found manifest's `[stem]` table
    /// under the flags and variables.
    pub fn found_urls(&self) -> CliResult<Urls> {
        Ok(self.urls(manifest_settings()?.as_ref()))
    }

    pub async fn connect(&self, settings: Option<&Settings>) -> CliResult<Adapters> {
        let found;
        let settings = match settings {
            Some(s) => Some(s),
            None => {
                found = manifest_settings()?;
                found.as_ref()
            }
        };
        let urls = self.urls(settings);
        // Only the embedded default is created where the user may not expect it.
        let created = (urls.broker == DEFAULT_URL)
            .then(|| new_sqlite_file(&urls.broker))
            .flatten();
        let options = ConnectOptions {
            namespace: urls.namespace.clone(),
        };
        let opened = match connect(
            &urls.broker,
            &urls.backend,
            urls.revoke.as_deref(),
            &options,
        )
        .await
        {
            Ok(adapters) => {
                adapters
                    .with_schedule_store(Some(&urls.schedules), &options)
                    .await
            }
            Err(e) => Err(e),
        };
        let adapters = opened.map_err(|e| match e.kind() {
            stem_adapters::ErrorKind::Config => CliError::usage(e.to_string()),
            _ => CliError::failed(e.to_string()),
        })?;
        if let Some(path) = created.filter(|p| p.exists()) {
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            eprintln!(
                "note: created the embedded store {} (workers and producers share a store by its \
                 path: run them in one folder, or set STEM_BROKER_URL)",
                path.display()
            );
        }
        Ok(adapters)
    }
}

/// The `[stem]` table of the manifest found the way `stem enqueue` finds it, for commands that
/// take no `--manifest`: so `stem result`, `health`, `tasks list`, ... use the stores the worker
/// and the producer use.
fn manifest_settings() -> CliResult<Option<Settings>> {
    let path = std::env::var_os("STEM_MANIFEST")
        .filter(|p| !p.is_empty())
        .map(std::path::PathBuf::from);
    let found = crate::ops::enqueue::find_manifest(path.as_deref())?;
    Ok(found.map(|m| m.manifest.stem))
}

/// The file of a `sqlite://` URL that does not exist yet (opening it will create it).
fn new_sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://")?;
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    let path = std::path::PathBuf::from(path);
    (!path.exists()).then_some(path)
}
