//! The `sql` trust level: with signing or encryption on, a task the Postgres SQL functions
//! (`SCHEMA.enqueue`, migration 11) wrote carries no signature and its arguments in clear, so
//! a worker refuses it (dead-lettered, reason `signature: missing` or `encryption: ... not
//! sealed`) unless it runs with `STEM_SQL_ENQUEUE=trust`. Then it accepts exactly the shape
//! those functions write — unsigned, unsealed, first attempt, header `stem-source: sql`, no
//! canvas, workflow, parent or group, no `stem-` header but the unique lock's — and nothing
//! else unsigned; what the worker writes from it (records, retries, dead letters) is signed and
//! sealed as usual. Trusting SQL means trusting every role that may insert into the schema's
//! `tasks` table like a producer (see docs/security.md).

use stem_protocol::TaskEnvelope;

/// The variable that sets the level.
pub const VAR: &str = "STEM_SQL_ENQUEUE";

/// The header the SQL functions set.
pub const SOURCE_HEADER: &str = "stem-source";

/// The `stem-` headers a SQL-written task may carry.
const SQL_HEADERS: &[&str] = &[
    SOURCE_HEADER,
    "stem-unique-key",
    "stem-unique-holder",
    "stem-unique-ttl-ms",
    "stem-unique-release",
];

/// Whether `STEM_SQL_ENQUEUE` says `trust` (`refuse`, the default, or unset: no).
pub fn trust_from(get: &dyn Fn(&str) -> Option<String>) -> Result<bool, String> {
    match get(VAR).as_deref().map(str::trim) {
        None | Some("refuse") => Ok(false),
        Some("trust") => Ok(true),
        Some(other) => Err(format!("{VAR}={other:?}: expected refuse or trust")),
    }
}

/// Whether `env` has exactly the shape the SQL functions write.
pub fn written_by_sql(env: &TaskEnvelope) -> bool {
    env.signature.is_none()
        && env.sealed.is_none()
        && env.attempt == 1
        && env.canvas.is_none()
        && env.parent_id.is_none()
        && env.group_id.is_none()
        && env.max_retries.is_none()
        && env.headers.get(SOURCE_HEADER).map(String::as_str) == Some("sql")
        && env
            .headers
            .keys()
            .filter(|k| k.to_ascii_lowercase().starts_with("stem-"))
            .all(|k| SQL_HEADERS.contains(&k.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql_task() -> TaskEnvelope {
        let mut env = TaskEnvelope::new("add");
        env.headers.insert(SOURCE_HEADER.into(), "sql".into());
        env.headers.insert("stem-unique-key".into(), "id:x".into());
        env
    }

    #[test]
    fn only_the_shape_the_sql_functions_write_is_trusted() {
        assert!(written_by_sql(&sql_task()));
        let mut plain = sql_task();
        plain.headers.remove(SOURCE_HEADER);
        assert!(!written_by_sql(&plain), "no source header");
        let mut resumed = sql_task();
        resumed
            .headers
            .insert("stem-wf-parent".into(), "run-1".into());
        assert!(!written_by_sql(&resumed), "a workflow header");
        let mut retried = sql_task();
        retried.attempt = 2;
        assert!(!written_by_sql(&retried), "a retry is the worker's, signed");
        let mut signed = sql_task();
        signed.signature = Some("hmac-sha256:k:AAAA".into());
        assert!(!written_by_sql(&signed), "signed: verified as usual");
        let mut grouped = sql_task();
        grouped.group_id = Some("g".into());
        assert!(!written_by_sql(&grouped));
    }

    #[test]
    fn the_level_is_refuse_or_trust() {
        let get = |v: &'static str| move |k: &str| (k == VAR).then(|| v.to_string());
        assert_eq!(trust_from(&|_| None), Ok(false));
        assert_eq!(trust_from(&get("refuse")), Ok(false));
        assert_eq!(trust_from(&get("trust")), Ok(true));
        let err = trust_from(&get("yes")).unwrap_err();
        assert!(err.starts_with("STEM_SQL_ENQUEUE=\"yes\""), "{err}");
    }
}
