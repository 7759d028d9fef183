//! `/api/v1/tokens`: admins hand out and revoke bearer tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::api_token::Model;
use entity::kinds::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, Json, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors};
use super::paging::{PageOut, page_request};
use super::{AppState, as_field, created};
use crate::domain::field::one;
use crate::domain::text;
use crate::error::Result;
use crate::store::tokens::{self as store, Grant};
use crate::store::{Cursor, organizations, volunteers};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    /// Who or what uses it, e.g. 海州区科协 office.
    name: String,
    role: Role,
    /// Required for organizers: the organization (and subtree) the token manages.
    organization_id: Option<i64>,
    /// Required for volunteers: whose assignments the token sees and answers.
    volunteer_id: Option<i64>,
    /// When the token stops working (RFC 3339 with offset, in the future); never when absent.
    expires_at: Option<DateTime<Utc>>,
}

/// A token as listed; the secret is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    id: i64,
    name: String,
    role: Role,
    organization_id: Option<i64>,
    volunteer_id: Option<i64>,
    /// The first characters of the token.
    prefix: String,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    expires_at: Option<DateTime<Utc>>,
    /// When it was last presented, to the minute.
    last_used_at: Option<DateTime<Utc>>,
    /// `active`, `revoked` or `expired`.
    state: String,
}

impl TokenOut {
    fn new(model: Model, now: DateTime<Utc>) -> Self {
        Self {
            state: store::state(&model, now).to_owned(),
            expires_at: model.expires_at,
            last_used_at: model.last_used_at,
            id: model.id,
            name: model.name,
            role: model.role,
            organization_id: model.organization_id,
            volunteer_id: model.volunteer_id,
            prefix: model.prefix,
            created_at: model.created_at,
            revoked_at: model.revoked_at,
        }
    }
}

/// A token just created, with its secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreatedOut {
    #[serde(flatten)]
    token: TokenOut,
    /// The bearer token. Store it now: only its digest is kept.
    secret: String,
}

/// Pagination of the token list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokenQuery {
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists tokens (admins only).
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    params(TokenQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<TokenOut>), ListErrors, (status = FORBIDDEN, description = "Not an admin"))
)]
async fn list_tokens(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<TokenQuery>,
) -> Result<PageOut<TokenOut>> {
    actor.require_admin()?;
    let page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_)))?;
    let page = store::list(state.db.reader(), &page).await?;
    let now = state.clock.now();
    Ok(page.map(|t| TokenOut::new(t, now)).into())
}

/// Creates a token; the answer holds the secret, once. Admins create any token; organizers
/// create volunteer tokens for the volunteers of their organizations.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    request_body = TokenIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = TokenCreatedOut), CreateErrors)
)]
async fn create_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<TokenIn>,
) -> Result<Response> {
    validate! {
        name = one(text::required("name", &input.name, 100)),
    }
    let txn = state.db.begin().await?;
    match (input.role, input.volunteer_id) {
        (Role::Volunteer, Some(volunteer_id)) if !actor.is_admin() => {
            let volunteer = volunteers::get(&txn, volunteer_id)
                .await
                .map_err(as_field("volunteer_id"))?;
            let organization = organizations::get(&txn, volunteer.organization_id).await?;
            actor.require_manages(&organization.path, "the volunteer")?;
        }
        _ => actor.require_admin()?,
    }
    let grant = Grant {
        name,
        role: input.role,
        organization_id: input.organization_id,
        volunteer_id: input.volunteer_id,
        expires_at: input.expires_at,
    };
    let (model, secret) = store::create(&txn, grant, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    tracing::info!(token = model.id, role = ?model.role, "token created");
    Ok(created(
        format!("/api/v1/tokens/{}", model.id),
        1,
        TokenCreatedOut {
            token: TokenOut::new(model, state.clock.now()),
            secret,
        },
    ))
}

/// Revokes a token (admins only); it stops working at once.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Revoked"), DeleteErrors)
)]
async fn revoke_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<StatusCode> {
    actor.require_admin()?;
    let txn = state.db.begin().await?;
    let (before, after) = store::revoke(&txn, id, state.clock.now()).await?;
    state.audit(&actor).acted(&txn, "revoke", &before, &after).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
