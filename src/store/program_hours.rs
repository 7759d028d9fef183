//! Each volunteer's assigned time per program (`program_hours`), the order candidates for a
//! role are walked in.
//!
//! The totals change by differences, in the transaction of the write that causes them: an
//! assignment made or leaving the active statuses, a session moved, deleted or brought back.
//! Adding a difference is one upsert that commutes with every other, so two instances
//! writing for the same volunteer at once never lose each other's change, and nothing has to
//! be read first. They always equal [`super::hours::assigned_in_program`].
//!
//! Beside them, `program_hour_blocks` counts the volunteers with time in each block of
//! [`BLOCK`] volunteer ids, so a walk through the volunteers without time can skip the blocks
//! where everyone has some.

use std::collections::{BTreeMap, BTreeSet};

use entity::assignment::{Column as A, Entity as Assignments};
use entity::kinds::AssignmentStatus;
use entity::session::Model as Session;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QuerySelect, Statement, Value};

use super::dialect::sql;
use super::sessions::slot_of;
use crate::domain::hours;
use crate::error::Result;

/// Rows per upsert statement (three parameters each, well under SQLite's limit).
const CHUNK: usize = 1000;

/// Volunteer ids per block of `program_hour_blocks` (as in its migration).
pub const BLOCK: i64 = 1024;

/// What a session adds to the time of each volunteer actively assigned to it: its planned
/// length while it is live, nothing once deleted.
pub fn worth(session: &Session) -> i64 {
    if session.deleted_at.is_some() {
        return 0;
    }
    hours::planned_seconds(slot_of(session), session.all_day)
}

/// After an assignment was made or changed status: its session's worth is added when it
/// became active and taken away when it stopped being so.
pub(super) async fn assignment_changed(
    conn: &impl ConnectionTrait,
    session: &Session,
    volunteer_id: i64,
    was_active: bool,
    is_active: bool,
) -> Result<()> {
    let seconds = match (was_active, is_active) {
        (false, true) => worth(session),
        (true, false) => -worth(session),
        _ => return Ok(()),
    };
    add(conn, session.program_id, &[(volunteer_id, seconds)]).await
}

/// After an active assignment was made to a session worth `seconds`, its volunteer's time in
/// the program grows by that much.
pub(super) async fn assignment_made(
    conn: &impl ConnectionTrait,
    program_id: i64,
    volunteer_id: i64,
    seconds: i64,
) -> Result<()> {
    add(conn, program_id, &[(volunteer_id, seconds)]).await
}

/// After a session changed from `before` to `after`: everyone actively assigned to it gains
/// (or loses) the difference in its worth.
pub(super) async fn session_changed(conn: &impl ConnectionTrait, before: &Session, after: &Session) -> Result<()> {
    let difference = worth(after) - worth(before);
    if difference == 0 {
        return Ok(());
    }
    let volunteers: Vec<i64> = Assignments::find()
        .select_only()
        .column(A::VolunteerId)
        .filter(A::SessionId.eq(after.id))
        .filter(A::Status.is_in(AssignmentStatus::ACTIVE))
        .into_tuple()
        .all(conn)
        .await?;
    let changes: Vec<(i64, i64)> = volunteers.into_iter().map(|v| (v, difference)).collect();
    add(conn, after.program_id, &changes).await
}

/// Adds each `(volunteer, seconds)` to the volunteer's time in the program; one volunteer may
/// come more than once. Rows are written in volunteer order, so two writers lock them in the
/// same order; the blocks of those whose time started or ended follow.
async fn add(conn: &impl ConnectionTrait, program_id: i64, changes: &[(i64, i64)]) -> Result<()> {
    let mut merged: BTreeMap<i64, i64> = BTreeMap::new();
    for &(volunteer, seconds) in changes {
        *merged.entry(volunteer).or_default() += seconds;
    }
    merged.retain(|_, seconds| *seconds != 0);
    let rows: Vec<(i64, i64)> = merged.iter().map(|(v, s)| (*v, *s)).collect();
    let backend = conn.get_database_backend();
    let mut blocks: BTreeMap<i64, i64> = BTreeMap::new();
    for chunk in rows.chunks(CHUNK) {
        let mut values = Vec::with_capacity(chunk.len() * 3);
        let mut tuples = Vec::with_capacity(chunk.len());
        for (i, &(volunteer, seconds)) in chunk.iter().enumerate() {
            tuples.push(format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
            values.extend([Value::from(program_id), Value::from(volunteer), Value::from(seconds)]);
        }
        let text = format!(
            "INSERT INTO program_hours (program_id, volunteer_id, assigned_seconds) VALUES {} \
             ON CONFLICT (program_id, volunteer_id) \
             DO UPDATE SET assigned_seconds = program_hours.assigned_seconds + excluded.assigned_seconds \
             RETURNING volunteer_id, assigned_seconds",
            tuples.join(", ")
        );
        let written = conn
            .query_all_raw(Statement::from_sql_and_values(backend, sql(&text, backend), values))
            .await?;
        for row in written {
            let volunteer: i64 = row.try_get("", "volunteer_id")?;
            let now: i64 = row.try_get("", "assigned_seconds")?;
            let before = now - merged.get(&volunteer).copied().unwrap_or(0);
            let change = i64::from(now > 0) - i64::from(before > 0);
            if change != 0 {
                *blocks.entry(volunteer.div_euclid(BLOCK)).or_default() += change;
            }
        }
    }
    blocks.retain(|_, change| *change != 0);
    if blocks.is_empty() {
        return Ok(());
    }
    let mut values = Vec::with_capacity(blocks.len() * 3);
    let mut tuples = Vec::with_capacity(blocks.len());
    for (i, (block, change)) in blocks.into_iter().enumerate() {
        tuples.push(format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
        values.extend([Value::from(program_id), Value::from(block), Value::from(change)]);
    }
    let text = format!(
        "INSERT INTO program_hour_blocks (program_id, block, busy) VALUES {} \
         ON CONFLICT (program_id, block) DO UPDATE SET busy = program_hour_blocks.busy + excluded.busy",
        tuples.join(", ")
    );
    conn.execute_raw(Statement::from_sql_and_values(backend, sql(&text, backend), values))
        .await?;
    Ok(())
}

/// The blocks of volunteer ids in which every id has time in the program.
pub(super) async fn full_blocks(conn: &impl ConnectionTrait, program_id: i64) -> Result<BTreeSet<i64>> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql(
                "SELECT block FROM program_hour_blocks WHERE program_id = $1 AND busy >= $2 ORDER BY block",
                backend,
            ),
            [Value::from(program_id), Value::from(BLOCK)],
        ))
        .await?;
    rows.into_iter()
        .map(|row| Ok(row.try_get::<i64>("", "block")?))
        .collect()
}

