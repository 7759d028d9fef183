//! Queries on `volunteers` and what belongs to each: team memberships, qualifications and
//! unavailability windows. The three lists are written together with the volunteer and
//! replaced as a whole, so a volunteer's version covers all of them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::prelude::{Qualification, TeamMembership, Unavailability};
use entity::volunteer::{ActiveModel, Column, Entity, Model};
use entity::{qualification, team_membership, unavailability};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::reach::{self, Reach};
use super::record::{self, Fields, Versioned};
use super::uses::Referenced;
use super::{Cursor, Page, PageRequest, teams};
use crate::domain::field::{Checked, FieldError, one};
use crate::domain::key::Key;
use crate::domain::text;
use crate::domain::time::{TimeInput, TimeWindow, check_date};
use crate::error::{Error, Result};
use crate::validate;

/// The validated, writable fields of a volunteer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolunteerFields {
    pub name: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub organization_id: i64,
    pub tags: Vec<String>,
}

impl Fields<ActiveModel> for VolunteerFields {
    fn of(model: &Model) -> Self {
        Self {
            name: model.name.clone(),
            mobile: model.mobile.clone(),
            email: model.email.clone(),
            organization_id: model.organization_id,
            tags: tags(model),
        }
    }

    fn write_to(self, row: &mut ActiveModel) {
        row.name = Set(self.name);
        row.mobile = Set(self.mobile);
        row.email = Set(self.email);
        row.organization_id = Set(self.organization_id);
        row.tags = Set(serde_json::Value::from(self.tags));
    }
}

/// The tags stored on a volunteer.
pub fn tags(model: &Model) -> Vec<String> {
    serde_json::from_value(model.tags.clone()).unwrap_or_default()
}

/// A team membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Membership {
    pub team_id: i64,
    pub leader: bool,
}

/// A qualification and its validity.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Held {
    pub name: String,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// A time the volunteer cannot serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Away {
    pub window: TimeWindow,
    pub reason: Option<String>,
}

/// Everything listed under a volunteer, in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Details {
    pub teams: Vec<Membership>,
    pub qualifications: Vec<Held>,
    pub unavailable: Vec<Away>,
}

impl Details {
    /// The lists as fields of the audit trail: `teams`, `qualifications`, `unavailable`.
    pub fn audited(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let normalized = self.clone().normalized();
        let teams: Vec<_> = normalized
            .teams
            .iter()
            .map(|m| json!({"team_id": m.team_id, "leader": m.leader}))
            .collect();
        let qualifications: Vec<_> = normalized
            .qualifications
            .iter()
            .map(|q| json!({"name": q.name, "valid_from": q.valid_from, "valid_until": q.valid_until}))
            .collect();
        let unavailable: Vec<_> = normalized
            .unavailable
            .iter()
            .map(|a| json!({"starts_at": a.window.start(), "ends_at": a.window.end(), "reason": a.reason}))
            .collect();
        serde_json::Map::from_iter([
            ("teams".to_owned(), json!(teams)),
            ("qualifications".to_owned(), json!(qualifications)),
            ("unavailable".to_owned(), json!(unavailable)),
        ])
    }

    /// The same lists, sorted, so equal contents compare equal.
    pub fn normalized(mut self) -> Self {
        self.teams.sort();
        self.teams.dedup_by_key(|m| m.team_id);
        self.qualifications.sort();
        self.qualifications.dedup();
        self.unavailable.sort_by_key(|a| (a.window.start(), a.window.end()));
        self
    }
}

impl Held {
    /// Checks one qualification as given; problems are reported under `field`.
    pub fn parse(
        field: &str,
        name: &str,
        valid_from: Option<NaiveDate>,
        valid_until: Option<NaiveDate>,
    ) -> Checked<Self> {
        validate! {
            name = one(text::required(&format!("{field}.name"), name, 64)),
            valid_from = one(valid_from.map(|d| check_date(&format!("{field}.valid_from"), d)).transpose()),
            valid_until = one(valid_until.map(|d| check_date(&format!("{field}.valid_until"), d)).transpose()),
        }
        if valid_from.zip(valid_until).is_some_and(|(from, until)| until < from) {
            return Err(vec![FieldError::new(
                format!("{field}.valid_until"),
                "end_before_start",
                "must not be before valid_from",
            )]);
        }
        Ok(Self {
            name,
            valid_from,
            valid_until,
        })
    }
}

