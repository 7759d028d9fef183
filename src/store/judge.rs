//! The rule check of one prospective assignment, in as few statements as possible.
//!
//! Every statement on SQLite is a round trip to the driver's thread, and on PostgreSQL one
//! over the network, so the facts the rules need are read in two: one reads the session, the
//! role, its team and how many seats are taken; the other reads everything about the volunteer
//! that matters for the session's time.
//!
//! On PostgreSQL the locks come first, in statements of their own: under READ COMMITTED a
//! statement that had to wait for a lock still evaluates its subqueries with the snapshot it
//! started with, so a seat count read by the locking statement itself could miss a seat taken
//! by the transaction it waited for. A statement started after the lock is held sees it.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement, Value};

use super::Policy;
use super::dialect::sql;
use super::sessions::{StoredTimes, slot_from};
use crate::domain::staffing::{self, Commitment, Facts, Held, Person, RequiredTeam, Seat, Violation};
use crate::domain::time::TimeWindow;
use crate::error::{Error, Result};

/// What a prospective assignment would break.
pub(super) struct Judged {
    pub session_id: i64,
    /// The session's program.
    pub program_id: i64,
    /// What the session adds to an assignee's time in the program
    /// ([`super::program_hours::worth`]), read with the seat.
    pub worth: i64,
    pub broken: Vec<Violation>,
}

/// Locks the session for sharing, then the role and the volunteer for update (PostgreSQL),
/// in one statement: PostgreSQL takes a statement's row locks in the order its locking
/// clauses name the tables, which is the agreed order.
const LOCK: &str = "\
SELECT r.id FROM session_roles r JOIN sessions s ON s.id = r.session_id CROSS JOIN volunteers v \
WHERE r.id = $1 AND s.id = $2 AND v.id = $3 FOR SHARE OF s FOR UPDATE OF r FOR UPDATE OF v";

/// The session, its role and the seats taken.
const ROLE: &str = "\
SELECT s.id, s.program_id, s.venue_id, s.time_zone, s.all_day, s.starts_at, s.ends_at, s.start_date, s.end_date, \
       s.status, s.deleted_at, r.needed, r.team_id, r.qualifications, t.path AS team_path, t.name AS team_name, \
       (SELECT COUNT(*) FROM assignments a WHERE a.role_id = r.id AND a.status IN (ACTIVE)) AS filled \
FROM session_roles r \
JOIN sessions s ON s.id = r.session_id \
LEFT JOIN teams t ON t.id = r.team_id \
WHERE r.id = $1 AND s.id = $2";

/// Everything about the volunteer that the rules weigh: team paths (1), qualifications (2),
/// unavailability near the session (3) and active assignments near it (4).
const VOLUNTEER: &str = "\
SELECT 1 AS kind, t.path AS text_a, CAST(NULL AS DATE) AS date_a, CAST(NULL AS DATE) AS date_b, \
       CAST(NULL AS TIMESTAMPTZ) AS time_a, CAST(NULL AS TIMESTAMPTZ) AS time_b, \
       CAST(NULL AS BIGINT) AS id_a, CAST(NULL AS BIGINT) AS id_b, CAST(NULL AS BIGINT) AS id_c, \
       CAST(NULL AS BOOLEAN) AS flag \
FROM team_memberships m JOIN teams t ON t.id = m.team_id WHERE m.volunteer_id = $1 \
UNION ALL \
SELECT 2, q.name, q.valid_from, q.valid_until, NULL, NULL, NULL, NULL, NULL, NULL \
FROM qualifications q WHERE q.volunteer_id = $1 \
UNION ALL \
SELECT 3, u.reason, NULL, NULL, u.starts_at, u.ends_at, u.id, NULL, NULL, NULL \
FROM unavailabilities u WHERE u.volunteer_id = $1 AND u.starts_at < $2 AND u.ends_at > $3 \
UNION ALL \
SELECT 4, s.time_zone, s.start_date, s.end_date, s.starts_at, s.ends_at, a.id, s.id, s.venue_id, s.all_day \
FROM assignments a JOIN sessions s ON s.id = a.session_id \
WHERE a.volunteer_id = $1 AND a.status IN (ACTIVE) AND s.deleted_at IS NULL \
  AND s.starts_at < $4 AND s.ends_at > $5";

/// The role statement for `role_id` of `session_id`.
pub(super) fn role_statement(backend: DatabaseBackend, role_id: i64, session_id: i64) -> Statement {
    Statement::from_sql_and_values(
        backend,
        sql(ROLE, backend),
        [Value::from(role_id), Value::from(session_id)],
    )
}

/// The volunteer statement for the time around `window`.
pub(super) fn volunteer_statement(
    backend: DatabaseBackend,
    volunteer_id: i64,
    window: TimeWindow,
    travel_buffer: TimeDelta,
) -> Statement {
    Statement::from_sql_and_values(
        backend,
        sql(VOLUNTEER, backend),
        [
            Value::from(volunteer_id),
            Value::from(window.end()),
            Value::from(window.start()),
            Value::from(window.end() + travel_buffer),
            Value::from(window.start() - travel_buffer),
        ],
    )
}

