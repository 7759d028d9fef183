//! Who manages what: the organization path that decides whether a caller may change a
//! session, its roles and its staffing.

use entity::session::Model as Session;
use sea_orm::ConnectionTrait;

use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::store::sessions;

/// The path of the organization that organizes the session's activity.
pub(super) async fn session_owner(conn: &impl ConnectionTrait, session: &Session) -> Result<String> {
    sessions::owner_path(conn, session.id)
        .await?
        .ok_or(Error::NotFound("session"))
}

/// Fails unless the caller manages the session's activity.
pub(super) async fn require_session_manager(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    session: &Session,
) -> Result<()> {
    actor.require_manages(&session_owner(conn, session).await?, "this session")
}