/// The worth of a live session in seconds, as each backend computes it from the stored
/// columns: the same figure as [`worth`].
fn worth_sql(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "CASE WHEN s.all_day AND s.start_date IS NOT NULL AND s.end_date IS NOT NULL \
                 THEN 28800 * (s.end_date - s.start_date + 1) \
             ELSE CAST(FLOOR(EXTRACT(EPOCH FROM s.ends_at - s.starts_at)) AS BIGINT) END"
        }
        _ => {
            "CASE WHEN s.all_day AND s.start_date IS NOT NULL AND s.end_date IS NOT NULL \
                 THEN 28800 * (CAST(julianday(s.end_date) - julianday(s.start_date) AS INTEGER) + 1) \
             ELSE CAST(strftime('%s', s.ends_at) AS INTEGER) - CAST(strftime('%s', s.starts_at) AS INTEGER) END"
        }
    }
}

/// Computes a program's totals afresh from its assignments, for data written in bulk
/// without the rules (generated programs, restored backups). `None`: every program.
pub async fn rebuild(conn: &impl ConnectionTrait, program_id: Option<i64>) -> Result<()> {
    let backend = conn.get_database_backend();
    let (only, only_sessions, values) = match program_id {
        Some(id) => (
            " WHERE program_id = $1",
            " AND s.program_id = $1",
            vec![Value::from(id)],
        ),
        None => ("", "", Vec::new()),
    };
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql(&format!("DELETE FROM program_hours{only}"), backend),
        values.clone(),
    ))
    .await?;
    let text = format!(
        "INSERT INTO program_hours (program_id, volunteer_id, assigned_seconds) \
         SELECT s.program_id, a.volunteer_id, SUM({worth}) \
         FROM assignments a JOIN sessions s ON s.id = a.session_id \
         WHERE a.status IN (ACTIVE) AND s.deleted_at IS NULL{only_sessions} \
         GROUP BY s.program_id, a.volunteer_id",
        worth = worth_sql(backend),
    );
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql(&text, backend),
        values.clone(),
    ))
    .await?;
    conn.execute_raw(Statement::from_sql_and_values(
        backend,
        sql(&format!("DELETE FROM program_hour_blocks{only}"), backend),
        values.clone(),
    ))
    .await?;
    let blocks = format!(
        "INSERT INTO program_hour_blocks (program_id, block, busy) \
         SELECT program_id, volunteer_id / {BLOCK}, COUNT(*) FROM program_hours \
         WHERE assigned_seconds > 0{and_only} GROUP BY program_id, volunteer_id / {BLOCK}",
        and_only = if program_id.is_some() {
            " AND program_id = $1"
        } else {
            ""
        },
    );
    conn.execute_raw(Statement::from_sql_and_values(backend, sql(&blocks, backend), values))
        .await?;
    Ok(())
}

/// Each volunteer's time in a program, in seconds, as kept (absent: none).
pub async fn of(conn: &impl ConnectionTrait, program_id: i64) -> Result<BTreeMap<i64, i64>> {
    use entity::program_hours::{Column as H, Entity as ProgramHours};
    let rows: Vec<(i64, i64)> = ProgramHours::find()
        .select_only()
        .column(H::VolunteerId)
        .column(H::AssignedSeconds)
        .filter(H::ProgramId.eq(program_id))
        .filter(H::AssignedSeconds.gt(0))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}
