//! Queries on `api_tokens`.

use chrono::{DateTime, Utc};
use entity::api_token::{ActiveModel, Column, Entity, Model};
use entity::kinds::Role;
use entity::prelude::{Organization, Volunteer};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{Cursor, Page, PageRequest, found};
use crate::auth::{self, Actor, NewSecret};
use crate::error::{Error, Result};

/// Creates a token and returns its row together with the secret, which is not kept.
pub async fn create(txn: &DatabaseTransaction, grant: Grant, now: DateTime<Utc>) -> Result<(Model, String)> {
    let Grant {
        name,
        role,
        organization_id,
        volunteer_id,
        expires_at,
    } = grant;
    if let Some(at) = expires_at
        && at <= now
    {
        return Err(Error::field(
            "expires_at",
            "in_the_past",
            "a token must expire in the future",
        ));
    }
    let refuse = |field: &str, code: &'static str, message: &str| Err(Error::field(field, code, message));
    match (role, organization_id, volunteer_id) {
        (Role::Organizer, None, _) => {
            return refuse("organization_id", "required", "organizer tokens need an organization");
        }
        (Role::Volunteer, _, None) => return refuse("volunteer_id", "required", "volunteer tokens need a volunteer"),
        (Role::Admin | Role::Volunteer, Some(_), _) => {
            return refuse(
                "organization_id",
                "not_allowed",
                "only organizer tokens are tied to an organization",
            );
        }
        (Role::Admin | Role::Organizer, _, Some(_)) => {
            return refuse(
                "volunteer_id",
                "not_allowed",
                "only volunteer tokens are tied to a volunteer",
            );
        }
        _ => {}
    }
    if let Some(id) = organization_id
        && Organization::find_by_id(id).one(txn).await?.is_none()
    {
        return Err(Error::field(
            "organization_id",
            "not_found",
            format!("there is no organization {id}"),
        ));
    }
    if let Some(id) = volunteer_id
        && Volunteer::find_by_id(id).one(txn).await?.is_none()
    {
        return Err(Error::field(
            "volunteer_id",
            "not_found",
            format!("there is no volunteer {id}"),
        ));
    }
    let NewSecret { token, hash, prefix } = auth::generate();
    let row = ActiveModel {
        name: Set(name),
        role: Set(role),
        organization_id: Set(organization_id),
        volunteer_id: Set(volunteer_id),
        secret_hash: Set(hash),
        prefix: Set(prefix),
        created_at: Set(now),
        revoked_at: Set(None),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok((row, token))
}

/// What a new token may do.
#[derive(Clone, Debug)]
pub struct Grant {
    /// Who or what uses it.
    pub name: String,
    pub role: Role,
    /// For organizers.
    pub organization_id: Option<i64>,
    /// For volunteers.
    pub volunteer_id: Option<i64>,
    /// When it stops working; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The caller a presented token stands for, or `None` when it is unknown, revoked or expired.
pub async fn authenticate(conn: &impl ConnectionTrait, token: &str, now: DateTime<Utc>) -> Result<Option<Actor>> {
    let row = Entity::find()
        .filter(Column::SecretHash.eq(auth::digest(token)))
        .filter(Column::RevokedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(Column::ExpiresAt.is_null())
                .add(Column::ExpiresAt.gt(now)),
        )
        .find_also_related(Organization)
        .one(conn)
        .await?;
    Ok(row.and_then(|(token, organization)| match token.role {
        Role::Admin => Some(Actor::Admin { token_id: token.id }),
        Role::Organizer => organization.map(|organization| Actor::Organizer {
            token_id: token.id,
            organization_id: organization.id,
            path: organization.path,
        }),
        Role::Volunteer => token.volunteer_id.map(|volunteer_id| Actor::Volunteer {
            token_id: token.id,
            volunteer_id,
        }),
    }))
}

/// A page of tokens in id order.
pub async fn list(conn: &impl ConnectionTrait, page: &PageRequest) -> Result<Page<Model>> {
    let mut query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Whether a token works at `now`: `active`, `revoked` or `expired`.
pub fn state(token: &Model, now: DateTime<Utc>) -> &'static str {
    if token.revoked_at.is_some() {
        "revoked"
    } else if token.expires_at.is_some_and(|at| at <= now) {
        "expired"
    } else {
        "active"
    }
}

/// Records that a token was presented at `now`.
pub async fn mark_used(conn: &impl ConnectionTrait, id: i64, now: DateTime<Utc>) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Lets revoked and expired tokens of an organization go of it, so that history does not keep
/// the organization from being deleted (a live token still does).
pub async fn release_dead(txn: &DatabaseTransaction, organization_id: i64, now: DateTime<Utc>) -> Result<()> {
    Entity::update_many()
        .col_expr(
            Column::OrganizationId,
            sea_orm::sea_query::Expr::value(Option::<i64>::None),
        )
        .filter(Column::OrganizationId.eq(organization_id))
        .filter(
            sea_orm::Condition::any()
                .add(Column::RevokedAt.is_not_null())
                .add(Column::ExpiresAt.lte(now)),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// Revokes every live token of a volunteer.
pub async fn revoke_for_volunteer(txn: &DatabaseTransaction, volunteer_id: i64, now: DateTime<Utc>) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
        .filter(Column::VolunteerId.eq(volunteer_id))
        .filter(Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Revokes a token; revoking twice is harmless. Returns the token before and after.
pub async fn revoke(txn: &DatabaseTransaction, id: i64, now: DateTime<Utc>) -> Result<(Model, Model)> {
    let token = found(Entity::find_by_id(id).one(txn).await?, "token")?;
    if token.revoked_at.is_some() {
        return Ok((token.clone(), token));
    }
    let before = token.clone();
    let mut row: ActiveModel = token.into();
    row.revoked_at = Set(Some(now));
    Ok((before, row.update(txn).await?))
}
