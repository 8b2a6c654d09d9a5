//! The Lua scripts, one file each under `lua/`, loaded once per process. Scripts that act on a
//! receipt share the `owned` prelude, which checks that the lease the receipt names is still held;
//! scripts that write records share `put_record`; those that publish share `place` (where a task
//! goes, and a keyed task's vt); the workflow scripts (`wf_*`) share `wf_lib`,
//! their key names and helpers.
//! `Script::invoke_async` sends EVALSHA and loads the script on NOSCRIPT, so a restarted Redis
//! (which forgot its script cache) just works.

use redis::Script;
use std::sync::LazyLock;

const OWNED: &str = include_str!("lua/owned.lua");
const PUT_RECORD: &str = include_str!("lua/put_record.lua");
const WF_LIB: &str = include_str!("lua/wf_lib.lua");
const PLACE: &str = include_str!("lua/place.lua");

fn with_place(body: &str) -> Script {
    Script::new(&format!("{PLACE}\n{body}"))
}

fn with_owned(body: &str) -> Script {
    Script::new(&format!("{OWNED}\n{body}"))
}

fn with_wf(body: &str) -> Script {
    Script::new(&format!("{WF_LIB}\n{body}"))
}

pub static FETCH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/fetch.lua")));
pub static COMMIT: LazyLock<Script> = LazyLock::new(|| {
    with_owned(&format!(
        "{PUT_RECORD}\n{PLACE}\n{}",
        include_str!("lua/commit.lua")
    ))
});
pub static PUBLISH: LazyLock<Script> =
    LazyLock::new(|| with_place(include_str!("lua/publish.lua")));
pub static SET_RECORDS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PUT_RECORD}\n{}",
        include_str!("lua/set_records.lua")
    ))
});
pub static DELETE_FINISHED: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/delete_finished.lua")));
pub static GROUP_JOIN: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/group_join.lua")));
pub static GROUP_FAIL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/group_fail.lua")));
pub static EXTEND: LazyLock<Script> = LazyLock::new(|| with_owned(include_str!("lua/extend.lua")));
pub static HELD: LazyLock<Script> = LazyLock::new(|| with_owned(include_str!("lua/held.lua")));
pub static REPLAY: LazyLock<Script> = LazyLock::new(|| with_place(include_str!("lua/replay.lua")));
pub static DEAD_LETTERS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/dead_letters.lua")));
pub static PURGE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/purge.lua")));
pub static COUNTS: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/counts.lua")));
pub static ENSURE_GROUPS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/ensure_groups.lua")));
pub static REVOCATIONS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/revocations.lua")));
pub static LEADER_ACQUIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/leader_acquire.lua")));
pub static LEADER_RENEW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/leader_renew.lua")));
pub static LEADER_RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/leader_release.lua")));
pub static CLAIM_FIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/claim_fire.lua")));
pub static UPDATE_STATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/update_state.lua")));
pub static CLAIM_UNIQUE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/claim_unique.lua")));
pub static RELEASE_UNIQUE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/release_unique.lua")));
pub static TAKE_TOKEN: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/take_token.lua")));
pub static TAKE_SLOT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/take_slot.lua")));
pub static WF_START: LazyLock<Script> = LazyLock::new(|| with_wf(include_str!("lua/wf_start.lua")));
pub static WF_CLAIM: LazyLock<Script> = LazyLock::new(|| with_wf(include_str!("lua/wf_claim.lua")));
pub static WF_WRITE_STEP: LazyLock<Script> =
    LazyLock::new(|| with_wf(include_str!("lua/wf_write_step.lua")));
pub static WF_SUSPEND: LazyLock<Script> =
    LazyLock::new(|| with_wf(include_str!("lua/wf_suspend.lua")));
pub static WF_FINISH: LazyLock<Script> =
    LazyLock::new(|| with_wf(include_str!("lua/wf_finish.lua")));
pub static WF_EMIT: LazyLock<Script> = LazyLock::new(|| with_wf(include_str!("lua/wf_emit.lua")));
pub static WF_REWIND: LazyLock<Script> =
    LazyLock::new(|| with_wf(include_str!("lua/wf_rewind.lua")));
pub static WF_LIST: LazyLock<Script> = LazyLock::new(|| with_wf(include_str!("lua/wf_list.lua")));
pub static WF_WAITERS: LazyLock<Script> =
    LazyLock::new(|| with_wf(include_str!("lua/wf_waiters.lua")));
