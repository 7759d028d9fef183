//! Ranking volunteers for a session role: who could take the seat, and who has served least.
//!
//! A pool may hold a million volunteers, so it is never read whole. It is walked in the
//! ranking's own order, through indexes, a batch at a time — first the volunteers with no time
//! in the program (by id, skipping the blocks of ids where everyone has some), then the others
//! from `program_hours` by (time assigned, id) — and each batch is judged by the rules an
//! assignment is judged by, until the page is full.

use std::collections::{BTreeSet, HashMap};

use entity::prelude::{Qualification, Team, TeamMembership};
use entity::program_hours::{Column as H, Entity as ProgramHours};
use entity::session::Model as Session;
use entity::session_role::Model as Role;
use entity::volunteer::{Column as V, Entity as Volunteers, Model as Volunteer};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::program_hours::{self, BLOCK};
use super::{Policy, activities, assignments, judge, teams};
use crate::domain::staffing::{self, Facts, Held, Person, Seat, Violation};
use crate::error::Result;

/// Volunteers read and judged per step of the walk.
const BATCH: u64 = 100;

/// One volunteer judged for a role.
#[derive(Debug)]
pub struct Candidate {
    pub volunteer: Volunteer,
    /// Hours already assigned in the session's program (active assignments).
    pub hours: f64,
    /// Why the volunteer fits, one line per rule (when eligible).
    pub reasons: Vec<String>,
    /// The rules that exclude the volunteer (empty when eligible).
    pub violations: Vec<Violation>,
}

/// How much of the ranking is wanted.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    /// At most this many candidates.
    pub limit: usize,
    /// Whether ineligible volunteers fill the page after the eligible ones.
    pub include_ineligible: bool,
}

/// Volunteers who could fill `role`, best first: eligible ones by fewest hours already
/// assigned in the program (to spread the work), then by id; then, if asked, the ineligible
/// ones in the same order.
///
/// The pool is the members of the role's team (and sub-teams) or, for roles without a
/// team, the volunteers of the organizations below the session's organizer; `within` narrows
/// it to the volunteers of the organizations the caller manages, since only those may be
/// assigned by them. Each is judged by the rules an assignment is judged by, on the seat
/// read as the assignment reads it: eligible means the assignment would be made now.
pub async fn rank(
    conn: &impl ConnectionTrait,
    role: &Role,
    session: &Session,
    organizer_path: &str,
    within: Option<&str>,
    policy: Policy,
    wanted: Wanted,
) -> Result<Vec<Candidate>> {
    let seat = judge::seat(conn, role.id, session.id).await?;
    // A cancelled, finished or full seat turns everyone away: no need to look at anyone.
    let closed = staffing::closed(&seat, policy.now);
    if closed && !wanted.include_ineligible {
        return Ok(Vec::new());
    }
    let full = program_hours::full_blocks(conn, session.program_id).await?;
    let mut walk = Walk::new(session.program_id, pool(&seat, organizer_path, within), full);
    let (mut eligible, mut ineligible) = (Vec::new(), Vec::new());
    // Eligible volunteers come first, so only a closed seat lets the ineligible end the walk.
    while eligible.len() < wanted.limit && !(closed && ineligible.len() >= wanted.limit) {
        let batch = walk.next(conn).await?;
        if batch.is_empty() {
            break;
        }
        for candidate in judged(conn, &seat, policy, batch).await? {
            if candidate.violations.is_empty() {
                eligible.push(candidate);
            } else if wanted.include_ineligible && ineligible.len() < wanted.limit {
                ineligible.push(candidate);
            }
        }
    }
    eligible.truncate(wanted.limit);
    let room = wanted.limit - eligible.len();
    eligible.extend(ineligible.into_iter().take(room));
    Ok(eligible)
}

