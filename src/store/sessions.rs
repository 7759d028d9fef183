//! Queries on `sessions`, including the linked-slot rules: when a remote slot moves or is
//! cancelled, every session linked to it follows in the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use entity::kinds::SessionStatus;
use entity::session::{ActiveModel, Column, Entity, Model, Relation};
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};

use super::activities::{organizations_within, visible_ids};
use super::audit::Audit;
use super::record::{self, Fields, Versioned};
use super::{
    Cursor, Page, PageRequest, Policy, Visibility, assignments, found, program_hours, reminders, session_changes,
};
use crate::domain::key::Key;
use crate::domain::link::{self, MAX_CHAIN};
use crate::domain::staffing::Slot;
use crate::domain::time::{Schedule, TimeWindow, Timing};
use crate::domain::zone::Zone;
use crate::error::{Error, Result};

/// The validated, writable fields of a session (its activity never changes).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionFields {
    /// Venue.
    pub venue_id: i64,
    /// Title of this occurrence, when it differs from the activity's.
    pub title: Option<String>,
    /// Details of this occurrence.
    pub description: Option<String>,
    /// When.
    pub schedule: Schedule,
    /// On or called off.
    pub status: SessionStatus,
    /// Seats.
    pub capacity: Option<i32>,
    /// Video conference link.
    pub video_url: Option<String>,
    /// The remote slot this session follows.
    pub linked_session_id: Option<i64>,
    /// Invented for sample data.
    pub illustrative: bool,
}

impl Fields<ActiveModel> for SessionFields {
    fn of(model: &Model) -> Self {
        Self {
            venue_id: model.venue_id,
            title: model.title.clone(),
            description: model.description.clone(),
            schedule: schedule_of(model),
            status: model.status,
            capacity: model.capacity,
            video_url: model.video_url.clone(),
            linked_session_id: model.linked_session_id,
            illustrative: model.illustrative,
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        write_schedule(row, &self.schedule);
        row.venue_id = Set(self.venue_id);
        row.title = Set(self.title);
        row.description = Set(self.description);
        row.status = Set(self.status);
        row.capacity = Set(self.capacity);
        row.video_url = Set(self.video_url);
        row.linked_session_id = Set(self.linked_session_id);
        row.illustrative = Set(self.illustrative);
    }
}

fn write_schedule(row: &mut ActiveModel, schedule: &Schedule) {
    let bounds = schedule.bounds();
    row.time_zone = Set(schedule.zone().name().to_owned());
    row.starts_at = Set(bounds.start());
    row.ends_at = Set(bounds.end());
    match schedule.timing() {
        Timing::Timed(_) => {
            row.all_day = Set(false);
            row.start_date = Set(None);
            row.end_date = Set(None);
        }
        Timing::AllDay { first, last } => {
            row.all_day = Set(true);
            row.start_date = Set(Some(first));
            row.end_date = Set(Some(last));
        }
    }
}

/// The schedule a stored session describes.
pub fn schedule_of(model: &Model) -> Schedule {
    stored_schedule(&StoredTimes::of(model))
}

/// A session's time columns, as read from any query.
#[derive(Clone, Debug)]
pub struct StoredTimes {
    pub time_zone: String,
    pub all_day: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub start_date: Option<chrono::NaiveDate>,
    pub end_date: Option<chrono::NaiveDate>,
}

impl StoredTimes {
    fn of(model: &Model) -> Self {
        Self {
            time_zone: model.time_zone.clone(),
            all_day: model.all_day,
            starts_at: model.starts_at,
            ends_at: model.ends_at,
            start_date: model.start_date,
            end_date: model.end_date,
        }
    }

