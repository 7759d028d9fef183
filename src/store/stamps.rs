//! Change stamps: how a feed knows, in one small read, that something it shows has changed.
//!
//! `feed_stamps` holds a counter per part of the program a feed can show: `program:7`,
//! `activity:12`, `venue:3`, `organization:/1/4/` (an organizer, by its path), `team:/9/12/`
//! (a team its members belong to, by path), `volunteer:88`, and `*` for every feed at once.
//! Every write raises the counters of what it touched, in its own transaction, through the
//! audit trail that every write already passes ([`crate::store::audit`]). A feed's stamp is the
//! sum of the counters it depends on: `*` and its own, or for an organization's or team's feed
//! every counter in its subtree (a range of keys). Counters only grow, so the sum moves with
//! every committed change to what the feed shows.
//!
//! Writes that reach far (an organization, venue, activity, program or team renamed) raise
//! `*`; they are rare. Frequent ones (sessions, assignments, volunteers) raise only what they
//! touch, so writes to different parts of the program never wait on one another's counters.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement, Value};

use super::dialect::sql;
use crate::error::Result;

/// The key every feed depends on.
pub const EVERYTHING: &str = "*";

/// More keys than this from one change raise `*` instead (a slot followed by sessions all
/// over the country, say).
const MOST_KEYS: usize = 400;

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

/// What a change to one record touches, as its record knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touch {
    /// Nothing any feed shows.
    Nothing,
    /// Possibly every feed.
    Everything,
    /// A session: its program, activity and venue as the record has them, and (read from the
    /// database) its organizer, the sessions following it and who is assigned to them.
    Session {
        id: i64,
        program: i64,
        activity: i64,
        venue: i64,
    },
    /// A session known only by id (a change to one of its roles).
    SessionId(i64),
    /// A volunteer: their personal feed and the feeds of the teams they belong to.
    Volunteer(i64),
    /// Teams by id (those a volunteer was in before a change).
    Teams(Vec<i64>),
    /// An organization's own feed (its plan deadlines).
    Organization(i64),
}

/// The keys of a change that may touch every feed.
pub fn everything() -> BTreeSet<String> {
    BTreeSet::from([EVERYTHING.to_owned()])
}

/// The key of a program's counter.
pub fn program(id: i64) -> String {
    format!("program:{id}")
}

/// The key of an activity's counter.
pub fn activity(id: i64) -> String {
    format!("activity:{id}")
}

/// The key of a venue's counter.
pub fn venue(id: i64) -> String {
    format!("venue:{id}")
}

/// The key of a volunteer's counter.
pub fn volunteer(id: i64) -> String {
    format!("volunteer:{id}")
}

/// The key of an organization's counter, by its path (`/1/4/`).
pub fn organization(path: &str) -> String {
    format!("organization:{path}")
}

/// The key of a team's counter, by its path.
pub fn team(path: &str) -> String {
    format!("team:{path}")
}

/// The counters one feed depends on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Dependency {
    /// `*` and this key.
    Key(String),
    /// `*` and every key starting with this one (an organization or team and its subtree).
    Subtree(String),
}

impl Dependency {
    /// The key the dependency is named by: a change to it or (for a subtree) below it moves
    /// the feed.
    pub fn key(&self) -> &str {
        match self {
            Self::Key(key) | Self::Subtree(key) => key,
        }
    }
}

/// The keys `touches` raise.
pub async fn keys(conn: &impl ConnectionTrait, touches: &[Touch]) -> Result<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    let (mut sessions, mut volunteers, mut teams, mut organizations) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for touch in touches {
        match touch {
            Touch::Nothing => {}
            Touch::Everything => return Ok(everything()),
            Touch::Session {
                id,
                program: p,
                activity: a,
                venue: v,
            } => {
                keys.extend([program(*p), activity(*a), venue(*v)]);
                sessions.push(*id);
            }
            Touch::SessionId(id) => sessions.push(*id),
            Touch::Volunteer(id) => volunteers.push(*id),
            Touch::Teams(ids) => teams.extend(ids),
            Touch::Organization(id) => organizations.push(*id),
        }
    }
    if !sessions.is_empty() {
        let (found, assigned) = sessions_and_assigned(conn, &sessions).await?;
        keys.extend(found);
        volunteers.extend(assigned);
    }
    volunteers.sort_unstable();
    volunteers.dedup();
    keys.extend(volunteers.iter().map(|id| volunteer(*id)));
    keys.extend(
        paths(conn, PATHS_OF_MEMBERS, &volunteers)
            .await?
            .iter()
            .map(|p| team(p)),
    );
    keys.extend(paths(conn, PATHS_OF_TEAMS, &teams).await?.iter().map(|p| team(p)));
    keys.extend(
        paths(conn, PATHS_OF_ORGANIZATIONS, &organizations)
            .await?
            .iter()
            .map(|p| organization(p)),
    );
    if keys.len() > MOST_KEYS {
        return Ok(everything());
    }
    Ok(keys)
}

