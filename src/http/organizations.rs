//! `/api/v1/organizations`: the association tree (市科协 → 县区科协 / 市级学会 → …).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::kinds::OrganizationKind;
use entity::organization::Model;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::{AppState, as_field, created, with_etag};
use super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::contact::{Contact, ContactInput, mask_mobile};
use crate::domain::field::{FieldError, one};
use crate::domain::key::Key;
use crate::domain::text::{self, NAME_MAX};
use crate::error::{Error, Result};
use crate::store::Fields as _;
use crate::store::organizations::{self as store, OrganizationFields, OrganizationFilter};
use crate::store::{Cursor, check_version};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(get_organization, update_organization, delete_organization))
}

/// A contact as sent by clients.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// Person, e.g. 张三.
    pub name: Option<String>,
    /// Landline with area code, e.g. 0518-85803554.
    pub office_phone: Option<String>,
    /// Mainland mobile number.
    pub mobile: Option<String>,
    /// Fax with area code.
    pub fax: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
}

impl ContactIn {
    pub(super) fn parse(&self, prefix: &str) -> Result<Contact, Vec<FieldError>> {
        Contact::parse(
            prefix,
            ContactInput {
                name: self.name.as_deref(),
                office_phone: self.office_phone.as_deref(),
                mobile: self.mobile.as_deref(),
                fax: self.fax.as_deref(),
                email: self.email.as_deref(),
            },
        )
    }
}

/// Changes to a contact; each part absent (keep), `null` (clear) or a new value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[serde(default)]
    name: Patch<String>,
    #[serde(default)]
    office_phone: Patch<String>,
    #[serde(default)]
    mobile: Patch<String>,
    #[serde(default)]
    fax: Patch<String>,
    #[serde(default)]
    email: Patch<String>,
}

impl ContactPatch {
    fn apply(self, current: &Contact) -> Result<Contact, Vec<FieldError>> {
        let merged = ContactIn {
            name: self.name.apply(current.name.clone()),
            office_phone: self.office_phone.apply(current.office_phone.clone()),
            mobile: self.mobile.apply(current.mobile.clone()),
            fax: self.fax.apply(current.fax.clone()),
            email: self.email.apply(current.email.clone()),
        };
        merged.parse("contact")
    }
}

/// A contact as shown; the mobile is masked unless the reader manages the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    name: Option<String>,
    office_phone: Option<String>,
    /// Full to admins and organizers of the organization, `138****1234` to everyone else.
    mobile: Option<String>,
    fax: Option<String>,
    email: Option<String>,
}

/// A new organization.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    /// Parent organization; only admins create roots.
    parent_id: Option<i64>,
    kind: OrganizationKind,
    /// Full name, e.g. 连云港市科学技术协会.
    name: String,
    /// Abbreviation, e.g. 市科协.
    short_name: Option<String>,
    #[serde(default)]
    contact: ContactIn,
    /// Expected to submit a preparation plan for the programs of the association above it
    /// (set by admins; county associations always are).
    #[serde(default)]
    plan_expected: bool,
}

/// Changes to an organization.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    #[serde(default)]
    parent_id: Patch<i64>,
    #[serde(default)]
    kind: Change<OrganizationKind>,
    #[serde(default)]
    name: Change<String>,
    #[serde(default)]
    short_name: Patch<String>,
    #[serde(default)]
    contact: Patch<ContactPatch>,
    #[serde(default)]
    plan_expected: Change<bool>,
}

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationOut {
    id: i64,
    key: String,
    parent_id: Option<i64>,
    kind: OrganizationKind,
    name: String,
    short_name: Option<String>,
    contact: ContactOut,
    /// Expected to submit a preparation plan (flagged by admins; county associations always are).
    plan_expected: bool,
    /// Increases with every change; the ETag is this number in quotes.
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar).
    feed_url: String,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    webcal_url: String,
}

impl OrganizationOut {
    fn new(model: Model, actor: &Actor, feeds: &Feeds) -> Self {
        let full = actor.manages(&model.path);
        let (feed_url, webcal_url) = feed_links(feeds, Target::Organization(model.id));
        Self {
            feed_url,
            webcal_url,
            contact: ContactOut {
                name: model.contact_name,
                office_phone: model.contact_office_phone,
                mobile: model.contact_mobile.map(|m| if full { m } else { mask_mobile(&m) }),
                fax: model.contact_fax,
                email: model.contact_email,
            },
            id: model.id,
            key: model.key,
            parent_id: model.parent_id,
            kind: model.kind,
            name: model.name,
            short_name: model.short_name,
            plan_expected: model.plan_expected,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// Filters of the organization list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrganizationQuery {
    /// Direct children of this organization.
    parent_id: Option<i64>,
    /// This organization and everything below it.
    organization_id: Option<i64>,
    kind: Option<OrganizationKind>,
    /// Text the name contains (Latin letters in either case), up to 64 characters.
    q: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset): what a
    /// client keeping a copy has not seen yet.
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Lists organizations in id order.
#[utoipa::path(
    get,
    path = "/organizations",
    tag = "organizations",
    params(OrganizationQuery),
    responses((status = OK, body = PageOut<OrganizationOut>), ListErrors)
)]
async fn list_organizations(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<OrganizationQuery>,
) -> Result<PageOut<OrganizationOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[("parent_id", query.parent_id), ("organization_id", query.organization_id)]),
    }
    let filter = OrganizationFilter {
        parent_id: query.parent_id,
        within: query.organization_id,
        kind: query.kind,
        search,
    };
    let page = store::list(state.db.reader(), &filter, &page)
        .await
        .map_err(as_field("organization_id"))?;
    Ok(page.map(|m| OrganizationOut::new(m, &actor, &state.feeds)).into())
}

