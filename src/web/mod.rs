//! The pages people open on their phones: the program and everything in it for the public,
//! a personal page for each volunteer and a page for each team leader.
//!
//! Pages are rendered on the server from templates compiled into the binary (`templates/`),
//! in Chinese, and work without JavaScript except the leader's scanner and offline queue.
//! They call the same `store` and `domain` functions as the JSON API; no rule lives here.

pub mod assets;
mod cache;
mod csrf;
mod leader;
mod personal;
mod public;
mod subscribe;
mod view;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use cache::PageCache;

use crate::error::Error;
use crate::http::AppState;

/// The routes of every page and asset.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(public::index))
        .route("/programs/{id}", get(public::program))
        .route("/activities/{id}", get(public::activity))
        .route("/venues/{id}", get(public::venue))
        .route("/organizations/{id}", get(public::organization))
        .route("/teams/{id}", get(public::team))
        .route("/sessions/{id}", get(public::session))
        .route("/assets/{file}", get(assets::serve))
        .route("/v/{token}", get(personal::page))
        .route("/v/{token}/assignments/{id}/{action}", post(personal::act))
        .route("/v/{token}/teams/{team}", get(leader::page))
        .route("/v/{token}/teams/{team}/actions", post(leader::act))
}

/// The address of a session's page.
pub fn session_url(public_url: &str, session_id: i64) -> String {
    format!("{public_url}/sessions/{session_id}")
}

/// The address of a volunteer's personal page.
pub fn volunteer_url(public_url: &str, page_token: &str) -> String {
    format!("{public_url}/v/{page_token}")
}

/// The address of the page of a team its leader sees.
pub fn leader_url(public_url: &str, page_token: &str, team_id: i64) -> String {
    format!("{public_url}/v/{page_token}/teams/{team_id}")
}

/// A page that could not be shown, as a page that says why in plain Chinese.
#[derive(Clone, Debug)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl PageError {
    /// 404: nothing (public) at this address.
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "找不到页面",
            message: "这个页面不存在，或者还没有公开。".to_owned(),
        }
    }

    /// 400: a query the page cannot read.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "无法显示",
            message: message.into(),
        }
    }

    /// 403: a form that did not come from our own page.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "操作未完成",
            message: message.into(),
        }
    }

    /// The status the page answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the page says.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        let status = error.status();
        let (title, message) = match &error {
            Error::NotFound(_) => return Self::not_found(),
            Error::Conflict { code, .. } => ("操作未完成", refusal(code).to_owned()),
            Error::Validation(problems) => (
                "填写有误",
                problems
                    .iter()
                    .map(|p| field_problem(&p.field, p.code))
                    .collect::<Vec<_>>()
                    .join("；"),
            ),
            Error::Forbidden(_) | Error::Unauthenticated(_) => ("操作未完成", "您没有权限进行这项操作。".to_owned()),
            Error::Unavailable(_) => ("暂时无法访问", "服务暂时不可用，请稍后再试。".to_owned()),
            Error::Internal(cause) => {
                tracing::error!(error = ?cause, "a page failed");
                ("出错了", "服务暂时出错，请稍后再试。".to_owned())
            }
            _ => ("操作未完成", "这项操作没有完成，请刷新页面后再试。".to_owned()),
        };
        Self { status, title, message }
    }
}

/// The refusals of the staffing rules, as a volunteer or leader reads them.
fn refusal(code: &str) -> &'static str {
    match code {
        "outside_check_in_window" => "签到时间为活动开始前一小时至活动结束，现在不能签到。",
        "too_early" => "活动开始后才能登记缺席。",
        "invalid_transition" => "这项安排现在的状态不能进行这项操作（可能已经处理过）。",
        "wrong_code" => "签到码不对，请核对后再试。",
        _ => "这项操作与当前安排冲突，请刷新页面后再试。",
    }
}

fn field_problem(field: &str, code: &str) -> String {
    match (field, code) {
        ("reason", "required") => "请填写请假原因。".to_owned(),
        ("reason", "too_long") => "请假原因太长，请控制在 500 字以内。".to_owned(),
        ("code", _) => "签到码格式不对，应为“编号-六位数字”。".to_owned(),
        _ => format!("“{field}”填写有误。"),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    private: bool,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: self.title,
            message: &self.message,
            private: true,
        };
        let body = page.render().unwrap_or_else(|_| self.message.clone());
        let mut response = (self.status, html(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// An HTML body.
fn html(body: String) -> ([(header::HeaderName, HeaderValue); 1], String) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
}

/// Renders a template, or fails as a page.
fn render(template: &impl Template) -> Result<String, PageError> {
    template
        .render()
        .map_err(|error| PageError::from(Error::Internal(anyhow::anyhow!("rendering a page: {error}"))))
}

/// Reads a numeric id from a path; anything else is a page that does not exist.
fn id(text: &str) -> Result<i64, PageError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(PageError::not_found)
}

/// Performs a volunteer's or team leader's action from their page, once per idempotency key,
/// and tells the feeds what it changed.
async fn perform(
    state: &AppState,
    page: &crate::store::page_actions::Page,
    key: &str,
    assignment_id: i64,
    action: crate::store::page_actions::PageAction,
) -> crate::error::Result<crate::store::page_actions::Outcome> {
    let now = state.clock.now();
    state
        .feeds
        .writing(crate::store::page_actions::perform(
            &state.db,
            page,
            key,
            assignment_id,
            action,
            now,
        ))
        .await
}
