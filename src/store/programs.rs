//! Queries on `programs`.

use chrono::{DateTime, Utc};
use entity::program::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::record::{self, Fields};
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest};
use crate::domain::key::Key;
use crate::domain::zone::Zone;
use crate::error::Result;

/// The validated, writable fields of a program.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramFields {
    /// Name, e.g. 2019年全国科技工作者日系列活动.
    pub name: String,
    /// Theme.
    pub theme: Option<String>,
    /// Zone the program's local times are read in.
    pub zone: Zone,
    /// Host organization.
    pub host_organization_id: i64,
    /// Plan-submission deadline.
    pub plan_deadline: Option<DateTime<Utc>>,
}

impl Fields<ActiveModel> for ProgramFields {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            theme: model.theme.clone(),
            zone: Zone::from_stored(&model.time_zone),
            host_organization_id: model.host_organization_id,
            plan_deadline: model.plan_deadline,
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.name = Set(self.name);
        row.theme = Set(self.theme);
        row.time_zone = Set(self.zone.name().to_owned());
        row.host_organization_id = Set(self.host_organization_id);
        row.plan_deadline = Set(self.plan_deadline);
    }
}

/// Filters of the program list.
#[derive(Clone, Debug, Default)]
pub struct ProgramFilter {
    /// Hosted by this organization.
    pub organization_id: Option<i64>,
    /// By name and last change.
    pub search: super::Search,
}

/// One program by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One program by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One program by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// A page of programs in id order.
pub async fn list(conn: &impl ConnectionTrait, filter: &ProgramFilter, page: &PageRequest) -> Result<Page<Model>> {
    let query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[Column::Name], Column::UpdatedAt);
    if let Some(organization) = filter.organization_id {
        query = query.filter(Column::HostOrganizationId.eq(organization));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Creates a program.
pub async fn insert(txn: &DatabaseTransaction, key: Key, fields: ProgramFields, now: DateTime<Utc>) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        ..Default::default()
    };
    let program = record::create(txn, key.as_str(), row, fields, now).await?;
    if program.plan_deadline.is_some() {
        super::plan_notices::deadline_changed(txn, &program, now).await?;
    }
    Ok(program)
}

/// Applies new fields; returns the row unchanged when nothing differs. A new plan deadline
/// (or host) re-times the deadline's reminders.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: ProgramFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let before = (current.plan_deadline, current.host_organization_id);
    let program = record::save(txn, current, fields, now).await?;
    if (program.plan_deadline, program.host_organization_id) != before {
        super::plan_notices::deadline_changed(txn, &program, now).await?;
    }
    Ok(program)
}

/// Deletes a program without activities or preparation plans.
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    super::uses::refuse_if_used(txn, Referenced::Program, model.id, "program").await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}
