//! `/api/v1/audit`: who changed what, when, and from what to what.

use axum::extract::State;
use chrono::{DateTime, Utc};
use entity::audit_entry::Model;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{Authenticated, Query};
use super::openapi::ListErrors;
use super::paging::{PageOut, page_request, positive_ids};
use crate::auth::Actor;
use crate::domain::field::{FieldError, one};
use crate::domain::time::Bound;
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::Cursor;
use crate::store::audit::{self as store, AuditFilter};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Kinds of records the trail names.
const OBJECT_TYPES: &[&str] = &[
    "organization",
    "venue",
    "program",
    "activity",
    "session",
    "session_role",
    "assignment",
    "team",
    "volunteer",
    "token",
    "webhook",
    "delivery",
    "plan",
    "plan_attachment",
    "plan_extension",
];

/// Kinds of authors the trail names.
const ACTOR_ROLES: &[&str] = &["admin", "organizer", "volunteer", "page", "cli"];

/// One change to one record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    id: i64,
    /// When the change was made.
    at: DateTime<Utc>,
    /// Who made it: `admin`, `organizer` or `volunteer` (a token), `page` (a volunteer from
    /// their personal page) or `cli` (the command line).
    actor_role: String,
    /// The token presented.
    token_id: Option<i64>,
    /// The volunteer acting from their page.
    volunteer_id: Option<i64>,
    /// The request's id, as in its `X-Request-Id` header and the service's log.
    request_id: Option<String>,
    /// `create`, `update`, `delete`, or an action such as `confirm`, `check_in`, `revoke`.
    action: String,
    /// The record, as `type:id` (`session:33`).
    object: String,
    object_type: String,
    object_id: i64,
    /// The organization the record belongs to.
    organization_id: Option<i64>,
    /// The entry whose change caused this one (a session moved with its linked slot).
    cause_id: Option<i64>,
    /// Each changed field as `{"old": …, "new": …}` (only `new` for a record created, only
    /// `old` for one removed). Mobiles and e-mail addresses are masked, secrets redacted.
    #[schema(value_type = Object)]
    changes: serde_json::Value,
}

impl From<Model> for AuditEntryOut {
    fn from(model: Model) -> Self {
        Self {
            id: model.id,
            at: model.at,
            actor_role: model.actor_role,
            token_id: model.token_id,
            volunteer_id: model.volunteer_id,
            request_id: model.request_id,
            action: model.action,
            object: format!("{}:{}", model.object_type, model.object_id),
            object_type: model.object_type,
            object_id: model.object_id,
            organization_id: model.organization_id,
            cause_id: model.cause_id,
            changes: model.changes,
        }
    }
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// A record (`session:33`) or a kind of record (`session`).
    object: Option<String>,
    /// An author: a token (`token:5`) or a kind (`admin`, `organizer`, `volunteer`, `page`,
    /// `cli`).
    actor: Option<String>,
    /// An action: `create`, `update`, `delete`, `confirm`, …
    action: Option<String>,
    /// Entries caused by this one (the sessions a moved slot took with it).
    cause_id: Option<i64>,
    /// Entries at or after this day (YYYY-MM-DD, in Asia/Shanghai) or instant (RFC 3339).
    from: Option<String>,
    /// Entries before this day (read as `from`) or instant.
    to: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists the trail, newest first: admins see every entry, organizers those of their
/// organizations' records.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<AuditEntryOut>), ListErrors, (status = FORBIDDEN, description = "A volunteer token"))
)]
async fn list_audit(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<AuditQuery>,
) -> Result<PageOut<AuditEntryOut>> {
    let within = match &actor {
        Actor::Admin { .. } => None,
        Actor::Organizer { path, .. } => Some(path.clone()),
        Actor::Anonymous | Actor::Volunteer { .. } => {
            return Err(Error::Forbidden(
                "only admins and organizers may read the audit trail".to_owned(),
            ));
        }
    };
    validate! {
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        object = one(query.object.as_deref().map(parse_object).transpose()),
        actor = one(query.actor.as_deref().map(parse_actor).transpose()),
        action = one(query.action.as_deref().map(parse_action).transpose()),
        from = one(query.from.as_deref().map(|t| Bound::parse("from", t)).transpose()),
        to = one(query.to.as_deref().map(|t| Bound::parse("to", t)).transpose()),
        _ids = positive_ids(&[("cause_id", query.cause_id)]),
    }
    validate! {
        _order = one(Bound::in_order(from, to)),
    }
    let zone = Zone::from_stored("Asia/Shanghai");
    let (object_type, object_id) = object.unzip();
    let (actor_role, token_id) = actor.unzip();
    let filter = AuditFilter {
        object_type,
        object_id: object_id.flatten(),
        token_id: token_id.flatten(),
        actor_role: actor_role.flatten(),
        action,
        cause_id: query.cause_id,
        from: from.map(|b| b.instant(zone)),
        to: to.map(|b| b.instant(zone)),
        within,
    };
    let page = store::list(state.db.reader(), &filter, &page).await?;
    Ok(page.map(AuditEntryOut::from).into())
}

