//! A volunteer's own page, at the secret address `/v/{page token}`: their assignments with
//! time, place, role, team and leader; 确认 and 请假 buttons; their calendar to subscribe to;
//! and, from an hour before each session, the check-in code for the team leader to scan.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, TimeDelta, Utc};
use entity::kinds::AssignmentStatus;
use entity::volunteer::Model as Volunteer;
use serde::Deserialize;

use super::subscribe::{Subscribe, qr_svg};
use super::view::{self, span_of};
use super::{PageError, csrf, html, id, render};
use crate::auth::is_feed_token;
use crate::domain::check_in;
use crate::domain::text;
use crate::feeds::service::Target;
use crate::http::AppState;
use crate::store::assignments::CHECK_IN_OPENS_BEFORE_START;
use crate::store::duties::{self, Duty};
use crate::store::feeds::Window;
use crate::store::page_actions::{Page, PageAction};
use crate::store::{teams, volunteers};

/// How far back a personal page lists assignments.
const PAST_DAYS: i64 = 30;

/// The volunteer whose page `token` opens; any other token is a page that does not exist.
pub(super) async fn owner(state: &AppState, token: &str) -> Result<Volunteer, PageError> {
    if !is_feed_token(token) {
        return Err(PageError::not_found());
    }
    volunteers::by_page_token(state.db.reader(), token)
        .await?
        .ok_or_else(PageError::not_found)
}

/// The headers of every personal page: never cached, never framed, never indexed, and no
/// address of it sent to the sites its links open.
pub(super) fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    response
}

/// How a status reads, and the badge it wears.
pub(super) fn status_label(status: AssignmentStatus) -> (&'static str, &'static str) {
    match status {
        AssignmentStatus::Proposed => ("待确认", "moved"),
        AssignmentStatus::Confirmed => ("已确认", "live"),
        AssignmentStatus::CheckedIn => ("已签到", "ok"),
        AssignmentStatus::Declined => ("已请假", "off"),
        AssignmentStatus::Cancelled => ("已取消", "off"),
        AssignmentStatus::NoShow => ("缺席", "off"),
    }
}

/// A status as stored in feed rows.
pub(super) fn parse_status(text: &str) -> AssignmentStatus {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap_or(AssignmentStatus::Cancelled)
}

/// A random idempotency key for one form.
pub(super) fn fresh_key() -> String {
    crate::auth::feed_token()
}

/// One assignment on the page.
struct DutyView {
    id: i64,
    session_id: i64,
    title: String,
    when: String,
    venue: String,
    venue_id: i64,
    address: Option<String>,
    role: String,
    team: Option<String>,
    leaders: String,
    status: &'static str,
    badge: &'static str,
    session_cancelled: bool,
    can_confirm: bool,
    can_decline: bool,
    check_in: Option<CheckInView>,
    confirm_key: String,
    decline_key: String,
}

struct CheckInView {
    code: String,
    qr_svg: String,
}

fn duty_view(duty: Duty, page_token: &str, now: DateTime<Utc>) -> Option<DutyView> {
    let assignment = duty.row.assignment.clone()?;
    let status = parse_status(&assignment.status);
    let (label, badge) = status_label(status);
    let open = matches!(status, AssignmentStatus::Proposed | AssignmentStatus::Confirmed);
    let (start, end) = (duty.row.times.starts_at, duty.row.times.ends_at);
    let live = open && !duty.row.cancelled && now < end;
    let check_in = (live && now >= start - CHECK_IN_OPENS_BEFORE_START).then(|| {
        let code = check_in::code(page_token, assignment.id);
        CheckInView {
            qr_svg: qr_svg(&code, "签到二维码"),
            code,
        }
    });
    Some(DutyView {
        id: assignment.id,
        session_id: duty.row.id,
        title: duty
            .row
            .title
            .clone()
            .unwrap_or_else(|| duty.row.activity_title.clone()),
        when: span_of(&duty.row.times).full(),
        venue: duty.row.venue_name.clone(),
        venue_id: duty.row.venue_id,
        address: duty.row.venue_address.clone(),
        role: assignment.role,
        team: duty.team.map(|(_, name)| name),
        leaders: duty.leaders.join("、"),
        status: label,
        badge,
        session_cancelled: duty.row.cancelled,
        can_confirm: live && status == AssignmentStatus::Proposed,
        can_decline: live,
        check_in,
        confirm_key: fresh_key(),
        decline_key: fresh_key(),
    })
}

/// A team the volunteer leads, with the address of its page.
struct Led {
    name: String,
    href: String,
}

#[derive(Template)]
#[template(path = "volunteer.html")]
struct VolunteerPage {
    title: String,
    private: bool,
    name: String,
    token: String,
    csrf: String,
    notice: Option<&'static str>,
    error: Option<String>,
    upcoming: Vec<DutyView>,
    past: Vec<DutyView>,
    led: Vec<Led>,
    sub: Option<Subscribe>,
}

