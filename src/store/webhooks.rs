//! Queries on `webhooks`.

use chrono::{DateTime, TimeDelta, Utc};
use entity::kinds::{WebhookFormat, WebhookScope};
use entity::webhook::{ActiveModel, Column, Entity, Model};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    Set,
};

use super::record::{self, Fields};
use super::{Cursor, Page, PageRequest};
use crate::domain::key::Key;
use crate::domain::webhook::WebhookUrl;
use crate::error::Result;

/// What a subscription listens to: a kind of record and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Program, activity, team, venue, organization or volunteer.
    pub kind: WebhookScope,
    /// The record's id.
    pub id: i64,
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
pub async fn list(conn: &impl ConnectionTrait, within: Option<&str>, page: &PageRequest) -> Result<Page<Model>> {
    let mut query = Entity::find().order_by_asc(Column::Id).limit(page.limit + 1);
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
        ..Default::default()
    };
    record::create(txn, key.as_str(), row, fields, now).await
}

/// Applies new fields; returns the row unchanged when nothing differs.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: WebhookFields,
    now: DateTime<Utc>,
) -> Result<Model> {
    record::save(txn, current, fields, now).await
}

/// Deletes a subscription with its delivery log.
pub async fn delete(txn: &DatabaseTransaction, model: Model) -> Result<()> {
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}
