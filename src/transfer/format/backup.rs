//! The records a backup holds beside the program itself: tokens, plans, extensions, webhook
//! subscriptions and the outbox. They have no key of their own, so they are restored into an
//! empty database with their ids, never merged.

use chrono::{DateTime, Utc};
use entity::kinds::{AttachmentKind, AttemptOutcome, DeliveryStatus, PlanReview, Role, WebhookFormat, WebhookScope};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ContactRecord, Stored, is_false};

/// An API token. `secret_hash` (a SHA-256 of the token, never the token) is written only
/// with `--include-secrets`; a token restored without it is restored revoked.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The organization an organizer token acts for (a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The volunteer a volunteer token belongs to (a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volunteer: Option<String>,
    /// The token's first characters, shown to tell tokens apart.
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A preparation plan; `program`, `organization`, `venue` and `session` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRecord {
    pub stored: Stored,
    pub program: String,
    pub organization: String,
    pub activity_name: String,
    pub organizing_unit: String,
    pub venue: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub joins_video_link: bool,
    pub contact: ContactRecord,
    pub text: String,
    /// The number of the current revision.
    pub revision: i32,
    pub review: PlanReview,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The session made from it when it was shortlisted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub revised_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<RevisionRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRecord>,
}

/// One submitted revision of a plan, as it was submitted.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionRecord {
    pub id: i64,
    pub revision: i32,
    pub content: Value,
    pub submitted_at: DateTime<Utc>,
}

/// An uploaded file; `content` is its bytes in standard base64.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRecord {
    pub id: i64,
    pub kind: AttachmentKind,
    pub file_name: String,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

/// More time for one organization to submit its plan; `program` and `organization` are keys.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRecord {
    pub stored: Stored,
    pub program: String,
    pub organization: String,
    pub until: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a subscription covers: a kind and the key of one record of that kind.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeRecord {
    pub kind: WebhookScope,
    pub key: String,
}

/// A webhook subscription; `organization` is a key.
///
/// Without `--include-secrets` its address is written redacted and its secret left out, and
/// `withheld` says so: such a subscription is restored disabled, with a flag asking for its
/// address and secret again.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookRecord {
    pub key: String,
    pub stored: Stored,
    pub organization: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub url: String,
    pub format: WebhookFormat,
    pub scope: ScopeRecord,
    pub events: Value,
    pub offsets: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub withheld: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub mention: bool,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

/// A message in the outbox; `webhook` and `session` are keys, `assignment_id` the id of the
/// assignment it is about (which may since have been removed). A message that
/// was being sent when the backup was made is written as waiting and possibly sent, so the
/// restored service sends it again under the same id.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRecord {
    pub id: i64,
    pub webhook: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_id: Option<i64>,
    pub dedupe_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    pub due_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub maybe_sent: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tries: Vec<AttemptRecord>,
}

/// One attempt to send a message.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttemptRecord {
    pub id: i64,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    pub outcome: AttemptOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}
