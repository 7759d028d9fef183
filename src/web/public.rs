//! The public pages: the list of programs, a program's schedule with filters, and the pages
//! of an activity, venue, organization, team and session. Only public activities appear, and
//! no volunteer is named on any of them.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::subscribe::Subscribe;
use super::view::{self, Day, SessionLine};
use super::{PageError, id, render};
use crate::domain::display::{self, MapLink, Span};
use crate::domain::geo::Position;
use crate::domain::zone::Zone;
use crate::feeds::service::Target;
use crate::http::AppState;
use crate::store::feeds::{self as rows, EventRow, Scope};
use crate::store::{Visibility, activities, organizations, programs, session_changes, teams, venues};

/// Serves the page at `uri` from the cache, rendering it with `render` when stale.
async fn cached<F>(state: &AppState, uri: &Uri, headers: &HeaderMap, render: F) -> Result<Response, PageError>
where
    F: Future<Output = Result<String, PageError>>,
{
    let key = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let page = state
        .pages
        .get(key, state.feeds.generation(), state.clock.now(), render)
        .await?;
    Ok(page.answer(headers))
}

/// The rows of a scope, with the first move of each session, grouped by day.
async fn schedule(state: &AppState, scope: &Scope) -> Result<(Vec<EventRow>, Vec<Day>), PageError> {
    let conn = state.db.reader();
    let rows = rows::events(conn, scope, &view::all_time()).await?;
    let moves = session_changes::first_moves(conn, &view::session_ids(&rows)).await?;
    let days = view::days(&rows, &moves);
    Ok((rows, days))
}

/// One program in the list.
struct ProgramCard {
    id: i64,
    name: String,
    theme: Option<String>,
    dates: String,
    sessions: i64,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    title: &'static str,
    private: bool,
    current: Vec<ProgramCard>,
    past: Vec<ProgramCard>,
}

/// `/`: current and upcoming programs, then past ones.
pub async fn index(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let now = state.clock.now();
    cached(&state, &uri, &headers, async {
        let spans = programs::spans(state.db.reader()).await?;
        let (mut current, mut past) = (Vec::new(), Vec::new());
        for span in spans {
            let zone = Zone::from_stored(&span.program.time_zone);
            let dates = match (span.first, span.last) {
                (Some(first), Some(last)) => {
                    let (first, last) = (zone.local(first).date_naive(), zone.local(last).date_naive());
                    if first == last {
                        display::full_date(first)
                    } else {
                        format!("{}–{}", display::full_date(first), display::full_date(last))
                    }
                }
                _ => "日程待定".to_owned(),
            };
            let ended = span.last.is_some_and(|last| last < now);
            let card = ProgramCard {
                id: span.program.id,
                name: span.program.name,
                theme: span.program.theme,
                dates,
                sessions: span.sessions,
            };
            if ended { past.push(card) } else { current.push(card) }
        }
        past.reverse();
        render(&IndexPage {
            title: "活动安排",
            private: false,
            current,
            past,
        })
    })
    .await
    .unwrap_or_else(IntoResponse::into_response)
}

/// One choice of a filter.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The program page's filters, from its query string.
#[derive(Debug, Default, Deserialize)]
struct Filters {
    activity: Option<String>,
    venue: Option<String>,
    organization: Option<String>,
    day: Option<String>,
}

/// Filters read: an empty choice is no filter.
#[derive(Debug, Default)]
struct Chosen {
    activity: Option<i64>,
    venue: Option<i64>,
    organization: Option<i64>,
    day: Option<NaiveDate>,
}