/// Who may be offered the seat at all: the role's team, or the organizer's volunteers,
/// within the caller's organizations.
fn pool(seat: &Seat, organizer_path: &str, within: Option<&str>) -> Condition {
    let mut pool = Condition::all().add(match &seat.team {
        Some(team) => V::Id.in_subquery(teams::members_within(&team.path)),
        None => V::OrganizationId.in_subquery(activities::organizations_within(organizer_path)),
    });
    if let Some(path) = within {
        pool = pool.add(V::OrganizationId.in_subquery(activities::organizations_within(path)));
    }
    pool
}

/// Where the walk through the pool stands.
#[derive(Clone, Copy, Debug)]
enum Position {
    /// Among the volunteers without time in the program, from this id on.
    Free(i64),
    /// Among those with time, after this (seconds, id).
    Busy(Option<(i64, i64)>),
    Done,
}

/// The pool in ranking order, read a batch at a time with keyset conditions, so each step
/// costs the same however far the walk has gone.
struct Walk {
    program_id: i64,
    pool: Condition,
    /// Blocks of volunteer ids where everyone has time in the program.
    full: BTreeSet<i64>,
    at: Position,
}

/// The ids from `from` on that may hold volunteers without time: from the first block at or
/// after `from`'s that is not full, up to (not including) the next full one, if any.
fn open_range(full: &BTreeSet<i64>, from: i64) -> (i64, Option<i64>) {
    let mut block = from.div_euclid(BLOCK);
    while full.contains(&block) {
        block += 1;
    }
    let start = Ord::max(from, block * BLOCK);
    let end = full.range(block + 1..).next().map(|next| next * BLOCK);
    (start, end)
}

impl Walk {
    fn new(program_id: i64, pool: Condition, full: BTreeSet<i64>) -> Self {
        Self {
            program_id,
            pool,
            full,
            at: Position::Free(0),
        }
    }

    /// The next volunteers with their seconds in the program; empty when the pool is done.
    async fn next(&mut self, conn: &impl ConnectionTrait) -> Result<Vec<(Volunteer, i64)>> {
        loop {
            match self.at {
                Position::Free(from) => {
                    let (start, end) = open_range(&self.full, from);
                    let busy = Query::select()
                        .expr(Expr::val(1))
                        .from(ProgramHours)
                        .and_where(Expr::col((ProgramHours, H::ProgramId)).eq(self.program_id))
                        .and_where(Expr::col((ProgramHours, H::VolunteerId)).equals((Volunteers, V::Id)))
                        .and_where(Expr::col((ProgramHours, H::AssignedSeconds)).gt(0))
                        .to_owned();
                    let mut query = Volunteers::find()
                        .filter(self.pool.clone())
                        .filter(Expr::exists(busy).not())
                        .filter(V::Id.gte(start))
                        .order_by_asc(V::Id)
                        .limit(BATCH);
                    if let Some(end) = end {
                        query = query.filter(V::Id.lt(end));
                    }
                    let rows = query.all(conn).await?;
                    self.at = match (rows.last(), end) {
                        (Some(last), _) if rows.len() as u64 == BATCH => Position::Free(last.id + 1),
                        (_, Some(end)) => Position::Free(end),
                        (_, None) => Position::Busy(None),
                    };
                    if !rows.is_empty() {
                        return Ok(rows.into_iter().map(|v| (v, 0)).collect());
                    }
                }
                Position::Busy(after) => {
                    let mut query = ProgramHours::find()
                        .find_also_related(Volunteers)
                        .filter(H::ProgramId.eq(self.program_id))
                        .filter(H::AssignedSeconds.gt(0))
                        .filter(self.pool.clone())
                        .order_by_asc(H::AssignedSeconds)
                        .order_by_asc(H::VolunteerId)
                        .limit(BATCH);
                    if let Some((seconds, id)) = after {
                        let key = Expr::tuple([
                            Expr::col((ProgramHours, H::AssignedSeconds)),
                            Expr::col((ProgramHours, H::VolunteerId)),
                        ]);
                        query = query.filter(key.gt(Expr::tuple([Expr::val(seconds), Expr::val(id)])));
                    }
                    let rows = query.all(conn).await?;
                    self.at = match rows.last() {
                        Some((last, _)) if rows.len() as u64 == BATCH => {
                            Position::Busy(Some((last.assigned_seconds, last.volunteer_id)))
                        }
                        _ => Position::Done,
                    };
                    return Ok(rows
                        .into_iter()
                        .filter_map(|(hours, volunteer)| volunteer.map(|v| (v, hours.assigned_seconds)))
                        .collect());
                }
                Position::Done => return Ok(Vec::new()),
            }
        }
    }
}

