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

/// A program with when its public sessions take place, for the list of programs.
#[derive(Clone, Debug)]
pub struct Span {
    /// The program.
    pub program: Model,
    /// Start of its first public session.
    pub first: Option<DateTime<Utc>>,
    /// End of its last public session.
    pub last: Option<DateTime<Utc>>,
    /// How many public sessions it has (cancelled ones included, deleted ones not).
    pub sessions: i64,
}

/// Every program with the span of its public sessions, in id order.
pub async fn spans(conn: &impl ConnectionTrait) -> Result<Vec<Span>> {
    let programs = Entity::find().order_by_asc(Column::Id).all(conn).await?;
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT s.program_id, MIN(s.starts_at) AS first, MAX(s.ends_at) AS last, COUNT(*) AS n \
             FROM sessions s JOIN activities a ON a.id = s.activity_id \
             WHERE a.public = TRUE AND s.deleted_at IS NULL GROUP BY s.program_id",
        ))
        .await?;
    let mut found = std::collections::HashMap::new();
    for row in rows {
        let program: i64 = row.try_get("", "program_id")?;
        let first: Option<DateTime<Utc>> = row.try_get("", "first")?;
        let last: Option<DateTime<Utc>> = row.try_get("", "last")?;
        let n: i64 = row.try_get("", "n")?;
        found.insert(program, (first, last, n));
    }
    Ok(programs
        .into_iter()
        .map(|program| {
            let (first, last, sessions) = found.remove(&program.id).unwrap_or_default();
            Span {
                program,
                first,
                last,
                sessions,
            }
        })
        .collect())
}
