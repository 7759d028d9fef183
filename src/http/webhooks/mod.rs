//! `/api/v1/webhooks`: subscriptions that send reminders and change notices to chat robots
//! (DingTalk, WeCom, Feishu, Slack) and to receivers of Standard Webhooks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::kinds::{WebhookFormat, WebhookScope};
use entity::webhook::Model;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, search};
use super::patch::{Change, Patch};
use super::scope::require_organization;
use super::{AppState, created, with_etag};
use crate::auth::Actor;
use crate::delivery::signing;
use crate::domain::field::{FieldError, one};
use crate::domain::key::Key;
use crate::domain::notice::{DEFAULT_EVENTS, EVENT_TYPES};
use crate::domain::reminder;
use crate::domain::text;
use crate::domain::webhook::{AddressPolicy, Platform as _, WebhookUrl};
use crate::error::{Error, Result};
use crate::store::Fields as _;
use crate::store::webhooks::{self as store, Scope, WebhookFields};
use crate::store::{Cursor, Visibility, check_version, organizations};
use crate::validate;

mod log;

pub use log::DeliveryOut;
pub(in crate::http) use log::with_attempts;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .merge(log::router())
}

/// Longest name, keyword and robot secret.
const NAME_MAX: usize = 200;
const KEYWORD_MAX: usize = 100;
const SECRET_MAX: usize = 200;

/// What a subscription listens to.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeIo {
    kind: WebhookScope,
    /// The program's, activity's, team's, venue's, organization's or volunteer's id.
    id: i64,
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Stable key; generated when absent.
    key: Option<String>,
    /// The organization that manages the subscription.
    organization_id: i64,
    /// A label, e.g. 城市分队志愿者群.
    name: Option<String>,
    /// Where messages go. Chat formats need their platform's https address (with its
    /// `access_token` or `key`); it is never shown whole again.
    url: String,
    format: WebhookFormat,
    scope: ScopeIo,
    /// Event types wanted; when absent, every session and assignment event (plan events are asked for by name).
    events: Option<Vec<String>>,
    /// Reminder times before the start, as ISO 8601 durations; `["P1D", "PT1H"]` when absent.
    offsets: Option<Vec<String>>,
    /// A word every message must contain (DingTalk and Feishu robots with keyword security).
    keyword: Option<String>,
    /// The robot's signing secret (DingTalk `SEC…`, Feishu). For `standard` a secret is
    /// generated and shown once in the answer.
    secret: Option<String>,
    /// @-mention assigned volunteers by mobile (DingTalk and WeCom only).
    #[serde(default)]
    mention: bool,
}

/// Changes to a subscription.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    name: Patch<String>,
    #[serde(default)]
    url: Change<String>,
    #[serde(default)]
    events: Change<Vec<String>>,
    #[serde(default)]
    offsets: Change<Vec<String>>,
    #[serde(default)]
    keyword: Patch<String>,
    #[serde(default)]
    mention: Change<bool>,
    /// `true` sends again after a stop (and clears its reason); `false` pauses.
    #[serde(default)]
    enabled: Change<bool>,
}

/// A subscription. Its address shows without credentials, and its secret not at all.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    id: i64,
    key: String,
    organization_id: i64,
    name: Option<String>,
    /// The address with tokens replaced by `REDACTED`.
    url: String,
    format: WebhookFormat,
    scope: ScopeIo,
    events: Vec<String>,
    /// ISO 8601 durations before the start.
    offsets: Vec<String>,
    keyword: Option<String>,
    mention: bool,
    /// Whether a signing secret is set.
    has_secret: bool,
    enabled: bool,
    /// Why it stopped sending.
    disabled_reason: Option<String>,
    /// When its current run of failures began.
    failing_since: Option<DateTime<Utc>>,
    /// The latest permanent refusal from the receiver (a bad token, a missing keyword, …):
    /// the subscription needs attention. Cleared by the next delivery.
    flag: Option<String>,
    /// Until when its chat platform throttles the robot (DingTalk's `130101`): nothing is
    /// sent to it before then.
    held_until: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Model> for WebhookOut {
    fn from(model: Model) -> Self {
        let url = store::shown_url(&model);
        let offsets = store::offsets_of(&model)
            .into_iter()
            .map(reminder::format_duration)
            .collect();
        Self {
            id: model.id,
            key: model.key,
            organization_id: model.organization_id,
            name: model.name,
            url,
            format: model.format,
            scope: ScopeIo {
                kind: model.scope_kind,
                id: model.scope_id,
            },
            events: serde_json::from_value(model.events).unwrap_or_default(),
            offsets,
            keyword: model.keyword,
            mention: model.mention,
            has_secret: model.secret.is_some(),
            enabled: model.enabled,
            disabled_reason: model.disabled_reason,
            failing_since: model.failing_since,
            flag: model.flag,
            held_until: model.throttled_until,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }
}

/// A subscription just created; for `standard`, with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreatedOut {
    #[serde(flatten)]
    webhook: WebhookOut,
    /// `whsec_…`: verify `webhook-signature` with it. Store it now: it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

/// Pagination of the subscription list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WebhookQuery {
    /// Text the subscription's name contains (Latin letters in either case), up to 64 characters.
    q: Option<String>,
    /// Only those created or changed at or after this instant (RFC 3339 with offset).
    updated_since: Option<String>,
    /// From `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100).
    limit: Option<u64>,
}

