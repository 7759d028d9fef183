//! `/api/v1/programs/{id}/plans`: preparation plans (附件1 筹备工作方案) — submitted and revised
//! by organizations before the deadline, reviewed by the host association, exported for the
//! province — with their attachments, the extensions admins grant, and who has not submitted.

mod attachments;
mod extensions;
mod form;
mod out;
mod reports;
mod review;
mod submissions;

use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, FixedOffset, Utc};
use entity::program::Model as Program;
use sea_orm::ConnectionTrait;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::auth::Actor;
use crate::domain::notice::instant_text;
use crate::domain::plan::{self, ATTACHMENT_MAX};
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::plans as store;

pub(super) fn router() -> OpenApiRouter<AppState> {
    // Attachments are larger than any JSON body; only their route takes them.
    let uploads = OpenApiRouter::new()
        .routes(routes!(attachments::upload_attachment))
        .layer(DefaultBodyLimit::max(ATTACHMENT_MAX + 64 * 1024));
    OpenApiRouter::new()
        .routes(routes!(submissions::list_plans, submissions::submit_plan))
        .routes(routes!(reports::missing_plans))
        .routes(routes!(reports::export_plans))
        .routes(routes!(submissions::get_plan, submissions::revise_plan))
        .routes(routes!(submissions::plan_revisions))
        .routes(routes!(review::review_plan))
        .routes(routes!(attachments::download_attachment))
        .routes(routes!(extensions::list_extensions))
        .routes(routes!(extensions::grant_extension, extensions::revoke_extension))
        .merge(uploads)
}

fn local(at: DateTime<Utc>, zone: Zone) -> DateTime<FixedOffset> {
    at.with_timezone(&zone.tz()).fixed_offset()
}

/// Whose plans the caller may read and change: every organization's (admins, `None`) or its
/// own organization's only (organizers — not even those of the organizations below it, whose
/// plans are theirs to submit).
fn plan_scope(actor: &Actor) -> Result<Option<i64>> {
    actor.require_token()?;
    match actor {
        Actor::Admin { .. } => Ok(None),
        Actor::Organizer { organization_id, .. } => Ok(Some(*organization_id)),
        _ => Err(Error::Forbidden(
            "only the submitting organization's organizers and admins see plans".to_owned(),
        )),
    }
}

/// Fails unless the caller may read and change the organization's plan.
fn require_plan_access(actor: &Actor, organization_id: i64) -> Result<()> {
    match plan_scope(actor)? {
        Some(own) if own != organization_id => Err(Error::Forbidden(
            "the plan belongs to another organization; only its own organizers and admins see it".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Refuses a submission, revision or upload after the deadline, unless the organization was
/// granted an extension that still runs.
async fn require_open(
    conn: &impl ConnectionTrait,
    program: &Program,
    organization_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(deadline) = program.plan_deadline else {
        return Ok(());
    };
    let extension = store::extension(conn, program.id, organization_id).await?;
    let until = extension.as_ref().map(|e| e.until);
    if plan::open_at(deadline, until, now) {
        return Ok(());
    }
    let zone = Zone::from_stored(&program.time_zone);
    let last = until.map_or(deadline, |u| u.max(deadline));
    Err(Error::conflict(
        "deadline_passed",
        format!(
            "plans were due by {}; it is now {}. Ask the association for an extension",
            instant_text(last, zone, true),
            instant_text(now, zone, true)
        ),
    ))
}