const PATHS_OF_MEMBERS: &str =
    "SELECT DISTINCT t.path FROM team_memberships m JOIN teams t ON t.id = m.team_id WHERE m.volunteer_id IN";
const PATHS_OF_TEAMS: &str = "SELECT path FROM teams WHERE id IN";
const PATHS_OF_ORGANIZATIONS: &str = "SELECT path FROM organizations WHERE id IN";

/// The paths a `SELECT … WHERE … IN` reads for `ids`.
async fn paths(conn: &impl ConnectionTrait, select: &str, ids: &[i64]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let text = format!("{select} ({})", placeholders(1, chunk.len()));
        for row in conn.query_all_raw(statement(conn, &text, chunk)).await? {
            found.push(row.try_get_by_index::<String>(0)?);
        }
    }
    Ok(found)
}

/// The program, activity, venue and organizer keys of `ids` and of the sessions following
/// them, and the volunteers assigned to any of those sessions.
async fn sessions_and_assigned(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<(BTreeSet<String>, Vec<i64>)> {
    let mut keys = BTreeSet::new();
    let mut all = Vec::new();
    for chunk in ids.chunks(CHUNK / 2) {
        let list = placeholders(1, chunk.len());
        let following = placeholders(chunk.len() + 1, chunk.len());
        let text = format!(
            "SELECT s.id, s.program_id, s.activity_id, s.venue_id, o.path FROM sessions s \
             JOIN activities a ON a.id = s.activity_id JOIN organizations o ON o.id = a.organization_id \
             WHERE s.id IN ({list}) OR s.linked_session_id IN ({following})"
        );
        let values: Vec<i64> = chunk.iter().chain(chunk).copied().collect();
        for row in conn.query_all_raw(statement(conn, &text, &values)).await? {
            all.push(row.try_get_by_index::<i64>(0)?);
            keys.insert(program(row.try_get_by_index(1)?));
            keys.insert(activity(row.try_get_by_index(2)?));
            keys.insert(venue(row.try_get_by_index(3)?));
            keys.insert(organization(&row.try_get_by_index::<String>(4)?));
        }
        if keys.len() > MOST_KEYS {
            return Ok((everything(), Vec::new()));
        }
    }
    let mut volunteers = Vec::new();
    for chunk in all.chunks(CHUNK) {
        let text = format!(
            "SELECT DISTINCT volunteer_id FROM assignments WHERE session_id IN ({})",
            placeholders(1, chunk.len())
        );
        for row in conn.query_all_raw(statement(conn, &text, chunk)).await? {
            volunteers.push(row.try_get_by_index::<i64>(0)?);
        }
    }
    Ok((keys, volunteers))
}

/// Rows each organization's and team's counter is spread over.
///
/// A team of a city's volunteers is touched by every assignment in the city; with one row,
/// concurrent assignments would queue on its lock until each commits. Those counters are only
/// ever read as part of a subtree (a range of keys), so each writer raises one of several
/// rows, `team:/9/12/#3`, all inside the team's range, and the sum is the same.
const SHARDS: u64 = 16;

/// The next shard this process raises, taken in turn so concurrent writers here never share one.
static NEXT_SHARD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The rows `keys` are raised in: organizations' and teams' counters in one of their shards.
fn rows_of(keys: &BTreeSet<String>, shard: u64) -> BTreeSet<String> {
    keys.iter()
        .map(|key| {
            if key.starts_with("organization:") || key.starts_with("team:") {
                format!("{key}#{shard}")
            } else {
                key.clone()
            }
        })
        .collect()
}

/// Raises the counters of `keys` (creating those not yet counted) in the caller's transaction,
/// in row order so that concurrent writers take the rows in one order, and notes the keys
/// for this instance's feeds (see [`collecting`]).
pub async fn raise(conn: &impl ConnectionTrait, keys: &BTreeSet<String>, now: DateTime<Utc>) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let shard = NEXT_SHARD.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARDS;
    let rows_raised = rows_of(keys, shard);
    let at = rows_raised.len() + 1;
    let rows = (1..=rows_raised.len())
        .map(|n| format!("(${n}, 1, ${at})"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = format!(
        "INSERT INTO feed_stamps (key, stamp, changed_at) VALUES {rows} \
         ON CONFLICT (key) DO UPDATE SET stamp = feed_stamps.stamp + 1, changed_at = excluded.changed_at"
    );
    let backend = conn.get_database_backend();
    let values = rows_raised
        .iter()
        .map(|k| Value::from(k.as_str()))
        .chain([Value::from(now)]);
    conn.execute_raw(Statement::from_sql_and_values(backend, sql(&text, backend), values))
        .await?;
    note(keys);
    Ok(())
}

/// Where the counters a feed depends on stand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stamp {
    /// The sum of the counters: it grows with every change to any of them.
    pub sum: i64,
    /// The latest change to any of them.
    pub changed: Option<DateTime<Utc>>,
}

/// The stamp of a feed that depends on `dependency`.
pub async fn read(conn: &impl ConnectionTrait, dependency: &Dependency) -> Result<Stamp> {
    let backend = conn.get_database_backend();
    let (condition, values) = match dependency {
        Dependency::Key(key) => ("key = $1", vec![Value::from(key.as_str())]),
        Dependency::Subtree(prefix) => ("(key >= $1 AND key < $2)", {
            vec![Value::from(prefix.as_str()), Value::from(past(prefix))]
        }),
    };
    let text = format!(
        "SELECT CAST(COALESCE(SUM(stamp), 0) AS BIGINT) AS sum, MAX(changed_at) AS changed FROM feed_stamps \
         WHERE key = '{EVERYTHING}' OR {condition}"
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql(&text, backend), values))
        .await?;
    Ok(match row {
        Some(row) => Stamp {
            sum: row.try_get("", "sum")?,
            changed: row.try_get("", "changed")?,
        },
        None => Stamp::default(),
    })
}