/// Event types: known ones, each once, at least one.
fn events(field: &str, given: Option<Vec<String>>) -> std::result::Result<Vec<String>, FieldError> {
    let Some(given) = given else {
        return Ok(DEFAULT_EVENTS.iter().map(|e| (*e).to_owned()).collect());
    };
    if given.is_empty() {
        return Err(FieldError::new(field, "required", "name at least one event type"));
    }
    for (i, event) in given.iter().enumerate() {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                "unknown_event",
                format!("must be one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        if given[..i].contains(event) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                "duplicate",
                format!("{event} is given twice"),
            ));
        }
    }
    Ok(given)
}

/// A keyword only where the platform checks one.
fn keyword(format: WebhookFormat, value: Option<&str>) -> std::result::Result<Option<String>, FieldError> {
    let keyword = text::optional("keyword", value, KEYWORD_MAX)?;
    if keyword.is_some() && !format.takes_keyword() {
        return Err(FieldError::new(
            "keyword",
            "not_supported",
            format!("{} robots take no keyword", format.name()),
        ));
    }
    Ok(keyword)
}

/// Mentions only where the platform mentions by mobile.
fn mention(format: WebhookFormat, mention: bool) -> std::result::Result<bool, FieldError> {
    if mention && !format.mentions_by_mobile() {
        return Err(FieldError::new(
            "mention",
            "not_supported",
            "only DingTalk and WeCom robots mention people by mobile",
        ));
    }
    Ok(mention)
}

/// The signing secret: generated for `standard`, the robot's own for DingTalk and Feishu.
fn secret(format: WebhookFormat, given: Option<&str>) -> std::result::Result<Option<String>, FieldError> {
    match (format, given) {
        (WebhookFormat::Standard, None) => Ok(Some(signing::new_secret())),
        (WebhookFormat::Standard, Some(_)) => Err(FieldError::new(
            "secret",
            "generated",
            "a standard subscription's secret is generated; leave it out",
        )),
        (WebhookFormat::DingTalk | WebhookFormat::Feishu, given) => text::optional("secret", given, SECRET_MAX),
        (_, Some(_)) => Err(FieldError::new(
            "secret",
            "not_supported",
            format!("{} robots are not signed", format.name()),
        )),
        (_, None) => Ok(None),
    }
}

/// A subscription's messages tell everything about the sessions in its scope, volunteers'
/// names included, so a caller may subscribe only to a scope it may read in full: one whose
/// owning organization it manages (a venue without one: admins only). A scope that does not
/// exist and one the caller may not read answer the same 404, so creating a subscription
/// cannot tell whether a hidden activity exists.
async fn check_scope(conn: &impl ConnectionTrait, actor: &Actor, scope: Scope) -> Result<()> {
    let not_found = Error::NotFound(scope.kind.noun());
    let owner = match store::scope_owner(conn, scope).await? {
        None => return Err(not_found),
        Some(owner) => owner,
    };
    let readable = match owner {
        _ if actor.is_admin() => true,
        Some(path) => actor.manages(&path),
        None => false,
    };
    if readable { Ok(()) } else { Err(not_found) }
}

/// Fails unless the caller manages the subscription's organization.
async fn require_manager(conn: &impl ConnectionTrait, actor: &Actor, model: &Model) -> Result<()> {
    let organization = organizations::get(conn, model.organization_id).await?;
    actor.require_manages(&organization.path, "this webhook")
}

/// Lists the subscriptions the caller manages, in id order.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    params(WebhookQuery),
    security(("bearer" = [])),
    responses((status = OK, body = PageOut<WebhookOut>), ListErrors)
)]
async fn list_webhooks(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<WebhookQuery>,
) -> Result<PageOut<WebhookOut>> {
    validate! {
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
    }
    actor.require_token()?;
    let within = match actor.visibility() {
        Visibility::All => None,
        Visibility::PublicOrWithin(path) => Some(path),
        Visibility::Public => return Err(Error::Forbidden("only admins and organizers see webhooks".to_owned())),
    };
    let page = store::list(state.db.reader(), within.as_deref(), &search, &page).await?;
    Ok(page.map(WebhookOut::from).into())
}

