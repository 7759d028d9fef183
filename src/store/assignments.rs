//! Queries on `assignments`, and the transaction that decides whether a volunteer may take a
//! seat.
//!
//! Correctness under concurrency comes from the database, not from this process: the
//! assigning transaction share-locks the session, then locks the role (so seats are counted
//! one transaction at a time) and the volunteer (so their calendar is read one transaction at
//! a time). Anything that moves a session locks the assigned volunteers before re-checking
//! them. On SQLite the single writer gives the same order. Locks are always taken session →
//! role → volunteers (in id order), so transactions never wait on each other in a circle.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use entity::assignment::{ActiveModel, Column, Entity, Model};
use entity::kinds::AssignmentStatus;
use entity::prelude::{Session, Unavailability};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, SelectTwo, Set, Statement,
};

use super::record::{self, Versioned};
use super::sessions::slot_of;
use super::{Cursor, Page, PageRequest, Policy, Reach, volunteers};
use super::{judge, program_hours, reminders};
use crate::domain::key::Key;
use crate::domain::staffing::{self, Commitment, Rule, Slot, Violation};
use crate::domain::time::TimeWindow;
use crate::error::{Error, Result};

/// An admin's decision to set some rules aside, with the reason.
#[derive(Clone, Debug)]
pub struct Override {
    /// The rules set aside; only overridable ones are accepted.
    pub rules: BTreeSet<Rule>,
    /// Why, for the record.
    pub reason: String,
    /// The admin's token.
    pub by: i64,
}

/// A request to put a volunteer in a role.
#[derive(Clone, Debug)]
pub struct Request {
    pub key: Key,
    pub role_id: i64,
    /// The role's session (roles never change sessions).
    pub session_id: i64,
    pub volunteer_id: i64,
    /// `proposed` or `confirmed`.
    pub status: AssignmentStatus,
    pub override_rules: Option<Override>,
}

/// Filters of the assignment list.
#[derive(Clone, Debug, Default)]
pub struct AssignmentFilter {
    pub session_id: Option<i64>,
    pub role_id: Option<i64>,
    pub volunteer_id: Option<i64>,
    pub program_id: Option<i64>,
    pub status: Option<AssignmentStatus>,
    /// Only assignments flagged with conflicts.
    pub flagged: Option<bool>,
    /// Changed since an instant.
    pub search: super::Search,
}