    /// The time columns of a row that has them under their own names.
    pub fn from_row(row: &sea_orm::QueryResult) -> Result<Self> {
        Ok(Self {
            time_zone: row.try_get("", "time_zone")?,
            all_day: row.try_get("", "all_day")?,
            starts_at: row.try_get("", "starts_at")?,
            ends_at: row.try_get("", "ends_at")?,
            start_date: row.try_get("", "start_date")?,
            end_date: row.try_get("", "end_date")?,
        })
    }
}

fn stored_schedule(times: &StoredTimes) -> Schedule {
    let zone = Zone::from_stored(&times.time_zone);
    let timing = match (times.all_day, times.start_date, times.end_date) {
        (true, Some(first), Some(last)) => Timing::AllDay { first, last },
        _ => Timing::Timed(TimeWindow::from_stored(times.starts_at, times.ends_at)),
    };
    Schedule::from_stored(zone, timing)
}

/// Filters of the session list.
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    /// Of this program.
    pub program_id: Option<i64>,
    /// Of this activity.
    pub activity_id: Option<i64>,
    /// Of activities organized by this organization or one below it.
    pub organization_id: Option<i64>,
    /// At this venue.
    pub venue_id: Option<i64>,
    /// With this status.
    pub status: Option<SessionStatus>,
    /// Linked to this session.
    pub linked_session_id: Option<i64>,
    /// Changed since an instant (no name search: sessions take their activity's).
    pub search: super::Search,
    /// Ending after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Starting before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// What an update did besides changing the session itself.
#[derive(Debug)]
pub struct Updated {
    /// The session after the update.
    pub session: Model,
    /// Sessions linked to it that moved or were cancelled with it.
    pub followers: Vec<Model>,
    /// Assignments that clash with something since the move (flagged, never silently kept).
    pub flagged: Vec<entity::assignment::Model>,
    /// Assignments cancelled because their session was.
    pub cancelled: Vec<entity::assignment::Model>,
}

/// One live session by id, if the reader may see it.
pub async fn get(conn: &impl ConnectionTrait, id: i64, visibility: &Visibility) -> Result<Model> {
    let query = Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_null())
        .filter(Column::ActivityId.in_subquery(visible_ids(visibility)));
    found(query.one(conn).await?, "session")
}

/// One live session by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    let query = Entity::find_by_id(id)
        .filter(Column::DeletedAt.is_null())
        .lock_exclusive();
    found(query.one(txn).await?, "session")
}

/// The path of the organization that organizes a live session's activity, in one query.
pub async fn owner_path(conn: &impl ConnectionTrait, session_id: i64) -> Result<Option<String>> {
    use entity::{activity, organization};
    Ok(Entity::find_by_id(session_id)
        .filter(Column::DeletedAt.is_null())
        .select_only()
        .column(organization::Column::Path)
        .join(JoinType::InnerJoin, Relation::Activity.def())
        .join(JoinType::InnerJoin, activity::Relation::Organization.def())
        .into_tuple::<String>()
        .one(conn)
        .await?)
}

/// One session by key, deleted ones included (an import may bring one back).
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// A page of the live sessions the reader may see, in start order.
/// The time zone of each session's program, by session id: the zone times about the
/// session are shown in.
pub async fn program_zones(
    conn: &impl ConnectionTrait,
    session_ids: &[i64],
) -> Result<std::collections::HashMap<i64, crate::domain::zone::Zone>> {
    let sessions = record::by_ids::<ActiveModel>(conn, session_ids, |s| s.id).await?;
    let mut programs: Vec<i64> = sessions.values().map(|s| s.program_id).collect();
    programs.sort_unstable();
    programs.dedup();
    let zones = record::by_ids::<entity::program::ActiveModel>(conn, &programs, |p| p.id).await?;
    Ok(sessions
        .values()
        .filter_map(|s| {
            let program = zones.get(&s.program_id)?;
            Some((s.id, crate::domain::zone::Zone::from_stored(&program.time_zone)))
        })
        .collect())
}

/// One page of live sessions in (start, id) order.
///
/// With `from`, the sessions that end after it are read in two parts, each bounded on an
/// indexed column, so a page late in a long program costs no more than one at its start:
/// those under way at `from` (started before, ending after it: as many as run at one moment,
/// found through the index on their end and put in order here), then those starting at or
/// after it, which all end after it.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &SessionFilter,
    visibility: &Visibility,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let Some(from) = filter.from else {
        let rows = page_query(conn, filter, visibility, page).await?.all(conn).await?;
        return Ok(Page::from_rows(rows, page.limit, |row| {
            Cursor::Timed(row.starts_at, row.id)
        }));
    };
    let mut under_way = page_query(conn, filter, visibility, page)
        .await?
        .filter(Column::StartsAt.lt(from))
        .filter(Column::EndsAt.gt(from));
    // In order and limited, the planner would walk the start index from the program's
    // beginning; unordered, it reads just these rows through the index on their end.
    sea_orm::QueryTrait::query(&mut under_way)
        .clear_order_by()
        .reset_limit();
    let mut rows = under_way.all(conn).await?;
    rows.sort_by_key(|row| (row.starts_at, row.id));
    rows.truncate(usize::try_from(page.limit + 1).unwrap_or(usize::MAX));
    if (rows.len() as u64) <= page.limit {
        let later = page_query(conn, filter, visibility, page)
            .await?
            .filter(Column::StartsAt.gte(from))
            .limit(page.limit + 1 - rows.len() as u64)
            .all(conn)
            .await?;
        rows.extend(later);
    }
    Ok(Page::from_rows(rows, page.limit, |row| {
        Cursor::Timed(row.starts_at, row.id)
    }))
}

