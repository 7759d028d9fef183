//! The page of a team as its leader sees it, at `/v/{leader's page token}/teams/{team}`: the
//! sessions of the day with each member's assignment and status; 签到 and 缺席 by a tap or by
//! scanning the code on a volunteer's page. Actions go to `…/actions` as forms (without
//! JavaScript) or as JSON from the page's offline queue, each with an idempotency key.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, TimeDelta, TimeZone as _, Utc};
use entity::kinds::AssignmentStatus;
use serde::{Deserialize, Serialize};

use super::personal::{checked_key, fresh_key, owner, parse_status, private, status_label};
use super::view::span_of;
use super::{PageError, csrf, html, id, render};
use crate::domain::check_in;
use crate::domain::contact::mask_mobile;
use crate::domain::display;
use crate::domain::zone::Zone;
use crate::feeds::service::DEFAULT_ZONE;
use crate::http::AppState;
use crate::store::duties;
use crate::store::feeds::Window;
use crate::store::page_actions::{self, Page, PageAction};
use crate::store::teams;

/// One member on the roster of a session.
struct RosterLine {
    assignment_id: i64,
    name: String,
    mobile: Option<String>,
    role: String,
    status: &'static str,
    badge: &'static str,
    can_check_in: bool,
    can_no_show: bool,
    check_in_key: String,
    no_show_key: String,
}

/// One session of the day.
struct RosterSession {
    id: i64,
    title: String,
    when: String,
    venue: String,
    cancelled: bool,
    lines: Vec<RosterLine>,
}

#[derive(Template)]
#[template(path = "leader.html")]
struct LeaderPage {
    title: String,
    private: bool,
    team: String,
    leader: String,
    day: String,
    day_iso: String,
    previous: String,
    next: String,
    token: String,
    team_id: i64,
    csrf: String,
    notice: Option<&'static str>,
    error: Option<String>,
    sessions: Vec<RosterSession>,
    code_key: String,
}

/// The query of the leader's page: another day than today.
#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
    done: Option<String>,
}

/// The leader and team a page address names, if the volunteer leads the team now.
async fn leading(
    state: &AppState,
    token: &str,
    raw_team: &str,
) -> Result<(entity::volunteer::Model, entity::team::Model), PageError> {
    let volunteer = owner(state, token).await?;
    let team_id = id(raw_team)?;
    if !page_actions::leads(state.db.reader(), volunteer.id, team_id).await? {
        return Err(PageError::not_found());
    }
    let team = teams::get(state.db.reader(), team_id).await?;
    Ok((volunteer, team))
}

async fn render_page(
    state: &AppState,
    token: &str,
    leader: &entity::volunteer::Model,
    team: &entity::team::Model,
    day: Option<NaiveDate>,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<String, PageError> {
    let now = state.clock.now();
    let zone = Zone::from_stored(DEFAULT_ZONE);
    let day = day.unwrap_or_else(|| zone.local(now).date_naive());
    let midnight = |date: NaiveDate| {
        zone.tz()
            .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or(now)
    };
    let window = Window {
        from: midnight(day),
        to: midnight(day + TimeDelta::days(1)),
        cancelled_since: midnight(day),
    };
    let roster = duties::roster(state.db.reader(), &team.path, &window).await?;
    let mut sessions: BTreeMap<(chrono::DateTime<Utc>, i64), RosterSession> = BTreeMap::new();
    for entry in roster {
        let Some(assignment) = entry.row.assignment.clone() else {
            continue;
        };
        let status = parse_status(&assignment.status);
        let (label, badge) = status_label(status);
        let open = matches!(status, AssignmentStatus::Proposed | AssignmentStatus::Confirmed);
        let row = &entry.row;
        let session = sessions
            .entry((row.times.starts_at, row.id))
            .or_insert_with(|| RosterSession {
                id: row.id,
                title: row.title.clone().unwrap_or_else(|| row.activity_title.clone()),
                when: span_of(&row.times).hours(),
                venue: row.venue_name.clone(),
                cancelled: row.cancelled,
                lines: Vec::new(),
            });
        session.lines.push(RosterLine {
            assignment_id: assignment.id,
            name: entry.name,
            mobile: entry.mobile.as_deref().map(mask_mobile),
            role: assignment.role,
            status: label,
            badge,
            can_check_in: open && !row.cancelled,
            can_no_show: open && !row.cancelled && now >= row.times.starts_at,
            check_in_key: fresh_key(),
            no_show_key: fresh_key(),
        });
    }
    render(&LeaderPage {
        title: format!("{} · 签到", team.name),
        private: true,
        team: team.name.clone(),
        leader: leader.name.clone(),
        day: display::day_label(day),
        day_iso: day.to_string(),
        previous: (day - TimeDelta::days(1)).to_string(),
        next: (day + TimeDelta::days(1)).to_string(),
        token: token.to_owned(),
        team_id: team.id,
        csrf: csrf::token(token),
        notice,
        error,
        sessions: sessions.into_values().collect(),
        code_key: fresh_key(),
    })
}

fn read_day(query: &DayQuery) -> Result<Option<NaiveDate>, PageError> {
    match query.day.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| PageError::bad_request("日期应写作 2019-05-30 这样的格式。")),
    }
}

