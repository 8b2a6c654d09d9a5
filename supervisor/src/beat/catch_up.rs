//! Which due fires a leader publishes. A fire found within the grace of its time is on time;
//! older ones were missed (the beat was down, the store unreachable, or a takeover was under way)
//! and the schedule's `catch_up` decides: `all` publishes each (at most `max_catch_up`, the
//! latest), `latest` only the latest one, `none` none of the missed ones. What is not published
//! is skipped: the leader moves the schedule's `last_fire` past it.

use stem_protocol::schedule::CatchUp;

/// What to do with the fires due now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Fire times to claim and publish, oldest first.
    pub fire: Vec<i64>,
    /// Raise `last_fire` to this without publishing (the latest fire skipped after the last one
    /// published), so it is not considered again.
    pub skip_to: Option<i64>,
    /// How many due fires were missed and will not be published.
    pub skipped: usize,
}

/// The plan for `due` (oldest first, the latest `max_catch_up` at most; `more` when older ones
/// were left out) at `now`, with `grace` ms for a fire to count as on time.
pub fn plan(due: &[i64], more: bool, policy: CatchUp, now: i64, grace: i64) -> Plan {
    let Some(&latest) = due.last() else {
        return Plan::default();
    };
    let on_time = |t: &i64| now - *t <= grace;
    let fire: Vec<i64> = match policy {
        CatchUp::All => due.to_vec(),
        CatchUp::Latest => vec![latest],
        CatchUp::None => due.iter().copied().filter(on_time).collect(),
    };
    let skipped = due.len() - fire.len() + usize::from(more);
    let skip_to = match fire.last() {
        Some(&last) if last == latest => None,
        _ => Some(latest),
    };
    Plan {
        fire,
        skip_to,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 100_000;
    const GRACE: i64 = 1_000;

    #[test]
    fn on_time_fires_go_out_under_every_policy() {
        for policy in [CatchUp::All, CatchUp::Latest, CatchUp::None] {
            let p = plan(&[99_500], false, policy, NOW, GRACE);
            assert_eq!(p.fire, [99_500], "{policy:?}");
            assert_eq!((p.skip_to, p.skipped), (None, 0));
        }
        assert_eq!(plan(&[], false, CatchUp::All, NOW, GRACE), Plan::default());
    }

    #[test]
    fn missed_fires_follow_the_policy() {
        let due = [90_000, 91_000, 92_000];
        let all = plan(&due, true, CatchUp::All, NOW, GRACE);
        assert_eq!(
            (all.fire, all.skip_to, all.skipped),
            (due.to_vec(), None, 1)
        );
        let latest = plan(&due, false, CatchUp::Latest, NOW, GRACE);
        assert_eq!(
            (latest.fire, latest.skip_to, latest.skipped),
            (vec![92_000], None, 2)
        );
        let none = plan(&due, false, CatchUp::None, NOW, GRACE);
        assert_eq!(
            (none.fire, none.skip_to, none.skipped),
            (vec![], Some(92_000), 3)
        );
        let mixed = plan(&[90_000, 99_800], false, CatchUp::None, NOW, GRACE);
        assert_eq!((mixed.fire, mixed.skip_to), (vec![99_800], None));
    }
}
