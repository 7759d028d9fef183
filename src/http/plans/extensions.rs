//! Time granted past the deadline, one organization at a time.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use entity::plan_extension::Model as Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::local;
use crate::domain::field::one;
use crate::domain::notice::instant_text;
use crate::domain::text;
use crate::domain::time::TimeInput;
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::http::extract::{Authenticated, Id, Ids, Json};
use crate::http::openapi::{ActionErrors, DeleteErrors, ReadErrors, UpdateErrors};
use crate::http::{AppState, with_etag};
use crate::store::plans as store;
use crate::store::{organizations, programs};
use crate::validate;

/// The longest reason for an extension.
const REASON_MAX: usize = 500;

/// An extension granted past the deadline.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionOut {
    organization_id: i64,
    /// In the program's zone.
    until: DateTime<FixedOffset>,
    reason: Option<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ExtensionOut {
    fn new(model: Extension, zone: Zone) -> Self {
        Self {
            organization_id: model.organization_id,
            until: local(model.until, zone),
            reason: model.reason,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// An extension as an admin grants it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionIn {
    /// Until when, e.g. `2019-05-20T17:00:00` (in the program's zone) or with an offset.
    until: String,
    /// Why, for the record.
    reason: Option<String>,
}

/// The extensions granted for a program's plans (admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plan-extensions",
    tag = "plans",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = Vec<ExtensionOut>), ReadErrors)
)]
pub(super) async fn list_extensions(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
) -> Result<axum::Json<Vec<ExtensionOut>>> {
    actor.require_admin()?;
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    let extensions = store::extensions(conn, program.id).await?;
    Ok(axum::Json(
        extensions.into_iter().map(|e| ExtensionOut::new(e, zone)).collect(),
    ))
}

/// Grants an organization time past the deadline, or changes the time granted (admins).
#[utoipa::path(
    put,
    path = "/programs/{id}/plan-extensions/{organization_id}",
    tag = "plans",
    params(("id" = i64, Path), ("organization_id" = i64, Path)),
    request_body = ExtensionIn,
    security(("bearer" = [])),
    responses(
        (status = OK, body = ExtensionOut, description = "Changed"),
        (status = CREATED, body = ExtensionOut, description = "Granted"),
        UpdateErrors
    )
)]
pub(super) async fn grant_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, organization_id): Ids,
    Json(input): Json<ExtensionIn>,
) -> Result<Response> {
    actor.require_admin()?;
    let txn = state.db.begin().await?;
    let program = programs::get_for_update(&txn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    validate! {
        until = one(TimeInput::parse("until", &input.until).and_then(|t| t.resolve("until", zone))),
        reason = one(text::optional("reason", input.reason.as_deref(), REASON_MAX)),
    }
    let Some(deadline) = program.plan_deadline else {
        return Err(Error::conflict(
            "no_deadline",
            "the program has no plan deadline to extend",
        ));
    };
    if until <= deadline {
        return Err(Error::field(
            "until",
            "not_after_deadline",
            format!(
                "an extension ends after the deadline ({})",
                instant_text(deadline, zone, true)
            ),
        ));
    }
    let organization = organizations::get(&txn, organization_id).await?;
    if !store::belongs_to_program(&txn, &program, &organization).await? {
        return Err(Error::NotFound("organization"));
    }
    let before = store::extension(&txn, program.id, organization.id).await?;
    let (model, granted) = store::grant(&txn, program.id, organization.id, until, reason, state.clock.now()).await?;
    state
        .audit(&actor)
        .record(&txn, "grant", before.as_ref(), Some(&model))
        .await?;
    txn.commit().await?;
    let status = if granted { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = with_etag(model.version, ExtensionOut::new(model, zone));
    *response.status_mut() = status;
    Ok(response)
}

/// Takes an organization's extension back (admins).
#[utoipa::path(
    delete,
    path = "/programs/{id}/plan-extensions/{organization_id}",
    tag = "plans",
    params(("id" = i64, Path), ("organization_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Revoked"), DeleteErrors, ActionErrors)
)]
pub(super) async fn revoke_extension(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, organization_id): Ids,
) -> Result<StatusCode> {
    actor.require_admin()?;
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let revoked = store::revoke(&txn, program.id, organization_id).await?;
    state.audit(&actor).record(&txn, "revoke", Some(&revoked), None).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
