//! Who manages what: the organization path that decides whether a caller may change a
//! session, its roles and its staffing.

use entity::session::Model as Session;
use sea_orm::ConnectionTrait;

use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::store::{organizations, sessions};

use super::as_field;

/// The path of the organization that organizes the session's activity.
pub(super) async fn session_owner(conn: &impl ConnectionTrait, session: &Session) -> Result<String> {
    sessions::owner_path(conn, session.id)
        .await?
        .ok_or(Error::NotFound("session"))
}

/// Fails unless the organization exists (a 422 on `field` otherwise) and the caller manages
/// it; `what` names the thing at stake in the 403.
pub(super) async fn require_organization(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    organization_id: i64,
    field: &'static str,
    what: &str,
) -> Result<()> {
    let organization = organizations::get(conn, organization_id)
        .await
        .map_err(as_field(field))?;
    actor.require_manages(&organization.path, what)
}

/// Fails unless the caller manages the session's activity.
pub(super) async fn require_session_manager(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    session: &Session,
) -> Result<()> {
    actor.require_manages(&session_owner(conn, session).await?, "this session")
}
