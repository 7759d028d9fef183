//! Queries on `organizations`, including the materialized subtree paths.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::kinds::OrganizationKind;
use entity::organization::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::record::{self, Fields};
use super::tree;
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest};
use crate::domain::contact::Contact;
use crate::domain::key::Key;
use crate::error::Result;

/// The validated, writable fields of an organization.
#[derive(Clone, Debug, PartialEq)]
pub struct OrganizationFields {
    /// Kind in the hierarchy.
    pub kind: OrganizationKind,
    /// Full name.
    pub name: String,
    /// Abbreviation such as 市科协.
    pub short_name: Option<String>,
    /// Published contact.
    pub contact: Contact,
    /// Expected to submit a preparation plan (county associations always are).
    pub plan_expected: bool,
}

impl Fields<ActiveModel> for OrganizationFields {
    fn of(model: &Model) -> Self {
        Self {
            kind: model.kind,
            name: model.name.clone(),
            short_name: model.short_name.clone(),
            contact: Contact {
                name: model.contact_name.clone(),
                office_phone: model.contact_office_phone.clone(),
                mobile: model.contact_mobile.clone(),
                fax: model.contact_fax.clone(),
                email: model.contact_email.clone(),
            },
            plan_expected: model.plan_expected,
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.kind = Set(self.kind);
        row.name = Set(self.name);
        row.short_name = Set(self.short_name);
        row.contact_name = Set(self.contact.name);
        row.contact_office_phone = Set(self.contact.office_phone);
        row.contact_mobile = Set(self.contact.mobile);
        row.contact_fax = Set(self.contact.fax);
        row.contact_email = Set(self.contact.email);
        row.plan_expected = Set(self.plan_expected);
    }
}

/// Filters of the organization list.
#[derive(Clone, Debug, Default)]
pub struct OrganizationFilter {
    /// Direct children of this organization.
    pub parent_id: Option<i64>,
    /// This organization and everything below it.
    pub within: Option<i64>,
    /// Of this kind.
    pub kind: Option<OrganizationKind>,
    /// By name (or short name) and last change.
    pub search: super::Search,
}

/// One organization by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One organization by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One organization by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// The paths of `organizations`, for deciding who manages what they own.
pub async fn paths(conn: &impl ConnectionTrait, organizations: &[i64]) -> Result<HashMap<i64, String>> {
    Ok(by_ids(conn, organizations)
        .await?
        .into_iter()
        .map(|(id, o)| (id, o.path))
        .collect())
}

/// The names of `organizations`.
pub async fn names(conn: &impl ConnectionTrait, organizations: &[i64]) -> Result<HashMap<i64, String>> {
    Ok(by_ids(conn, organizations)
        .await?
        .into_iter()
        .map(|(id, o)| (id, o.name))
        .collect())
}

/// `organizations` by id (those that exist).
pub async fn by_ids(conn: &impl ConnectionTrait, organizations: &[i64]) -> Result<HashMap<i64, Model>> {
    record::by_ids::<ActiveModel>(conn, organizations, |o| o.id).await
}

/// A page of organizations in id order.
pub async fn list(conn: &impl ConnectionTrait, filter: &OrganizationFilter, page: &PageRequest) -> Result<Page<Model>> {
    let query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
    let mut query = filter
        .search
        .apply(query, &[Column::Name, Column::ShortName], Column::UpdatedAt);
    if let Some(parent) = filter.parent_id {
        query = query.filter(Column::ParentId.eq(parent));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(Column::Kind.eq(kind));
    }
    if let Some(root) = filter.within {
        let root = get(conn, root).await?;
        query = query.filter(Column::Path.starts_with(root.path));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Creates an organization under `parent` (or at the top).
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    parent: Option<&Model>,
    fields: OrganizationFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        ..Default::default()
    };
    tree::insert(txn, key.as_str(), row, parent, fields, now).await
}

/// Applies new fields and, when `new_parent` is given, a new place in the tree (everything
/// below moves along). Returns the row unchanged (same version) when nothing differs.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    new_parent: Option<Option<&Model>>,
    fields: OrganizationFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    tree::update(txn, current, new_parent, fields, now).await
}

/// Deletes an organization that nothing refers to any more (revoked and expired tokens let go
/// of it first: they are history, not users).
pub async fn delete(txn: &DatabaseTransaction, model: Model, now: DateTime<Utc>) -> Result<()> {
    super::tokens::release_dead(txn, model.id, now).await?;
    super::uses::refuse_if_used(txn, Referenced::Organization, model.id, "organization").await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}
