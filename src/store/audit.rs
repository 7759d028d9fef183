//! The audit trail: every write made through the API, the pages or the command line leaves an
//! entry saying who made it, when, to which record, and which fields changed from what to
//! what. Entries are written with the transaction of the change they describe, so there is
//! never a change without its entry nor an entry without its change.

use chrono::{DateTime, Utc};
use entity::audit_entry::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IdenStatic as _, Iterable,
    ModelTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Map, Value};

use super::stamps::{self, Touch};
use super::{Cursor, Page, PageRequest};
use crate::auth::Actor;
use crate::domain::audit::changes;
use crate::error::Result;

/// Who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// `admin`, `organizer`, `volunteer`, `page` or `cli`.
    pub role: &'static str,
    /// The API token presented.
    pub token_id: Option<i64>,
    /// The volunteer acting from their personal page.
    pub volunteer_id: Option<i64>,
    /// The request that made the change.
    pub request_id: Option<String>,
}

impl Author {
    /// The caller of an API request (the request's id is that of the task serving it).
    pub fn of(actor: &Actor) -> Self {
        let role = match actor {
            Actor::Anonymous => "anonymous",
            Actor::Admin { .. } => "admin",
            Actor::Organizer { .. } => "organizer",
            Actor::Volunteer { .. } => "volunteer",
        };
        Self {
            role,
            token_id: actor.token_id(),
            volunteer_id: None,
            request_id: crate::correlation::request_id().map(|id| id.to_string()),
        }
    }

    /// Someone at the command line, on the machine the service runs on.
    pub fn cli() -> Self {
        Self {
            role: "cli",
            token_id: None,
            volunteer_id: None,
            request_id: None,
        }
    }

    /// A volunteer (or team leader) acting from their personal page.
    pub fn page(volunteer_id: i64) -> Self {
        Self {
            role: "page",
            token_id: None,
            volunteer_id: Some(volunteer_id),
            request_id: crate::correlation::request_id().map(|id| id.to_string()),
        }
    }
}

/// The organization a record belongs to, or what leads to it.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    /// This organization.
    Organization(i64),
    /// The organizer of this session's activity.
    Session(i64),
    /// The organization of this preparation plan.
    Plan(i64),
    /// The organization of this webhook subscription.
    Webhook(i64),
    /// No organization (admin-wide records).
    Nobody,
}

/// A record the trail can describe.
pub trait Audited: ModelTrait + Sync
where
    <Self::Entity as EntityTrait>::Column: Iterable,
{
    /// The record's kind as the trail names it (`session`, `session_role`, …).
    const KIND: &'static str;

    /// The record's id.
    fn object_id(&self) -> i64;

    /// Whose record it is: organizers see the entries of their organizations' records.
    fn owner(&self) -> Owner;

    /// What calendar feeds a change to the record can show in.
    fn touches(&self) -> Touch;
}

/// The entry of one change in the making: who, when, and (for changes that follow from
/// another) the entry they follow from.
#[derive(Clone, Debug)]
pub struct Audit {
    author: Author,
    now: DateTime<Utc>,
    cause: Option<i64>,
}

impl Audit {
    /// Changes `author` makes at `now`.
    pub fn new(author: Author, now: DateTime<Utc>) -> Self {
        Self {
            author,
            now,
            cause: None,
        }
    }

    /// The same author's changes that follow from the entry `cause` (a linked session moved
    /// with its slot, an assignment cancelled with its session).
    pub fn following(&self, cause: Option<i64>) -> Self {
        Self { cause, ..self.clone() }
    }

