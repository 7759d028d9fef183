//! `sciday bench assign`: how fast assignments are made through the real HTTP API.
//!
//! It generates a program of the requested size, serves it on an ephemeral loopback port,
//! and sends assignment requests one at a time and from several workers at once. Every
//! request is one that should succeed (a free volunteer, a role with a seat), so the
//! figures measure the full rule check and write, not early refusals.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use entity::kinds::AssignmentStatus;
use entity::prelude::{Assignment, Session, SessionRole, Volunteer};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement};

use super::load::{self, Limits};
use crate::db::Db;
use crate::error::Result;
use crate::generate::Generated;
use crate::store::sessions::slot_of;

/// One request the benchmark will send.
#[derive(Clone, Copy, Debug)]
pub struct Pair {
    pub role_id: i64,
    pub volunteer_id: i64,
}

/// What one phase measured.
#[derive(Clone, Debug)]
pub struct Measured {
    pub concurrency: usize,
    pub requests: usize,
    pub created: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Measured {
    /// Assignments made per second.
    pub fn rate(&self) -> f64 {
        self.created as f64 / self.elapsed.as_secs_f64()
    }
}

/// Picks `count` requests that should all succeed: distinct volunteers, each put in a role
/// with a free seat on a day they have nothing else.
pub async fn plan(db: &Db, generated: &Generated, count: usize) -> Result<Vec<Pair>> {
    use entity::assignment::Column as A;
    use entity::session::Column as S;
    let conn = db.reader();
    let sessions = Session::find()
        .filter(S::ProgramId.eq(generated.program_id))
        .all(conn)
        .await?;
    let day_of: HashMap<i64, NaiveDate> = sessions.iter().map(|s| (s.id, slot_of(s).first_day)).collect();
    // By the program, not by a list of its sessions: a national program has more sessions
    // than a statement takes parameters.
    let roles = SessionRole::find()
        .inner_join(Session)
        .filter(S::ProgramId.eq(generated.program_id))
        .order_by_asc(entity::session_role::Column::Id)
        .all(conn)
        .await?;
    let filled = crate::store::roles::filled(conn, &roles.iter().map(|r| r.id).collect::<Vec<_>>()).await?;
    // Free seats, grouped by day.
    let mut seats: HashMap<NaiveDate, Vec<(i64, i64)>> = HashMap::new();
    for role in &roles {
        let free = i64::from(role.needed) - i64::try_from(*filled.get(&role.id).unwrap_or(&0)).unwrap_or(0);
        if let Some(day) = day_of.get(&role.session_id) {
            seats.entry(*day).or_default().push((role.id, free));
        }
    }
    let mut days: Vec<NaiveDate> = seats.keys().copied().collect();
    days.sort_unstable();
    // The volunteers with the highest ids, and the days they already serve.
    let volunteers: Vec<i64> = Volunteer::find()
        .select_only()
        .column(entity::volunteer::Column::Id)
        .order_by_desc(entity::volunteer::Column::Id)
        .limit(u64::try_from(count).unwrap_or(u64::MAX))
        .into_tuple()
        .all(conn)
        .await?;
    let mut busy: HashMap<i64, HashSet<NaiveDate>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let rows: Vec<(i64, i64)> = Assignment::find()
            .select_only()
            .column(A::VolunteerId)
            .column(A::SessionId)
            .filter(A::VolunteerId.is_in(chunk.iter().copied()))
            .filter(A::Status.is_in(AssignmentStatus::ACTIVE))
            .into_tuple()
            .all(conn)
            .await?;
        for (volunteer, session) in rows {
            if let Some(day) = day_of.get(&session) {
                busy.entry(volunteer).or_default().insert(*day);
            }
        }
    }
    let mut pairs = Vec::with_capacity(count);
    let mut next_day = 0usize;
    for volunteer in volunteers {
        let taken = busy.get(&volunteer);
        for _ in 0..days.len() {
            let day = days[next_day % days.len()];
            next_day += 1;
            if taken.is_some_and(|t| t.contains(&day)) {
                continue;
            }
            let Some(slot) = seats
                .get_mut(&day)
                .and_then(|s| s.iter_mut().find(|(_, free)| *free > 0))
            else {
                continue;
            };
            slot.1 -= 1;
            pairs.push(Pair {
                role_id: slot.0,
                volunteer_id: volunteer,
            });
            break;
        }
    }
    Ok(pairs)
}

/// Sends `pairs` to the API from `concurrency` workers and measures every request.
pub async fn drive(base: &str, token: &str, pairs: &[Pair], concurrency: usize) -> Measured {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap_or_default();
    let pairs: Arc<Vec<Pair>> = Arc::new(pairs.to_vec());
    let (url, token) = (format!("{base}/api/v1/assignments"), token.to_owned());
    let limits = Limits {
        requests: pairs.len(),
        workers: concurrency,
        time: Duration::MAX,
    };
    let sent = Arc::clone(&pairs);
    let sample = load::drive(limits, move |i| {
        let pair = sent[i];
        let body = serde_json::json!({"role_id": pair.role_id, "volunteer_id": pair.volunteer_id});
        client.post(&url).bearer_auth(&token).json(&body).send()
    })
    .await;
    Measured {
        concurrency,
        requests: pairs.len(),
        created: sample.with_status(201),
        elapsed: sample.elapsed,
        p50: sample.p50(),
        p99: sample.p99(),
    }
}

/// The query plans of the conflict checks one assignment runs, as the database explains them.
pub async fn explain(db: &Db, pair: Pair) -> Result<Vec<(String, String)>> {
    let conn = db.reader();
    let backend = conn.get_database_backend();
    let role = crate::store::roles::get(conn, pair.role_id).await?;
    let mut plans = Vec::new();
    for (name, statement) in
        crate::store::assignments::check_queries(backend, pair.role_id, role.session_id, pair.volunteer_id)
    {
        let prefix = if backend == sea_orm::DatabaseBackend::Sqlite {
            "EXPLAIN QUERY PLAN "
        } else {
            "EXPLAIN "
        };
        let explained = Statement::from_sql_and_values(
            backend,
            format!("{prefix}{}", statement.sql),
            statement.values.map(|v| v.0).unwrap_or_default(),
        );
        let rows = conn.query_all_raw(explained).await?;
        let lines: Vec<String> = rows
            .iter()
            .map(|row| {
                row.try_get_by_index::<String>(if backend == sea_orm::DatabaseBackend::Sqlite {
                    3
                } else {
                    0
                })
                .unwrap_or_default()
            })
            .collect();
        plans.push((name.to_owned(), lines.join("\n")));
    }
    Ok(plans)
}