/// The first key after every key that starts with `prefix` (which ends in `/`).
fn past(prefix: &str) -> String {
    let mut end = prefix.trim_end_matches('/').to_owned();
    // `0` is the byte after `/`.
    end.push('0');
    end
}

fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn statement(conn: &impl ConnectionTrait, text: &str, ids: &[i64]) -> Statement {
    let backend = conn.get_database_backend();
    Statement::from_sql_and_values(backend, sql(text, backend), ids.iter().map(|id| Value::from(*id)))
}

tokio::task_local! {
    static TOUCHED: Arc<Mutex<BTreeSet<String>>>;
}

/// Runs `work`, and returns with its output the keys its writes raised, so the instance can
/// tell its own feeds (and other instances) once the writes are committed.
pub async fn collecting<F: Future>(work: F) -> (F::Output, BTreeSet<String>) {
    let touched = Arc::new(Mutex::new(BTreeSet::new()));
    let output = TOUCHED.scope(Arc::clone(&touched), work).await;
    let keys = std::mem::take(&mut *touched.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    (output, keys)
}

fn note(keys: &BTreeSet<String>) {
    let _ = TOUCHED.try_with(|touched| {
        touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(keys.iter().cloned());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_range_holds_its_keys_and_no_others() {
        let prefix = organization("/1/4/");
        let end = past(&prefix);
        for inside in ["organization:/1/4/", "organization:/1/4/17/", "organization:/1/4/9/"] {
            assert!(inside >= prefix.as_str() && inside < end.as_str(), "{inside}");
        }
        for outside in [
            "organization:/1/40/",
            "organization:/1/",
            "organization:/1/5/",
            "team:/1/4/",
        ] {
            assert!(!(outside >= prefix.as_str() && outside < end.as_str()), "{outside}");
        }
    }

    #[test]
    fn a_shard_of_a_counter_read_by_subtree_stays_in_its_subtree() {
        let keys = BTreeSet::from([team("/9/12/"), organization("/1/4/"), volunteer(88), program(7)]);
        let rows = rows_of(&keys, 3);
        assert_eq!(
            rows,
            BTreeSet::from([
                "organization:/1/4/#3".to_owned(),
                "program:7".to_owned(),
                "team:/9/12/#3".to_owned(),
                "volunteer:88".to_owned(),
            ])
        );
        for (row, prefix, sibling) in [
            ("team:/9/12/#3", team("/9/12/"), team("/9/1/")),
            ("organization:/1/4/#3", organization("/1/4/"), organization("/1/40/")),
        ] {
            assert!(
                row >= prefix.as_str() && row < past(&prefix).as_str(),
                "{row} in {prefix}"
            );
            assert!(
                !(row >= sibling.as_str() && row < past(&sibling).as_str()),
                "{row} not in {sibling}"
            );
        }
        // An ancestor's range holds its descendants' shards.
        let ancestor = team("/9/");
        assert!("team:/9/12/#3" >= ancestor.as_str() && "team:/9/12/#3" < past(&ancestor).as_str());
    }

    #[tokio::test]
    async fn collecting_gathers_what_the_work_noted_and_nothing_outside_it() {
        note(&BTreeSet::from(["outside".to_owned()]));
        let ((), keys) = collecting(async {
            note(&BTreeSet::from([program(1)]));
            tokio::task::yield_now().await;
            note(&BTreeSet::from([venue(2), program(1)]));
        })
        .await;
        assert_eq!(keys, BTreeSet::from([program(1), venue(2)]));
    }
}
