//! What the public pages show of a session, read from the same rows as the calendar feeds:
//! one line per session, grouped by local day.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone as _, Utc};
use entity::session_change;

use crate::domain::display::{self, Span};
use crate::domain::zone::Zone;
use crate::store::feeds::{EventRow, Window};
use crate::store::sessions::StoredTimes;

/// Every session, whenever it is, cancelled ones included: the window of a page.
pub fn all_time() -> Window {
    let start = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).single().unwrap_or_default();
    let end = Utc
        .with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    Window {
        from: start,
        to: end,
        cancelled_since: start,
    }
}

/// The span of stored session times.
pub fn span_of(times: &StoredTimes) -> Span {
    match (times.all_day, times.start_date, times.end_date) {
        (true, Some(first), Some(last)) => Span::AllDay { first, last },
        _ => Span::Timed {
            start: times.starts_at,
            end: times.ends_at,
            zone: Zone::from_stored(&times.time_zone),
        },
    }
}

/// The span a session had before a change.
pub fn span_before(change: &session_change::Model, time_zone: &str) -> Span {
    changed_span(change.old_all_day, change.old_starts_at, change.old_ends_at, time_zone)
}

/// The span a session had after a change.
pub fn span_after(change: &session_change::Model, time_zone: &str) -> Span {
    changed_span(change.new_all_day, change.new_starts_at, change.new_ends_at, time_zone)
}

fn changed_span(all_day: bool, start: DateTime<Utc>, end: DateTime<Utc>, time_zone: &str) -> Span {
    let zone = Zone::from_stored(time_zone);
    if all_day {
        // All-day times are the local midnights around the days.
        let first = zone.local(start).date_naive();
        let last = (zone.local(end) - TimeDelta::days(1)).date_naive().max(first);
        Span::AllDay { first, last }
    } else {
        Span::Timed { start, end, zone }
    }
}

/// One session as a line of a schedule.
#[derive(Clone, Debug)]
pub struct SessionLine {
    /// Session id.
    pub id: i64,
    /// The hours (`09:00–11:30`, `全天`).
    pub hours: String,
    /// Day and hours.
    pub when: String,
    /// The session's title, or its activity's.
    pub title: String,
    /// Activity.
    pub activity: String,
    /// Activity id.
    pub activity_id: i64,
    /// Venue.
    pub venue: String,
    /// Venue id.
    pub venue_id: i64,
    /// District of the venue, from its address.
    pub district: Option<String>,
    /// Organizer.
    pub organizer: String,
    /// Organizer id.
    pub organization_id: i64,
    /// Called off.
    pub cancelled: bool,
    /// `时间调整：09:00 → 10:30`.
    pub moved: Option<String>,
    /// Follows the Beijing main venue's video link.
    pub video_linked: bool,
}

impl SessionLine {
    /// The line of `row`; `first_move` is the first change that moved it in time.
    pub fn new(row: &EventRow, first_move: Option<&session_change::Model>) -> Self {
        let span = span_of(&row.times);
        Self {
            id: row.id,
            hours: span.hours(),
            when: span.full(),
            title: row.title.clone().unwrap_or_else(|| row.activity_title.clone()),
            activity: row.activity_title.clone(),
            activity_id: row.activity_id,
            venue: row.venue_name.clone(),
            venue_id: row.venue_id,
            district: row
                .venue_address
                .as_deref()
                .and_then(display::district)
                .map(str::to_owned),
            organizer: row.organizer_name.clone(),
            organization_id: row.organization_id,
            cancelled: row.cancelled,
            moved: first_move.and_then(|change| display::moved_note(span_before(change, &row.times.time_zone), span)),
            video_linked: row.linked_session_id.is_some(),
        }
    }

    /// The local day the session starts on.
    pub fn day(row: &EventRow) -> NaiveDate {
        span_of(&row.times).first_day()
    }
}

/// The sessions of one local day.
#[derive(Clone, Debug)]
pub struct Day {
    /// `5月28日 星期二`.
    pub label: String,
    /// `2019-05-28`, for links and anchors.
    pub date: String,
    /// In start order.
    pub sessions: Vec<SessionLine>,
}

/// Sessions grouped by local day, in start order; deleted sessions are left out and each
/// session appears once (team rows repeat a session per assignment).
pub fn days(rows: &[EventRow], moves: &HashMap<i64, session_change::Model>) -> Vec<Day> {
    let mut by_day: BTreeMap<NaiveDate, Vec<SessionLine>> = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows.iter().filter(|row| !row.deleted) {
        if seen.insert(row.id) {
            by_day
                .entry(SessionLine::day(row))
                .or_default()
                .push(SessionLine::new(row, moves.get(&row.id)));
        }
    }
    by_day
        .into_iter()
        .map(|(date, sessions)| Day {
            label: display::day_label(date),
            date: date.to_string(),
            sessions,
        })
        .collect()
}

/// The ids of the sessions in `rows`, once each.
pub fn session_ids(rows: &[EventRow]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}
