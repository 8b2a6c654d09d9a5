//! `stem migrate`: apply the Postgres schema migrations explicitly (workers apply them too).

use super::conn::ConnArgs;
use super::CliResult;
use crate::ops::migrate;
use clap::Args;

#[derive(Args)]
pub struct MigrateArgs {
    /// The Postgres URL (default: the broker's URL).
    #[arg(long)]
    pub url: Option<String>,
}

pub async fn run(conn: &ConnArgs, a: MigrateArgs) -> CliResult {
    let urls = conn.found_urls()?;
    let url = a.url.unwrap_or(urls.broker);
    let migrated = migrate::migrate(&url, &urls.namespace).await?;
    if migrated.applied.is_empty() {
        println!("schema {:?} is up to date", migrated.namespace);
    } else {
        for m in migrated.applied {
            println!("applied {m}");
        }
    }
    Ok(())
}
