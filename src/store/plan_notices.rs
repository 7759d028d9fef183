//! What preparation plans put in the outbox, in the transaction that causes it: `plan.deadline`
//! reminders two days and one day before a program's deadline, and a `plan.submitted` notice
//! for every version an organization submits. Both go to the subscriptions of the association
//! that runs the program: those scoped to the program, or to its host organization or one
//! above. A deadline reminder names who has not submitted as of when it goes, not when it
//! was made.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Column as DeliveryColumn;
use entity::plan::Model as Plan;
use entity::program::Model as Program;
use entity::webhook::Model as Webhook;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, Statement,
    Value,
};
use serde_json::json;

use super::deliveries::{self, NewDelivery};
use super::dialect::sql;
use super::reminders::wants;
use crate::domain::notice::{DeadlineFacts, SubmittedFacts};
use crate::domain::zone::Zone;
use crate::error::Result;

/// The event type of deadline reminders.
pub const DEADLINE: &str = "plan.deadline";

/// The event type of submission notices.
pub const SUBMITTED: &str = "plan.submitted";

/// How long before the deadline its reminders go.
pub const DEADLINE_REMINDERS: [TimeDelta; 2] = [TimeDelta::days(2), TimeDelta::days(1)];

/// Enabled subscriptions that cover a program's plans: scoped to the program (`$1`), or to
/// its host organization (`$2`) or one above it.
const COVERING: &str = "\
SELECT w.* FROM webhooks w WHERE w.enabled = TRUE AND (\
 (w.scope_kind = 'program' AND w.scope_id = $1) OR \
 (w.scope_kind = 'organization' AND w.scope_id IN (SELECT o.id FROM organizations o, organizations h \
   WHERE h.id = $2 AND h.path LIKE o.path || '%'))) ORDER BY w.id";

async fn covering(conn: &impl ConnectionTrait, program: &Program, event: &str) -> Result<Vec<Webhook>> {
    let backend = conn.get_database_backend();
    let statement = Statement::from_sql_and_values(
        backend,
        sql(COVERING, backend),
        [Value::from(program.id), Value::from(program.host_organization_id)],
    );
    let rows = conn.query_all_raw(statement).await?;
    let mut webhooks = Vec::with_capacity(rows.len());
    for row in &rows {
        let webhook = Webhook::from_query_result(row, "")?;
        if wants(&webhook, event) {
            webhooks.push(webhook);
        }
    }
    Ok(webhooks)
}