impl Away {
    /// Checks one unavailability window as given (instants with offsets).
    pub fn parse(field: &str, starts_at: &str, ends_at: &str, reason: Option<&str>) -> Checked<Self> {
        validate! {
            start = one(TimeInput::instant(&format!("{field}.starts_at"), starts_at)),
            end = one(TimeInput::instant(&format!("{field}.ends_at"), ends_at)),
            reason = one(text::optional(&format!("{field}.reason"), reason, 200)),
        }
        let window = TimeWindow::new(start, end).map_err(|e| vec![e.within(field)])?;
        Ok(Self { window, reason })
    }
}

/// Checks every item of a list, reporting all problems.
pub fn parse_all<I, T>(items: &[I], parse: impl Fn(usize, &I) -> Checked<T>) -> Checked<Vec<T>> {
    let mut parsed = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match parse(i, item) {
            Ok(value) => parsed.push(value),
            Err(e) => problems.extend(e),
        }
    }
    if problems.is_empty() { Ok(parsed) } else { Err(problems) }
}

/// Filters of the volunteer list.
#[derive(Clone, Debug, Default)]
pub struct VolunteerFilter {
    /// Of this organization or one below it (by path).
    pub organization_path: Option<String>,
    /// Members of this team or one below it (by path).
    pub team_path: Option<String>,
    /// With this tag.
    pub tag: Option<String>,
    /// By name and last change.
    pub search: super::Search,
}

/// One volunteer by id, if the caller may see them (a 404 otherwise, as for one that does not
/// exist).
pub async fn get_visible(conn: &impl ConnectionTrait, id: i64, reach: &Reach) -> Result<Model> {
    super::found(
        Entity::find_by_id(id)
            .filter(reach::volunteers(reach))
            .one(conn)
            .await?,
        "volunteer",
    )
}

/// One volunteer by id.
pub async fn get(conn: &impl ConnectionTrait, id: i64) -> Result<Model> {
    record::find::<ActiveModel>(conn, id).await
}

/// One volunteer by id, locked until the transaction ends (PostgreSQL).
pub async fn get_for_update(txn: &DatabaseTransaction, id: i64) -> Result<Model> {
    record::find_for_update::<ActiveModel>(txn, id).await
}

/// One volunteer by key.
pub async fn by_key(conn: &impl ConnectionTrait, key: &str) -> Result<Option<Model>> {
    record::find_by_key::<ActiveModel>(conn, key).await
}

/// The volunteer whose personal calendar `token` opens.
pub async fn by_feed_token(conn: &impl ConnectionTrait, token: &str) -> Result<Option<Model>> {
    Ok(Entity::find().filter(Column::FeedToken.eq(token)).one(conn).await?)
}

/// The volunteer whose personal page `token` opens.
pub async fn by_page_token(conn: &impl ConnectionTrait, token: &str) -> Result<Option<Model>> {
    Ok(Entity::find().filter(Column::PageToken.eq(token)).one(conn).await?)
}

/// A secret address of a volunteer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The personal calendar feed.
    Feed,
    /// The personal page (and the pages of the teams they lead).
    Page,
}

/// Gives the volunteer a new token for `link`; the old address stops working at once.
pub async fn renew(txn: &DatabaseTransaction, current: Model, link: Link, now: DateTime<Utc>) -> Result<Model> {
    let version = current.version + 1;
    let mut row: ActiveModel = current.into();
    let token = Set(Some(crate::auth::feed_token()));
    match link {
        Link::Feed => row.feed_token = token,
        Link::Page => row.page_token = token,
    }
    row.stamp(version, now);
    Ok(row.update(txn).await?)
}

