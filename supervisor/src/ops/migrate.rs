//! Postgres schema migrations, applied on request (workers apply them on start too). The other
//! backends need none.

use super::{OpsError, OpsResult};
use serde::Serialize;

/// The migrations run, in order; empty when the schema was up to date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migrated {
    pub namespace: String,
    pub applied: Vec<String>,
}

/// Applies the pending migrations of `namespace`'s schema at `url`, a `postgres://` URL.
pub async fn migrate(url: &str, namespace: &str) -> OpsResult<Migrated> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(OpsError::NotPostgres {
            url: url.to_string(),
        });
    }
    Ok(Migrated {
        namespace: namespace.to_string(),
        applied: apply(url, namespace).await?,
    })
}

#[cfg(feature = "postgres")]
async fn apply(url: &str, namespace: &str) -> OpsResult<Vec<String>> {
    let options = stem_adapters::ConnectOptions {
        namespace: namespace.to_string(),
    };
    Ok(stem_adapters::postgres::migrate(url, &options).await?)
}

#[cfg(not(feature = "postgres"))]
async fn apply(_url: &str, _namespace: &str) -> OpsResult<Vec<String>> {
    Err(OpsError::NoPostgresSupport)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::OpsErrorKind;

    #[tokio::test]
    async fn only_postgres_urls_are_migrated() {
        let err = migrate("sqlite://x.db", "stem")
            .await
            .expect_err("not postgres");
        assert_eq!(err.kind(), OpsErrorKind::BadInput);
        assert!(
            err.to_string().starts_with("migrations are for Postgres"),
            "{err}"
        );
    }
}
