//! `api_tokens`: bearer tokens, stored as SHA-256 digests only.

use sea_orm::entity::prelude::*;

use crate::kinds::Role;

/// One token. The secret itself is shown once at creation and never stored.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub organization_id: Option<i64>,
    /// Hex SHA-256 of the whole token.
    #[sea_orm(unique)]
    pub secret_hash: String,
    /// The first characters of the token, so people can tell their tokens apart.
    pub prefix: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// For volunteer tokens: whose assignments they see.
    pub volunteer_id: Option<i64>,
    /// When the token stops working, if ever.
    pub expires_at: Option<DateTimeUtc>,
    /// When it was last presented (to the minute: uses are recorded at most once a minute).
    pub last_used_at: Option<DateTimeUtc>,
    #[sea_orm(belongs_to, from = "organization_id", to = "id")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
