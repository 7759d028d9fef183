//! Queries on `teams`: volunteer teams as a tree owned by organizations.

use chrono::{DateTime, Utc};
use entity::prelude::TeamMembership;
use entity::team::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::record::{self, Fields};
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest, tree};
use crate::domain::key::Key;
use crate::error::Result;

/// The validated, writable fields of a team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamFields {
    /// Owning organization.
    pub organization_id: i64,
    /// Name, e.g. 科普大篷车志愿者服务团.
    pub name: String,
    /// What the team does.
    pub description: Option<String>,
}

impl Fields<ActiveModel> for TeamFields {
    fn of(model: &Model) -> Self {
        Self {
            organization_id: model.organization_id,
            name: model.name.clone(),
            description: model.description.clone(),
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.organization_id = Set(self.organization_id);
        row.name = Set(self.name);
        row.description = Set(self.description);
    }
}

/// Filters of the team list.
#[derive(Clone, Debug, Default)]
pub struct TeamFilter {
    /// Owned by this organization.
    pub organization_id: Option<i64>,
    /// Direct sub-teams of this team.
    pub parent_id: Option<i64>,
    /// This team and every team below it.
    pub within: Option<i64>,
    /// By name and last change.
    pub search: super::Search,
}

/// One team by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One team by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One team by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// A page of teams in id order.
pub async fn list(conn: &impl ConnectionTrait, filter: &TeamFilter, page: &PageRequest) -> Result<Page<Model>> {
    let query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[Column::Name], Column::UpdatedAt);
    if let Some(organization) = filter.organization_id {
        query = query.filter(Column::OrganizationId.eq(organization));
    }
    if let Some(parent) = filter.parent_id {
        query = query.filter(Column::ParentId.eq(parent));
    }
    if let Some(root) = filter.within {
        query = query.filter(Column::Path.starts_with(get(conn, root).await?.path));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Creates a team under `parent` (or at the top).
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    parent: Option<&Model>,
    fields: TeamFields,
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
    fields: TeamFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    tree::update(txn, current, new_parent, fields, now).await
}

/// Deletes a team without sub-teams, members or roles that require it.
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    super::uses::refuse_if_used(txn, Referenced::Team, model.id, "team").await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}

/// The leaders of each of `teams`.
pub async fn leaders(conn: &impl ConnectionTrait, teams: &[i64]) -> Result<Vec<(i64, i64)>> {
    use entity::team_membership::Column as M;
    let rows = TeamMembership::find()
        .filter(M::TeamId.is_in(teams.iter().copied()))
        .filter(M::Leader.eq(true))
        .order_by_asc(M::VolunteerId)
        .all(conn)
        .await?;
    Ok(rows.into_iter().map(|m| (m.team_id, m.volunteer_id)).collect())
}

/// `SELECT volunteer_id FROM team_memberships WHERE team_id IN (teams under path)`.
pub(crate) fn members_within(path: &str) -> SelectStatement {
    use entity::team_membership::Column as M;
    let teams = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Column::Path.starts_with(path))
        .to_owned();
    Query::select()
        .column(M::VolunteerId)
        .from(TeamMembership)
        .and_where(M::TeamId.in_subquery(teams))
        .to_owned()
}