    /// Records that `model` was created.
    pub async fn created<M>(&self, txn: &DatabaseTransaction, model: &M) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record(txn, "create", None, Some(model)).await
    }

    /// Records an update from `before` to `after` (nothing, when no field changed).
    pub async fn updated<M>(&self, txn: &DatabaseTransaction, before: &M, after: &M) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record(txn, "update", Some(before), Some(after)).await
    }

    /// Records that `model` was removed.
    pub async fn deleted<M>(&self, txn: &DatabaseTransaction, model: &M) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record(txn, "delete", Some(model), None).await
    }

    /// Records an action (`confirm`, `check_in`, `revoke`, …) that took `before` to `after`.
    pub async fn acted<M>(
        &self,
        txn: &DatabaseTransaction,
        action: &'static str,
        before: &M,
        after: &M,
    ) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record(txn, action, Some(before), Some(after)).await
    }

    /// Writes the entry of one change, and logs it. An update or action that changed no
    /// field leaves no entry. Returns the entry's id.
    pub async fn record<M>(
        &self,
        txn: &DatabaseTransaction,
        action: &'static str,
        before: Option<&M>,
        after: Option<&M>,
    ) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record_with(
            txn,
            action,
            before.map(|m| (m, Map::new())),
            after.map(|m| (m, Map::new())),
        )
        .await
    }

    /// Records that a record was created, with what is listed under it (see
    /// [`Audit::updated_with`]).
    pub async fn created_with<M>(
        &self,
        txn: &DatabaseTransaction,
        after: (&M, Map<String, Value>),
    ) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record_with(txn, "create", None, Some(after)).await
    }

    /// Records an update of a record together with what is listed under it (a volunteer's
    /// teams, qualifications and times away), given as fields of their own beside the row's.
    pub async fn updated_with<M>(
        &self,
        txn: &DatabaseTransaction,
        before: (&M, Map<String, Value>),
        after: (&M, Map<String, Value>),
    ) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        self.record_with(txn, "update", Some(before), Some(after)).await
    }

    async fn record_with<M>(
        &self,
        txn: &DatabaseTransaction,
        action: &'static str,
        before: Option<(&M, Map<String, Value>)>,
        after: Option<(&M, Map<String, Value>)>,
    ) -> Result<Option<i64>>
    where
        M: Audited,
        <M::Entity as EntityTrait>::Column: Iterable,
    {
        let Some(record) = after.as_ref().or(before.as_ref()).map(|(m, _)| *m) else {
            return Ok(None);
        };
        let whole = |(model, listed): (&M, Map<String, Value>)| {
            let mut all = fields(model);
            all.extend(listed);
            all
        };
        let (before_model, after_model) = (before.as_ref().map(|(m, _)| *m), after.as_ref().map(|(m, _)| *m));
        let (before, after) = (before.map(whole), after.map(whole));
        let changed = changes(M::KIND, before.as_ref(), after.as_ref());
        if changed.is_empty() && before.is_some() && after.is_some() {
            return Ok(None);
        }
        let organization_id = organization_of(txn, record.owner()).await?;
        let mut touches: Vec<Touch> = [&before_model, &after_model]
            .into_iter()
            .flatten()
            .map(|m| m.touches())
            // A record just made (a venue, a team) is in no feed yet; its sessions and members
            // are, when they come.
            .filter(|touch| before.is_some() || *touch != Touch::Everything)
            .collect();
        touches.push(Touch::Teams(listed_teams([before.as_ref(), after.as_ref()])));
        stamps::raise(txn, &stamps::keys(txn, &touches).await?, self.now).await?;
        let entry = ActiveModel {
            at: Set(self.now),
            actor_role: Set(self.author.role.to_owned()),
            token_id: Set(self.author.token_id),
            volunteer_id: Set(self.author.volunteer_id),
            request_id: Set(self.author.request_id.clone()),
            action: Set(action.to_owned()),
            object_type: Set(M::KIND.to_owned()),
            object_id: Set(record.object_id()),
            organization_id: Set(organization_id),
            cause_id: Set(self.cause),
            changes: Set(Value::Object(changed)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        tracing::info!(
            action,
            object = %format_args!("{}:{}", M::KIND, record.object_id()),
            actor = self.author.role,
            token = self.author.token_id,
            volunteer = self.author.volunteer_id,
            entry = entry.id,
            cause = self.cause,
            "write"
        );
        Ok(Some(entry.id))
    }
}

/// The teams listed under a record (a volunteer's), before and after a change: a feed of
/// either team shows the change.
fn listed_teams(sides: [Option<&Map<String, Value>>; 2]) -> Vec<i64> {
    sides
        .into_iter()
        .flatten()
        .filter_map(|fields| fields.get("teams")?.as_array())
        .flatten()
        .filter_map(|team| team.get("team_id")?.as_i64())
        .collect()
}

/// Each column of a record with its value as JSON.
fn fields<M>(model: &M) -> Map<String, Value>
where
    M: ModelTrait,
    <M::Entity as EntityTrait>::Column: Iterable,
{
    <M::Entity as EntityTrait>::Column::iter()
        .map(|column| (column.as_str().to_owned(), json_of(&model.get(column))))
        .collect()
}

/// A stored value as JSON: instants in RFC 3339, binary content by its size only.
fn json_of(value: &sea_orm::Value) -> Value {
    use sea_orm::Value as V;
    match value {
        V::ChronoDateTimeUtc(Some(at)) => Value::String(at.to_rfc3339()),
        V::ChronoDate(Some(day)) => Value::String(day.to_string()),
        V::Bytes(Some(bytes)) => Value::String(format!("{} bytes", bytes.len())),
        other => sea_orm::sea_query::sea_value_to_json_value(other),
    }
}

/// The organization an owner leads to.
async fn organization_of(txn: &DatabaseTransaction, owner: Owner) -> Result<Option<i64>> {
    use entity::prelude::{Activity, Plan, Session, Webhook};
    use entity::{activity, plan, session, webhook};
    match owner {
        Owner::Organization(id) => Ok(Some(id)),
        Owner::Nobody => Ok(None),
        Owner::Plan(id) => Ok(Plan::find_by_id(id)
            .select_only()
            .column(plan::Column::OrganizationId)
            .into_tuple::<i64>()
            .one(txn)
            .await?),
        Owner::Webhook(id) => Ok(Webhook::find_by_id(id)
            .select_only()
            .column(webhook::Column::OrganizationId)
            .into_tuple::<i64>()
            .one(txn)
            .await?),
        Owner::Session(id) => Ok(Activity::find()
            .select_only()
            .column(activity::Column::OrganizationId)
            .filter(
                activity::Column::Id.in_subquery(
                    Query::select()
                        .column(session::Column::ActivityId)
                        .from(Session)
                        .and_where(session::Column::Id.eq(id))
                        .to_owned(),
                ),
            )
            .into_tuple::<i64>()
            .one(txn)
            .await?),
    }
}

/// Each kind of record the API writes, with its name in the trail and its owner.
macro_rules! audited {
    ($($entity:ident => $kind:literal, |$model:ident| $owner:expr, $touches:expr;)*) => {$(
        impl Audited for entity::$entity::Model {
            const KIND: &'static str = $kind;

            fn object_id(&self) -> i64 {
                self.id
            }

            fn owner(&self) -> Owner {
                let $model = self;
                $owner
            }

            #[allow(unused_variables, reason = "records that touch every feed or none")]
            fn touches(&self) -> Touch {
                let $model = self;
                $touches
            }
        }
    )*};
}

audited! {
    organization => "organization", |m| Owner::Organization(m.id), Touch::Everything;
    venue => "venue", |m| m.organization_id.map_or(Owner::Nobody, Owner::Organization), Touch::Everything;
    program => "program", |m| Owner::Organization(m.host_organization_id), Touch::Everything;
    activity => "activity", |m| Owner::Organization(m.organization_id), Touch::Everything;
    session => "session", |m| Owner::Session(m.id), Touch::Session {
        id: m.id,
        program: m.program_id,
        activity: m.activity_id,
        venue: m.venue_id,
    };
    session_role => "session_role", |m| Owner::Session(m.session_id), Touch::SessionId(m.session_id);
    assignment => "assignment", |m| Owner::Session(m.session_id), Touch::Volunteer(m.volunteer_id);
    team => "team", |m| Owner::Organization(m.organization_id), Touch::Everything;
    volunteer => "volunteer", |m| Owner::Organization(m.organization_id), Touch::Volunteer(m.id);
    api_token => "token", |m| m.organization_id.map_or(Owner::Nobody, Owner::Organization), Touch::Nothing;
    webhook => "webhook", |m| Owner::Organization(m.organization_id), Touch::Nothing;
    delivery => "delivery", |m| Owner::Webhook(m.webhook_id), Touch::Nothing;
    plan => "plan", |m| Owner::Organization(m.organization_id), Touch::Nothing;
    plan_attachment => "plan_attachment", |m| Owner::Plan(m.plan_id), Touch::Nothing;
    plan_extension => "plan_extension", |m| Owner::Organization(m.organization_id), Touch::Organization(m.organization_id);
}

/// Which entries a list shows.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Of this kind of record…
    pub object_type: Option<String>,
    /// …with this id.
    pub object_id: Option<i64>,
    /// Made with this token.
    pub token_id: Option<i64>,
    /// By this kind of actor.
    pub actor_role: Option<String>,
    /// This action.
    pub action: Option<String>,
    /// Following from this entry.
    pub cause_id: Option<i64>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Only entries of records of organizations under this path (organizers).
    pub within: Option<String>,
}

