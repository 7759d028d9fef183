//! Liveness, readiness and the API description.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::openapi::ReadyErrors;
use crate::error::{Error, Result};

/// Health status.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = OK, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The process is up and its database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses((status = OK, body = Health), ReadyErrors)
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        Error::Unavailable("the database is not reachable".to_owned())
    })?;
    Ok(Json(Health { status: "ready" }))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "health",
    responses((status = OK, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_document() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        super::openapi_json(),
    )
}
