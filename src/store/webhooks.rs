//! Queries on `webhooks`.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use entity::kinds::{WebhookFormat, WebhookScope};
use entity::webhook::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};

use super::record::{self, Fields};
use super::reminders;
use super::{Cursor, Page, PageRequest};
use crate::domain::key::Key;
use crate::domain::webhook::WebhookUrl;
use crate::error::{Error, Result};

/// What a subscription listens to: a kind of record and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Program, activity, team, venue, organization or volunteer.
    pub kind: WebhookScope,
    /// The record's id.
    pub id: i64,
}

/// Whose a scope is: `None` when its record does not exist, `Some(None)` for a venue that no
/// organization owns, otherwise the owning organization's path (a program's host, the
/// organizer of an activity, the owner of a team or venue, the organization itself, a
/// volunteer's organization).
pub async fn scope_owner(conn: &impl ConnectionTrait, scope: Scope) -> Result<Option<Option<String>>> {
    use super::{Visibility, activities, organizations, programs, teams, venues, volunteers};
    let missing = |error: Error| match error {
        Error::NotFound(_) => Ok(None),
        other => Err(other),
    };
    let organization = match scope.kind {
        WebhookScope::Program => programs::get(conn, scope.id)
            .await
            .map(|p| Some(p.host_organization_id)),
        WebhookScope::Activity => activities::get(conn, scope.id, &Visibility::All)
            .await
            .map(|a| Some(a.organization_id)),
        WebhookScope::Team => teams::get(conn, scope.id).await.map(|t| Some(t.organization_id)),
        WebhookScope::Venue => venues::get(conn, scope.id).await.map(|v| v.organization_id),
        WebhookScope::Organization => Ok(Some(scope.id)),
        WebhookScope::Volunteer => volunteers::get(conn, scope.id).await.map(|v| Some(v.organization_id)),
    };
    let organization = match organization {
        Ok(organization) => organization,
        Err(error) => return missing(error),
    };
    match organization {
        None => Ok(Some(None)),
        Some(id) => match organizations::get(conn, id).await {
            Ok(organization) => Ok(Some(Some(organization.path))),
            Err(error) => missing(error),
        },
    }
}

/// The validated, writable fields of a subscription. The format and scope are fixed at
/// creation (a new robot is a new subscription).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookFields {
    /// A label for people.
    pub name: Option<String>,
    /// Where messages go.
    pub url: WebhookUrl,
    /// Event types wanted.
    pub events: Vec<String>,
    /// Reminder times before the start, longest first.
    pub offsets: Vec<TimeDelta>,
    /// Signing secret (Standard Webhooks `whsec_…`, DingTalk or Feishu robot secret).
    pub secret: Option<String>,
    /// A word the robot requires in every message.
    pub keyword: Option<String>,
    /// Whether assigned volunteers are @-mentioned by mobile.
    pub mention: bool,
    /// Whether it sends.
    pub enabled: bool,
    /// Why it stopped sending, when it did.
    pub disabled_reason: Option<String>,
}

impl Fields<ActiveModel> for WebhookFields {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            url: WebhookUrl::stored(&model.url),
            events: serde_json::from_value(model.events.clone()).unwrap_or_default(),
            offsets: offsets_of(model),
            secret: model.secret.clone(),
            keyword: model.keyword.clone(),
            mention: model.mention,
            enabled: model.enabled,
            disabled_reason: model.disabled_reason.clone(),
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.name = Set(self.name);
        row.url_shown = Set(self.url.redacted());
        row.url = Set(self.url.expose().to_string());
        row.events = Set(serde_json::json!(self.events));
        row.offsets = Set(serde_json::json!(
            self.offsets.iter().map(TimeDelta::num_seconds).collect::<Vec<_>>()
        ));
        row.secret = Set(self.secret);
        row.keyword = Set(self.keyword);
        row.mention = Set(self.mention);
        row.enabled = Set(self.enabled);
        row.disabled_reason = Set(self.disabled_reason);
    }
}

/// A subscription's reminder offsets.
pub fn offsets_of(model: &Model) -> Vec<TimeDelta> {
    serde_json::from_value::<Vec<i64>>(model.offsets.clone())
        .unwrap_or_default()
        .into_iter()
        .map(TimeDelta::seconds)
        .collect()
}

/// One subscription by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One subscription by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// A page of subscriptions in id order; `within` limits it to those of the organization at
/// that path and below.
pub async fn list(
    conn: &impl ConnectionTrait,
    within: Option<&str>,
    search: &super::Search,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
    let mut query = search.apply(query, &[Column::Name], Column::UpdatedAt);
    if let Some(path) = within {
        let subtree = entity::organization::Entity::find()
            .select_only()
            .column(entity::organization::Column::Id)
            .filter(entity::organization::Column::Path.starts_with(path))
            .into_query();
        query = query.filter(Column::OrganizationId.in_subquery(subtree));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Creates a subscription.
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    organization_id: i64,
    format: WebhookFormat,
    scope: Scope,
    fields: WebhookFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        organization_id: Set(organization_id),
        format: Set(format),
        scope_kind: Set(scope.kind),
        scope_id: Set(scope.id),
        failing_since: Set(None),
        recent_sends: Set(None),
        flag: Set(None),
        ..Default::default()
    };
    let webhook = record::create(txn, key.as_str(), row, fields, now).await?;
    reminders::subscribed(txn, &webhook, now).await?;
    super::plan_notices::subscribed(txn, &webhook, now).await?;
    Ok(webhook)
}

