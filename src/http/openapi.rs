//! The OpenAPI 3.1 document: its frame here, its paths and schemas from the handlers.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::PROBLEM_JSON;

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "sciday",
        description = "Scheduling service for National Science and Technology Workers' Day programs: \
                       organizations, venues, programs, activities and sessions. Errors are \
                       application/problem+json (RFC 9457). Writes need a bearer token; updates \
                       need If-Match with the resource's ETag.",
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

fn responses(statuses: &[StatusCode]) -> BTreeMap<String, RefOr<Response>> {
    statuses
        .iter()
        .map(|status| {
            let description = match status.as_u16() {
                400 => "Malformed request: not JSON, not UTF-8, or an unreadable header",
                401 => "Missing, invalid or revoked bearer token",
                403 => "The token does not allow this",
                404 => "No such resource",
                409 => "Conflicts with the stored data (see `code`)",
                412 => "If-Match names a version that is no longer current",
                413 => "Request body too large",
                415 => "The body is not JSON",
                422 => "Invalid input; `errors` lists every field problem",
                428 => "If-Match is required",
                503 => "The database is not reachable",
                _ => "Error",
            };
            (status.as_u16().to_string(), problem(description))
        })
        .collect()
}

macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: $($status:ident),+) => {
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                responses(&[$(StatusCode::$status),+])
            }
        }
    };
}

error_set!(
    /// Errors of list endpoints.
    ListErrors: UNAUTHORIZED, UNPROCESSABLE_ENTITY
);
error_set!(
    /// Errors of read endpoints.
    ReadErrors: UNAUTHORIZED, NOT_FOUND
);
error_set!(
    /// Errors of create endpoints.
    CreateErrors: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, CONFLICT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE,
        UNPROCESSABLE_ENTITY
);
error_set!(
    /// Errors of update endpoints.
    UpdateErrors: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PRECONDITION_FAILED,
        PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, UNPROCESSABLE_ENTITY, PRECONDITION_REQUIRED
);
error_set!(
    /// Errors of delete endpoints.
    DeleteErrors: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PRECONDITION_FAILED
);
error_set!(
    /// Errors of the readiness probe.
    ReadyErrors: SERVICE_UNAVAILABLE
);
