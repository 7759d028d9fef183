//! A subscription's delivery log: every message with every attempt at it, a message sent
//! again, and a test message sent now.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use entity::kinds::{AttemptOutcome, DeliveryStatus};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::managed;
use crate::error::{Error, Result};
use crate::http::AppState;
use crate::http::extract::{Authenticated, Id, Ids, Query};
use crate::http::openapi::{ActionErrors, ReadErrors};
use crate::http::paging::{PageOut, page_request, search};
use crate::store::deliveries;
use crate::store::{Cursor, Page};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(resend_delivery))
        .routes(routes!(test_webhook))
}

/// One message in a subscription's delivery log, with every attempt at it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    id: i64,
    /// The subscription it is for.
    webhook_id: i64,
    /// `session.reminder`, `session.rescheduled`, …, or `webhook.test`.
    event_type: String,
    session_id: Option<i64>,
    assignment_id: Option<i64>,
    status: DeliveryStatus,
    /// When it fell (or falls) due.
    due_at: DateTime<Utc>,
    /// Never sent after this (a reminder's session start).
    deadline: Option<DateTime<Utc>>,
    /// When the next attempt is due, while pending.
    next_attempt_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    /// What went wrong last.
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    attempts: Vec<AttemptOut>,
}

/// One attempt at a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    attempted_at: DateTime<Utc>,
    duration_ms: i32,
    /// The receiver's HTTP status; absent when no answer came (timeout, refused connection).
    http_status: Option<i32>,
    /// The platform's own error code (DingTalk/WeCom `errcode`, Feishu `code`).
    error_code: Option<i64>,
    /// The platform's error message, or what went wrong on the way.
    error_message: Option<String>,
    /// The start of the receiver's answer.
    response_body: Option<String>,
    outcome: AttemptOutcome,
    /// When the next attempt follows, if one does.
    next_attempt_at: Option<DateTime<Utc>>,
}

impl DeliveryOut {
    fn new(model: entity::delivery::Model, attempts: Vec<entity::delivery_attempt::Model>) -> Self {
        Self {
            id: model.id,
            webhook_id: model.webhook_id,
            event_type: model.event_type,
            session_id: model.session_id,
            assignment_id: model.assignment_id,
            status: model.status,
            due_at: model.due_at,
            deadline: model.deadline,
            next_attempt_at: (model.status == DeliveryStatus::Pending).then_some(model.next_attempt_at),
            delivered_at: model.delivered_at,
            last_error: model.last_error,
            created_at: model.created_at,
            attempts: attempts
                .into_iter()
                .map(|a| AttemptOut {
                    attempted_at: a.attempted_at,
                    duration_ms: a.duration_ms,
                    http_status: a.http_status,
                    error_code: a.error_code,
                    error_message: a.error_message,
                    response_body: a.response_body,
                    outcome: a.outcome,
                    next_attempt_at: a.next_attempt_at,
                })
                .collect(),
        }
    }
}

/// Filters and pagination of a delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only messages with this status.
    status: Option<DeliveryStatus>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset).
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

async fn delivery_out(conn: &impl ConnectionTrait, model: entity::delivery::Model) -> Result<DeliveryOut> {
    let mut attempts = deliveries::attempts(conn, &[model.id]).await?;
    let attempts = attempts.remove(&model.id).unwrap_or_default();
    Ok(DeliveryOut::new(model, attempts))
}

/// A subscription's delivery log, newest message first: every message with every attempt
/// (time, duration, HTTP status, the platform's error code and message, the start of the
/// answer, outcome, next attempt).
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = i64, Path), DeliveryQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<DeliveryOut>), ReadErrors)
)]
async fn list_deliveries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    Query(query): Query<DeliveryQuery>,
) -> Result<PageOut<DeliveryOut>> {
    validate! {
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        search = search(None, query.updated_since.as_deref()),
    }
    let conn = state.db.reader();
    managed(conn, &actor, id).await?;
    let page = deliveries::list(conn, id, query.status, &search, &page).await?;
    with_attempts(conn, page).await
}

/// A page of messages, each with its attempts.
pub(in crate::http) async fn with_attempts(
    conn: &impl ConnectionTrait,
    page: Page<entity::delivery::Model>,
) -> Result<PageOut<DeliveryOut>> {
    let ids: Vec<i64> = page.items.iter().map(|d| d.id).collect();
    let mut attempts = deliveries::attempts(conn, &ids).await?;
    let page = page.map(|d| {
        let tried = attempts.remove(&d.id).unwrap_or_default();
        DeliveryOut::new(d, tried)
    });
    Ok(page.into())
}

/// One message of a subscription's delivery log, with its attempts.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries/{delivery_id}",
    tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = DeliveryOut), ReadErrors)
)]
async fn get_delivery(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(id, delivery_id): Ids,
) -> Result<axum::Json<DeliveryOut>> {
    let conn = state.db.reader();
    managed(conn, &actor, id).await?;
    let model = deliveries::get(conn, id, delivery_id).await?;
    Ok(axum::Json(delivery_out(conn, model).await?))
}

/// Sends a message again, now, with the same `webhook-id` (receivers that already have it
/// can tell). 409 for a reminder whose session has started, a withdrawn message, or one being
/// sent at this moment.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{delivery_id}/resend",
    tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = ACCEPTED, body = DeliveryOut), ActionErrors)
)]
async fn resend_delivery(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(id, delivery_id): Ids,
) -> Result<(StatusCode, axum::Json<DeliveryOut>)> {
    let txn = state.db.begin().await?;
    let webhook = managed(&txn, &actor, id).await?;
    if !webhook.enabled {
        return Err(Error::conflict(
            "disabled",
            "the subscription is disabled; enable it before sending again",
        ));
    }
    let before = deliveries::get(&txn, id, delivery_id).await?;
    let model = deliveries::resend(&txn, id, delivery_id, state.clock.now()).await?;
    state.audit(&actor).acted(&txn, "resend", &before, &model).await?;
    let out = delivery_out(&txn, model).await?;
    txn.commit().await?;
    Ok((StatusCode::ACCEPTED, axum::Json(out)))
}

/// Sends a test message to the subscription now and answers with what the receiver said.
/// It is not retried; it shows in the delivery log as `webhook.test`.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = DeliveryOut), ActionErrors)
)]
async fn test_webhook(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<axum::Json<DeliveryOut>> {
    let webhook = managed(state.db.reader(), &actor, id).await?;
    let delivery = state.dispatcher.send_test(&webhook).await?;
    Ok(axum::Json(delivery_out(state.db.reader(), delivery).await?))
}