/// Applies new fields; returns the row unchanged when nothing differs.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: WebhookFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    let enabling = fields.enabled && !current.enabled;
    let wanted = |w: &Model| (w.events.clone(), w.offsets.clone(), w.enabled);
    let wanted_before = wanted(&current);
    let mut webhook = record::save(txn, current, fields, now).await?;
    if enabling && (webhook.failing_since.is_some() || webhook.flag.is_some()) {
        // Switched back on by an organizer: its record of failures starts afresh.
        let mut row: ActiveModel = webhook.into();
        row.failing_since = Set(None);
        row.flag = Set(None);
        webhook = row.update(txn).await?;
    }
    // A new name, address or keyword owes nobody anything new.
    if wanted(&webhook) != wanted_before {
        reminders::subscribed(txn, &webhook, now).await?;
        super::plan_notices::subscribed(txn, &webhook, now).await?;
    }
    Ok(webhook)
}

/// Deletes a subscription with its delivery log.
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}

/// The subscriptions of a dispatch round, by id. Chat robots are locked until the transaction
/// ends (PostgreSQL), in id order so dispatchers never wait on each other in a circle: their
/// gather windows and rate limits are read and written in the round. `NO KEY UPDATE`, so a
/// round waits for no other's foreign-key checks of attempts being recorded. Standard
/// subscriptions keep no such state and are read without a lock, so two dispatchers sending a
/// wave to the same ones do not take turns.
pub async fn for_round(txn: &DatabaseTransaction, ids: &[i64]) -> Result<HashMap<i64, Model>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let robots = Entity::find()
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .filter(Column::Format.ne(WebhookFormat::Standard))
            .order_by_asc(Column::Id)
            .lock(sea_orm::sea_query::LockType::NoKeyUpdate)
            .all(txn)
            .await?;
        let standard = Entity::find()
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .filter(Column::Format.eq(WebhookFormat::Standard))
            .all(txn)
            .await?;
        found.extend(robots.into_iter().chain(standard).map(|row| (row.id, row)));
    }
    Ok(found)
}

/// When a robot's latest messages went.
pub fn recent_sends(model: &Model) -> Vec<DateTime<Utc>> {
    model
        .recent_sends
        .clone()
        .and_then(|sends| serde_json::from_value(sends).ok())
        .unwrap_or_default()
}

/// Records when a robot's latest messages went (or are about to go).
pub async fn note_sends(txn: &DatabaseTransaction, id: i64, sends: &[DateTime<Utc>]) -> Result<()> {
    Entity::update_many()
        .col_expr(
            Column::RecentSends,
            sea_orm::sea_query::Expr::value(serde_json::json!(sends)),
        )
        .filter(Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The subscription's address as it may be shown: redacted from the address itself whenever
/// it is read, so a rule added to the redaction covers subscriptions made before it too.
pub fn shown_url(model: &Model) -> String {
    WebhookUrl::stored(&model.url).redacted()
}

/// Opens (`Some`) or closes (`None`) a robot's gather window ([`crate::delivery::gather`]).
pub async fn set_gathering(txn: &DatabaseTransaction, id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::GatheringUntil, sea_orm::sea_query::Expr::value(until))
        .filter(Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Holds a robot that its platform throttled: nothing goes to it before `until`.
pub async fn hold(txn: &DatabaseTransaction, id: i64, until: DateTime<Utc>) -> Result<()> {
    Entity::update_many()
        .col_expr(Column::ThrottledUntil, sea_orm::sea_query::Expr::value(Some(until)))
        .filter(Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// A subscription is disabled after failing for this long without a delivery in between.
pub const FAILING_LIMIT: TimeDelta = TimeDelta::days(5);

/// Ends the run of failures and clears the flag of every subscription in `ids` that had one:
/// a delivery reached each. One statement however many subscriptions a round reached.
pub async fn note_delivered(txn: &DatabaseTransaction, ids: &[i64], now: DateTime<Utc>) -> Result<()> {
    for chunk in ids.chunks(500) {
        Entity::update_many()
            .col_expr(
                Column::FailingSince,
                sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(Column::Flag, sea_orm::sea_query::Expr::value(Option::<String>::None))
            .col_expr(Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .filter(
                sea_orm::Condition::any()
                    .add(Column::FailingSince.is_not_null())
                    .add(Column::Flag.is_not_null()),
            )
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Records a round in which nothing reached a subscription: a run of failures starts (or goes
/// on), a permanent refusal flags it, and once the run has lasted [`FAILING_LIMIT`] it is
/// disabled. Returns the reason when it was disabled now.
pub async fn note_failing(
    txn: &DatabaseTransaction,
    id: i64,
    flag: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let Some(current) = Entity::find_by_id(id).one(txn).await? else {
        return Ok(None);
    };
    let mut row: ActiveModel = current.clone().into();
    let mut disabled = None;
    let since = current.failing_since.unwrap_or(now);
    row.failing_since = Set(Some(since));
    if flag.is_some() {
        row.flag = Set(flag);
    }
    if current.enabled && now - since >= FAILING_LIMIT {
        let reason = format!(
            "every delivery failed for {} days (since {})",
            FAILING_LIMIT.num_days(),
            since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        row.enabled = Set(false);
        row.disabled_reason = Set(Some(reason.clone()));
        row.version = Set(current.version + 1);
        disabled = Some(reason);
    }
    row.updated_at = Set(now);
    row.update(txn).await?;
    Ok(disabled)
}