/// One volunteer with the path of their organization, in one query.
pub async fn with_home(conn: &impl ConnectionTrait, id: i64) -> Result<(Model, String)> {
    let row = Entity::find_by_id(id)
        .find_also_related(entity::prelude::Organization)
        .one(conn)
        .await?;
    match row {
        Some((volunteer, Some(organization))) => Ok((volunteer, organization.path)),
        _ => Err(Error::NotFound("volunteer")),
    }
}

/// Several volunteers by id.
pub async fn many(conn: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?)
}

/// Locks volunteers in id order, so transactions that lock several never deadlock.
pub async fn lock(txn: &DatabaseTransaction, ids: &[i64]) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        // Only the ids come back: the lock is the point, not the rows.
        let _: Vec<i64> = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.is_in(chunk.iter().copied()))
            .order_by_asc(Column::Id)
            .lock_exclusive()
            .into_tuple()
            .all(txn)
            .await?;
    }
    Ok(())
}

/// A page of volunteers in id order.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &VolunteerFilter,
    reach: &Reach,
    page: &PageRequest,
) -> Result<Page<Model>> {
    let query = Entity::find()
        .filter(reach::volunteers(reach))
        .order_by_asc(Column::Id)
        .limit(page.limit + 1);
    let mut query = filter.search.apply(query, &[Column::Name], Column::UpdatedAt);
    if let Some(path) = &filter.organization_path {
        query = query.filter(Column::OrganizationId.in_subquery(super::activities::organizations_within(path)));
    }
    if let Some(path) = &filter.team_path {
        query = query.filter(Column::Id.in_subquery(teams::members_within(path)));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(has_tag(conn.get_database_backend(), tag));
    }
    if let Some(Cursor::Id(after)) = page.after {
        query = query.filter(Column::Id.gt(after));
    }
    let rows = query.all(conn).await?;
    Ok(Page::from_rows(rows, page.limit, |row| Cursor::Id(row.id)))
}

/// Volunteers whose tags (a JSON list) hold `tag`, in each database's JSON functions: the
/// filter belongs in the query, before the page's limit, or pages come back short.
fn has_tag(backend: sea_orm::DatabaseBackend, tag: &str) -> sea_orm::sea_query::Expr {
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "EXISTS (SELECT 1 FROM json_array_elements_text(volunteers.tags) AS tag(value) WHERE tag.value = $1)"
        }
        _ => "EXISTS (SELECT 1 FROM json_each(volunteers.tags) WHERE json_each.value = ?)",
    };
    sea_orm::sea_query::Expr::cust_with_values(sql, [tag.to_owned()])
}

/// The details of each of `volunteers`.
pub async fn details(conn: &impl ConnectionTrait, volunteers: &[i64]) -> Result<HashMap<i64, Details>> {
    let mut all: HashMap<i64, Details> = volunteers.iter().map(|id| (*id, Details::default())).collect();
    for chunk in volunteers.chunks(500) {
        let ids = chunk.iter().copied();
        for m in TeamMembership::find()
            .filter(team_membership::Column::VolunteerId.is_in(ids.clone()))
            .all(conn)
            .await?
        {
            if let Some(d) = all.get_mut(&m.volunteer_id) {
                d.teams.push(Membership {
                    team_id: m.team_id,
                    leader: m.leader,
                });
            }
        }
        for q in Qualification::find()
            .filter(qualification::Column::VolunteerId.is_in(ids.clone()))
            .all(conn)
            .await?
        {
            if let Some(d) = all.get_mut(&q.volunteer_id) {
                d.qualifications.push(Held {
                    name: q.name,
                    valid_from: q.valid_from,
                    valid_until: q.valid_until,
                });
            }
        }
        for u in Unavailability::find()
            .filter(unavailability::Column::VolunteerId.is_in(ids))
            .all(conn)
            .await?
        {
            if let Some(d) = all.get_mut(&u.volunteer_id) {
                d.unavailable.push(Away {
                    window: TimeWindow::from_stored(u.starts_at, u.ends_at),
                    reason: u.reason,
                });
            }
        }
    }
    Ok(all.into_iter().map(|(id, d)| (id, d.normalized())).collect())
}

