//! What a volunteer's or a team leader's page may do to an assignment, and the record of each
//! idempotency key so that an action sent again counts once.
//!
//! A page acts for the person whose page it is: a volunteer confirms or declines (请假) their
//! own assignments; a team leader checks in, or marks absent, the members of the team they
//! lead (and of its sub-teams), by a tap or by the code on the volunteer's page. Everything
//! else is refused as if the assignment did not exist, so a page learns nothing about others.
//! The staffing rules are those of the API: [`assignments::act`] does the change.

use chrono::{DateTime, Utc};
use entity::assignment::Model as Assignment;
use entity::kinds::AssignmentStatus;
use entity::page_action::{ActiveModel, Column, Entity};
use entity::team_membership;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use super::assignments::{self, Action};
use super::{teams, volunteers};
use crate::db::Db;
use crate::domain::check_in;
use crate::error::{Error, Result};

/// Whose page acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// A volunteer's own page.
    Volunteer(i64),
    /// The page of a team, as its leader sees it.
    Leader {
        /// The leader.
        volunteer_id: i64,
        /// The team.
        team_id: i64,
    },
}

impl Page {
    fn owner(&self) -> i64 {
        match self {
            Self::Volunteer(id) | Self::Leader { volunteer_id: id, .. } => *id,
        }
    }
}

/// What a page asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageAction {
    /// 确认: the volunteer will come.
    Confirm,
    /// 请假: the volunteer cannot come, and why.
    Decline(String),
    /// 签到: the volunteer arrived; with the code from their page when scanned or typed.
    CheckIn {
        /// The digits of the volunteer's check-in code.
        code: Option<String>,
    },
    /// 缺席: the volunteer did not come.
    NoShow,
}

impl PageAction {
    /// The name stored with an idempotency key.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Decline(_) => "decline",
            Self::CheckIn { .. } => "check_in",
            Self::NoShow => "no_show",
        }
    }
}

/// What became of the assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The assignment.
    pub assignment_id: i64,
    /// Its status now.
    pub status: AssignmentStatus,
    /// The action had been done already under the same key; nothing was done again.
    #[serde(default)]
    pub replayed: bool,
}

/// Does `action` to an assignment from `page`, once per `key`.
pub async fn perform(
    db: &Db,
    page: &Page,
    key: &str,
    assignment_id: i64,
    action: PageAction,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    if let Some(done) = recorded(db.reader(), page.owner(), key).await? {
        return Ok(done);
    }
    let txn = db.begin().await?;
    let acted = act(&txn, page, assignment_id, &action, now).await;
    let after = match acted {
        Ok(after) => after,
        Err(error) => {
            txn.rollback().await?;
            // A copy of this request, sent while it ran, may have done it.
            return match recorded(db.reader(), page.owner(), key).await? {
                Some(done) => Ok(done),
                None => Err(error),
            };
        }
    };
    let outcome = Outcome {
        assignment_id: after.id,
        status: after.status,
        replayed: false,
    };
    let stored = ActiveModel {
        volunteer_id: Set(page.owner()),
        key: Set(key.to_owned()),
        action: Set(action.name().to_owned()),
        assignment_id: Set(after.id),
        status: Set(200),
        answer: Set(serde_json::to_string(&outcome).map_err(|e| Error::Internal(e.into()))?),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    match stored {
        Ok(_) => {
            txn.commit().await?;
            Ok(outcome)
        }
        Err(error) => {
            txn.rollback().await?;
            recorded(db.reader(), page.owner(), key)
                .await?
                .ok_or_else(|| error.into())
        }
    }
}

/// The answer already given under `key` on the page of `owner`.
async fn recorded(conn: &impl ConnectionTrait, owner: i64, key: &str) -> Result<Option<Outcome>> {
    let row = Entity::find()
        .filter(Column::VolunteerId.eq(owner))
        .filter(Column::Key.eq(key))
        .one(conn)
        .await?;
    Ok(row
        .and_then(|row| serde_json::from_str::<Outcome>(&row.answer).ok())
        .map(|outcome| Outcome {
            replayed: true,
            ..outcome
        }))
}

/// Checks that the page may do this to the assignment, then does it.
async fn act(
    txn: &DatabaseTransaction,
    page: &Page,
    assignment_id: i64,
    action: &PageAction,
    now: DateTime<Utc>,
) -> Result<Assignment> {
    let hidden = || Error::NotFound("assignment");
    let current = assignments::get_for_update(txn, assignment_id)
        .await
        .map_err(|_| hidden())?;
    let allowed = match (page, action) {
        (Page::Volunteer(own), PageAction::Confirm | PageAction::Decline(_)) => current.volunteer_id == *own,
        (Page::Leader { volunteer_id, team_id }, PageAction::CheckIn { .. } | PageAction::NoShow) => {
            leads(txn, *volunteer_id, *team_id).await? && member_below(txn, *team_id, current.volunteer_id).await?
        }
        _ => false,
    };
    if !allowed {
        return Err(hidden());
    }
    if let PageAction::CheckIn { code: Some(digits) } = action {
        let volunteer = volunteers::get(txn, current.volunteer_id).await?;
        let token = volunteer.page_token.unwrap_or_default();
        if token.is_empty() || !check_in::matches(&token, assignment_id, digits) {
            return Err(Error::conflict(
                "wrong_code",
                "the check-in code is not the one on this volunteer's page",
            ));
        }
    }
    let action = match action {
        PageAction::Confirm => Action::Confirm,
        PageAction::Decline(reason) => Action::Decline(reason.clone()),
        PageAction::CheckIn { .. } => Action::CheckIn,
        PageAction::NoShow => Action::NoShow,
    };
    let audit = super::audit::Audit::new(super::audit::Author::page(page.owner()), now);
    assignments::act(txn, current, action, now, &audit).await
}

/// Whether `volunteer_id` leads the team now.
pub async fn leads(conn: &impl ConnectionTrait, volunteer_id: i64, team_id: i64) -> Result<bool> {
    Ok(team_membership::Entity::find()
        .filter(team_membership::Column::TeamId.eq(team_id))
        .filter(team_membership::Column::VolunteerId.eq(volunteer_id))
        .filter(team_membership::Column::Leader.eq(true))
        .one(conn)
        .await?
        .is_some())
}

/// Whether `volunteer_id` belongs to the team or one below it.
async fn member_below(conn: &impl ConnectionTrait, team_id: i64, volunteer_id: i64) -> Result<bool> {
    let team = teams::get(conn, team_id).await?;
    Ok(entity::volunteer::Entity::find_by_id(volunteer_id)
        .filter(entity::volunteer::Column::Id.in_subquery(teams::members_within(&team.path)))
        .one(conn)
        .await?
        .is_some())
}
