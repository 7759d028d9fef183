//! `page_actions`: the answer a personal page gave for each idempotency key.

use sea_orm::entity::prelude::*;

/// One action taken from a volunteer's or team leader's page. `key` is unique per volunteer
/// (the one whose page it was); `answer` is the JSON the page was given.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "page_actions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub key: String,
    pub action: String,
    pub assignment_id: i64,
    pub status: i32,
    pub answer: String,
    pub created_at: DateTimeUtc,
    #[sea_orm(belongs_to, from = "volunteer_id", to = "id")]
    pub volunteer: BelongsTo<super::volunteer::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
