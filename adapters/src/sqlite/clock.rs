//! The clock kept in a SQLite file, on which that file's leases, etas and expiries are judged.
//!
//! One row (`stem_clock`) holds the file's time (`now_ms`) with the host's boot id and the
//! boot-time clock (`/proc/uptime`, CLOCK_BOOTTIME: it counts from boot, nobody can set it, and
//! `LD_PRELOAD` time fakers do not reach a file read) at the moment it was written. The file's
//! time now is the row's time plus the boot time elapsed since: only differences of the host's
//! boot clock count, so a stepped wall clock or a process under `faketime` changes nothing.
//! Every write transaction advances the row (never backwards: the update only takes a larger
//! value, so racing processes keep it monotone). The wall clock is used only to seed a new
//! file (the first writer's wall time) and after a reboot (a new boot id), as the larger of the
//! row and the wall time — no lease of the previous boot is live then. Without a boot clock
//! (not Linux) the row is advanced to the wall time, never back: leases then do not survive a
//! forward step of a writer's clock. Lease generations come from the same row: the file's time
//! in µs, at least one more than the last one handed out.

use crate::Result;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::OnceLock;
use stem_protocol::now_ms;

/// The row as stored.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    pub now_ms: i64,
    pub boot_id: String,
    pub uptime_ms: i64,
    pub generation: i64,
}

/// This host's boot id and boot-clock reading (ms), when the platform has them.
fn host() -> Option<(&'static str, i64)> {
    static BOOT: OnceLock<Option<String>> = OnceLock::new();
    let boot = BOOT
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .as_deref()?;
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    Some((boot, (secs * 1000.0) as i64))
}

fn read(conn: &Connection) -> Result<Option<Row>> {
    Ok(conn
        .prepare_cached(
            "SELECT now_ms, boot_id, uptime_ms, generation FROM stem_clock WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok(Row {
                now_ms: r.get(0)?,
                boot_id: r.get(1)?,
                uptime_ms: r.get(2)?,
                generation: r.get(3)?,
            })
        })
        .optional()?)
}

/// The file's time given its row, this host's boot clock and this process's wall clock.
pub(super) fn judge(row: Option<&Row>, host: Option<(&str, i64)>, wall: i64) -> i64 {
    match (row, host) {
        (None, _) => wall,
        (Some(r), Some((boot, up))) if boot == r.boot_id => {
            r.now_ms.saturating_add((up - r.uptime_ms).max(0))
        }
        (Some(r), _) => r.now_ms.max(wall),
    }
}

/// The file's time now, without writing (for reads).
pub(super) fn now(conn: &Connection) -> Result<i64> {
    Ok(judge(read(conn)?.as_ref(), host(), now_ms()))
}

/// The file's time now, written back to the row; call inside a write transaction.
pub(super) fn advance(conn: &Connection) -> Result<i64> {
    advance_row(conn).map(|(now, _)| now)
}

fn advance_row(conn: &Connection) -> Result<(i64, i64)> {
    let row = read(conn)?;
    let host = host();
    let now = judge(row.as_ref(), host, now_ms());
    let (boot, up) = host.unwrap_or(("", 0));
    conn.prepare_cached(
        "INSERT INTO stem_clock (id, now_ms, boot_id, uptime_ms) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET now_ms = excluded.now_ms, boot_id = excluded.boot_id, \
         uptime_ms = excluded.uptime_ms WHERE excluded.now_ms >= stem_clock.now_ms",
    )?
    .execute(params![now, boot, up])?;
    Ok((now, row.map_or(0, |r| r.generation)))
}

/// Advances the clock and hands out a lease generation (µs) larger than any before; call
/// inside a write transaction. Returns (the file's time in ms, the generation).
pub(super) fn lease_generation(conn: &Connection) -> Result<(i64, u64)> {
    let (now, last) = advance_row(conn)?;
    let generation = now.saturating_mul(1000).max(last.saturating_add(1));
    conn.prepare_cached("UPDATE stem_clock SET generation = ?1 WHERE id = 1")?
        .execute([generation])?;
    Ok((now, generation as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(now_ms: i64, boot: &str, up: i64) -> Row {
        Row {
            now_ms,
            boot_id: boot.into(),
            uptime_ms: up,
            generation: 0,
        }
    }

    #[test]
    fn only_the_boot_clock_moves_the_file_clock() {
        let r = row(1_000_000, "b", 50_000);
        // A wall clock an hour ahead or behind changes nothing on the same boot.
        for wall in [0, 1_000_000 + 3_600_000, 1_000_000 - 3_600_000] {
            assert_eq!(judge(Some(&r), Some(("b", 52_000)), wall), 1_002_000);
        }
        // A new boot: the larger of the row and the wall clock.
        assert_eq!(judge(Some(&r), Some(("c", 10)), 5), 1_000_000);
        assert_eq!(judge(Some(&r), Some(("c", 10)), 2_000_000), 2_000_000);
        assert_eq!(judge(None, Some(("b", 1)), 42), 42);
        assert_eq!(judge(Some(&r), None, 7), 1_000_000);
    }

    #[test]
    fn the_clock_is_seeded_advanced_and_never_goes_back() {
        let conn = super::super::db::connect(":memory:").unwrap();
        let first = advance(&conn).unwrap();
        assert!(
            (first - now_ms()).abs() < 5_000,
            "seeded from the wall clock"
        );
        // A row from the future (another process's larger value) is kept, not overwritten.
        conn.execute("UPDATE stem_clock SET now_ms = now_ms + 3600000", [])
            .unwrap();
        let later = advance(&conn).unwrap();
        assert!(later >= first + 3_600_000, "{later} vs {first}");
        let (_, g1) = lease_generation(&conn).unwrap();
        let (_, g2) = lease_generation(&conn).unwrap();
        assert!(g2 > g1 && g1 >= later as u64 * 1000, "{g1} {g2}");
    }
}
