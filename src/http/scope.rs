//! Who manages what: the organization path that decides whether a caller may change a
//! session, its roles and its staffing, and the rules of whose program and venue it may use.

use entity::organization::Model as Organization;
use entity::program::Model as Program;
use entity::session::Model as Session;
use entity::venue::Model as Venue;
use sea_orm::ConnectionTrait;

use crate::auth::Actor;
use crate::domain::program_rules::{self, Organizer, Refusal};
use crate::error::{Error, Result};
use crate::store::{organizations, plans, sessions};

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

/// Fails unless the caller may add an activity organized by `organizer` to `program`: admins
/// always; the host's organizers for any organization they manage; a participant as itself.
pub(super) async fn require_activity_placement(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    program: &Program,
    organizer: &Organization,
) -> Result<()> {
    let caller = match (actor, organizer_of(actor)) {
        (Actor::Admin { .. }, _) => return Ok(()),
        (_, Some(caller)) => caller,
        (_, None) => return actor.require_manages(&organizer.path, "the activity"),
    };
    let host = organizations::get(conn, program.host_organization_id).await?;
    let participates = !caller.manages(&host.path) && plans::participates(conn, program, caller.id).await?;
    program_rules::may_add_activity(caller, &host.path, participates, organizer.id, &organizer.path).map_err(refused)
}

/// Fails unless the caller may schedule sessions at `venue`: admins anywhere; organizers at
/// their own organization's venues, venues nobody owns, and shared venues.
pub(super) async fn require_venue_use(conn: &impl ConnectionTrait, actor: &Actor, venue: &Venue) -> Result<()> {
    let caller = match (actor, organizer_of(actor)) {
        (Actor::Admin { .. }, _) => return Ok(()),
        (_, Some(caller)) => caller,
        (_, None) => {
            actor.require_token()?;
            return Err(refused(Refusal::VenueNotShared));
        }
    };
    let owner = match venue.organization_id {
        Some(id) => Some(organizations::get(conn, id).await?.path),
        None => None,
    };
    program_rules::may_use_venue(caller, owner.as_deref(), venue.shared).map_err(refused)
}

/// An organizer token's organization, as the program rules see it.
fn organizer_of(actor: &Actor) -> Option<Organizer<'_>> {
    match actor {
        Actor::Organizer {
            organization_id, path, ..
        } => Some(Organizer {
            id: *organization_id,
            path,
        }),
        _ => None,
    }
}

/// A refusal as the 403 that names its rule.
fn refused(refusal: Refusal) -> Error {
    Error::Forbidden(refusal.rule().to_owned())
}
