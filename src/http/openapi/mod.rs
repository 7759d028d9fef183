//! The OpenAPI 3.1 document: its frame here, its paths and schemas from the handlers.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::PROBLEM_JSON;

mod examples;
mod permissions;
mod rules;
mod webhooks;

pub use rules::InputRules;

/// The document as served: utoipa's, with what utoipa has no place for added to its JSON (each
/// operation's examples, who may call it and what it refuses; the messages sent to webhooks).
pub fn finish(document: &utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut json = serde_json::to_value(document).unwrap_or_default();
    examples::add(&mut json);
    permissions::add(&mut json);
    webhooks::add(&mut json);
    json
}

/// Every operation of a serialized document.
fn json_operations(document: &mut serde_json::Value) -> impl Iterator<Item = &mut serde_json::Value> {
    document
        .get_mut("paths")
        .and_then(serde_json::Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter(|operation| operation.get("responses").is_some())
}

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
    /// Errors of calendar feeds.
    FeedErrors: NOT_FOUND, UNPROCESSABLE_ENTITY
);
error_set!(
    /// Errors of endpoints that renew a secret.
    SecretErrors: UNAUTHORIZED, FORBIDDEN, NOT_FOUND
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
    /// Errors of endpoints that act on a resource without a body.
    ActionErrors: UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT
);
error_set!(
    /// Errors of the readiness probe.
    ReadyErrors: SERVICE_UNAVAILABLE
);

/// Every operation of a path, for modifiers that treat them all alike.
fn operations_mut(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.post.as_mut(),
        item.patch.as_mut(),
        item.delete.as_mut(),
        item.put.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// States in the document the answers every operation of a kind can give, whichever handler
/// it is: the gate's 401 where a token is needed, the path extractor's 404 where the path
/// names a record, the query extractor's 422 where there are query parameters, and the body
/// extractor's 400, 413, 415 and 422 where there is a body. Header parameters are text or
/// absent, never `null`.
pub struct UniformAnswers;

impl Modify for UniformAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let mut statuses = Vec::new();
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    statuses.push(StatusCode::UNAUTHORIZED);
                }
                if parameters.iter().any(|p| matches!(p.parameter_in, ParameterIn::Path)) {
                    statuses.push(StatusCode::NOT_FOUND);
                }
                if parameters.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query)) {
                    statuses.push(StatusCode::UNPROCESSABLE_ENTITY);
                }
                if operation.request_body.is_some() {
                    statuses.extend([
                        StatusCode::BAD_REQUEST,
                        StatusCode::PAYLOAD_TOO_LARGE,
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ]);
                }
                for (code, response) in responses(&statuses) {
                    operation.responses.responses.entry(code).or_insert(response);
                }
                for parameter in operation.parameters.iter_mut().flatten() {
                    if matches!(parameter.parameter_in, ParameterIn::Header)
                        && let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(object))) =
                            parameter.schema.as_mut()
                    {
                        object.schema_type =
                            utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::schema::Type::String);
                    }
                }
            }
        }
    }
}