/// One assignment by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One assignment by id, locked until the transaction ends.
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One assignment by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// A page of assignments in id order.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &AssignmentFilter,
    reach: &Reach,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let query = Entity::find()
        .filter(super::reach::assignments(reach))
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[], Column::UpdatedAt);
    if let Some(session) = filter.session_id {
        query = query.filter(Column::SessionId.eq(session));
    }
    if let Some(role) = filter.role_id {
        query = query.filter(Column::RoleId.eq(role));
    }
    if let Some(volunteer) = filter.volunteer_id {
        query = query.filter(Column::VolunteerId.eq(volunteer));
    }
    if let Some(program) = filter.program_id {
        let sessions = Query::select()
            .column(entity::session::Column::Id)
            .from(Session)
            .and_where(entity::session::Column::ProgramId.eq(program))
            .to_owned();
        query = query.filter(Column::SessionId.in_subquery(sessions));
    }
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status));
    }
    match filter.flagged {
        Some(true) => query = query.filter(Column::FlaggedAt.is_not_null()),
        Some(false) => query = query.filter(Column::FlaggedAt.is_null()),
        None => {}
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Whether `reach` covers the assignment.
pub async fn reaches(conn: &impl ConnectionTrait, reach: &Reach, id: i64) -> Result<bool> {
    Ok(Entity::find_by_id(id)
        .filter(super::reach::assignments(reach))
        .one(conn)
        .await?
        .is_some())
}

/// Puts a volunteer in a role if every rule allows it (or an admin set the broken ones
/// aside). A refusal lists every rule that stands in the way.
pub async fn assign(txn: &DatabaseTransaction, request: Request, policy: Policy) -> Result<Model> {
    let judged = judge::judge(txn, request.role_id, request.session_id, request.volunteer_id, policy).await?;
    let (set_aside, blocking): (Vec<Violation>, Vec<Violation>) = judged.broken.into_iter().partition(|v| {
        request
            .override_rules
            .as_ref()
            .is_some_and(|o| o.rules.contains(&v.rule) && v.rule.overridable())
    });
    if !blocking.is_empty() {
        crate::metrics::refused(&blocking);
        return Err(Error::Refused(blocking));
    }
    let overridden: BTreeSet<Rule> = set_aside.iter().map(|v| v.rule).collect();
    let (override_reason, overridden_by) = match (&request.override_rules, overridden.is_empty()) {
        (Some(o), false) => (Some(o.reason.clone()), Some(o.by)),
        _ => (None, None),
    };
    let mut row = ActiveModel {
        overridden_rules: Set(serde_json::to_value(&overridden).unwrap_or_default()),
        override_reason: Set(override_reason),
        overridden_by: Set(overridden_by),
        ..new_row(
            &request.key,
            request.role_id,
            judged.session_id,
            request.volunteer_id,
            request.status,
        )
    };
    row.stamp(1, policy.now);
    // The session was read with the seat: its program and worth need no second read.
    let assignment = row.insert(txn).await?;
    if assignment.status.is_active() {
        program_hours::assignment_made(txn, judged.program_id, assignment.volunteer_id, judged.worth).await?;
    }
    reminders::assigned(txn, &assignment, policy.now).await?;
    Ok(assignment)
}

/// Re-derives a session's reminders after who serves at it changed.
async fn sync_reminders(txn: &DatabaseTransaction, session_id: i64, now: DateTime<Utc>) -> Result<()> {
    if let Some(session) = Session::find_by_id(session_id).one(txn).await? {
        reminders::sync(txn, &session, now).await?;
    }
    Ok(())
}

/// An assignment as an import file states it: a restore of what was, so rules about time
/// (the session being over) do not apply, but the structural ones do for active assignments.
#[derive(Clone, Debug)]
pub struct Restored {
    pub key: Key,
    pub role_id: i64,
    pub session_id: i64,
    pub volunteer_id: i64,
    pub status: AssignmentStatus,
    pub reason: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// Creates or updates an assignment from an import; returns it and whether it was new.
pub async fn restore(txn: &DatabaseTransaction, restored: Restored, policy: Policy) -> Result<(Model, bool)> {
    if let Some(current) = by_key(txn, restored.key.as_str()).await? {
        if current.role_id != restored.role_id || current.volunteer_id != restored.volunteer_id {
            return Err(Error::field(
                "role",
                "immutable",
                "an assignment cannot change its role or volunteer",
            ));
        }
        let same = current.status == restored.status
            && current.reason == restored.reason
            && current.checked_in_at == restored.checked_in_at;
        if same {
            return Ok((current, false));
        }
        let version = current.version + 1;
        let was_active = current.status.is_active();
        let mut row: ActiveModel = current.into();
        row.status = Set(restored.status);
        row.reason = Set(restored.reason);
        row.checked_in_at = Set(restored.checked_in_at);
        row.stamp(version, policy.now);
        let assignment = row.update(txn).await?;
        if let Some(session) = Session::find_by_id(assignment.session_id).one(txn).await? {
            let is_active = assignment.status.is_active();
            program_hours::assignment_changed(txn, &session, assignment.volunteer_id, was_active, is_active).await?;
        }
        sync_reminders(txn, assignment.session_id, policy.now).await?;
        return Ok((assignment, false));
    }
    let judged = judge::judge(
        txn,
        restored.role_id,
        restored.session_id,
        restored.volunteer_id,
        policy,
    )
    .await?;
    if restored.status.is_active() {
        let broken: Vec<Violation> = judged
            .broken
            .into_iter()
            .filter(|v| v.rule != Rule::SessionEnded)
            .collect();
        if !broken.is_empty() {
            crate::metrics::refused(&broken);
            return Err(Error::Refused(broken));
        }
    }
    let row = ActiveModel {
        reason: Set(restored.reason),
        checked_in_at: Set(restored.checked_in_at),
        ..new_row(
            &restored.key,
            restored.role_id,
            judged.session_id,
            restored.volunteer_id,
            restored.status,
        )
    };
    let assignment = insert(txn, row, policy.now).await?;
    sync_reminders(txn, assignment.session_id, policy.now).await?;
    Ok((assignment, true))
}

fn new_row(key: &Key, role_id: i64, session_id: i64, volunteer_id: i64, status: AssignmentStatus) -> ActiveModel {
    ActiveModel {
        key: Set(key.as_str().to_owned()),
        role_id: Set(role_id),
        session_id: Set(session_id),
        volunteer_id: Set(volunteer_id),
        status: Set(status),
        reason: Set(None),
        checked_in_at: Set(None),
        overridden_rules: Set(serde_json::Value::Array(Vec::new())),
        override_reason: Set(None),
        overridden_by: Set(None),
        conflicts: Set(None),
        flagged_at: Set(None),
        ..Default::default()
    }
}

/// Inserts a new assignment, and its time into the volunteer's in the program; the unique
/// index on `key` answers a duplicate with 409.
async fn insert(txn: &DatabaseTransaction, row: ActiveModel, now: DateTime<Utc>) -> Result<Model> {
    let mut row = row;
    row.stamp(1, now);
    let assignment = row.insert(txn).await?;
    if let Some(session) = Session::find_by_id(assignment.session_id).one(txn).await? {
        let is_active = assignment.status.is_active();
        program_hours::assignment_changed(txn, &session, assignment.volunteer_id, false, is_active).await?;
    }
    Ok(assignment)
}

/// The active assignments of `volunteers` (optionally only those near `near`), with their
/// sessions, grouped by volunteer. `except` leaves one assignment out.
async fn commitments(
    conn: &impl ConnectionTrait,
    volunteers: &[i64],
    near: Option<TimeWindow>,
    travel_buffer: TimeDelta,
    except: Option<i64>,
) -> Result<HashMap<i64, Vec<Commitment>>> {
    let mut found: HashMap<i64, Vec<Commitment>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let query = commitments_query(chunk, near, travel_buffer, except);
        for (assignment, session) in query.all(conn).await? {
            if let Some(session) = session {
                found.entry(assignment.volunteer_id).or_default().push(Commitment {
                    assignment_id: assignment.id,
                    slot: slot_of(&session),
                });
            }
        }
    }
    Ok(found)
}

fn commitments_query(
    volunteers: &[i64],
    near: Option<TimeWindow>,
    travel_buffer: TimeDelta,
    except: Option<i64>,
) -> SelectTwo<Entity, Session> {
    use entity::session::Column as S;
    let mut query = Entity::find()
        .filter(Column::VolunteerId.is_in(volunteers.iter().copied()))
        .filter(Column::Status.is_in(AssignmentStatus::ACTIVE))
        .find_also_related(Session)
        .filter(S::DeletedAt.is_null());
    if let Some(window) = near {
        query = query
            .filter(S::StartsAt.lt(window.end() + travel_buffer))
            .filter(S::EndsAt.gt(window.start() - travel_buffer));
    }
    if let Some(except) = except {
        query = query.filter(Column::Id.ne(except));
    }
    query
}

/// The unavailability windows of `volunteers` that touch `window`, grouped by volunteer.
async fn unavailable(
    conn: &impl ConnectionTrait,
    volunteers: &[i64],
    window: TimeWindow,
) -> Result<HashMap<i64, Vec<(i64, TimeWindow)>>> {
    let mut found: HashMap<i64, Vec<(i64, TimeWindow)>> = HashMap::new();
    for chunk in volunteers.chunks(500) {
        let rows = unavailable_query(chunk, window).all(conn).await?;
        for u in rows {
            found
                .entry(u.volunteer_id)
                .or_default()
                .push((u.id, TimeWindow::from_stored(u.starts_at, u.ends_at)));
        }
    }
    Ok(found)
}

fn unavailable_query(volunteers: &[i64], window: TimeWindow) -> Select<Unavailability> {
    use entity::unavailability::Column as U;
    Unavailability::find()
        .filter(U::VolunteerId.is_in(volunteers.iter().copied()))
        .filter(U::StartsAt.lt(window.end()))
        .filter(U::EndsAt.gt(window.start()))
}

/// The statements one assignment's rule check runs, for showing their query plans.
pub fn check_queries(
    backend: DatabaseBackend,
    role_id: i64,
    session_id: i64,
    volunteer_id: i64,
) -> Vec<(&'static str, Statement)> {
    let now = Utc::now();
    let window = TimeWindow::from_stored(now, now + TimeDelta::hours(2));
    vec![
        (
            "the session, the role and its seats",
            judge::role_statement(backend, role_id, session_id),
        ),
        (
            "the volunteer's teams, qualifications, unavailability and assignments near the session",
            judge::volunteer_statement(backend, volunteer_id, window, TimeDelta::minutes(30)),
        ),
    ]
}

/// What can happen to an assignment after it is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The volunteer says yes.
    Confirm,
    /// The volunteer says no (请假); the seat is freed.
    Decline(String),
    /// An organizer withdraws it; the seat is freed.
    Cancel(Option<String>),
    /// The volunteer arrived.
    CheckIn,
    /// The volunteer did not come.
    NoShow,
}