/// The seat `role_id` of `session_id` offers, as it stands: the same reading whether one
/// assignment is judged or a role's candidates are ranked, so the two never disagree.
pub(super) async fn seat(conn: &impl ConnectionTrait, role_id: i64, session_id: i64) -> Result<Seat> {
    Ok(seat_in_program(conn, role_id, session_id).await?.0)
}

/// The seat, with the session's program and its worth to an assignee.
async fn seat_in_program(conn: &impl ConnectionTrait, role_id: i64, session_id: i64) -> Result<(Seat, i64, i64)> {
    let role = conn
        .query_one_raw(role_statement(conn.get_database_backend(), role_id, session_id))
        .await?
        .ok_or(Error::NotFound("session role"))?;
    let times = StoredTimes {
        time_zone: role.try_get("", "time_zone")?,
        all_day: role.try_get("", "all_day")?,
        starts_at: role.try_get("", "starts_at")?,
        ends_at: role.try_get("", "ends_at")?,
        start_date: role.try_get("", "start_date")?,
        end_date: role.try_get("", "end_date")?,
    };
    let status: String = role.try_get("", "status")?;
    let deleted_at: Option<DateTime<Utc>> = role.try_get("", "deleted_at")?;
    let filled: i64 = role.try_get("", "filled")?;
    let team_id: Option<i64> = role.try_get("", "team_id")?;
    let team_path: Option<String> = role.try_get("", "team_path")?;
    let team_name: Option<String> = role.try_get("", "team_name")?;
    let qualifications: serde_json::Value = role.try_get("", "qualifications")?;
    let program_id: i64 = role.try_get("", "program_id")?;
    let slot = slot_from(session_id, role.try_get("", "venue_id")?, &times);
    let worth = if deleted_at.is_some() {
        0
    } else {
        crate::domain::hours::planned_seconds(slot, times.all_day)
    };
    let seat = Seat {
        slot,
        session_cancelled: status == "cancelled" || deleted_at.is_some(),
        needed: role.try_get("", "needed")?,
        filled: u64::try_from(filled).unwrap_or(0),
        team: team_id.zip(team_path).map(|(id, path)| RequiredTeam {
            id,
            path,
            name: team_name.unwrap_or_default(),
        }),
        required: serde_json::from_value(qualifications).unwrap_or_default(),
    };
    Ok((seat, program_id, worth))
}

/// Reads the facts under the agreed locks and applies the rules.
pub(super) async fn judge(
    txn: &DatabaseTransaction,
    role_id: i64,
    session_id: i64,
    volunteer_id: i64,
    policy: Policy,
) -> Result<Judged> {
    let backend = txn.get_database_backend();
    // SQLite's single writer already serializes this transaction. PostgreSQL takes the locks
    // in the agreed order — session (shared), role, volunteer — before anything is counted.
    if backend == DatabaseBackend::Postgres {
        let values = [Value::from(role_id), Value::from(session_id), Value::from(volunteer_id)];
        let lock = Statement::from_sql_and_values(backend, LOCK, values);
        if txn.query_one_raw(lock).await?.is_none() {
            // The role or the volunteer is gone; the seat's read fails if it is the role.
            seat(txn, role_id, session_id).await?;
            return Err(Error::NotFound("volunteer"));
        }
    }
    let (seat, program_id, worth) = seat_in_program(txn, role_id, session_id).await?;
    let rows = txn
        .query_all_raw(volunteer_statement(
            backend,
            volunteer_id,
            seat.slot.window,
            policy.travel_buffer,
        ))
        .await?;
    let (mut member_of, mut held, mut unavailable, mut commitments) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        let kind: i32 = row.try_get("", "kind")?;
        match kind {
            1 => member_of.push(row.try_get::<String>("", "text_a")?),
            2 => held.push(Held {
                name: row.try_get("", "text_a")?,
                valid_from: row.try_get::<Option<NaiveDate>>("", "date_a")?,
                valid_until: row.try_get::<Option<NaiveDate>>("", "date_b")?,
            }),
            3 => unavailable.push((
                row.try_get::<i64>("", "id_a")?,
                TimeWindow::from_stored(row.try_get("", "time_a")?, row.try_get("", "time_b")?),
            )),
            _ => {
                let times = StoredTimes {
                    time_zone: row.try_get("", "text_a")?,
                    all_day: row.try_get("", "flag")?,
                    starts_at: row.try_get("", "time_a")?,
                    ends_at: row.try_get("", "time_b")?,
                    start_date: row.try_get("", "date_a")?,
                    end_date: row.try_get("", "date_b")?,
                };
                commitments.push(Commitment {
                    assignment_id: row.try_get("", "id_a")?,
                    slot: slot_from(row.try_get("", "id_b")?, row.try_get("", "id_c")?, &times),
                });
            }
        }
    }
    let person = Person {
        member_of: &member_of,
        held: &held,
        commitments: &commitments,
        unavailable: &unavailable,
    };
    Ok(Judged {
        session_id,
        program_id,
        worth,
        broken: staffing::check(&Facts {
            now: policy.now,
            travel_buffer: policy.travel_buffer,
            seat: &seat,
            person,
        }),
    })
}