/// The reminders of one program's deadline for one subscription, those still to come.
fn reminders_of(webhook_id: i64, program_id: i64, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Vec<NewDelivery> {
    DEADLINE_REMINDERS
        .iter()
        .filter(|before| deadline - **before > now)
        .map(|before| NewDelivery {
            webhook_id,
            event_type: DEADLINE.to_owned(),
            session_id: None,
            assignment_id: None,
            dedupe_key: format!(
                "plan.deadline:{program_id}:{}:{}",
                deadline.timestamp(),
                before.num_seconds()
            ),
            payload: Some(json!({"program_id": program_id, "offset_seconds": before.num_seconds()})),
            due_at: deadline - *before,
            deadline: Some(deadline),
        })
        .collect()
}

fn of_program(program_id: i64) -> Condition {
    Condition::all().add(DeliveryColumn::DedupeKey.starts_with(format!("plan.deadline:{program_id}:")))
}

/// Makes a program's deadline reminders match its deadline (set, moved or cleared): the
/// pending ones are withdrawn and those still to come made anew (or brought back).
pub async fn deadline_changed(txn: &DatabaseTransaction, program: &Program, now: DateTime<Utc>) -> Result<()> {
    deliveries::withdraw_pending_where(txn, DEADLINE, of_program(program.id), now).await?;
    let Some(deadline) = program.plan_deadline else {
        return Ok(());
    };
    let due: Vec<NewDelivery> = covering(txn, program, DEADLINE)
        .await?
        .iter()
        .flat_map(|webhook| reminders_of(webhook.id, program.id, deadline, now))
        .collect();
    deliveries::enqueue_all(txn, due, now).await?;
    Ok(())
}

/// Makes a subscription's deadline reminders match what it is now (created, re-scoped,
/// switched on or off, events changed).
pub async fn subscribed(txn: &DatabaseTransaction, webhook: &Webhook, now: DateTime<Utc>) -> Result<()> {
    use entity::kinds::WebhookScope;
    let its_own = Condition::all().add(DeliveryColumn::WebhookId.eq(webhook.id));
    deliveries::withdraw_pending_where(txn, DEADLINE, its_own, now).await?;
    if !webhook.enabled || !wants(webhook, DEADLINE) {
        return Ok(());
    }
    let programs = match webhook.scope_kind {
        WebhookScope::Program => entity::prelude::Program::find_by_id(webhook.scope_id).all(txn).await?,
        WebhookScope::Organization => {
            let scope = super::organizations::get(txn, webhook.scope_id).await?;
            let hosts = entity::prelude::Organization::find()
                .filter(entity::organization::Column::Path.starts_with(scope.path))
                .all(txn)
                .await?;
            entity::prelude::Program::find()
                .filter(entity::program::Column::HostOrganizationId.is_in(hosts.iter().map(|h| h.id)))
                .all(txn)
                .await?
        }
        _ => Vec::new(),
    };
    let due: Vec<NewDelivery> = programs
        .iter()
        .filter_map(|p| Some(reminders_of(webhook.id, p.id, p.plan_deadline?, now)))
        .flatten()
        .collect();
    deliveries::enqueue_all(txn, due, now).await?;
    Ok(())
}

/// Tells the subscriptions that want it that a plan version came in.
pub async fn submitted(txn: &DatabaseTransaction, program: &Program, plan: &Plan, now: DateTime<Utc>) -> Result<()> {
    let due: Vec<NewDelivery> = covering(txn, program, SUBMITTED)
        .await?
        .into_iter()
        .map(|webhook| NewDelivery {
            webhook_id: webhook.id,
            event_type: SUBMITTED.to_owned(),
            session_id: None,
            assignment_id: None,
            dedupe_key: format!("plan.submitted:{}:{}", plan.id, plan.revision),
            payload: Some(json!({"program_id": program.id, "plan_id": plan.id, "revision": plan.revision})),
            due_at: now,
            deadline: None,
        })
        .collect();
    deliveries::enqueue_all(txn, due, now).await?;
    Ok(())
}

/// The link to a program's plans.
pub fn plans_link(public_url: &str, program_id: i64) -> String {
    format!("{public_url}/api/v1/programs/{program_id}/plans")
}

/// What the plan notices of a claimed batch say, read once for the batch.
#[derive(Debug, Default)]
pub struct PlanSubjects {
    /// Deadlines by program, naming who has not submitted now.
    pub deadlines: HashMap<i64, DeadlineFacts>,
    /// Submitted plans by id, as they are now.
    pub submissions: HashMap<i64, SubmittedFacts>,
}

/// Reads the programs' deadlines and the plans that notices in a batch are about.
pub async fn subjects(
    conn: &impl ConnectionTrait,
    program_ids: &[i64],
    plan_ids: &[i64],
    public_url: &str,
) -> Result<PlanSubjects> {
    let mut subjects = PlanSubjects::default();
    if program_ids.is_empty() && plan_ids.is_empty() {
        return Ok(subjects);
    }
    let plans = entity::prelude::Plan::find()
        .filter(entity::plan::Column::Id.is_in(plan_ids.iter().copied()))
        .all(conn)
        .await?;
    let mut wanted: Vec<i64> = program_ids
        .iter()
        .copied()
        .chain(plans.iter().map(|p| p.program_id))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let programs: HashMap<i64, Program> = entity::prelude::Program::find()
        .filter(entity::program::Column::Id.is_in(wanted))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    for id in program_ids {
        let Some(program) = programs.get(id) else { continue };
        let Some(deadline) = program.plan_deadline else {
            continue;
        };
        let missing = super::plans::missing(conn, program).await?;
        subjects.deadlines.insert(
            *id,
            DeadlineFacts {
                program: program.name.clone(),
                deadline,
                zone: Zone::from_stored(&program.time_zone),
                missing: missing.into_iter().map(|o| o.name).collect(),
                link: plans_link(public_url, program.id),
            },
        );
    }
    let organizations =
        super::organizations::names(conn, &plans.iter().map(|p| p.organization_id).collect::<Vec<_>>()).await?;
    for plan in plans {
        let Some(program) = programs.get(&plan.program_id) else {
            continue;
        };
        subjects.submissions.insert(
            plan.id,
            SubmittedFacts {
                id: plan.id,
                program: program.name.clone(),
                organization: organizations.get(&plan.organization_id).cloned().unwrap_or_default(),
                activity: plan.activity_name,
                revision: plan.revision,
                joins_video_link: plan.joins_video_link,
                at: plan.revised_at,
                zone: Zone::from_stored(&program.time_zone),
                link: format!("{}/{}", plans_link(public_url, program.id), plan.id),
            },
        );
    }
    Ok(subjects)
}