impl Action {
    /// The action's name in the audit trail.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Decline(_) => "decline",
            Self::Cancel(_) => "cancel",
            Self::CheckIn => "check_in",
            Self::NoShow => "no_show",
        }
    }
}

/// When volunteers may check in, relative to their session.
pub const CHECK_IN_OPENS_BEFORE_START: TimeDelta = TimeDelta::minutes(60);

/// Moves an assignment to its next status, if the action allows it now. A decline or a
/// cancellation is announced to the subscriptions covering the session, and reminders of the
/// volunteer's own (and their teams') subscriptions are withdrawn.
pub async fn act(
    txn: &DatabaseTransaction,
    current: Model,
    action: Action,
    now: DateTime<Utc>,
    audit: &super::audit::Audit,
) -> Result<Model> {
    let event = match action {
        Action::Decline(_) => Some("assignment.declined"),
        Action::Cancel(_) => Some("assignment.cancelled"),
        _ => None,
    };
    let open = matches!(current.status, AssignmentStatus::Proposed | AssignmentStatus::Confirmed);
    let announce = event.filter(|_| open);
    if let Some(event) = announce {
        // Enqueued while the assignment still counts, so the volunteer's own subscriptions
        // (and their teams') hear of it; a refused transition rolls the notice back with it.
        reminders::assignment_notice(txn, event, &current, current.version + 1, now).await?;
    }
    let (before, name) = (current.clone(), action.name());
    let after = transition(txn, current, action, now).await?;
    audit.acted(txn, name, &before, &after).await?;
    if announce.is_some() {
        sync_reminders(txn, after.session_id, now).await?;
    }
    Ok(after)
}

