//! Contract cases for the revoke store: revoke, get, list since a time, replace, expiry.

use crate::util::*;
use std::sync::Arc;
use stem_adapters::connect::Store;
use stem_adapters::Revocation;
use stem_protocol::now_ms;

fn revocation(id: &str, revoked_at: i64, ttl_ms: i64) -> Revocation {
    Revocation {
        id: id.to_string(),
        terminate: false,
        reason: Some("by hand".into()),
        revoked_at,
        expires_at: revoked_at + ttl_ms,
    }
}

/// A revocation can be read back, listed since a time (oldest first) and replaced.
pub async fn revoke_get_list(store: Arc<dyn Store>) {
    let now = now_ms();
    let old = revocation("old", now - 10_000, 3_600_000);
    let mid = revocation("mid", now - 5_000, 3_600_000);
    let mut new = revocation("new", now, 3_600_000);
    new.terminate = true;
    for r in [&new, &old, &mid] {
        store.revoke(r).await.expect("revoke");
    }
    assert_eq!(
        store.get_revocation("mid").await.expect("get"),
        Some(mid.clone())
    );
    assert_eq!(
        store.get_revocation("none").await.expect("get"),
        None,
        "unknown id"
    );
    let all = store.revocations(0).await.expect("revocations");
    assert_eq!(
        all,
        [old.clone(), mid.clone(), new.clone()],
        "revocations(0) lists all, oldest first"
    );
    let recent = store.revocations(now - 5_000).await.expect("revocations");
    assert_eq!(
        recent,
        [mid, new.clone()],
        "revocations(since) includes `since`"
    );
    let mut replaced = old.clone();
    replaced.terminate = true;
    replaced.reason = None;
    store.revoke(&replaced).await.expect("revoke again");
    assert_eq!(
        store.get_revocation("old").await.expect("get"),
        Some(replaced),
        "a second revoke of an id replaces the first"
    );
    assert_eq!(
        store.revocations(0).await.expect("revocations").len(),
        3,
        "no duplicate"
    );
}

/// A revocation is forgotten after its `expires_at`.
pub async fn revoke_expires(store: Arc<dyn Store>) {
    let now = now_ms();
    store
        .revoke(&revocation("brief", now, 300))
        .await
        .expect("revoke");
    store
        .revoke(&revocation("lasting", now, 3_600_000))
        .await
        .expect("revoke");
    store
        .revoke(&revocation("lapsed", now - 10_000, 1_000))
        .await
        .expect("revoke");
    assert_eq!(
        store.get_revocation("lapsed").await.expect("get"),
        None,
        "already expired"
    );
    assert!(
        store.get_revocation("brief").await.expect("get").is_some(),
        "not yet expired"
    );
    let s = store.clone();
    eventually("revocation past expires_at", || {
        let s = s.clone();
        async move {
            let gone = s.get_revocation("brief").await.expect("get").is_none();
            let listed = s.revocations(0).await.expect("revocations");
            (gone && listed.iter().all(|r| r.id == "lasting")).then_some(())
        }
    })
    .await;
    assert!(
        store
            .get_revocation("lasting")
            .await
            .expect("get")
            .is_some(),
        "kept"
    );
}
