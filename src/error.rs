//! The one error type of sciday, and its rendering as `application/problem+json` (RFC 9457).
//!
//! Every variant documents the HTTP status it answers with. Server-side failures are logged
//! with their cause and shown to the client only as a generic 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::field::FieldError;
use crate::domain::staffing::Violation;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Everything that can go wrong while serving a request or running a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 400: the request could not be read (malformed JSON, invalid UTF-8, a bad header).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no credentials where they are needed, or credentials that are not valid.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 403: valid credentials that do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the resource (named) does not exist or is not visible to the caller.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// 405: the path exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the change conflicts with the stored state (`code` says how).
    #[error("{detail}")]
    Conflict {
        /// Stable machine-readable reason.
        code: &'static str,
        /// What conflicts, for people.
        detail: String,
    },
    /// 409: the record is still referred to by others (named in the message), so it cannot
    /// be deleted.
    #[error("{0}")]
    InUse(String),
    /// 409: the assignment breaks staffing rules; every broken rule is listed.
    #[error("the assignment breaks {} staffing rule(s)", .0.len())]
    Refused(Vec<Violation>),
    /// 412: `If-Match` named a version that is no longer current.
    #[error("the resource has changed since version {given}; it is now at {current}")]
    PreconditionFailed {
        /// The ETag the client sent.
        given: String,
        /// The current ETag.
        current: String,
    },
    /// 413: the body is larger than the configured limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the input is well-formed but not valid; one entry per field problem.
    #[error("the input is not valid")]
    Validation(Vec<FieldError>),
    /// 422: a feed with more events than a calendar should be given; narrower feeds are named.
    #[error(
        "this feed has {} events, more than the {limit} a feed may hold; subscribe to a narrower feed or a shorter window",
        if *events > *limit { format!("more than {limit}") } else { events.to_string() }
    )]
    FeedTooLarge {
        /// Events counted (at least).
        events: usize,
        /// The most a feed may hold.
        limit: usize,
        /// Feeds that show part of it.
        narrower: Vec<FeedLink>,
    },
    /// 428: an update without `If-Match`.
    #[error("updates need an If-Match header with the resource's ETag (or *)")]
    PreconditionRequired,
    /// 503: a dependency (the database) is not reachable.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a failure on our side; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 422 for a single field.
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// A 409 with a reason code.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } | Self::InUse(_) | Self::Refused(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::FeedTooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable problem type slug; the `type` member is `/problems/{slug}`.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "malformed-request",
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict { .. } => "conflict",
            Self::InUse(_) => "in-use",
            Self::Refused(_) => "assignment-refused",
            Self::PreconditionFailed { .. } => "stale-version",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::Validation(_) => "validation-failed",
            Self::FeedTooLarge { .. } => "feed-too-large",
            Self::PreconditionRequired => "precondition-required",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "Malformed request",
            Self::Unauthenticated(_) => "Authentication required",
            Self::Forbidden(_) => "Not allowed",
            Self::NotFound(_) => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict { .. } => "Conflict",
            Self::InUse(_) => "Still in use",
            Self::Refused(_) => "Assignment refused",
            Self::PreconditionFailed { .. } => "Stale version",
            Self::PayloadTooLarge { .. } => "Request body too large",
            Self::UnsupportedMediaType(_) => "Unsupported media type",
            Self::Validation(_) => "Invalid input",
            Self::FeedTooLarge { .. } => "Feed too large",
            Self::PreconditionRequired => "If-Match required",
            Self::Unavailable(_) => "Service unavailable",
            Self::Internal(_) => "Internal error",
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        // A unique index caught a race that the explicit checks before it could not see.
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::conflict("duplicate_key", "a record with the same key already exists");
        }
        if let Some(SqlErr::ForeignKeyConstraintViolation(_)) = err.sql_err() {
            return Self::InUse("the record is referenced by, or refers to, another record".to_owned());
        }
        Self::Internal(err.into())
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(problems: Vec<FieldError>) -> Self {
        Self::Validation(problems)
    }
}

/// A calendar feed offered instead of another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FeedLink {
    /// What the calendar shows.
    pub title: String,
    /// The feed's address.
    pub url: String,
    /// The same with the `webcal` scheme, which calendar apps open as a subscription.
    pub webcal: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `/problems/validation-failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// Machine-readable reason for 409 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Field problems of a 422 answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Every staffing rule a refused assignment breaks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Violation>,
    /// Narrower feeds to subscribe to instead of one too large.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub narrower: Vec<FeedLink>,
    /// This occurrence: the request's id, as in its `X-Request-Id` header and the service's
    /// log, to quote when asking about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Error {
    /// The problem document describing this error (a 5xx is logged here, with its cause).
    pub fn problem(self) -> Problem {
        let status = self.status();
        let detail = match &self {
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed");
                "something went wrong on our side; it has been logged".to_owned()
            }
            Self::Validation(errors) if errors.len() == 1 => {
                format!("{}: {}", errors[0].field, errors[0].message)
            }
            Self::Validation(errors) => format!("{} fields are not valid", errors.len()),
            Self::Refused(violations) => violations
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        let code = match &self {
            Self::Conflict { code, .. } => Some((*code).to_owned()),
            Self::InUse(_) => Some("in_use".to_owned()),
            _ => None,
        };
        let problem = Problem {
            kind: format!("/problems/{}", self.slug()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail,
            code,
            errors: Vec::new(),
            violations: Vec::new(),
            narrower: Vec::new(),
            instance: crate::correlation::request_id().map(|id| id.to_string()),
        };
        match self {
            Self::Validation(errors) => Problem { errors, ..problem },
            Self::Refused(violations) => Problem { violations, ..problem },
            Self::FeedTooLarge { narrower, .. } => Problem { narrower, ..problem },
            _ => problem,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let www_authenticate = matches!(self, Self::Unauthenticated(_));
        let mut response = (status, axum::Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sciday\""),
            );
        }
        response
    }
}