/// Reads one subscription.
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = WebhookOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_webhook(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    let model = managed(state.db.reader(), &actor, id).await?;
    Ok(with_etag(model.version, WebhookOut::from(model)))
}

/// Creates a subscription. The address is checked (https to the platform's host for chat
/// formats; no internal addresses); for `standard` the answer holds the signing secret, once.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    request_body = WebhookIn,
    security(("bearer" = [])),
    responses(
        (status = CREATED, body = WebhookCreatedOut, headers(("ETag" = String), ("Location" = String))),
        CreateErrors,
        (status = NOT_FOUND, description = "The scope does not exist, or the caller may not read it in full",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn create_webhook(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<WebhookIn>,
) -> Result<Response> {
    let format = input.format;
    let policy: &AddressPolicy = &state.config.webhook_addresses;
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "webhook")),
        name = one(text::optional("name", input.name.as_deref(), NAME_MAX)),
        url = one(WebhookUrl::parse("url", &input.url, format, policy)),
        events = one(events("events", input.events)),
        offsets = one(reminder::offsets("offsets", input.offsets.as_deref())),
        keyword = one(keyword(format, input.keyword.as_deref())),
        mention = one(mention(format, input.mention)),
        secret = one(secret(format, input.secret.as_deref())),
    }
    let scope = Scope {
        kind: input.scope.kind,
        id: input.scope.id,
    };
    let txn = state.db.begin().await?;
    require_organization(&txn, &actor, input.organization_id, "organization_id", "the webhook").await?;
    check_scope(&txn, &actor, scope).await?;
    let fields = WebhookFields {
        name,
        url,
        events,
        offsets,
        secret: secret.clone(),
        keyword,
        mention,
        enabled: true,
        disabled_reason: None,
    };
    let model = store::insert(
        &txn,
        key,
        input.organization_id,
        format,
        scope,
        fields,
        state.clock.now(),
    )
    .await?;
    state.audit(&actor).created(&txn, &model).await?;
    txn.commit().await?;
    tracing::info!(webhook = model.id, url = %store::shown_url(&model), "webhook created");
    let shown = (format == WebhookFormat::Standard).then_some(secret).flatten();
    Ok(created(
        format!("/api/v1/webhooks/{}", model.id),
        model.version,
        WebhookCreatedOut {
            webhook: model.into(),
            secret: shown,
        },
    ))
}

/// Updates a subscription (JSON merge patch). Needs `If-Match`. The format and scope are
/// fixed: another robot or scope is another subscription.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = WebhookPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = WebhookOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_webhook(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<WebhookPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_manager(&txn, &actor, &current).await?;
    check_version(&precondition, current.version)?;
    let old = WebhookFields::of(&current);
    let format = current.format;
    let policy = &state.config.webhook_addresses;
    validate! {
        name = one(text::optional("name", patch.name.apply(old.name.clone()).as_deref(), NAME_MAX)),
        url = one(patch.url.into_option().map_or(Ok(old.url.clone()), |u| WebhookUrl::parse("url", &u, format, policy))),
        events = one(patch.events.into_option().map_or(Ok(old.events.clone()), |e| events("events", Some(e)))),
        offsets = one(patch.offsets.into_option().map_or(Ok(old.offsets.clone()), |o| reminder::offsets("offsets", Some(&o)))),
        keyword = one(keyword(format, patch.keyword.apply(old.keyword.clone()).as_deref())),
        mention = one(mention(format, patch.mention.apply(old.mention))),
    }
    let enabled = patch.enabled.apply(old.enabled);
    let fields = WebhookFields {
        name,
        url,
        events,
        offsets,
        secret: old.secret.clone(),
        keyword,
        mention,
        enabled,
        disabled_reason: if enabled { None } else { old.disabled_reason.clone() },
    };
    let before = current.clone();
    let model = store::update(&txn, current, fields, state.clock.now()).await?;
    state.audit(&actor).updated(&txn, &before, &model).await?;
    txn.commit().await?;
    Ok(with_etag(model.version, WebhookOut::from(model)))
}

/// Deletes a subscription and its delivery log.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_webhook(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_manager(&txn, &actor, &current).await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The subscription, if the caller manages it.
async fn managed(conn: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<Model> {
    let model = store::get(conn, id).await?;
    require_manager(conn, actor, &model).await?;
    Ok(model)
}