/// The page's query with every filter but `from`.
async fn page_query(
    conn: &impl ConnectionTrait,
    filter: &SessionFilter,
    visibility: &Visibility,
    page: &PageRequest,
) -> Result<sea_orm::Select<Entity>> {
    let query = Entity::find()
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::StartsAt)
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[], Column::UpdatedAt);
    if *visibility != Visibility::All {
        query = query.filter(Column::ActivityId.in_subquery(visible_ids(visibility)));
    }
    if let Some(program) = filter.program_id {
        query = query.filter(Column::ProgramId.eq(program));
    }
    if let Some(activity) = filter.activity_id {
        query = query.filter(Column::ActivityId.eq(activity));
    }
    if let Some(organization) = filter.organization_id {
        use entity::activity::{Column as A, Entity as Activities};
        let root = super::organizations::get(conn, organization).await?;
        let activities = sea_orm::sea_query::Query::select()
            .column(A::Id)
            .from(Activities)
            .and_where(A::OrganizationId.in_subquery(organizations_within(&root.path)))
            .to_owned();
        query = query.filter(Column::ActivityId.in_subquery(activities));
    }
    if let Some(venue) = filter.venue_id {
        query = query.filter(Column::VenueId.eq(venue));
    }
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(target) = filter.linked_session_id {
        query = query.filter(Column::LinkedSessionId.eq(target));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::StartsAt.lt(to));
    }
    if let Some(Cursor::Timed(at, id)) = page.after {
        query = query.filter(
            Condition::any()
                .add(Column::StartsAt.gt(at))
                .add(Column::StartsAt.eq(at).and(Column::Id.gt(id))),
        );
    }
    Ok(query)
}

/// A program's live sessions at remote main venues that follow no other: the slots (such as
/// the Beijing main venue's) that local sub-venues link to, in id order.
pub async fn remote_slots(conn: &impl ConnectionTrait, program_id: i64) -> Result<Vec<Model>> {
    use entity::kinds::VenueKind;
    Ok(Entity::find()
        .filter(Column::ProgramId.eq(program_id))
        .filter(Column::DeletedAt.is_null())
        .filter(Column::LinkedSessionId.is_null())
        .filter(Column::Status.eq(SessionStatus::Scheduled))
        .filter(
            Column::VenueId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(entity::venue::Column::Id)
                    .from(entity::venue::Entity)
                    .and_where(entity::venue::Column::Kind.eq(VenueKind::RemoteMainVenue))
                    .to_owned(),
            ),
        )
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}

/// Creates a session of an activity.
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    activity: &entity::activity::Model,
    fields: SessionFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    check_link(txn, None, &fields).await?;
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        program_id: Set(activity.program_id),
        activity_id: Set(activity.id),
        deleted_at: Set(None),
        ..Default::default()
    };
    let session = record::create(txn, key.as_str(), row, fields, now).await?;
    reminders::schedule(txn, &session, now).await?;
    Ok(session)
}

/// Applies new fields. When the session's start moves, every session linked to it (directly
/// or through others) moves by the same amount; when it is cancelled, they are cancelled.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: SessionFields,
    policy: Policy,
    audit: &Audit,
) -> Result<Updated> {
    write(txn, current, fields, policy, audit, true).await
}

/// Applies new fields exactly as given, without moving linked sessions (imports: the file
/// states every session's own time). A deleted session comes back.
pub async fn replace(
    txn: &DatabaseTransaction,
    current: Model,
    fields: SessionFields,
    policy: Policy,
    audit: &Audit,
) -> Result<Model> {
    Ok(write(txn, current, fields, policy, audit, false).await?.session)
}

