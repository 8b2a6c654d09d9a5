//! Versioned schema migrations: `.sql` files in `migrations/`, applied in order, each in its own
//! transaction and recorded in `schema_migrations`, on a dedicated connection holding a
//! session advisory lock for the namespace, so concurrent `open`s and `stem migrate` runs apply
//! each migration exactly once. An up-to-date schema is detected without taking the lock.
//! Versions may have gaps (branches number their migrations apart): every version not yet
//! recorded is applied, in order, so one merged in later below the highest applied still runs.

use super::error::pg;
use super::settings::Settings;
use crate::Result;

/// (version, name, SQL), in order. Append only; never edit a released migration.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "0001_init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "0002_generation",
        include_str!("migrations/0002_generation.sql"),
    ),
    (3, "0003_groups", include_str!("migrations/0003_groups.sql")),
    (
        4,
        "0004_schedules",
        include_str!("migrations/0004_schedules.sql"),
    ),
    (
        5,
        "0005_quiet_publish",
        include_str!("migrations/0005_quiet_publish.sql"),
    ),
    (6, "0006_flow", include_str!("migrations/0006_flow.sql")),
    (
        7,
        "0007_stats_minutes",
        include_str!("migrations/0007_stats_minutes.sql"),
    ),
    (
        8,
        "0008_unique_runs",
        include_str!("migrations/0008_unique_runs.sql"),
    ),
    (
        9,
        "0009_workflows",
        include_str!("migrations/0009_workflows.sql"),
    ),
    (
        10,
        "0010_results_listing",
        include_str!("migrations/0010_results_listing.sql"),
    ),
    (
        11,
        "0011_sql_enqueue",
        include_str!("migrations/0011_sql_enqueue.sql"),
    ),
    (
        12,
        "0012_fairness",
        include_str!("migrations/0012_fairness.sql"),
    ),
    (
        13,
        "0013_debounce",
        include_str!("migrations/0013_debounce.sql"),
    ),
];

/// Applies pending migrations; returns the names of those it applied.
pub(crate) async fn run(settings: &Settings) -> Result<Vec<String>> {
    let (client, connection) = settings.connect().await?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let result = apply(&client, &settings.schema).await;
    drop(client);
    let _ = driver.await;
    result
}

async fn apply(client: &tokio_postgres::Client, schema: &str) -> Result<Vec<String>> {
    let applied = applied_versions(client, schema).await?;
    if MIGRATIONS.iter().all(|m| applied.contains(&m.0)) {
        return Ok(Vec::new());
    }
    let key = format!("stem-migrate:{schema}");
    client
        .execute("SELECT pg_advisory_lock(hashtext($1))", &[&key])
        .await
        .map_err(|e| pg("migrate: lock", e))?;
    let result = apply_locked(client, schema).await;
    // Closing the connection would release the lock too; unlock so a pooled caller could reuse it.
    let _ = client
        .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&key])
        .await;
    result
}

async fn apply_locked(client: &tokio_postgres::Client, schema: &str) -> Result<Vec<String>> {
    let exists = client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(|e| pg("migrate", e))?
        .is_some();
    if !exists {
        // Checked first: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
        // the schema is already there (say, made by an administrator).
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(|e| pg("migrate: create schema", e))?;
    }
    client
        .batch_execute(&format!(
            "SET search_path TO {schema};
             CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );"
        ))
        .await
        .map_err(|e| pg("migrate: create schema_migrations", e))?;
    let done = applied_versions(client, schema).await?;
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS.iter().filter(|m| !done.contains(&m.0)) {
        let script = format!(
            "BEGIN;\n{sql}\n;INSERT INTO schema_migrations (version, name) VALUES ({version}, '{name}');\nCOMMIT;"
        );
        if let Err(e) = client.batch_execute(&script).await {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(pg(&format!("migrate: {name}"), e));
        }
        applied.push(name.to_string());
    }
    Ok(applied)
}

/// The applied versions, none when the schema or its migrations table is missing.
async fn applied_versions(client: &tokio_postgres::Client, schema: &str) -> Result<Vec<i32>> {
    let table = format!("{schema}.schema_migrations");
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL AS present", &[&table])
        .await
        .map_err(|e| pg("migrate: inspect", e))?;
    if !row.get::<_, bool>("present") {
        return Ok(Vec::new());
    }
    let rows = client
        .query(&format!("SELECT version FROM {table}"), &[])
        .await
        .map_err(|e| pg("migrate: inspect", e))?;
    Ok(rows.iter().map(|r| r.get("version")).collect())
}