async fn render_page(
    state: &AppState,
    volunteer: Volunteer,
    token: &str,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<String, PageError> {
    let now = state.clock.now();
    let conn = state.db.reader();
    let window = Window {
        from: now - TimeDelta::days(PAST_DAYS),
        to: view::all_time().to,
        cancelled_since: now - TimeDelta::days(PAST_DAYS),
    };
    let duties = duties::of_volunteer(conn, volunteer.id, &window).await?;
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for duty in duties {
        let ended = duty.row.times.ends_at <= now;
        if let Some(view) = duty_view(duty, token, now) {
            if ended { past.push(view) } else { upcoming.push(view) }
        }
    }
    past.reverse();
    let led_ids: Vec<i64> = volunteers::details(conn, &[volunteer.id])
        .await?
        .remove(&volunteer.id)
        .map(|d| d.teams.iter().filter(|m| m.leader).map(|m| m.team_id).collect())
        .unwrap_or_default();
    let mut led = Vec::new();
    for team_id in led_ids {
        let team = teams::get(conn, team_id).await?;
        led.push(Led {
            name: team.name,
            href: format!("/v/{token}/teams/{team_id}"),
        });
    }
    let sub = volunteer.feed_token.clone().map(|feed| {
        Subscribe::new(
            &state.feeds,
            &Target::Volunteer(feed),
            &format!("{}的志愿服务", volunteer.name),
        )
    });
    render(&VolunteerPage {
        title: format!("{}的志愿服务", volunteer.name),
        private: true,
        name: volunteer.name,
        token: token.to_owned(),
        csrf: csrf::token(token),
        notice,
        error,
        upcoming,
        past,
        led,
        sub,
    })
}

/// What a finished action says at the top of the page (`?done=`).
fn notice(query: Option<&str>) -> Option<&'static str> {
    let done = query?.split('&').find_map(|pair| pair.strip_prefix("done="))?;
    match done {
        "confirm" => Some("已确认参加，感谢您的支持！"),
        "decline" => Some("已请假，名额已释放，组织者会收到通知。"),
        _ => None,
    }
}

/// `GET /v/{token}`.
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let volunteer = owner(&state, &token).await?;
    let body = render_page(&state, volunteer, &token, notice(query.as_deref()), None).await?;
    Ok(private(html(body).into_response()))
}

/// The fields of the 确认 and 请假 forms.
#[derive(Debug, Default, Deserialize)]
struct AnswerForm {
    csrf: Option<String>,
    key: Option<String>,
    reason: Option<String>,
}

/// An idempotency key as a page sends it: 8–64 letters, digits, `-` or `_`.
pub(super) fn checked_key(key: Option<&str>) -> Result<String, PageError> {
    let key = key.unwrap_or_default().trim();
    if (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(key.to_owned())
    } else {
        Err(PageError::bad_request("页面已过期，请刷新后重试。"))
    }
}

/// `POST /v/{token}/assignments/{id}/{confirm|decline}`: the volunteer answers; then back to
/// the page, which says what was done (or, refused, why).
pub async fn act(
    State(state): State<AppState>,
    Path((token, raw_id, action)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let volunteer = owner(&state, &token).await?;
    let assignment_id = id(&raw_id)?;
    let form: AnswerForm =
        serde_urlencoded::from_bytes(&body).map_err(|_| PageError::bad_request("表单无法识别，请刷新后重试。"))?;
    csrf::check(&headers, state.feeds.public_url(), &token, form.csrf.as_deref())?;
    let key = checked_key(form.key.as_deref())?;
    let action = match action.as_str() {
        "confirm" => PageAction::Confirm,
        "decline" => {
            let reason = text::required("reason", form.reason.as_deref().unwrap_or(""), 500)
                .map_err(|problem| crate::error::Error::Validation(vec![problem]));
            match reason {
                Ok(reason) => PageAction::Decline(reason),
                Err(error) => return refused(&state, volunteer, &token, error.into()).await,
            }
        }
        _ => return Err(PageError::not_found()),
    };
    let name = action.name();
    let page = Page::Volunteer(volunteer.id);
    let performed = super::perform(&state, &page, &key, assignment_id, action).await;
    match performed {
        Ok(_) => Ok(private(
            Redirect::to(&format!("/v/{token}?done={name}#a{assignment_id}")).into_response(),
        )),
        Err(error) => refused(&state, volunteer, &token, error.into()).await,
    }
}

/// The page again, saying why the action was refused.
async fn refused(state: &AppState, volunteer: Volunteer, token: &str, error: PageError) -> Result<Response, PageError> {
    let status = error.status();
    if status == StatusCode::NOT_FOUND || status.is_server_error() {
        return Err(error);
    }
    let body = render_page(state, volunteer, token, None, Some(error.message().to_owned())).await?;
    Ok(private((status, html(body)).into_response()))
}