/// Entries, newest first.
pub async fn list(conn: &impl ConnectionTrait, filter: &AuditFilter, page: &PageRequest) -> Result<Page<Model>> {
    let mut query = Entity::find().order_by_desc(Column::Id).limit(page.limit + 1);
    if let Some(Cursor::Id(before)) = page.after {
        query = query.filter(Column::Id.lt(before));
    }
    if let Some(kind) = &filter.object_type {
        query = query.filter(Column::ObjectType.eq(kind.as_str()));
    }
    if let Some(id) = filter.object_id {
        query = query.filter(Column::ObjectId.eq(id));
    }
    if let Some(id) = filter.token_id {
        query = query.filter(Column::TokenId.eq(id));
    }
    if let Some(role) = &filter.actor_role {
        query = query.filter(Column::ActorRole.eq(role.as_str()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(cause) = filter.cause_id {
        query = query.filter(Column::CauseId.eq(cause));
    }
    if let Some(from) = filter.from {
        query = query.filter(Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::At.lt(to));
    }
    if let Some(path) = &filter.within {
        query = query.filter(
            Column::OrganizationId.in_subquery(
                Query::select()
                    .column(entity::organization::Column::Id)
                    .from(entity::prelude::Organization)
                    .and_where(entity::organization::Column::Path.starts_with(path.as_str()))
                    .to_owned(),
            ),
        );
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Removes up to `limit` entries older than `before`; returns how many.
pub async fn prune(txn: &DatabaseTransaction, before: DateTime<Utc>, limit: u64) -> Result<u64> {
    let oldest: Vec<i64> = Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::At.lt(before))
        .order_by_asc(Column::Id)
        .limit(limit)
        .into_tuple()
        .all(txn)
        .await?;
    if oldest.is_empty() {
        return Ok(0);
    }
    let removed = Entity::delete_many().filter(Column::Id.is_in(oldest)).exec(txn).await?;
    Ok(removed.rows_affected)
}
