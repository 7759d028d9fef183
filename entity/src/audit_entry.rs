//! `audit_entries`: the trail of every write made through the API, the pages or the command
//! line.

use sea_orm::entity::prelude::*;

/// One change to one record. `actor_role` is `admin`, `organizer` or `volunteer` (with the
/// token's id), `page` (a volunteer acting from their personal page, with the volunteer's id)
/// or `cli`. `changes` maps each changed field to `{"old": …, "new": …}`, personal data
/// masked and secrets redacted. `cause_id` ties an entry to the one whose change caused it
/// (a session that moved with its linked slot).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_role: String,
    pub token_id: Option<i64>,
    pub volunteer_id: Option<i64>,
    pub request_id: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: i64,
    pub organization_id: Option<i64>,
    pub cause_id: Option<i64>,
    pub changes: Json,
}

impl ActiveModelBehavior for ActiveModel {}
