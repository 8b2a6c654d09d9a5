//! The adapter contract suite (a crate of its own, not shipped in `stem-adapters`): one `pub async fn` per rule of the traits, each given a fresh,
//! isolated store and panicking with the rule it saw broken. Every backend runs all of them
//! through [`contract_tests!`], which makes one test per case.
//!
//! Cases use short leases and delays (a few hundred milliseconds) and poll with deadlines, so the
//! whole suite runs in seconds. Behaviour that cannot be reached through the traits (a malformed
//! payload in the broker) is tested in each backend's own tests.

mod backend;
mod broker;
mod commit;
mod concurrency;
mod control;
mod delay;
mod dlq;
mod fairness;
mod find;
mod flow;
mod groups;
mod history;
mod lease;
mod peek;
mod revoke;
mod schedule;
mod util;
mod workflow;
mod workflow_emit;
mod workflow_fixtures;

pub use backend::*;
pub use broker::*;
pub use commit::*;
pub use concurrency::*;
pub use control::*;
pub use delay::*;
pub use dlq::*;
pub use fairness::*;
pub use find::*;
pub use flow::*;
pub use groups::*;
pub use history::*;
pub use lease::*;
pub use peek::*;
pub use revoke::*;
pub use schedule::*;
pub use workflow::*;
pub use workflow_emit::*;

/// Expands to one `#[tokio::test]` per contract case. The argument is an expression giving a
/// future of `Option<Arc<dyn Store>>`, evaluated once per test; each must be a fresh, isolated
/// store. `None` skips the case (the factory should print why, e.g. an unset URL variable).
///
/// ```ignore
/// stem_contract::contract_tests!(async {
///     Some(stem_adapters::memory::open("memory://", &Default::default()))
/// });
/// ```
///
/// The calling crate needs `tokio` (with `macros` and `rt-multi-thread`) as a dependency.
#[macro_export]
macro_rules! contract_tests {
    ($factory:expr) => {
        $crate::contract_tests!(@cases $factory;
            publish_fetch_ack,
            priority_then_fifo,
            fetch_respects_max,
            fetch_only_named_queues,
            fetch_wait_wakes_on_publish,
            fetch_wait_times_out_empty,
            counts_track_states,
            queues_lists_known,
            ack_many,
            expired_lease_redelivered,
            extend_keeps_lease,
            stale_receipt_is_noop,
            release_with_replacement_and_delay,
            release_same_envelope_now,
            delayed_publish_waits_for_eta,
            fetch_wait_wakes_when_due,
            due_tasks_delivered_once_across_consumers,
            concurrent_consumers_exactly_once,
            dead_letter_is_listed,
            dead_letters_oldest_first_with_limit,
            dead_letters_unbounded_limit,
            replay_dead_letter,
            purge_dead_letters,
            commit_records_and_acks,
            stale_commit_is_rejected_whole,
            commit_release_dead_letter_follow_ups,
            records_fenced_by_generation,
            generations_grow,
            split_store_commit_is_fenced,
            group_join_completes_once,
            group_join_racing_members_one_completer,
            group_fail_reported_once,
            group_state_expires,
            result_set_get_overwrite,
            result_wait_wakes_on_terminal,
            result_wait_timeout,
            result_ttl_expires,
            result_list_filters,
            result_list_pages,
            result_delete_finished,
            history_minutes_sum_and_list,
            history_drops_old_minutes,
            revoke_get_list,
            revoke_expires,
            control_requests_by_target_and_since,
            control_requests_wait,
            control_replies_gather,
            control_heartbeats,
            control_event_cursors,
            control_events_wait,
            schedule_crud,
            leader_lock_and_renewal,
            leader_takeover_refuses_stale_leader,
            claims_unique_across_concurrent_claimers,
            schedule_state_fields,
            unique_lock_one_holder,
            unique_lock_race_one_winner,
            unique_lock_take_over_stale_holder,
            unique_run_taken_over_once_after_its_final_record,
            pauses_persist,
            token_bucket_limits_and_refills,
            slots_bounded_and_freed,
            find_task_by_id,
            peek_lists_each_state,
            wf_start_is_idempotent,
            wf_claim_rules,
            wf_one_claim_per_suspension,
            wf_stale_resume_write_refused,
            wf_final_step_kept,
            wf_emit_takes_each_waiter_once,
            wf_emit_and_timeout_race,
            wf_state_only_forward,
            wf_rewind_discards_and_fences,
            wf_list_counts_waiters,
            fair_round_robin_across_keys,
            fair_new_key_joins_at_the_clock,
            fair_weights,
            fair_priority_and_unkeyed_first,
            fair_leases_and_release_unchanged,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: ::std::option::Option<
                    ::std::sync::Arc<dyn ::stem_adapters::connect::Store>,
                > = $factory.await;
                match store {
                    ::std::option::Option::Some(store) => $crate::$case(store).await,
                    ::std::option::Option::None => ::std::eprintln!(
                        "contract case {}: no store (the factory returned None): skipping",
                        ::std::stringify!($case)
                    ),
                }
            }
        )*
    };
}