async fn write(
    txn: &DatabaseTransaction,
    current: Model,
    fields: SessionFields,
    policy: Policy,
    audit: &Audit,
    cascade: bool,
) -> Result<Updated> {
    let now = policy.now;
    let old = SessionFields::of(&current);
    if old == fields && current.deleted_at.is_none() {
        return Ok(Updated {
            session: current,
            followers: Vec::new(),
            flagged: Vec::new(),
            cancelled: Vec::new(),
        });
    }
    if fields.linked_session_id.is_some() {
        check_link(txn, Some(current.id), &fields).await?;
    }
    let has_followers = !direct_followers(txn, &[current.id]).await?.is_empty();
    if has_followers && matches!(fields.schedule.timing(), Timing::AllDay { .. }) {
        return Err(Error::field(
            "all_day",
            "linked_slot",
            "other sessions are linked to this one; a linked slot must keep a time of day",
        ));
    }
    let delta = fields.schedule.bounds().start() - old.schedule.bounds().start();
    let relocated = old.schedule != fields.schedule || old.venue_id != fields.venue_id;
    let cancelled = old.status == SessionStatus::Scheduled && fields.status == SessionStatus::Cancelled;
    // Calendar clients replace their copy of an event only when SEQUENCE rises; it does
    // whenever time, place or status change (coming back from deletion included).
    let rescheduled = relocated || old.status != fields.status || current.deleted_at.is_some();
    let id = current.id;
    let version = current.version + 1;
    let sequence = current.sequence + i32::from(rescheduled);
    let before = current.clone();
    let mut row: ActiveModel = current.into();
    fields.write_to(&mut row);
    row.stamp(version, now);
    row.sequence = Set(sequence);
    row.deleted_at = Set(None);
    let session = row.update(txn).await?;
    program_hours::session_changed(txn, &before, &session).await?;
    // Notices go out while the assignments still say who serves at the session.
    reminders::changed(txn, &before, &session, now).await?;
    session_changes::record(txn, &before, &session, now).await?;
    // What follows from this change (linked sessions, cancelled assignments) is tied to it.
    let entry = audit.updated(txn, &before, &session).await?;
    let audit = audit.following(entry);
    let followers = if cascade && has_followers && (delta != TimeDelta::zero() || cancelled) {
        follow(txn, id, delta, cancelled, now, &audit).await?
    } else {
        Vec::new()
    };
    // Staffing follows: the assignments of cancelled sessions are cancelled, and those of
    // sessions that moved (in time or place) are checked for new clashes.
    let (mut gone, mut moved) = (Vec::new(), Vec::new());
    for changed in std::iter::once(&session).chain(&followers) {
        let was_on = changed.id != id || old.status == SessionStatus::Scheduled;
        if changed.status == SessionStatus::Cancelled && was_on {
            gone.push(changed.id);
        } else if changed.status == SessionStatus::Scheduled && (changed.id != id || relocated) {
            moved.push(changed.id);
        }
    }
    let cancelled = assignments::cancel_for_sessions(txn, &gone, "the session was cancelled", now, &audit).await?;
    let flagged = assignments::recheck_moved(txn, &moved, policy).await?;
    Ok(Updated {
        session,
        followers,
        flagged,
        cancelled,
    })
}

/// Moves (by `delta`) and, if `cancel`, cancels every live session linked to `slot`, hop by hop.
async fn follow(
    txn: &DatabaseTransaction,
    slot: i64,
    delta: TimeDelta,
    cancel: bool,
    now: DateTime<Utc>,
    audit: &Audit,
) -> Result<Vec<Model>> {
    let mut changed = Vec::new();
    let mut frontier = vec![slot];
    for _ in 0..MAX_CHAIN {
        let followers = direct_followers(txn, &frontier).await?;
        if followers.is_empty() {
            break;
        }
        frontier = followers.iter().map(|f| f.id).collect();
        for follower in followers {
            let schedule = schedule_of(&follower).shifted(delta);
            let status = if cancel {
                SessionStatus::Cancelled
            } else {
                follower.status
            };
            if schedule == schedule_of(&follower) && status == follower.status {
                continue;
            }
            let version = follower.version + 1;
            let sequence = follower.sequence + 1;
            let before = follower.clone();
            let mut row: ActiveModel = follower.into();
            write_schedule(&mut row, &schedule);
            row.status = Set(status);
            row.sequence = Set(sequence);
            row.stamp(version, now);
            let after = row.update(txn).await?;
            program_hours::session_changed(txn, &before, &after).await?;
            reminders::changed(txn, &before, &after, now).await?;
            session_changes::record(txn, &before, &after, now).await?;
            audit.updated(txn, &before, &after).await?;
            changed.push(after);
        }
    }
    Ok(changed)
}

