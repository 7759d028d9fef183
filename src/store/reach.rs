//! Who reaches what: the conditions that limit assignments and volunteers to what a caller may
//! see. An organizer reaches the sessions of activities its organizations organize, the
//! volunteers of its organizations, and the volunteers serving at its sessions.

use entity::prelude::{Assignment, Session};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::activities::organizations_within;

/// Whose assignments and which volunteers a caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Everything (admins).
    All,
    /// What the organizations within this path organize or employ (organizers).
    Within(String),
    /// One volunteer's own (volunteer tokens).
    Volunteer(i64),
}

/// `SELECT id FROM sessions WHERE activity_id IN (activities organized within path)`: the
/// sessions an organizer of `path` manages.
pub(crate) fn sessions_within(path: &str) -> SelectStatement {
    use entity::activity::{Column as A, Entity as Activities};
    use entity::session::Column as S;
    let activities = Query::select()
        .column(A::Id)
        .from(Activities)
        .and_where(A::OrganizationId.in_subquery(organizations_within(path)))
        .to_owned();
    Query::select()
        .column(S::Id)
        .from(Session)
        .and_where(S::ActivityId.in_subquery(activities))
        .to_owned()
}

/// `SELECT id FROM volunteers WHERE organization_id IN (organizations within path)`.
fn volunteers_of(path: &str) -> SelectStatement {
    use entity::volunteer::{Column as V, Entity as Volunteers};
    Query::select()
        .column(V::Id)
        .from(Volunteers)
        .and_where(V::OrganizationId.in_subquery(organizations_within(path)))
        .to_owned()
}

/// `SELECT volunteer_id FROM assignments WHERE session_id IN (sessions managed within path)`.
fn volunteers_serving_within(path: &str) -> SelectStatement {
    use entity::assignment::Column as A;
    Query::select()
        .column(A::VolunteerId)
        .from(Assignment)
        .and_where(A::SessionId.in_subquery(sessions_within(path)))
        .to_owned()
}

/// The assignments `reach` covers: those at sessions it manages or of volunteers it employs.
pub(crate) fn assignments(reach: &Reach) -> Condition {
    use entity::assignment::Column as A;
    match reach {
        Reach::All => Condition::all(),
        Reach::Volunteer(id) => Condition::all().add(A::VolunteerId.eq(*id)),
        Reach::Within(path) => Condition::any()
            .add(A::SessionId.in_subquery(sessions_within(path)))
            .add(A::VolunteerId.in_subquery(volunteers_of(path))),
    }
}

/// The volunteers `reach` covers: its organizations' volunteers and those serving at its
/// sessions; a volunteer only themself.
pub(crate) fn volunteers(reach: &Reach) -> Condition {
    use entity::volunteer::Column as V;
    match reach {
        Reach::All => Condition::all(),
        Reach::Volunteer(id) => Condition::all().add(V::Id.eq(*id)),
        Reach::Within(path) => Condition::any()
            .add(V::Id.in_subquery(volunteers_of(path)))
            .add(V::Id.in_subquery(volunteers_serving_within(path))),
    }
}
