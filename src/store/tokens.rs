//! Queries on `api_tokens`.

use chrono::{DateTime, Utc};
use entity::api_token::{ActiveModel, Column, Entity, Model};
use entity::kinds::Role;
use entity::prelude::Organization;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{Cursor, Page, PageRequest, found};
use crate::auth::{self, Actor, NewSecret};
use crate::error::{Error, Result};

/// Creates a token and returns its row together with the secret, which is not kept.
pub async fn create(
    txn: &DatabaseTransaction,
    name: String,
    role: Role,
    organization_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(Model, String)> {
    match (role, organization_id) {
        (Role::Organizer, None) => {
            return Err(Error::field(
                "organization_id",
                "required",
                "organizer tokens need an organization",
            ));
        }
        (Role::Admin, Some(_)) => {
            return Err(Error::field(
                "organization_id",
                "not_allowed",
                "admin tokens are not tied to an organization",
            ));
        }
        (_, Some(id)) if Organization::find_by_id(id).one(txn).await?.is_none() => {
            return Err(Error::field(
                "organization_id",
                "not_found",
                format!("there is no organization {id}"),
            ));
        }
        _ => {}
    }
    let NewSecret { token, hash, prefix } = auth::generate();
    let row = ActiveModel {
        name: Set(name),
        role: Set(role),
        organization_id: Set(organization_id),
        secret_hash: Set(hash),
        prefix: Set(prefix),
        created_at: Set(now),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok((row, token))
}

/// The caller a presented token stands for, or `None` when it is unknown or revoked.
pub async fn authenticate(conn: &impl ConnectionTrait, token: &str) -> Result<Option<Actor>> {
    let row = Entity::find()
        .filter(Column::SecretHash.eq(auth::digest(token)))
        .filter(Column::RevokedAt.is_null())
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

/// Revokes a token; revoking twice is harmless.
pub async fn revoke(txn: &DatabaseTransaction, id: i64, now: DateTime<Utc>) -> Result<Model> {
    let token = found(Entity::find_by_id(id).one(txn).await?, "token")?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let mut row: ActiveModel = token.into();
    row.revoked_at = Set(Some(now));
    Ok(row.update(txn).await?)
}

/// Revokes every live token with this name (used to replace the demo admin token).
pub async fn revoke_named(txn: &DatabaseTransaction, name: &str, now: DateTime<Utc>) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
        .filter(Column::Name.eq(name))
        .filter(Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}