impl Chosen {
    fn parse(query: Option<&str>) -> Result<Self, PageError> {
        let filters: Filters = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|_| PageError::bad_request("筛选条件无法识别，请重新选择。"))?;
        let number = |value: Option<String>, what: &str| -> Result<Option<i64>, PageError> {
            match value.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(text) => text
                    .parse::<i64>()
                    .map(Some)
                    .map_err(|_| PageError::bad_request(format!("{what}筛选条件无法识别，请重新选择。"))),
            }
        };
        Ok(Self {
            activity: number(filters.activity, "活动")?,
            venue: number(filters.venue, "地点")?,
            organization: number(filters.organization, "主办单位")?,
            day: match filters.day.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => Some(
                    NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .map_err(|_| PageError::bad_request("日期应写作 2019-05-30 这样的格式。"))?,
                ),
            },
        })
    }

    fn any(&self) -> bool {
        self.activity.is_some() || self.venue.is_some() || self.organization.is_some() || self.day.is_some()
    }

    fn keeps(&self, row: &EventRow) -> bool {
        self.activity.is_none_or(|id| row.activity_id == id)
            && self.venue.is_none_or(|id| row.venue_id == id)
            && self.organization.is_none_or(|id| row.organization_id == id)
            && self.day.is_none_or(|day| SessionLine::day(row) == day)
    }
}