/// Reads one organization.
#[utoipa::path(
    get,
    path = "/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path)),
    responses((status = OK, body = OrganizationOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_organization(State(state): State<AppState>, actor: Actor, Id(id): Id) -> Result<Response> {
    let model = store::get(state.db.reader(), id).await?;
    Ok(with_etag(
        model.version,
        OrganizationOut::new(model, &actor, &state.feeds),
    ))
}

/// Creates an organization. Organizers create them below their own.
#[utoipa::path(
    post,
    path = "/organizations",
    tag = "organizations",
    request_body = OrganizationIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = OrganizationOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_organization(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<OrganizationIn>,
) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "org")),
        name = one(text::required("name", &input.name, NAME_MAX)),
        short_name = one(text::optional("short_name", input.short_name.as_deref(), 64)),
        contact = input.contact.parse("contact"),
    }
    if input.plan_expected {
        actor.require_admin()?;
    }
    let fields = OrganizationFields {
        kind: input.kind,
        name,
        short_name,
        contact,
        plan_expected: input.plan_expected,
    };
    let txn = state.db.begin().await?;
    let parent = match input.parent_id {
        Some(id) => Some(parent_for(&txn, id, &actor).await?),
        None if actor.is_admin() => None,
        None => {
            return Err(Error::Forbidden(
                "only admins create top-level organizations; give parent_id".into(),
            ));
        }
    };
    let model = store::insert(&txn, key, parent.as_ref(), fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    Ok(created(
        format!("/api/v1/organizations/{}", model.id),
        model.version,
        OrganizationOut::new(model, &actor, &state.feeds),
    ))
}

/// Updates an organization (JSON merge patch). Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = OrganizationPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = OrganizationOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_organization(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<OrganizationPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    actor.require_manages(&current.path, "this organization")?;
    check_version(&precondition, current.version)?;
    let old = OrganizationFields::of(&current);
    let kind = patch.kind.apply(old.kind);
    validate! {
        name = one(text::required("name", &patch.name.apply(old.name.clone()), NAME_MAX)),
        short_name = one(text::optional("short_name", patch.short_name.apply(old.short_name.clone()).as_deref(), 64)),
        contact = match patch.contact {
            Patch::Absent => Ok(old.contact.clone()),
            Patch::Null => Ok(Contact::default()),
            Patch::Value(contact) => contact.apply(&old.contact),
        },
    }
    let new_parent = match patch.parent_id.into_option() {
        None => None,
        Some(None) if actor.is_admin() => Some(None),
        Some(None) => return Err(Error::Forbidden("only admins make an organization top-level".into())),
        Some(Some(parent)) => Some(Some(parent_for(&txn, parent, &actor).await?)),
    };
    let plan_expected = patch.plan_expected.apply(old.plan_expected);
    if plan_expected != old.plan_expected {
        actor.require_admin()?;
    }
    let fields = OrganizationFields {
        kind,
        name,
        short_name,
        contact,
        plan_expected,
    };
    let before = current.clone();
    let model = store::update(
        &txn,
        current,
        new_parent.as_ref().map(Option::as_ref),
        fields,
        state.clock.now(),
    )
    .await?;
    state.audit(&actor).updated(&txn, &before, &model).await?;
    txn.commit().await?;
    Ok(with_etag(
        model.version,
        OrganizationOut::new(model, &actor, &state.feeds),
    ))
}

/// Deletes an organization that nothing refers to.
#[utoipa::path(
    delete,
    path = "/organizations/{id}",
    tag = "organizations",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_organization(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    actor.require_manages(&current.path, "this organization")?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current, state.clock.now()).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization a record is placed under, which the caller must manage.
async fn parent_for(txn: &sea_orm::DatabaseTransaction, id: i64, actor: &Actor) -> Result<Model> {
    let parent = store::get(txn, id).await.map_err(as_field("parent_id"))?;
    actor.require_manages(&parent.path, "the parent organization")?;
    Ok(parent)
}
