//! The JSON document that `sciday import` reads and `sciday export` writes.
//!
//! Records refer to each other by `key`, never by database id, so a file means the same on
//! every database and importing it twice changes nothing.
//!
//! `sciday export` also writes each row's `stored` identity and bookkeeping, and the records
//! that have no key (plans, tokens, deliveries): a backup. Into an empty database such a file
//! is restored as it was (see [`super::restore`]); merged into one that holds data, those
//! parts are left out and the rest is upserted by key.

use chrono::{DateTime, NaiveDate, Utc};
use entity::kinds::{ActivityKind, AssignmentStatus, OrganizationKind, SessionStatus, VenueKind};
use serde::{Deserialize, Serialize};

use crate::domain::staffing::{Rule, Violation};

mod backup;

pub use backup::{
    AttachmentRecord, AttemptRecord, DeliveryRecord, ExtensionRecord, PlanRecord, RevisionRecord, ScopeRecord,
    TokenRecord, WebhookRecord,
};

/// The format this version writes.
pub const FORMAT: &str = "sciday/2";

/// The formats this version reads: the first had neither `stored` nor the keyless records.
pub const READS: [&str; 2] = ["sciday/1", FORMAT];

/// A whole program (or several) with everything it refers to.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Always [`FORMAT`].
    pub format: String,
    /// Free text for people reading the file; not imported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(default)]
    pub organizations: Vec<OrganizationRecord>,
    #[serde(default)]
    pub venues: Vec<VenueRecord>,
    #[serde(default)]
    pub programs: Vec<ProgramRecord>,
    #[serde(default)]
    pub activities: Vec<ActivityRecord>,
    #[serde(default)]
    pub sessions: Vec<SessionRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TeamRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volunteers: Vec<VolunteerRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_roles: Vec<RoleRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assignments: Vec<AssignmentRecord>,
    /// API tokens (their hashes only with `--include-secrets`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_tokens: Vec<TokenRecord>,
    /// Preparation plans with their revisions, attachments and review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<PlanRecord>,
    /// More time granted to an organization to submit its plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_extensions: Vec<ExtensionRecord>,
    /// Webhook subscriptions (their secrets only with `--include-secrets`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<WebhookRecord>,
    /// The outbox: messages waiting, and with `--include-deliveries` those already settled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryRecord>,
    /// Each change of a session's time, place or status, oldest first (its page's history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_changes: Vec<ChangeRecord>,
    /// The audit trail, oldest first, as it was kept (personal data already masked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_entries: Vec<AuditRecord>,
}

/// One entry of the audit trail. Records are named by id, as a backup restores them.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volunteer_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_id: Option<i64>,
    pub changes: serde_json::Value,
}

impl From<entity::audit_entry::Model> for AuditRecord {
    fn from(e: entity::audit_entry::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_role: e.actor_role,
            token_id: e.token_id,
            volunteer_id: e.volunteer_id,
            request_id: e.request_id,
            action: e.action,
            object_type: e.object_type,
            object_id: e.object_id,
            organization_id: e.organization_id,
            cause_id: e.cause_id,
            changes: e.changes,
        }
    }
}

/// One change of a session.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRecord {
    /// The session's key.
    pub session: String,
    /// The session's SEQUENCE after the change.
    pub sequence: i32,
    pub changed_at: DateTime<Utc>,
    /// The session before.
    pub old: ChangeSide,
    /// The session after.
    pub new: ChangeSide,
    /// The change was the session's deletion.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

/// A session's time, place and status on one side of a change.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSide {
    #[serde(default, skip_serializing_if = "is_false")]
    pub all_day: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The venue's key.
    pub venue: String,
    pub status: SessionStatus,
}

/// A row as it was stored: its id (which the API's addresses and feed links use), its
/// version (the ETag) and its timestamps. Written by `export`; read by a restore into an
/// empty database, ignored when merging.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Stored {
    pub id: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An organization; `parent` is another organization's key.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub kind: OrganizationKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    #[serde(default, skip_serializing_if = "ContactRecord::is_empty")]
    pub contact: ContactRecord,
    /// Expected to submit a preparation plan (county associations always are).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plan_expected: bool,
}

/// A contact.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl ContactRecord {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A venue; `organization` is an organization's key.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VenueRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub kind: VenueKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// Other organizations of the owner's programs may schedule here.
    #[serde(default, skip_serializing_if = "is_false")]
    pub shared: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub illustrative: bool,
}

/// A program; `host_organization` is an organization's key.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    pub time_zone: String,
    pub host_organization: String,
    /// RFC 3339 with offset, or a local time in `time_zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_deadline: Option<String>,
}

/// An activity; `program` and `organization` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub program: String,
    pub kind: ActivityKind,
    #[serde(default)]
    pub display_order: i32,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub organization: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_kinds: Vec<String>,
    #[serde(default = "yes")]
    pub public: bool,
}

/// A session; `activity`, `venue` and `linked_session` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub activity: String,
    pub venue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Defaults to the venue's zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub all_day: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    #[serde(default = "scheduled", skip_serializing_if = "is_scheduled")]
    pub status: SessionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_session: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub illustrative: bool,
    /// The iCalendar SEQUENCE its calendar event has reached (calendars ignore an update
    /// whose number goes back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i32>,
    /// When it was deleted: kept a while so calendars learn of it. Not merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A volunteer team; `organization` is an organization's key, `parent` a team's.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TeamRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub organization: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A volunteer; `organization` and each membership's `team` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolunteerRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub organization: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<MembershipRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifications: Vec<QualificationRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<UnavailableRecord>,
    /// The secret part of the personal feed's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_token: Option<String>,
    /// The secret part of the personal page's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

/// A team membership.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipRecord {
    pub team: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub leader: bool,
}

/// A qualification, valid on the days given (inclusive).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QualificationRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
}

/// A time the volunteer cannot serve (RFC 3339 with offset).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UnavailableRecord {
    /// Its id, which flags name (`unavailability_id`); restored, never merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a session needs; `session` and `team` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub session: String,
    pub name: String,
    pub needed: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualifications: Vec<String>,
}

/// A volunteer in a role; `role` and `volunteer` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<Stored>,
    pub role: String,
    pub volunteer: String,
    pub status: AssignmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// RFC 3339 with offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<String>,
    /// Rules an admin set aside to place it. Restored as they were; a merge judges anew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<OverrideRecord>,
    /// The rules a later change made it break (a flag for organizers to look at).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Violation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged_at: Option<DateTime<Utc>>,
}

/// Rules set aside for one assignment, why, and by whom (an API token's id).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRecord {
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<i64>,
}

fn yes() -> bool {
    true
}

pub(super) fn is_false(value: &bool) -> bool {
    !*value
}

fn scheduled() -> SessionStatus {
    SessionStatus::Scheduled
}

fn is_scheduled(status: &SessionStatus) -> bool {
    *status == SessionStatus::Scheduled
}