/// Creates a volunteer with their memberships, qualifications and unavailability.
pub async fn insert(
    txn: &DatabaseTransaction,
    key: Key,
    fields: VolunteerFields,
    details: Details,
    now: DateTime<Utc>,
) -> Result<Model> {
    let row = ActiveModel {
        key: Set(key.as_str().to_owned()),
        feed_token: Set(Some(crate::auth::feed_token())),
        page_token: Set(Some(crate::auth::feed_token())),
        ..Default::default()
    };
    let volunteer = record::create(txn, key.as_str(), row, fields, now).await?;
    write_details(txn, volunteer.id, details.normalized()).await?;
    Ok(volunteer)
}

/// Applies new fields and, when given, new details (each list replaced whole). Returns the
/// row unchanged when nothing differs.
pub async fn update(
    txn: &DatabaseTransaction,
    current: Model,
    fields: VolunteerFields,
    details: Option<Details>,
    now: DateTime<Utc>,
) -> Result<Model> {
    let stored = self::details(txn, &[current.id])
        .await?
        .remove(&current.id)
        .unwrap_or_default();
    let details = details.map(Details::normalized).filter(|d| *d != stored);
    if details.is_none() {
        return record::save(txn, current, fields, now).await;
    }
    let id = current.id;
    let version = current.version + 1;
    let mut row: ActiveModel = current.into();
    fields.write_to(&mut row);
    row.stamp(version, now);
    let volunteer = row.update(txn).await?;
    if let Some(details) = details {
        let teams_changed = details.teams != stored.teams;
        TeamMembership::delete_many()
            .filter(team_membership::Column::VolunteerId.eq(id))
            .exec(txn)
            .await?;
        Qualification::delete_many()
            .filter(qualification::Column::VolunteerId.eq(id))
            .exec(txn)
            .await?;
        Unavailability::delete_many()
            .filter(unavailability::Column::VolunteerId.eq(id))
            .exec(txn)
            .await?;
        write_details(txn, id, details).await?;
        if teams_changed {
            // Team subscriptions now cover (or no longer cover) the sessions they serve at.
            super::reminders::teams_changed(txn, id, now).await?;
        }
    }
    Ok(volunteer)
}

async fn write_details(txn: &DatabaseTransaction, volunteer_id: i64, details: Details) -> Result<()> {
    if !details.teams.is_empty() {
        TeamMembership::insert_many(details.teams.iter().map(|m| team_membership::ActiveModel {
            team_id: Set(m.team_id),
            volunteer_id: Set(volunteer_id),
            leader: Set(m.leader),
        }))
        .exec(txn)
        .await?;
    }
    if !details.qualifications.is_empty() {
        Qualification::insert_many(details.qualifications.into_iter().map(|q| qualification::ActiveModel {
            volunteer_id: Set(volunteer_id),
            name: Set(q.name),
            valid_from: Set(q.valid_from),
            valid_until: Set(q.valid_until),
            ..Default::default()
        }))
        .exec(txn)
        .await?;
    }
    if !details.unavailable.is_empty() {
        Unavailability::insert_many(details.unavailable.into_iter().map(|a| unavailability::ActiveModel {
            volunteer_id: Set(volunteer_id),
            starts_at: Set(a.window.start()),
            ends_at: Set(a.window.end()),
            reason: Set(a.reason),
            ..Default::default()
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

/// Deletes a volunteer who was never assigned (assignments are history and stay).
pub async fn delete(txn: &DatabaseTransaction, model: Model, now: DateTime<Utc>) -> Result<()> {
    super::uses::refuse_if_used(txn, Referenced::Volunteer, model.id, "volunteer").await?;
    // A volunteer's tokens end with them: no later record may inherit what they allowed.
    super::tokens::revoke_for_volunteer(txn, model.id, now).await?;
    Entity::delete_by_id(model.id).exec(txn).await?;
    Ok(())
}

/// The members of the team at `path` and of the teams below it, each once, in id order.
pub async fn members_below(conn: &impl ConnectionTrait, path: &str) -> Result<Vec<Model>> {
    Ok(Entity::find()
        .filter(Column::Id.in_subquery(super::teams::members_within(path)))
        .order_by_asc(Column::Id)
        .all(conn)
        .await?)
}
