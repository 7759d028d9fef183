//! Queries on `activities`.

use chrono::{DateTime, Utc};
use entity::activity::{ActiveModel, Column, Entity, Model};
use entity::kinds::ActivityKind;
use entity::prelude::Organization;
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};

use super::purge::DeletedSessionsOf;
use super::record::{self, Fields};
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest, Visibility, found};
use crate::domain::key::Key;
use crate::error::Result;

/// The validated, writable fields of an activity (its program never changes).
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityFields {
    /// Main event or series.
    pub kind: ActivityKind,
    /// Position in the program's list.
    pub display_order: i32,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Organizing organization.
    pub organization_id: i64,
    /// Service kinds (科学普及, …).
    pub service_kinds: Vec<String>,
    /// Shown to the public.
    pub public: bool,
}

impl Fields<ActiveModel> for ActivityFields {
    fn of(model: &Model) -> Self {
        Self {
            kind: model.kind,
            display_order: model.display_order,
            title: model.title.clone(),
            description: model.description.clone(),
            organization_id: model.organization_id,
            service_kinds: service_kinds(model),
            public: model.public,
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.kind = Set(self.kind);
        row.display_order = Set(self.display_order);
        row.title = Set(self.title);
        row.description = Set(self.description);
        row.organization_id = Set(self.organization_id);
        row.service_kinds = Set(serde_json::Value::from(self.service_kinds));
        row.public = Set(self.public);
    }
}

/// The service kinds stored on an activity.
pub fn service_kinds(model: &Model) -> Vec<String> {
    serde_json::from_value(model.service_kinds.clone()).unwrap_or_default()
}

/// Filters of the activity list.
#[derive(Clone, Debug, Default)]
pub struct ActivityFilter {
    /// Of this program.
    pub program_id: Option<i64>,
    /// Organized by this organization or one below it.
    pub organization_id: Option<i64>,
    /// Main or series.
    pub kind: Option<ActivityKind>,
    /// By title and last change.
    pub search: super::Search,
}

/// One activity by id, if the reader may see it.
pub async fn get(conn: &impl ConnectionTrait, id: i64, visibility: &Visibility) -> Result<Model> {
    let query = Entity::find_by_id(id).filter(visible(visibility));
    found(query.one(conn).await?, "activity")
}

/// One activity by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One activity by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// A page of the activities the reader may see, in display order.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ActivityFilter,
    visibility: &Visibility,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let query = Entity::find()
        .filter(visible(visibility))
        .order_by_asc(Column::DisplayOrder)
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[Column::Title], Column::UpdatedAt);
    if let Some(program) = filter.program_id {
        query = query.filter(Column::ProgramId.eq(program));
    }
    if let Some(organization) = filter.organization_id {
        let root = super::organizations::get(conn, organization).await?;
        query = query.filter(Column::OrganizationId.in_subquery(organizations_within(&root.path)));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(Column::Kind.eq(kind));
    }
    if let Some(Cursor::Ordered(order, id)) = page.after {
        query = query.filter(
            Condition::any()
                .add(Column::DisplayOrder.gt(order))
                .add(Column::DisplayOrder.eq(order).and(Column::Id.gt(id))),
        );
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| {
        Cursor::Ordered(row.display_order, row.id)
    }))
}

/// Creates an activity in `program_id`.
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    program_id: i64,
    fields: ActivityFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        program_id: Set(program_id),
        ..Default::default()
    };
    record::create(txn, key.as_str(), row, fields, now).await
}

/// Applies new fields; returns the row unchanged when nothing differs.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: ActivityFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    record::save(txn, current, fields, now).await
}

/// Deletes an activity without live sessions, together with its deleted sessions' rows.
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    super::purge::deleted_sessions(txn, DeletedSessionsOf::Activity(model.id)).await?;
    super::uses::refuse_if_used(txn, Referenced::Activity, model.id, "activity").await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}

/// The condition that limits activities to what a reader may see.
pub(crate) fn visible(visibility: &Visibility) -> Condition {
    match visibility {
        Visibility::All => Condition::all(),
        Visibility::Public => Condition::all().add(Column::Public.eq(true)),
        Visibility::PublicOrWithin(path) => Condition::any()
            .add(Column::Public.eq(true))
            .add(Column::OrganizationId.in_subquery(organizations_within(path))),
    }
}

/// `SELECT id FROM organizations WHERE path LIKE '{path}%'`.
pub(crate) fn organizations_within(path: &str) -> SelectStatement {
    use entity::organization::Column as O;
    Query::select()
        .column(O::Id)
        .from(Organization)
        .and_where(O::Path.starts_with(path))
        .to_owned()
}

/// `SELECT id FROM activities WHERE <visible>`.
pub(crate) fn visible_ids(visibility: &Visibility) -> SelectStatement {
    Query::select()
        .column(Column::Id)
        .from(Entity)
        .cond_where(visible(visibility))
        .to_owned()
}