/// Moves an assignment to its next status, if the action allows it now, and the volunteer's
/// time in the program with it.
async fn transition(txn: &DatabaseTransaction, current: Model, action: Action, now: DateTime<Utc>) -> Result<Model> {
    use AssignmentStatus::{CheckedIn, Confirmed, Declined, NoShow, Proposed};
    let open = matches!(current.status, Proposed | Confirmed);
    let session = Session::find_by_id(current.session_id).one(txn).await?;
    let window = session.as_ref().map(|s| slot_of(s).window);
    let (status, reason) = match (&action, current.status) {
        (Action::Confirm, Confirmed) => return Ok(current),
        (Action::Confirm, Proposed) => (Confirmed, None),
        (Action::Decline(reason), _) if open => (Declined, Some(reason.clone())),
        (Action::Cancel(reason), _) if open => (AssignmentStatus::Cancelled, reason.clone()),
        (Action::CheckIn, _) if open => {
            let within = window.is_some_and(|w| now >= w.start() - CHECK_IN_OPENS_BEFORE_START && now < w.end());
            if !within {
                return Err(Error::conflict(
                    "outside_check_in_window",
                    "check-in opens an hour before the session starts and closes when it ends",
                ));
            }
            (CheckedIn, None)
        }
        (Action::NoShow, _) if open => {
            if window.is_none_or(|w| now < w.start()) {
                return Err(Error::conflict(
                    "too_early",
                    "a volunteer can only miss a session that has started",
                ));
            }
            (NoShow, None)
        }
        (action, status) => {
            return Err(Error::conflict(
                "invalid_transition",
                format!(
                    "an assignment that is {} cannot be {}",
                    status_name(status),
                    action_name(action)
                ),
            ));
        }
    };
    let version = current.version + 1;
    let was_active = current.status.is_active();
    let mut row: ActiveModel = current.into();
    row.status = Set(status);
    row.reason = Set(reason);
    if status == CheckedIn {
        row.checked_in_at = Set(Some(now));
    }
    if !status.is_active() {
        row.conflicts = Set(None);
        row.flagged_at = Set(None);
    }
    row.stamp(version, now);
    let after = row.update(txn).await?;
    if let Some(session) = &session {
        program_hours::assignment_changed(txn, session, after.volunteer_id, was_active, status.is_active()).await?;
    }
    Ok(after)
}

