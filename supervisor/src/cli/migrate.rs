//! `stem migrate`: apply the Postgres schema migrations explicitly (workers apply them too).

use super::conn::ConnArgs;
use super::{CliError, CliResult};
use clap::Args;

#[derive(Args)]
pub struct MigrateArgs {
    /// The Postgres URL (default: the broker's URL).
    #[arg(long)]
    pub url: Option<String>,
}

pub async fn run(conn: &ConnArgs, a: MigrateArgs) -> CliResult {
    let urls = conn.urls(None);
    let url = a.url.unwrap_or(urls.broker);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(CliError::usage(format!(
            "migrations are for Postgres; {url:?} is not a postgres:// URL (SQLite and Redis need none)"
        )));
    }
    migrate_postgres(&url, &urls.namespace).await
}

#[cfg(feature = "postgres")]
async fn migrate_postgres(url: &str, namespace: &str) -> CliResult {
    let options = stem_adapters::ConnectOptions {
        namespace: namespace.to_string(),
    };
    let applied = stem_adapters::postgres::migrate(url, &options).await?;
    if applied.is_empty() {
        println!("schema {namespace:?} is up to date");
    } else {
        for m in applied {
            println!("applied {m}");
        }
    }
    Ok(())
}

#[cfg(not(feature = "postgres"))]
async fn migrate_postgres(_url: &str, _namespace: &str) -> CliResult {
    Err(CliError::usage(
        "this build has no Postgres support (cargo feature `postgres`)",
    ))
}