/// `session:33` or `session`.
fn parse_object(text: &str) -> std::result::Result<(String, Option<i64>), FieldError> {
    let (kind, id) = match text.split_once(':') {
        Some((kind, id)) => (kind, Some(id)),
        None => (text, None),
    };
    if !OBJECT_TYPES.contains(&kind) {
        return Err(FieldError::new(
            "object",
            "invalid_parameter",
            format!("names no kind of record; use one of {}", OBJECT_TYPES.join(", ")),
        ));
    }
    let id = id
        .map(|id| match id.parse::<i64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(FieldError::new(
                "object",
                "invalid_parameter",
                "the id after `:` is a positive integer",
            )),
        })
        .transpose()?;
    Ok((kind.to_owned(), id))
}

/// `token:5` (any role) or a kind of author.
fn parse_actor(text: &str) -> std::result::Result<(Option<String>, Option<i64>), FieldError> {
    if let Some(id) = text.strip_prefix("token:") {
        return match id.parse::<i64>() {
            Ok(id) if id > 0 => Ok((None, Some(id))),
            _ => Err(FieldError::new(
                "actor",
                "invalid_parameter",
                "the id after `token:` is a positive integer",
            )),
        };
    }
    if ACTOR_ROLES.contains(&text) {
        Ok((Some(text.to_owned()), None))
    } else {
        Err(FieldError::new(
            "actor",
            "invalid_parameter",
            format!("is `token:<id>` or one of {}", ACTOR_ROLES.join(", ")),
        ))
    }
}

/// An action name: lowercase letters and `_`, up to 32.
fn parse_action(text: &str) -> std::result::Result<String, FieldError> {
    let plain = !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if plain {
        Ok(text.to_owned())
    } else {
        Err(FieldError::new(
            "action",
            "invalid_parameter",
            "is an action name such as create, update, delete or confirm",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_a_kind_with_an_optional_positive_id() {
        assert_eq!(parse_object("session:33").ok(), Some(("session".to_owned(), Some(33))));
        assert_eq!(parse_object("volunteer").ok(), Some(("volunteer".to_owned(), None)));
        assert!(parse_object("session:0").is_err());
        assert!(parse_object("session:x").is_err());
        assert!(parse_object("sessions:3").is_err());
    }

    #[test]
    fn actors_are_a_token_or_a_kind() {
        assert_eq!(parse_actor("token:5").ok(), Some((None, Some(5))));
        assert_eq!(parse_actor("cli").ok(), Some((Some("cli".to_owned()), None)));
        assert!(parse_actor("token:-1").is_err());
        assert!(parse_actor("root").is_err());
        assert!(parse_action("check_in").is_ok());
        assert!(parse_action("DROP TABLE").is_err());
    }
}