fn status_name(status: AssignmentStatus) -> &'static str {
    match status {
        AssignmentStatus::Proposed => "proposed",
        AssignmentStatus::Confirmed => "confirmed",
        AssignmentStatus::Declined => "declined",
        AssignmentStatus::Cancelled => "cancelled",
        AssignmentStatus::CheckedIn => "checked in",
        AssignmentStatus::NoShow => "marked no-show",
    }
}

fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Confirm => "confirmed",
        Action::Decline(_) => "declined",
        Action::Cancel(_) => "cancelled",
        Action::CheckIn => "checked in",
        Action::NoShow => "marked no-show",
    }
}

/// Cancels the open assignments of cancelled or deleted sessions; checked-in and no-show
/// ones stay as they are, since they record what happened.
pub async fn cancel_for_sessions(
    txn: &DatabaseTransaction,
    sessions: &[i64],
    reason: &str,
    now: DateTime<Utc>,
    audit: &super::audit::Audit,
) -> Result<Vec<Model>> {
    let open = Entity::find()
        .filter(Column::SessionId.is_in(sessions.iter().copied()))
        .filter(Column::Status.is_in([AssignmentStatus::Proposed, AssignmentStatus::Confirmed]))
        .order_by_asc(Column::Id)
        .all(txn)
        .await?;
    let mut cancelled = Vec::with_capacity(open.len());
    for assignment in open {
        // The session's own notice tells its subscribers; no notice per assignment.
        let before = assignment.clone();
        let after = transition(txn, assignment, Action::Cancel(Some(reason.to_owned())), now).await?;
        audit.acted(txn, "cancel", &before, &after).await?;
        cancelled.push(after);
    }
    Ok(cancelled)
}