/// The distinct values of one column of the rows, as choices sorted by label.
fn choices<K: Ord + ToString>(
    rows: &[EventRow],
    pick: impl Fn(&EventRow) -> (K, String),
    chosen: Option<K>,
) -> Vec<Choice> {
    let unique: BTreeMap<K, String> = rows.iter().map(pick).collect();
    unique
        .into_iter()
        .map(|(key, label)| Choice {
            selected: chosen.as_ref() == Some(&key),
            value: key.to_string(),
            label,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "program.html")]
struct ProgramPage {
    title: String,
    private: bool,
    id: i64,
    name: String,
    theme: Option<String>,
    host: String,
    host_id: i64,
    activities: Vec<Choice>,
    venues: Vec<Choice>,
    organizations: Vec<Choice>,
    day_options: Vec<Choice>,
    filtered: bool,
    shown: usize,
    days: Vec<Day>,
    sub: Subscribe,
}

/// `/programs/{id}`: sessions by day, then by time, filtered by query parameters.
pub async fn program(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let id = id(&raw)?;
    let chosen = Chosen::parse(query.as_deref())?;
    cached(&state, &uri, &headers, async {
        let conn = state.db.reader();
        let program = programs::get(conn, id).await?;
        let host = organizations::get(conn, program.host_organization_id).await?;
        let all = rows::events(conn, &Scope::Program(id), &view::all_time()).await?;
        let live: Vec<EventRow> = all.into_iter().filter(|row| !row.deleted).collect();
        let shown: Vec<EventRow> = live.iter().filter(|row| chosen.keeps(row)).cloned().collect();
        let moves = session_changes::first_moves(conn, &view::session_ids(&shown)).await?;
        let days = view::days(&shown, &moves);
        render(&ProgramPage {
            title: program.name.clone(),
            private: false,
            activities: choices(&live, |r| (r.activity_id, r.activity_title.clone()), chosen.activity),
            venues: choices(&live, |r| (r.venue_id, r.venue_name.clone()), chosen.venue),
            organizations: choices(
                &live,
                |r| (r.organization_id, r.organizer_name.clone()),
                chosen.organization,
            ),
            day_options: choices(
                &live,
                |r| {
                    let day = SessionLine::day(r);
                    (day, display::day_label(day))
                },
                chosen.day,
            ),
            filtered: chosen.any(),
            shown: days.iter().map(|d| d.sessions.len()).sum(),
            days,
            sub: Subscribe::checked(&state, &Target::Program(id), &program.name).await?,
            id,
            name: program.name,
            theme: program.theme,
            host: host.name,
            host_id: host.id,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    title: String,
    private: bool,
    name: String,
    description: Option<String>,
    program: String,
    program_id: i64,
    organizer: String,
    organization_id: i64,
    service_kinds: String,
    days: Vec<Day>,
    sub: Subscribe,
}

/// `/activities/{id}`: a public activity and its sessions.
pub async fn activity(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let id = id(&raw)?;
    cached(&state, &uri, &headers, async {
        let conn = state.db.reader();
        let activity = activities::get(conn, id, &Visibility::Public).await?;
        let program = programs::get(conn, activity.program_id).await?;
        let organizer = organizations::get(conn, activity.organization_id).await?;
        let (_, days) = schedule(&state, &Scope::Activity(id)).await?;
        let kinds: Vec<String> = serde_json::from_value(activity.service_kinds.clone()).unwrap_or_default();
        render(&ActivityPage {
            title: activity.title.clone(),
            private: false,
            sub: Subscribe::checked(&state, &Target::Activity(id), &activity.title).await?,
            name: activity.title,
            description: activity.description,
            program: program.name,
            program_id: program.id,
            organizer: organizer.name,
            organization_id: organizer.id,
            service_kinds: kinds.join("、"),
            days,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "venue.html")]
struct VenuePage {
    title: String,
    private: bool,
    name: String,
    address: Option<String>,
    district: Option<String>,
    coordinates: Option<String>,
    maps: Vec<MapLink>,
    days: Vec<Day>,
    sub: Subscribe,
}

/// `/venues/{id}`: where a venue is, links that open it in map apps, and its sessions.
pub async fn venue(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let id = id(&raw)?;
    cached(&state, &uri, &headers, async {
        let venue = venues::get(state.db.reader(), id).await?;
        let (_, days) = schedule(&state, &Scope::Venue(id)).await?;
        let position = venue
            .latitude
            .zip(venue.longitude)
            .map(|(latitude, longitude)| Position { latitude, longitude });
        render(&VenuePage {
            title: venue.name.clone(),
            private: false,
            sub: Subscribe::checked(&state, &Target::Venue(id), &venue.name).await?,
            district: venue.address.as_deref().and_then(display::district).map(str::to_owned),
            coordinates: position.map(|p| format!("北纬 {:.5}°，东经 {:.5}°", p.latitude, p.longitude)),
            maps: position.map(|p| display::map_links(p, &venue.name)).unwrap_or_default(),
            name: venue.name,
            address: venue.address,
            days,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "organization.html")]
struct OrganizationPage {
    title: String,
    private: bool,
    name: String,
    contact: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    days: Vec<Day>,
    sub: Subscribe,
}

/// `/organizations/{id}`: an organizer's published contacts and the public sessions of it and
/// the organizations below it.
pub async fn organization(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let id = id(&raw)?;
    cached(&state, &uri, &headers, async {
        let organization = organizations::get(state.db.reader(), id).await?;
        let (_, days) = schedule(&state, &Scope::Organization(organization.path.clone())).await?;
        render(&OrganizationPage {
            title: organization.name.clone(),
            private: false,
            sub: Subscribe::checked(&state, &Target::Organization(id), &organization.name).await?,
            name: organization.name,
            contact: organization.contact_name,
            phone: organization.contact_office_phone,
            email: organization.contact_email,
            days,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    title: String,
    private: bool,
    name: String,
    description: Option<String>,
    organization: String,
    organization_id: i64,
    days: Vec<Day>,
    sub: Subscribe,
}

/// `/teams/{id}`: the public sessions a team serves at; never its members.
pub async fn team(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let id = id(&raw)?;
    cached(&state, &uri, &headers, async {
        let conn = state.db.reader();
        let team = teams::get(conn, id).await?;
        let organization = organizations::get(conn, team.organization_id).await?;
        let (_, days) = schedule(&state, &Scope::Team(team.path.clone())).await?;
        render(&TeamPage {
            title: team.name.clone(),
            private: false,
            sub: Subscribe::checked(&state, &Target::Team(id), &team.name).await?,
            name: team.name,
            description: team.description,
            organization: organization.name,
            organization_id: organization.id,
            days,
        })
    })
    .await
}

/// One change in a session's history.
struct HistoryLine {
    at: String,
    what: String,
}

#[derive(Template)]
#[template(path = "session.html")]
struct SessionPage {
    title: String,
    private: bool,
    program: String,
    program_id: i64,
    line: SessionLine,
    address: Option<String>,
    description: Option<String>,
    contact: Option<String>,
    video: Option<String>,
    maps: Vec<MapLink>,
    history: Vec<HistoryLine>,
}

/// `/sessions/{id}`: everything about one session of a public activity, with its changes.
pub async fn session(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let id = id(&raw)?;
    cached(&state, &uri, &headers, async {
        let conn = state.db.reader();
        let rows = rows::events(conn, &Scope::Session(id), &view::all_time()).await?;
        let row = rows
            .into_iter()
            .find(|row| !row.deleted)
            .ok_or_else(PageError::not_found)?;
        let activity = activities::get(conn, row.activity_id, &Visibility::Public).await?;
        let program = programs::get(conn, activity.program_id).await?;
        let changes = session_changes::of_session(conn, id).await?;
        let first_move = changes
            .iter()
            .find(|c| c.old_starts_at != c.new_starts_at || c.old_ends_at != c.new_ends_at);
        let history = history(conn, &changes, &row.times.time_zone).await?;
        let contact = [row.contact_name.clone(), row.contact_office_phone.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        render(&SessionPage {
            title: row.title.clone().unwrap_or_else(|| row.activity_title.clone()),
            private: false,
            program: program.name,
            program_id: program.id,
            line: SessionLine::new(&row, first_move),
            address: row.venue_address.clone(),
            description: row.description.clone().or_else(|| row.activity_description.clone()),
            contact: (!contact.is_empty()).then_some(contact),
            video: row.video_url.clone().or_else(|| row.slot_video_url.clone()),
            maps: row
                .geo
                .map(|(latitude, longitude)| display::map_links(Position { latitude, longitude }, &row.venue_name))
                .unwrap_or_default(),
            history,
        })
    })
    .await
}

/// What each change did, newest first, in the session's zone.
async fn history(
    conn: &impl sea_orm::ConnectionTrait,
    changes: &[entity::session_change::Model],
    time_zone: &str,
) -> Result<Vec<HistoryLine>, PageError> {
    use entity::kinds::SessionStatus::{Cancelled, Scheduled};
    let zone = Zone::from_stored(time_zone);
    let mut names: HashMap<i64, String> = HashMap::new();
    for change in changes.iter().filter(|c| c.old_venue_id != c.new_venue_id) {
        for venue in [change.old_venue_id, change.new_venue_id] {
            if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(venue) {
                entry.insert(venues::get(conn, venue).await.map(|v| v.name).unwrap_or_default());
            }
        }
    }
    Ok(changes
        .iter()
        .rev()
        .map(|change| {
            let mut what = Vec::new();
            if change.deleted {
                what.push("场次已删除".to_owned());
            } else {
                match (change.old_status, change.new_status) {
                    (Scheduled, Cancelled) => what.push("已取消".to_owned()),
                    (Cancelled, Scheduled) => what.push("恢复举行".to_owned()),
                    _ => {}
                }
            }
            let (before, after): (Span, Span) = (
                view::span_before(change, time_zone),
                view::span_after(change, time_zone),
            );
            if let Some(moved) = display::moved_note(before, after) {
                what.push(moved);
            }
            if change.old_venue_id != change.new_venue_id {
                what.push(format!(
                    "地点变更：{} → {}",
                    names.get(&change.old_venue_id).map_or("", String::as_str),
                    names.get(&change.new_venue_id).map_or("", String::as_str)
                ));
            }
            let at = zone.local(change.changed_at);
            HistoryLine {
                at: format!("{} {}", display::day_label(at.date_naive()), display::clock(at)),
                what: if what.is_empty() {
                    "更新".to_owned()
                } else {
                    what.join("；")
                },
            }
        })
        .collect())
}
