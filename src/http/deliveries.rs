//! `/api/v1/deliveries`: the messages of every subscription the caller manages in one list,
//! soonest due first, to see what is about to be sent (`status=pending`) and what is stuck.

use axum::extract::State;
use entity::kinds::DeliveryStatus;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{Authenticated, Query};
use super::openapi::ListErrors;
use super::paging::{PageOut, page_request, positive_ids};
use super::webhooks::{DeliveryOut, with_attempts};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::store::Cursor;
use crate::store::upcoming::{self, DeliveryFilter};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_all_deliveries))
}

/// Filters and pagination of the outbox.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// Only messages with this status; `pending` is what is still to be sent.
    status: Option<DeliveryStatus>,
    /// Only messages about this program: its sessions, its plan deadline and its plans.
    program_id: Option<i64>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// The messages of every subscription the caller manages (admins: all), soonest due first,
/// each with its subscription and every attempt at it.
#[utoipa::path(
    get,
    path = "/deliveries",
    tag = "webhooks",
    params(OutboxQuery),
    security(("bearer" = [])),
    responses(
        (status = OK, body = PageOut<DeliveryOut>),
        ListErrors,
        (status = FORBIDDEN, description = "A volunteer token")
    )
)]
async fn list_all_deliveries(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<OutboxQuery>,
) -> Result<PageOut<DeliveryOut>> {
    validate! {
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Timed(..))),
        _ids = positive_ids(&[("program_id", query.program_id)]),
    }
    let within = match actor {
        Actor::Anonymous => return Err(Error::Unauthenticated("the outbox needs a bearer token")),
        Actor::Volunteer { .. } => {
            return Err(Error::Forbidden(
                "only admins and organizers see subscriptions' messages".to_owned(),
            ));
        }
        Actor::Admin { .. } => None,
        Actor::Organizer { path, .. } => Some(path),
    };
    let filter = DeliveryFilter {
        status: query.status,
        program_id: query.program_id,
        within,
    };
    let conn = state.db.reader();
    let page = upcoming::list(conn, &filter, &page).await?;
    with_attempts(conn, page).await
}
