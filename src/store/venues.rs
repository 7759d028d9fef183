//! Queries on `venues`.

use chrono::{DateTime, Utc};
use entity::kinds::VenueKind;
use entity::venue::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::purge::DeletedSessionsOf;
use super::record::{self, Fields};
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest};
use crate::domain::geo::Position;
use crate::domain::key::Key;
use crate::domain::zone::Zone;
use crate::error::Result;

/// The validated, writable fields of a venue.
#[derive(Clone, Debug, PartialEq)]
pub struct VenueFields {
    /// Name.
    pub name: String,
    /// Street address.
    pub address: Option<String>,
    /// Kind of place.
    pub kind: VenueKind,
    /// Where it is, if known.
    pub position: Option<Position>,
    /// Zone of local times.
    pub zone: Zone,
    /// Managing organization; venues without one are managed by admins.
    pub organization_id: Option<i64>,
    /// Whether other organizations of the owner's programs may schedule sessions here.
    pub shared: bool,
    /// Invented for sample data.
    pub illustrative: bool,
}

impl Fields<ActiveModel> for VenueFields {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            address: model.address.clone(),
            kind: model.kind,
            position: model
                .latitude
                .zip(model.longitude)
                .map(|(latitude, longitude)| Position { latitude, longitude }),
            zone: Zone::from_stored(&model.time_zone),
            organization_id: model.organization_id,
            shared: model.shared,
            illustrative: model.illustrative,
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.name = Set(self.name);
        row.address = Set(self.address);
        row.kind = Set(self.kind);
        row.latitude = Set(self.position.map(|p| p.latitude));
        row.longitude = Set(self.position.map(|p| p.longitude));
        row.time_zone = Set(self.zone.name().to_owned());
        row.organization_id = Set(self.organization_id);
        row.shared = Set(self.shared);
        row.illustrative = Set(self.illustrative);
    }
}

/// Filters of the venue list.
#[derive(Clone, Debug, Default)]
pub struct VenueFilter {
    /// Managed by this organization.
    pub organization_id: Option<i64>,
    /// Of this kind.
    pub kind: Option<VenueKind>,
    /// By name and last change.
    pub search: super::Search,
}

/// One venue by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One venue by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One venue by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// `venues` by id (those that exist).
pub async fn by_ids(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<std::collections::HashMap<i64, Model>> {
    record::by_ids::<ActiveModel>(conn, ids, |v| v.id).await
}

/// A page of venues in id order.
pub async fn list(conn: &impl ConnectionTrait, filter: &VenueFilter, page: &PageRequest) -> Result<Page<Model>> {
    let query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[Column::Name], Column::UpdatedAt);
    if let Some(organization) = filter.organization_id {
        query = query.filter(Column::OrganizationId.eq(organization));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(Column::Kind.eq(kind));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Creates a venue.
pub async fn insert(txn: &DatabaseTransaction, key: Key, fields: VenueFields, now: DateTime<Utc>) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        ..Default::default()
    };
    record::create(txn, key.as_str(), row, fields, now).await
}

/// Applies new fields; returns the row unchanged when nothing differs.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: VenueFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    record::save(txn, current, fields, now).await
}

/// Deletes a venue that no live session or plan uses; its deleted sessions go with it.
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    super::purge::deleted_sessions(txn, DeletedSessionsOf::Venue(model.id)).await?;
    super::uses::refuse_if_used(txn, Referenced::Venue, model.id, "venue").await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}