/// Judges each of `batch` for the seat, keeping the batch's order.
async fn judged(
    conn: &impl ConnectionTrait,
    seat: &Seat,
    policy: Policy,
    batch: Vec<(Volunteer, i64)>,
) -> Result<Vec<Candidate>> {
    let ids: Vec<i64> = batch.iter().map(|(v, _)| v.id).collect();
    let memberships = memberships(conn, &ids).await?;
    let held = held(conn, &ids).await?;
    let calendars = assignments::calendars(conn, &ids, seat.slot, policy.travel_buffer).await?;
    let mut judged = Vec::with_capacity(batch.len());
    for (volunteer, seconds) in batch {
        let facts = Facts {
            now: policy.now,
            travel_buffer: policy.travel_buffer,
            seat,
            person: Person {
                member_of: memberships.get(&volunteer.id).map(Vec::as_slice).unwrap_or_default(),
                held: held.get(&volunteer.id).map(Vec::as_slice).unwrap_or_default(),
                commitments: calendars
                    .commitments
                    .get(&volunteer.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                unavailable: calendars
                    .unavailable
                    .get(&volunteer.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            },
        };
        let violations = staffing::check(&facts);
        let hours = seconds as f64 / 3600.0;
        let reasons = if violations.is_empty() {
            let mut reasons = staffing::kept(&facts);
            reasons.push(format!("{hours:.1} hours already assigned in this program"));
            reasons
        } else {
            Vec::new()
        };
        judged.push(Candidate {
            volunteer,
            hours,
            reasons,
            violations,
        });
    }
    Ok(judged)
}

/// The paths of the teams each of `volunteers` belongs to.
async fn memberships(conn: &impl ConnectionTrait, volunteers: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    use entity::team_membership::Column as M;
    let mut found: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let rows = TeamMembership::find()
            .filter(M::VolunteerId.is_in(chunk.iter().copied()))
            .find_also_related(Team)
            .all(conn)
            .await?;
        for (membership, team) in rows {
            if let Some(team) = team {
                found.entry(membership.volunteer_id).or_default().push(team.path);
            }
        }
    }
    Ok(found)
}

/// The qualifications each of `volunteers` holds.
async fn held(conn: &impl ConnectionTrait, volunteers: &[i64]) -> Result<HashMap<i64, Vec<Held>>> {
    use entity::qualification::Column as Q;
    let mut found: HashMap<i64, Vec<Held>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        for q in Qualification::find()
            .filter(Q::VolunteerId.is_in(chunk.iter().copied()))
            .all(conn)
            .await?
        {
            found.entry(q.volunteer_id).or_default().push(Held {
                name: q.name,
                valid_from: q.valid_from,
                valid_until: q.valid_until,
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_skips_blocks_where_everyone_has_time() {
        let full = BTreeSet::from([0, 1, 3, 4, 6]);
        assert_eq!(open_range(&full, 0), (2 * BLOCK, Some(3 * BLOCK)));
        assert_eq!(open_range(&full, 2 * BLOCK + 7), (2 * BLOCK + 7, Some(3 * BLOCK)));
        assert_eq!(open_range(&full, 3 * BLOCK), (5 * BLOCK, Some(6 * BLOCK)));
        assert_eq!(open_range(&full, 6 * BLOCK), (7 * BLOCK, None));
        assert_eq!(open_range(&BTreeSet::new(), 1), (1, None));
    }
}
