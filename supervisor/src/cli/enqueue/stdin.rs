//! `stem enqueue --stdin`: many tasks from one command, one JSON spec a line (read by
//! [`crate::ops::specs`]); every line is checked before any task is sent, then they are
//! published in batches and their ids printed.

use super::EnqueueArgs;
use crate::cli::conn::ConnArgs;
use crate::cli::output::print_json;
use crate::cli::{CliError, CliResult};
use crate::ops::enqueue as ops;
use crate::ops::specs;

/// `--stdin`: every line a task spec, checked whole, then published in batches.
pub(super) async fn run(conn: &ConnArgs, a: &EnqueueArgs) -> CliResult {
    use std::io::Read;
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| CliError::failed(format!("cannot read stdin: {e}")))?;
    let manifest = ops::find_manifest(a.manifest.as_deref())?;
    let mut envelopes = Vec::new();
    let mut specs_read = Vec::new();
    for (n, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let spec: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| CliError::usage(format!("stdin line {}: malformed JSON: {e}", n + 1)))?;
        let options = specs::options(&spec)
            .map_err(|e| CliError::usage(format!("stdin line {}: {e}", n + 1)))?;
        let env = ops::envelope(&options, manifest.as_ref())
            .map_err(|e| CliError::usage(format!("stdin line {}: {e}", n + 1)))?;
        envelopes.push(env);
        specs_read.push(options);
    }
    let settings = manifest.as_ref().map(|m| m.manifest.stem.clone());
    let adapters = conn.connect(settings.as_ref()).await?;
    // Countdowns and expiries run on the store's clock: measure it, then compute them again.
    if crate::ops::time::clock_skew(adapters.broker.as_ref())
        .await
        .is_ok()
    {
        envelopes = specs_read
            .iter()
            .map(|o| ops::envelope(o, manifest.as_ref()))
            .collect::<Result<_, _>>()?;
    }
    let mut ids = Vec::with_capacity(envelopes.len());
    for batch in envelopes.chunks(specs::MAX_BATCH) {
        for sent in specs::publish_all(&adapters, manifest.as_ref(), batch).await? {
            if !a.json {
                println!("{}", sent.id);
            }
            ids.push(sent.id);
        }
    }
    if a.json {
        print_json(&serde_json::json!({"count": ids.len(), "ids": ids}))?;
    }
    Ok(())
}
