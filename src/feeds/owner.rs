//! The record a feed belongs to: what the calendar calls itself, which rows it shows, which
//! change stamps it depends on, and which narrower feeds to offer when it is too large.

use chrono::{DateTime, Utc};
use entity::prelude::{Activity, Organization, Session, Team};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::key::Target;
use super::render::Audience;
use crate::error::{Error, Result};
use crate::store::feeds::{DeadlineRow, Scope, plan_deadlines};
use crate::store::stamps::{self, Dependency};
use crate::store::{Visibility, activities, organizations, programs, teams, venues, volunteers};

/// The zone of feeds whose owner has none of its own (organizations, teams, volunteers).
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// Narrower feeds offered of each kind.
const MOST_OFFERED: u64 = 20;

/// What a feed's owner contributes.
pub struct Owner {
    pub name: String,
    pub description: Option<String>,
    pub zone: String,
    pub scope: Scope,
    pub dependency: Dependency,
    pub audience: Audience,
    /// Versions and change time of the records the calendar's own properties come from.
    pub stamp: (i32, DateTime<Utc>, i32),
    pub changed: DateTime<Utc>,
    pub file_id: String,
    /// Plan deadlines the calendar shows (an organization's).
    pub deadlines: Vec<DeadlineRow>,
}

/// The record a feed belongs to; a missing or non-public one is a 404.
pub async fn read(conn: &impl ConnectionTrait, target: &Target) -> Result<Owner> {
    let public =
        |name: String, description, zone, scope, dependency, stamp: (i32, DateTime<Utc>, i32), id: i64| Owner {
            name,
            description,
            zone,
            scope,
            dependency,
            audience: Audience::Public,
            changed: stamp.1,
            stamp,
            file_id: id.to_string(),
            deadlines: Vec::new(),
        };
    Ok(match target {
        Target::Program(id) => {
            let program = programs::get(conn, *id).await?;
            public(
                program.name,
                program.theme,
                program.time_zone,
                Scope::Program(program.id),
                Dependency::Key(stamps::program(program.id)),
                (program.version, program.updated_at, 0),
                program.id,
            )
        }
        Target::Activity(id) => {
            let activity = activities::get(conn, *id, &Visibility::Public).await?;
            let program = programs::get(conn, activity.program_id).await?;
            Owner {
                changed: activity.updated_at.max(program.updated_at),
                ..public(
                    activity.title,
                    activity.description,
                    program.time_zone,
                    Scope::Activity(activity.id),
                    Dependency::Key(stamps::activity(activity.id)),
                    (activity.version, activity.updated_at, program.version),
                    activity.id,
                )
            }
        }
        Target::Venue(id) => {
            let venue = venues::get(conn, *id).await?;
            public(
                venue.name,
                venue.address,
                venue.time_zone,
                Scope::Venue(venue.id),
                Dependency::Key(stamps::venue(venue.id)),
                (venue.version, venue.updated_at, 0),
                venue.id,
            )
        }
        Target::Organization(id) => {
            let organization = organizations::get(conn, *id).await?;
            let deadlines = plan_deadlines(conn, &organization).await?;
            Owner {
                deadlines,
                ..public(
                    organization.name,
                    None,
                    DEFAULT_ZONE.to_owned(),
                    Scope::Organization(organization.path.clone()),
                    Dependency::Subtree(stamps::organization(&organization.path)),
                    (organization.version, organization.updated_at, 0),
                    organization.id,
                )
            }
        }
        Target::Team(id) => {
            let team = teams::get(conn, *id).await?;
            Owner {
                audience: Audience::Team,
                ..public(
                    team.name,
                    team.description,
                    DEFAULT_ZONE.to_owned(),
                    Scope::Team(team.path.clone()),
                    Dependency::Subtree(stamps::team(&team.path)),
                    (team.version, team.updated_at, 0),
                    team.id,
                )
            }
        }
        Target::Volunteer(token) => {
            let volunteer = volunteers::by_feed_token(conn, token)
                .await?
                .ok_or(Error::NotFound("feed"))?;
            Owner {
                name: format!("{}的志愿服务", volunteer.name),
                description: None,
                zone: DEFAULT_ZONE.to_owned(),
                scope: Scope::Volunteer(volunteer.id),
                dependency: Dependency::Key(stamps::volunteer(volunteer.id)),
                audience: Audience::Personal,
                stamp: (volunteer.version, volunteer.updated_at, 0),
                changed: volunteer.updated_at,
                // The file name never carries the token.
                file_id: "personal".to_owned(),
                deadlines: Vec::new(),
            }
        }
    })
}

/// Feeds that show part of what `target`'s feed shows, with their names: an organization's
/// suborganizations and the activities it organizes, a program's activities and the
/// organizations below its host, an activity's venues, a team's sub-teams.
pub async fn narrower(conn: &impl ConnectionTrait, target: &Target) -> Result<Vec<(Target, String)>> {
    use entity::{activity, organization, session, team};
    // The suborganizations of `parent` and the public activities `held` selects.
    let offer = async |parent: i64, held: sea_orm::sea_query::SimpleExpr| -> Result<Vec<(Target, String)>> {
        let organizations = Organization::find()
            .filter(organization::Column::ParentId.eq(parent))
            .order_by_asc(organization::Column::Id)
            .limit(MOST_OFFERED)
            .all(conn)
            .await?;
        let activities = Activity::find()
            .filter(held)
            .filter(activity::Column::Public.eq(true))
            .order_by_asc(activity::Column::Id)
            .limit(MOST_OFFERED)
            .all(conn)
            .await?;
        Ok(organizations
            .into_iter()
            .map(|o| (Target::Organization(o.id), o.name))
            .chain(activities.into_iter().map(|a| (Target::Activity(a.id), a.title)))
            .collect())
    };
    let mut offered = Vec::new();
    match target {
        Target::Program(id) => {
            let program = programs::get(conn, *id).await?;
            offered = offer(program.host_organization_id, activity::Column::ProgramId.eq(*id)).await?;
        }
        Target::Organization(id) => {
            offered = offer(*id, activity::Column::OrganizationId.eq(*id)).await?;
        }
        Target::Activity(id) => {
            let venue_ids: Vec<i64> = Session::find()
                .select_only()
                .column(session::Column::VenueId)
                .distinct()
                .filter(session::Column::ActivityId.eq(*id))
                .order_by_asc(session::Column::VenueId)
                .limit(MOST_OFFERED)
                .into_tuple()
                .all(conn)
                .await?;
            for venue_id in venue_ids {
                let venue = venues::get(conn, venue_id).await?;
                offered.push((Target::Venue(venue.id), venue.name));
            }
        }
        Target::Team(id) => {
            let subteams = Team::find()
                .filter(team::Column::ParentId.eq(*id))
                .order_by_asc(team::Column::Id)
                .limit(MOST_OFFERED)
                .all(conn)
                .await?;
            offered.extend(subteams.into_iter().map(|t| (Target::Team(t.id), t.name)));
        }
        Target::Venue(_) | Target::Volunteer(_) => {}
    }
    Ok(offered)
}
