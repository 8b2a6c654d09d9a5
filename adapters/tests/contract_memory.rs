//! Runs the adapter contract suite against the in-memory backend.

use stem_adapters::connect::ConnectOptions;

stem_contract::contract_tests!(async {
    Some(stem_adapters::memory::open(
        "memory://contract",
        &ConnectOptions::default(),
    ))
});
