//! Runs the adapter contract suite against the Redis backend (`STEM_TEST_REDIS_URL`), each case
//! under a fresh namespace; skips when the variable is unset.

#![cfg(feature = "redis")]

mod redis_support;

stem_contract::contract_tests!(async {
    let url = redis_support::redis_url("contract_redis")?;
    Some(redis_support::open(&url, &redis_support::fresh_namespace()).await)
});
