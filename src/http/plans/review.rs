//! The review of a plan, and the flag-ceremony session an approval can make.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::kinds::{PlanReview, SessionStatus};
use entity::plan::Model as Plan;
use entity::program::Model as Program;
use sea_orm::DatabaseTransaction;
use serde::Deserialize;
use utoipa::ToSchema;

use super::out::{PlanOut, plan_out};
use crate::domain::field::one;
use crate::domain::key::Key;
use crate::domain::text;
use crate::domain::time::{Schedule, TimeWindow, Timing};
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::http::extract::{Authenticated, Ids, Json, OptionalIfMatch};
use crate::http::openapi::UpdateErrors;
use crate::http::paging::positive_ids;
use crate::http::{AppState, as_field, with_etag};
use crate::store::audit::Audit;
use crate::store::plans as store;
use crate::store::sessions::{self, SessionFields};
use crate::store::{Visibility, activities, check_version, organizations, programs, venues};
use crate::validate;

/// The longest comment a reviewer may write.
const COMMENT_MAX: usize = 2_000;

/// A reviewer's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// The next step: submitted → shortlisted → forwarded → selected, or not_selected from
    /// any open step.
    status: PlanReview,
    /// What the organization reads about the decision.
    comment: Option<String>,
    /// With an approval (any step but not_selected) of a plan that joins the video link:
    /// make the organization's flag-ceremony session at its platform, linked to the Beijing slot.
    #[serde(default)]
    create_session: bool,
    /// The slot to link to, when the program has more than one remote main-venue session.
    linked_session_id: Option<i64>,
}

/// A review step as the API spells it (`not_selected`).
pub(super) fn review_name(review: PlanReview) -> String {
    sea_orm::ActiveEnum::to_value(&review)
}

/// Moves a plan's review on (admins). An approval can make the organization's flag-ceremony
/// session, linked to the Beijing slot, in the same transaction.
#[utoipa::path(
    post,
    path = "/programs/{id}/plans/{plan_id}/review",
    tag = "plans",
    params(
        ("id" = i64, Path),
        ("plan_id" = i64, Path),
        ("If-Match" = Option<String>, Header, description = "ETag the decision is based on")
    ),
    request_body = ReviewIn,
    security(("bearer" = [])),
    responses((status = OK, body = PlanOut, headers(("ETag" = String))), UpdateErrors)
)]
pub(super) async fn review_plan(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Ids(program_id, plan_id): Ids,
    OptionalIfMatch(precondition): OptionalIfMatch,
    Json(input): Json<ReviewIn>,
) -> Result<Response> {
    actor.require_admin()?;
    validate! {
        comment = one(text::optional_multiline("comment", input.comment.as_deref(), COMMENT_MAX)),
        _slot = positive_ids(&[("linked_session_id", input.linked_session_id)]),
    }
    let now = state.clock.now();
    let audit = state.audit(&actor);
    let txn = state.db.begin().await?;
    let program = programs::get(&txn, program_id).await?;
    let current = store::get_for_update(&txn, program.id, plan_id).await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    if !current.review.may_become(input.status) {
        let next: Vec<String> = <PlanReview as sea_orm::Iterable>::iter()
            .filter(|to| current.review.may_become(*to))
            .map(review_name)
            .collect();
        let detail = if next.is_empty() {
            format!("the review has ended ({})", review_name(current.review))
        } else {
            format!(
                "a {} plan can become {}, not {}",
                review_name(current.review),
                next.join(" or "),
                review_name(input.status)
            )
        };
        return Err(Error::conflict("invalid_transition", detail));
    }
    let session = if input.create_session {
        Some(flag_ceremony(&txn, &program, &current, &input, now, &audit).await?)
    } else {
        None
    };
    let before = current.clone();
    let model = store::review(&txn, current, input.status, comment, session, now).await?;
    audit.acted(&txn, "review", &before, &model).await?;
    let version = model.version;
    let out = plan_out(&txn, &program, model).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// Makes the organization's flag-ceremony session for an approved plan: at the plan's
/// platform, at the time of the Beijing slot and following it when it moves.
async fn flag_ceremony(
    txn: &DatabaseTransaction,
    program: &Program,
    plan: &Plan,
    input: &ReviewIn,
    now: DateTime<Utc>,
    audit: &Audit,
) -> Result<i64> {
    if input.status == PlanReview::NotSelected {
        return Err(Error::field(
            "create_session",
            "not_approved",
            "a session is made only when the plan is approved",
        ));
    }
    if !plan.joins_video_link {
        return Err(Error::conflict(
            "no_video_link",
            "the plan does not join the Beijing video link",
        ));
    }
    if let Some(existing) = plan.session_id {
        return Err(Error::conflict(
            "session_exists",
            format!("the plan's flag-ceremony session is session {existing}"),
        ));
    }
    let slot = match input.linked_session_id {
        Some(id) => {
            let slot = sessions::get(txn, id, &Visibility::All)
                .await
                .map_err(as_field("linked_session_id"))?;
            if slot.program_id != program.id {
                return Err(Error::field(
                    "linked_session_id",
                    "other_program",
                    "the slot belongs to another program",
                ));
            }
            slot
        }
        None => {
            let mut slots = sessions::remote_slots(txn, program.id).await?;
            match slots.len() {
                1 => slots.remove(0),
                0 => {
                    return Err(Error::conflict(
                        "no_slot",
                        "the program has no session at a remote main venue to link to; schedule the Beijing slot first",
                    ));
                }
                n => {
                    return Err(Error::field(
                        "linked_session_id",
                        "required",
                        format!("the program has {n} remote main-venue sessions; name the one to link to"),
                    ));
                }
            }
        }
    };
    if slot.status != SessionStatus::Scheduled || slot.all_day {
        return Err(Error::conflict(
            "no_slot",
            "the Beijing slot is cancelled or has no time of day to follow",
        ));
    }
    let activity = activities::get_for_update(txn, slot.activity_id).await?;
    let organization = organizations::get(txn, plan.organization_id).await?;
    let venue = venues::get(txn, plan.venue_id).await?;
    let name = organization.short_name.as_deref().unwrap_or(&organization.name);
    let fields = SessionFields {
        venue_id: venue.id,
        title: Some(format!("授旗仪式（{name}分会场）")),
        description: Some(format!(
            "{}“{}”分会场，与北京主会场视频连线；时间随北京主会场。",
            organization.name, plan.activity_name
        )),
        schedule: Schedule::from_stored(
            Zone::from_stored(&venue.time_zone),
            Timing::Timed(TimeWindow::from_stored(slot.starts_at, slot.ends_at)),
        ),
        status: SessionStatus::Scheduled,
        capacity: None,
        video_url: slot.video_url.clone(),
        linked_session_id: Some(slot.id),
        illustrative: false,
    };
    let session = sessions::insert(txn, Key::generate("session"), &activity, fields, now).await?;
    audit.created(txn, &session).await?;
    Ok(session.id)
}