/// Live sessions linked directly to any of `slots`, locked for the transaction.
async fn direct_followers(txn: &DatabaseTransaction, slots: &[i64]) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::LinkedSessionId.is_in(slots.iter().copied()))
        .filter(Column::DeletedAt.is_null())
        .order_by_asc(Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?)
}

/// A linked session and its slot are both timed and live, and links never loop.
async fn check_link(txn: &DatabaseTransaction, session: Option<i64>, fields: &SessionFields) -> Result<()> {
    let Some(target) = fields.linked_session_id else {
        return Ok(());
    };
    let slot = Entity::find_by_id(target)
        .filter(Column::DeletedAt.is_null())
        .one(txn)
        .await?
        .ok_or_else(|| {
            Error::field(
                "linked_session_id",
                "not_found",
                format!("there is no session {target}"),
            )
        })?;
    if slot.all_day || matches!(fields.schedule.timing(), Timing::AllDay { .. }) {
        return Err(Error::field(
            "linked_session_id",
            "linked_slot",
            "only timed sessions can be linked to a timed slot",
        ));
    }
    if let Some(session) = session {
        // Follow the chain from the target, one indexed lookup a hop, then ask the rule.
        let mut next = HashMap::from([(slot.id, slot.linked_session_id)]);
        let mut at = slot.linked_session_id;
        while let Some(id) = at {
            if next.contains_key(&id) || next.len() > MAX_CHAIN {
                break;
            }
            let hop = Entity::find_by_id(id).one(txn).await?.and_then(|s| s.linked_session_id);
            next.insert(id, hop);
            at = hop;
        }
        if link::would_cycle(session, target, |id| next.get(&id).copied().flatten()) {
            return Err(Error::field(
                "linked_session_id",
                "link_cycle",
                format!("linking session {session} to {target} would make the links go round in a circle"),
            ));
        }
    }
    Ok(())
}

/// Deletes a session: its row stays (marked deleted, unlinked) so feeds can report it.
pub async fn delete(txn: &DatabaseTransaction, model: Model, now: DateTime<Utc>, audit: &Audit) -> Result<()> {
    let followers = Entity::find()
        .filter(Column::LinkedSessionId.eq(model.id))
        .filter(Column::DeletedAt.is_null())
        .count(txn)
        .await?;
    if followers > 0 {
        return Err(Error::InUse(format!(
            "{followers} sessions are linked to this one; unlink or cancel them first"
        )));
    }
    let version = model.version + 1;
    let sequence = model.sequence + 1;
    let before = model.clone();
    let mut row: ActiveModel = model.into();
    row.sequence = Set(sequence);
    row.deleted_at = Set(Some(now));
    row.linked_session_id = Set(None);
    row.status = Set(SessionStatus::Cancelled);
    row.stamp(version, now);
    let after = row.update(txn).await?;
    program_hours::session_changed(txn, &before, &after).await?;
    // Notices go out while the assignments still say who serves at the session.
    reminders::changed(txn, &before, &after, now).await?;
    session_changes::record(txn, &before, &after, now).await?;
    let entry = audit.record(txn, "delete", Some(&before), Some(&after)).await?;
    assignments::cancel_for_sessions(
        txn,
        &[after.id],
        "the session was deleted",
        now,
        &audit.following(entry),
    )
    .await?;
    Ok(())
}

/// The session as the staffing rules see it: where, when, and on which local days.
pub fn slot_of(model: &Model) -> Slot {
    slot_from(model.id, model.venue_id, &StoredTimes::of(model))
}

/// The slot of a session given its id, venue and time columns.
pub fn slot_from(session_id: i64, venue_id: i64, times: &StoredTimes) -> Slot {
    let schedule = stored_schedule(times);
    let (first_day, last_day) = match schedule.timing() {
        Timing::AllDay { first, last } => (first, last),
        Timing::Timed(window) => {
            let tz = schedule.zone().tz();
            let last_instant = window.end() - TimeDelta::seconds(1);
            (
                window.start().with_timezone(&tz).date_naive(),
                Ord::max(last_instant, window.start()).with_timezone(&tz).date_naive(),
            )
        }
    };
    Slot {
        session_id,
        venue_id,
        window: schedule.bounds(),
        first_day,
        last_day,
    }
}
