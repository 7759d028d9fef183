//! The outbox across subscriptions, soonest due first: what admins and organizers read to see
//! which reminders and notices are about to go out, and which are stuck.

use entity::delivery::{Column, Entity, Model};
use entity::kinds::DeliveryStatus;
use sea_orm::sea_query::{Expr, ExprTrait as _, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::{Cursor, Page, PageRequest, activities};
use crate::error::Result;

/// Which deliveries to show.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    /// Messages about this program: its sessions, its plan deadline and its plans.
    pub program_id: Option<i64>,
    /// Only the subscriptions of the organizations under this path.
    pub within: Option<String>,
}

/// A page of deliveries of every subscription `filter` lets through, by due time, then id.
pub async fn list(conn: &impl ConnectionTrait, filter: &DeliveryFilter, page: &PageRequest) -> Result<Page<Model>> {
    let mut query = Entity::find()
        .order_by_asc(Column::DueAt)
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    if let Some(status) = filter.status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(path) = &filter.within {
        let webhooks = Query::select()
            .column(entity::webhook::Column::Id)
            .from(entity::webhook::Entity)
            .and_where(entity::webhook::Column::OrganizationId.in_subquery(activities::organizations_within(path)))
            .to_owned();
        query = query.filter(Column::WebhookId.in_subquery(webhooks));
    }
    if let Some(program) = filter.program_id {
        let sessions = Query::select()
            .column(entity::session::Column::Id)
            .from(entity::session::Entity)
            .and_where(entity::session::Column::ProgramId.eq(program))
            .to_owned();
        // Plan messages have no session; they name their program in the payload.
        let plans = Condition::all()
            .add(Column::SessionId.is_null())
            .add(payload_program(conn.get_database_backend()).eq(program));
        query = query.filter(Condition::any().add(Column::SessionId.in_subquery(sessions)).add(plans));
    }
    if let Some(Cursor::Timed(due, id)) = page.after {
        query = query.filter(
            Condition::any()
                .add(Column::DueAt.gt(due))
                .add(Condition::all().add(Column::DueAt.eq(due)).add(Column::Id.gt(id))),
        );
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| {
        Cursor::Timed(row.due_at, row.id)
    }))
}

/// The `program_id` a delivery's payload names, as a number.
fn payload_program(backend: DatabaseBackend) -> SimpleExpr {
    match backend {
        DatabaseBackend::Postgres => Expr::cust("CAST(payload->>'program_id' AS BIGINT)"),
        _ => Expr::cust("json_extract(payload, '$.program_id')"),
    }
}
