//! The program's own records in an import merged by key: organizations, venues, programs,
//! activities and sessions, each checked field by field and created or updated (with its entry in
//! the audit trail) only when something differs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

use super::format::{ActivityRecord, ContactRecord, OrganizationRecord, ProgramRecord, SessionRecord, VenueRecord};
use super::import::{Tally, missing};
use crate::domain::contact::{Contact, ContactInput};
use crate::domain::field::{FieldError, one};
use crate::domain::geo::Position;
use crate::domain::key::Key;
use crate::domain::text::{self, DESCRIPTION_MAX, NAME_MAX};
use crate::domain::time::{Schedule, ScheduleInput, TimeInput, check_date};
use crate::domain::web::http_url;
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::activities::ActivityFields;
use crate::store::audit::Audit;
use crate::store::organizations::OrganizationFields;
use crate::store::programs::ProgramFields;
use crate::store::sessions::SessionFields;
use crate::store::venues::VenueFields;
use crate::store::{Policy, activities, organizations, programs, sessions, venues};
use crate::validate;

/// Venues and activities already met, so sessions need not look them up again.
pub(super) struct References {
    pub venues: HashMap<String, entity::venue::Model>,
    pub activities: HashMap<String, entity::activity::Model>,
}

pub(super) async fn organization(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &OrganizationRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    let (key, fields) = organization_fields(record)?;
    let parent = match &record.parent {
        Some(parent) => Some(
            organizations::by_key(txn, parent)
                .await?
                .ok_or_else(|| missing("parent", "organization", parent))?,
        ),
        None => None,
    };
    match organizations::by_key(txn, key.as_str()).await? {
        None => {
            let row = organizations::insert(txn, key, parent.as_ref(), fields, now).await?;
            audit.created(txn, &row).await?;
            tally.count(true, None, 1);
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = organizations::update(txn, current, Some(parent.as_ref()), fields, now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

/// An organization's key and fields, checked.
pub(super) fn organization_fields(record: &OrganizationRecord) -> Result<(Key, OrganizationFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        short_name = one(text::optional("short_name", record.short_name.as_deref(), 64)),
        contact = contact(&record.contact),
    }
    let fields = OrganizationFields {
        kind: record.kind,
        name,
        short_name,
        contact,
        plan_expected: record.plan_expected,
    };
    Ok((key, fields))
}

fn contact(record: &ContactRecord) -> Result<Contact, Vec<FieldError>> {
    Contact::parse(
        "contact",
        ContactInput {
            name: record.name.as_deref(),
            office_phone: record.office_phone.as_deref(),
            mobile: record.mobile.as_deref(),
            fax: record.fax.as_deref(),
            email: record.email.as_deref(),
        },
    )
}

pub(super) async fn venue(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &VenueRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<entity::venue::Model> {
    let organization_id = match &record.organization {
        Some(key) => Some(organization_id(txn, "organization", key).await?),
        None => None,
    };
    let (key, fields) = venue_fields(record, organization_id)?;
    Ok(match venues::by_key(txn, key.as_str()).await? {
        None => {
            tally.count(true, None, 1);
            let row = venues::insert(txn, key, fields, now).await?;
            audit.created(txn, &row).await?;
            row
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = venues::update(txn, current, fields, now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
            row
        }
    })
}

/// A venue's key and fields, checked.
pub(super) fn venue_fields(record: &VenueRecord, organization_id: Option<i64>) -> Result<(Key, VenueFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        address = one(text::optional("address", record.address.as_deref(), 500)),
        position = Position::parse(record.latitude, record.longitude),
        zone = one(Zone::parse("time_zone", &record.time_zone)),
    }
    let fields = VenueFields {
        name,
        address,
        kind: record.kind,
        position,
        zone,
        organization_id,
        shared: record.shared,
        illustrative: record.illustrative,
    };
    Ok((key, fields))
}

pub(super) async fn program(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &ProgramRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<()> {
    let host = organization_id(txn, "host_organization", &record.host_organization).await?;
    let (key, fields) = program_fields(record, host)?;
    match programs::by_key(txn, key.as_str()).await? {
        None => {
            let row = programs::insert(txn, key, fields, now).await?;
            audit.created(txn, &row).await?;
            tally.count(true, None, 1);
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = programs::update(txn, current, fields, now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

/// A program's key and fields, checked.
pub(super) fn program_fields(record: &ProgramRecord, host_organization_id: i64) -> Result<(Key, ProgramFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        name = one(text::required("name", &record.name, NAME_MAX)),
        theme = one(text::optional("theme", record.theme.as_deref(), 500)),
        zone = one(Zone::parse("time_zone", &record.time_zone)),
    }
    validate! {
        plan_deadline = one(
            record
                .plan_deadline
                .as_deref()
                .map(|t| TimeInput::parse("plan_deadline", t).and_then(|t| t.resolve("plan_deadline", zone)))
                .transpose()
        ),
    }
    let fields = ProgramFields {
        name,
        theme,
        zone,
        host_organization_id,
        plan_deadline,
    };
    Ok((key, fields))
}

pub(super) async fn activity(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &ActivityRecord,
    now: DateTime<Utc>,
    tally: &mut Tally,
) -> Result<entity::activity::Model> {
    let program = programs::by_key(txn, &record.program)
        .await?
        .ok_or_else(|| missing("program", "program", &record.program))?;
    let organization = organization_id(txn, "organization", &record.organization).await?;
    let (key, fields) = activity_fields(record, organization)?;
    Ok(match activities::by_key(txn, key.as_str()).await? {
        None => {
            tally.count(true, None, 1);
            let row = activities::insert(txn, key, program.id, fields, now).await?;
            audit.created(txn, &row).await?;
            row
        }
        Some(current) if current.program_id != program.id => {
            return Err(Error::field(
                "program",
                "immutable",
                "an activity cannot move to another program",
            ));
        }
        Some(current) => {
            let (old, before) = (current.version, current.clone());
            let row = activities::update(txn, current, fields, now).await?;
            audit.updated(txn, &before, &row).await?;
            tally.count(false, Some(old), row.version);
            row
        }
    })
}

/// An activity's key and fields, checked.
pub(super) fn activity_fields(record: &ActivityRecord, organization_id: i64) -> Result<(Key, ActivityFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        title = one(text::required("title", &record.title, NAME_MAX)),
        description = one(text::optional_multiline("description", record.description.as_deref(), DESCRIPTION_MAX)),
        service_kinds = one(text::labels("service_kinds", &record.service_kinds, 16, 32)),
    }
    let fields = ActivityFields {
        kind: record.kind,
        display_order: record.display_order,
        title,
        description,
        organization_id,
        service_kinds,
        public: record.public,
    };
    Ok((key, fields))
}

pub(super) async fn session(
    txn: &DatabaseTransaction,
    audit: &Audit,
    record: &SessionRecord,
    references: &mut References,
    policy: Policy,
    tally: &mut Tally,
) -> Result<()> {
    let now = policy.now;
    let activity = match references.activities.get(&record.activity) {
        Some(activity) => activity.clone(),
        None => activities::by_key(txn, &record.activity)
            .await?
            .ok_or_else(|| missing("activity", "activity", &record.activity))?,
    };
    let venue = match references.venues.get(&record.venue) {
        Some(venue) => venue.clone(),
        None => {
            let venue = venues::by_key(txn, &record.venue)
                .await?
                .ok_or_else(|| missing("venue", "venue", &record.venue))?;
            references.venues.insert(venue.key.clone(), venue.clone());
            venue
        }
    };
    let linked_session_id = match &record.linked_session {
        Some(key) => Some(
            sessions::by_key(txn, key)
                .await?
                .filter(|s| s.deleted_at.is_none())
                .ok_or_else(|| missing("linked_session", "session", key))?
                .id,
        ),
        None => None,
    };
    let (key, fields) = session_fields(record, venue.id, Zone::from_stored(&venue.time_zone), linked_session_id)?;
    match sessions::by_key(txn, key.as_str()).await? {
        None => {
            let row = sessions::insert(txn, key, &activity, fields, now).await?;
            audit.created(txn, &row).await?;
            tally.count(true, None, 1);
        }
        Some(current) if current.activity_id != activity.id => {
            return Err(Error::field(
                "activity",
                "immutable",
                "a session cannot move to another activity",
            ));
        }
        Some(current) => {
            let old = current.version;
            let row = sessions::replace(txn, current, fields, policy, audit).await?;
            tally.count(false, Some(old), row.version);
        }
    }
    Ok(())
}

/// A session's key and fields, checked; its times default to its venue's zone.
pub(super) fn session_fields(
    record: &SessionRecord,
    venue_id: i64,
    venue_zone: Zone,
    linked_session_id: Option<i64>,
) -> Result<(Key, SessionFields)> {
    validate! {
        key = one(Key::parse("key", &record.key)),
        title = one(text::optional("title", record.title.as_deref(), NAME_MAX)),
        description = one(text::optional_multiline("description", record.description.as_deref(), DESCRIPTION_MAX)),
        zone = one(record.time_zone.as_deref().map(|z| Zone::parse("time_zone", z)).transpose()),
        starts_at = one(record.starts_at.as_deref().map(|t| TimeInput::parse("starts_at", t)).transpose()),
        ends_at = one(record.ends_at.as_deref().map(|t| TimeInput::parse("ends_at", t)).transpose()),
        start_date = one(record.start_date.map(|d| check_date("start_date", d)).transpose()),
        end_date = one(record.end_date.map(|d| check_date("end_date", d)).transpose()),
        video_url = one(record.video_url.as_deref().map(|u| http_url("video_url", u)).transpose()),
    }
    let input = ScheduleInput {
        zone,
        all_day: Some(record.all_day),
        starts_at,
        ends_at,
        start_date,
        end_date,
    };
    validate! {
        schedule = Schedule::create(input, venue_zone),
    }
    if record.capacity.is_some_and(|c| c < 0) {
        return Err(Error::field("capacity", "out_of_range", "must not be negative"));
    }
    let fields = SessionFields {
        venue_id,
        title,
        description,
        schedule,
        status: record.status,
        capacity: record.capacity,
        video_url,
        linked_session_id,
        illustrative: record.illustrative,
    };
    Ok((key, fields))
}

async fn organization_id(txn: &DatabaseTransaction, field: &str, key: &str) -> Result<i64> {
    organizations::by_key(txn, key)
        .await?
        .map(|o| o.id)
        .ok_or_else(|| missing(field, "organization", key))
}