/// `GET /v/{token}/teams/{team}`.
pub async fn page(
    State(state): State<AppState>,
    Path((token, raw_team)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let (leader, team) = leading(&state, &token, &raw_team).await?;
    let query: DayQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|_| PageError::bad_request("页面地址无法识别。"))?;
    let notice = match query.done.as_deref() {
        Some("check_in") => Some("已签到。"),
        Some("no_show") => Some("已登记缺席。"),
        _ => None,
    };
    let body = render_page(&state, &token, &leader, &team, read_day(&query)?, notice, None).await?;
    Ok(private(html(body).into_response()))
}

/// An action as the page sends it, as a form or as JSON.
#[derive(Debug, Default, Deserialize)]
struct ActionIn {
    csrf: Option<String>,
    key: Option<String>,
    /// `check_in` or `no_show`.
    action: Option<String>,
    assignment: Option<String>,
    /// A check-in code as scanned or typed (`{assignment}-{digits}`).
    code: Option<String>,
    day: Option<String>,
}

/// What the JSON form of an action answers.
#[derive(Debug, Serialize)]
struct ActionOut {
    ok: bool,
    assignment_id: Option<i64>,
    status: Option<AssignmentStatus>,
    label: Option<&'static str>,
    replayed: bool,
    message: String,
}

/// `POST /v/{token}/teams/{team}/actions`.
pub async fn act(
    State(state): State<AppState>,
    Path((token, raw_team)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (leader, team) = leading(&state, &token, &raw_team).await?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let input: ActionIn = if json {
        serde_json::from_slice(&body).map_err(|_| PageError::bad_request("请求无法识别。"))?
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|_| PageError::bad_request("表单无法识别，请刷新后重试。"))?
    };
    let given_csrf = input.csrf.clone().or_else(|| {
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    let outcome = async {
        csrf::check(&headers, state.feeds.public_url(), &token, given_csrf.as_deref())?;
        let key = checked_key(input.key.as_deref())?;
        let (assignment_id, action) = read_action(&input)?;
        let page = Page::Leader {
            volunteer_id: leader.id,
            team_id: team.id,
        };
        let outcome = super::perform(&state, &page, &key, assignment_id, action).await?;
        Ok::<_, PageError>(outcome)
    }
    .await;
    if json {
        let (status, out) = match outcome {
            Ok(outcome) => (
                StatusCode::OK,
                ActionOut {
                    ok: true,
                    assignment_id: Some(outcome.assignment_id),
                    status: Some(outcome.status),
                    label: Some(status_label(outcome.status).0),
                    replayed: outcome.replayed,
                    message: format!("{}：{}", status_label(outcome.status).0, outcome.assignment_id),
                },
            ),
            Err(error) => (
                error.status(),
                ActionOut {
                    ok: false,
                    assignment_id: None,
                    status: None,
                    label: None,
                    replayed: false,
                    message: error.message().to_owned(),
                },
            ),
        };
        return Ok(private((status, axum::Json(out)).into_response()));
    }
    let day = input
        .day
        .clone()
        .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
    let back = format!("/v/{token}/teams/{}", team.id);
    match outcome {
        Ok(outcome) => {
            let done = if outcome.status == AssignmentStatus::NoShow {
                "no_show"
            } else {
                "check_in"
            };
            let day = day.map(|d| format!("&day={d}")).unwrap_or_default();
            Ok(private(
                Redirect::to(&format!("{back}?done={done}{day}#a{}", outcome.assignment_id)).into_response(),
            ))
        }
        Err(error) if error.status() == StatusCode::NOT_FOUND || error.status().is_server_error() => Err(error),
        Err(error) => {
            let day = day.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
            let body = render_page(
                &state,
                &token,
                &leader,
                &team,
                day,
                None,
                Some(error.message().to_owned()),
            )
            .await?;
            Ok(private((error.status(), html(body)).into_response()))
        }
    }
}

/// The assignment and action a request names: by id with an action, or by a check-in code.
fn read_action(input: &ActionIn) -> Result<(i64, PageAction), PageError> {
    if let Some(code) = input.code.as_deref().filter(|c| !c.trim().is_empty()) {
        let (assignment_id, digits) = check_in::parse(code)
            .ok_or_else(|| PageError::from(crate::error::Error::field("code", "invalid", "not a check-in code")))?;
        return Ok((assignment_id, PageAction::CheckIn { code: Some(digits) }));
    }
    let assignment_id = input
        .assignment
        .as_deref()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .ok_or_else(|| PageError::bad_request("没有指明是哪一项安排，请刷新后重试。"))?;
    let action = match input.action.as_deref() {
        Some("check_in") => PageAction::CheckIn { code: None },
        Some("no_show") => PageAction::NoShow,
        _ => return Err(PageError::bad_request("无法识别的操作，请刷新后重试。")),
    };
    Ok((assignment_id, action))
}
