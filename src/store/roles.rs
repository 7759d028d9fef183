//! Queries on `session_roles`: what each session needs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::kinds::AssignmentStatus;
use entity::prelude::Assignment;
use entity::session_role::{ActiveModel, Column, Entity, Model, Relation};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait, Select, Set,
};

use super::record::{self, Fields};
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest, Visibility};
use crate::domain::key::Key;
use crate::error::{Error, Result};

/// The validated, writable fields of a role (its session never changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleFields {
    /// What the volunteers do, e.g. 讲解员.
    pub name: String,
    /// How many volunteers the session needs in this role.
    pub needed: i32,
    /// Volunteers must belong to this team or one below it.
    pub team_id: Option<i64>,
    /// Qualifications every volunteer must hold.
    pub qualifications: Vec<String>,
}

impl Fields<ActiveModel> for RoleFields {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            needed: model.needed,
            team_id: model.team_id,
            qualifications: qualifications(model),
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.name = Set(self.name);
        row.needed = Set(self.needed);
        row.team_id = Set(self.team_id);
        row.qualifications = Set(serde_json::Value::from(self.qualifications));
    }
}

/// The qualifications a role requires.
pub fn qualifications(model: &Model) -> Vec<String> {
    serde_json::from_value(model.qualifications.clone()).unwrap_or_default()
}

/// One role by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// Where a role sits, as an assignment to it needs to know before anything is locked.
#[derive(Clone, Debug)]
pub struct Placing {
    /// The role's session.
    pub session_id: i64,
    /// The path of the organization that runs the session's activity.
    pub owner: String,
    /// The time zone of the session's program, which assignments are told in.
    pub program_zone: String,
}

/// The session of a live role, the path of its owner and its program's time zone, in one
/// read.
pub async fn placing(conn: &impl ConnectionTrait, role_id: i64) -> Result<Option<Placing>> {
    use entity::{activity, organization, program, session};
    let found = Entity::find_by_id(role_id)
        .select_only()
        .column(Column::SessionId)
        .column(organization::Column::Path)
        .column(program::Column::TimeZone)
        .join(JoinType::InnerJoin, Relation::Session.def())
        .join(JoinType::InnerJoin, session::Relation::Activity.def())
        .join(JoinType::InnerJoin, activity::Relation::Organization.def())
        .join(JoinType::InnerJoin, session::Relation::Program.def())
        .filter(session::Column::DeletedAt.is_null())
        .into_tuple::<(i64, String, String)>()
        .one(conn)
        .await?;
    Ok(found.map(|(session_id, owner, program_zone)| Placing {
        session_id,
        owner,
        program_zone,
    }))
}

/// One role by id, locked until the transaction ends: assignments to it queue here.
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One role by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// A page of the roles of one session (or all) that the reader may see, in id order.
pub async fn list(
    conn: &impl ConnectionTrait,
    session_id: Option<i64>,
    search: &super::Search,
    visibility: &Visibility,
    page: &PageRequest,
) -> Result<Page<Model>> {
    use entity::session::{Column as S, Entity as Sessions};
    let visible_sessions = Query::select()
        .column(S::Id)
        .from(Sessions)
        .and_where(S::DeletedAt.is_null())
        .and_where(S::ActivityId.in_subquery(super::activities::visible_ids(visibility)))
        .to_owned();
    let query = Entity::find()
        .filter(Column::SessionId.in_subquery(visible_sessions))
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    let mut query = search.apply(query, &[Column::Name], Column::UpdatedAt);
    if let Some(session) = session_id {
        query = query.filter(Column::SessionId.eq(session));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// How many active assignments each of `roles` holds.
pub async fn filled(conn: &impl ConnectionTrait, roles: &[i64]) -> Result<HashMap<i64, u64>> {
    let mut counts: HashMap<i64, u64> = roles.iter().map(|id| (*id, 0)).collect();
    for chunk in roles.chunks(500) {
        let rows: Vec<(i64, i64)> = filled_query(chunk).into_tuple().all(conn).await?;
        for (role, n) in rows {
            counts.insert(role, u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(counts)
}

/// `SELECT role_id, COUNT(id) FROM assignments WHERE role_id IN (…) AND status is active GROUP BY role_id`.
pub(crate) fn filled_query(roles: &[i64]) -> Select<Assignment> {
    use entity::assignment::Column as A;
    Assignment::find()
        .select_only()
        .column(A::RoleId)
        .column_as(A::Id.count(), "filled")
        .filter(A::RoleId.is_in(roles.iter().copied()))
        .filter(A::Status.is_in(AssignmentStatus::ACTIVE))
        .group_by(A::RoleId)
}

/// Creates a role for a session.
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    session_id: i64,
    fields: RoleFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        session_id: Set(session_id),
        ..Default::default()
    };
    record::create(txn, key.as_str(), row, fields, now).await
}

/// Applies new fields; a role cannot need fewer volunteers than it already holds.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: RoleFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let holding = filled(txn, &[current.id]).await?.get(&current.id).copied().unwrap_or(0);
    if u64::try_from(fields.needed).unwrap_or(0) < holding {
        return Err(Error::conflict(
            "over_capacity",
            format!("the role holds {holding} active assignments; cancel some before needing fewer"),
        ));
    }
    record::save(txn, current, fields, now).await
}

/// Deletes a role nobody was ever assigned to (assignments are history and stay).
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    super::uses::refuse_if_used(txn, Referenced::SessionRole, model.id, "role").await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}
