//! The JSON document that `sciday import` reads and `sciday export` writes.
//!
//! Records refer to each other by `key`, never by database id, so a file means the same on
//! every database and importing it twice changes nothing.

use chrono::NaiveDate;
use entity::kinds::{ActivityKind, OrganizationKind, SessionStatus, VenueKind};
use serde::{Deserialize, Serialize};

/// The format this version writes and reads.
pub const FORMAT: &str = "sciday/1";

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
}

/// An organization; `parent` is another organization's key.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationRecord {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub kind: OrganizationKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    #[serde(default, skip_serializing_if = "ContactRecord::is_empty")]
    pub contact: ContactRecord,
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
    #[serde(default, skip_serializing_if = "is_false")]
    pub illustrative: bool,
}

/// A program; `host_organization` is an organization's key.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramRecord {
    pub key: String,
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
}

fn yes() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn scheduled() -> SessionStatus {
    SessionStatus::Scheduled
}

fn is_scheduled(status: &SessionStatus) -> bool {
    *status == SessionStatus::Scheduled
}