/// After sessions moved: re-checks every active assignment on them against the volunteers'
/// other assignments and unavailability, and flags (or clears) the clashes on both sides.
/// Returns the assignments that are flagged now.
pub async fn recheck_moved(txn: &DatabaseTransaction, sessions: &[i64], policy: Policy) -> Result<Vec<Model>> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let moved: Vec<Model> = Entity::find()
        .filter(Column::SessionId.is_in(sessions.iter().copied()))
        .filter(Column::Status.is_in(AssignmentStatus::ACTIVE))
        .all(txn)
        .await?;
    if moved.is_empty() {
        return Ok(Vec::new());
    }
    let people: Vec<i64> = moved
        .iter()
        .map(|a| a.volunteer_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    volunteers::lock(txn, &people).await?;
    let calendars = commitments(txn, &people, None, policy.travel_buffer, None).await?;
    // Everyone whose calendar touches a moved assignment gets re-judged: the moved ones and
    // whatever they now collide with (or stopped colliding with).
    let mut judge: BTreeSet<i64> = moved.iter().map(|a| a.id).collect();
    for assignment in &moved {
        let calendar = calendars
            .get(&assignment.volunteer_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(own) = calendar.iter().find(|c| c.assignment_id == assignment.id) {
            let others: Vec<Commitment> = calendar
                .iter()
                .filter(|c| c.assignment_id != assignment.id)
                .copied()
                .collect();
            judge.extend(
                staffing::clashes(own.slot, &others, policy.travel_buffer)
                    .iter()
                    .filter_map(|v| v.assignment_id),
            );
        }
        let previous: Vec<Violation> = assignment
            .conflicts
            .clone()
            .and_then(|c| serde_json::from_value(c).ok())
            .unwrap_or_default();
        judge.extend(previous.iter().filter_map(|v| v.assignment_id));
    }
    let rows = Entity::find()
        .filter(Column::Id.is_in(judge.iter().copied()))
        .all(txn)
        .await?;
    // One query for the unavailability of everyone involved, over the span of all their slots.
    let own_slot = |row: &Model| {
        calendars
            .get(&row.volunteer_id)
            .and_then(|c| c.iter().find(|c| c.assignment_id == row.id))
            .map(|c| c.slot)
    };
    let slots: Vec<Slot> = rows.iter().filter_map(own_slot).collect();
    let span = slots
        .iter()
        .map(|s| s.window.start())
        .min()
        .zip(slots.iter().map(|s| s.window.end()).max());
    let away = match span {
        Some((start, end)) => unavailable(txn, &people, TimeWindow::from_stored(start, end)).await?,
        None => HashMap::new(),
    };
    let mut flagged = Vec::new();
    for row in rows {
        let Some(slot) = own_slot(&row) else {
            continue;
        };
        let calendar = calendars.get(&row.volunteer_id).map(Vec::as_slice).unwrap_or_default();
        let others: Vec<Commitment> = calendar.iter().filter(|c| c.assignment_id != row.id).copied().collect();
        let mut problems = staffing::clashes(slot, &others, policy.travel_buffer);
        let blocked = away.get(&row.volunteer_id).into_iter().flatten();
        problems.extend(
            blocked
                .filter(|(_, window)| window.overlaps(slot.window))
                .map(|(id, _)| Violation {
                    rule: Rule::Unavailable,
                    message: "the volunteer is unavailable at the new time".to_owned(),
                    assignment_id: None,
                    session_id: None,
                    team_id: None,
                    qualification: None,
                    unavailability_id: Some(*id),
                }),
        );
        let row = flag(txn, row, problems, policy.now).await?;
        if row.flagged_at.is_some() {
            flagged.push(row);
        }
    }
    Ok(flagged)
}

/// Records `problems` as the assignment's conflicts (clearing them when there are none).
async fn flag(txn: &DatabaseTransaction, row: Model, problems: Vec<Violation>, now: DateTime<Utc>) -> Result<Model> {
    let conflicts = (!problems.is_empty()).then(|| serde_json::to_value(&problems).unwrap_or_default());
    if conflicts == row.conflicts {
        return Ok(row);
    }
    let version = row.version + 1;
    let flagged_at = conflicts.is_some().then_some(row.flagged_at.unwrap_or(now));
    let mut active: ActiveModel = row.into();
    active.conflicts = Set(conflicts);
    active.flagged_at = Set(flagged_at);
    active.stamp(version, now);
    Ok(active.update(txn).await?)
}

/// The staffing facts of a slot for many volunteers at once (for ranking candidates).
pub(crate) struct Calendars {
    pub commitments: HashMap<i64, Vec<Commitment>>,
    pub unavailable: HashMap<i64, Vec<(i64, TimeWindow)>>,
}

/// The calendars of `volunteers` around `slot`.
pub(crate) async fn calendars(
    conn: &impl ConnectionTrait,
    volunteers: &[i64],
    slot: Slot,
    travel_buffer: TimeDelta,
) -> Result<Calendars> {
    Ok(Calendars {
        commitments: commitments(conn, volunteers, Some(slot.window), travel_buffer, None).await?,
        unavailable: unavailable(conn, volunteers, slot.window).await?,
    })
}
