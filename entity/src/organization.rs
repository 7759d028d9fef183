//! `organizations`: the association tree (市科协 → 县区科协 / 市级学会 → …).

use sea_orm::entity::prelude::*;

use crate::kinds::OrganizationKind;

/// One organization. `path` is the materialized chain of ancestor ids (`/1/4/`), so a
/// subtree is a prefix match and scope checks need no recursive query.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub key: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub kind: OrganizationKind,
    pub name: String,
    pub short_name: Option<String>,
    pub contact_name: Option<String>,
    pub contact_office_phone: Option<String>,
    pub contact_mobile: Option<String>,
    pub contact_fax: Option<String>,
    pub contact_email: Option<String>,
    /// Expected to submit a preparation plan (county associations always are).
    pub plan_expected: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    #[sea_orm(self_ref, relation_enum = "Parent", from = "parent_id", to = "id")]
    pub parent: BelongsTo<Option<Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
