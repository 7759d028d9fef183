//! `/api/v1/teams`: volunteer teams (支队 → 分队), owned by organizations.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use entity::team::Model;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Id, IfMatch, Json, OptionalIfMatch, Query};
use super::openapi::{CreateErrors, DeleteErrors, ListErrors, ReadErrors, UpdateErrors};
use super::paging::{PageOut, page_request, positive_ids, search};
use super::patch::{Change, Patch};
use super::scope::require_organization;
use super::{AppState, as_field, created, with_etag};
use super::{Feeds, Target, feed_links};
use crate::auth::Actor;
use crate::domain::field::one;
use crate::domain::key::Key;
use crate::domain::text::{self, DESCRIPTION_MAX, NAME_MAX};
use crate::error::Result;
use crate::store::Fields as _;
use crate::store::teams::{self as store, TeamFields, TeamFilter};
use crate::store::{Cursor, check_version, organizations};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, update_team, delete_team))
}

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamIn {
    /// Stable key for imports; generated when absent.
    key: Option<String>,
    /// Owning organization.
    organization_id: i64,
    /// The team it belongs to, e.g. the city detachment for one of its 分队.
    parent_id: Option<i64>,
    /// Name, e.g. 科普大篷车志愿者服务团.
    name: String,
    description: Option<String>,
}

/// Changes to a team.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    #[serde(default)]
    organization_id: Change<i64>,
    #[serde(default)]
    parent_id: Patch<i64>,
    #[serde(default)]
    name: Change<String>,
    #[serde(default)]
    description: Patch<String>,
}

/// A team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    id: i64,
    key: String,
    organization_id: i64,
    parent_id: Option<i64>,
    name: String,
    description: Option<String>,
    /// Volunteers who lead the team; shown to those who manage the team's organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    leader_ids: Option<Vec<i64>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The calendar feed (iCalendar).
    feed_url: String,
    /// The same feed as a `webcal://` link, which calendar apps open as a subscription.
    webcal_url: String,
}

impl TeamOut {
    fn new(model: Model, leader_ids: Option<Vec<i64>>, feeds: &Feeds) -> Self {
        let (feed_url, webcal_url) = feed_links(feeds, Target::Team(model.id));
        Self {
            feed_url,
            webcal_url,
            id: model.id,
            key: model.key,
            organization_id: model.organization_id,
            parent_id: model.parent_id,
            name: model.name,
            description: model.description,
            leader_ids,
            version: model.version,
            created_at: model.created_at,
            updated_at: model.updated_at,
        }
    }

    async fn load_one(conn: &impl ConnectionTrait, actor: &Actor, model: Model, feeds: &Feeds) -> Result<Self> {
        let mut out = Self::load(conn, actor, vec![model], feeds).await?;
        Ok(out.remove(0))
    }

    /// The teams as `actor` may see them: who leads a team is personal data of volunteers, for
    /// those who manage the team's organization.
    async fn load(conn: &impl ConnectionTrait, actor: &Actor, models: Vec<Model>, feeds: &Feeds) -> Result<Vec<Self>> {
        let owners: Vec<i64> = models.iter().map(|t| t.organization_id).collect();
        let paths = organizations::paths(conn, &owners).await?;
        let managed: Vec<i64> = models
            .iter()
            .filter(|t| paths.get(&t.organization_id).is_some_and(|path| actor.manages(path)))
            .map(|t| t.id)
            .collect();
        let mut leaders: HashMap<i64, Vec<i64>> = managed.iter().map(|id| (*id, Vec::new())).collect();
        for (team, volunteer) in store::leaders(conn, &managed).await? {
            leaders.entry(team).or_default().push(volunteer);
        }
        Ok(models
            .into_iter()
            .map(|t| {
                let ids = leaders.remove(&t.id);
                Self::new(t, ids, feeds)
            })
            .collect())
    }
}

/// Filters of the team list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    /// Owned by this organization.
    organization_id: Option<i64>,
    /// Direct sub-teams of this team.
    parent_id: Option<i64>,
    /// This team and every team below it.
    team_id: Option<i64>,
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

/// Lists teams in id order.
#[utoipa::path(
    get,
    path = "/teams",
    tag = "teams",
    params(TeamQuery),
    responses((status = OK, body = PageOut<TeamOut>), ListErrors)
)]
async fn list_teams(
    State(state): State<AppState>,
    actor: Actor,
    Query(query): Query<TeamQuery>,
) -> Result<PageOut<TeamOut>> {
    validate! {
        search = search(query.q.as_deref(), query.updated_since.as_deref()),
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Id(_))),
        _ids = positive_ids(&[
            ("organization_id", query.organization_id),
            ("parent_id", query.parent_id),
            ("team_id", query.team_id),
        ]),
    }
    let filter = TeamFilter {
        organization_id: query.organization_id,
        parent_id: query.parent_id,
        within: query.team_id,
        search,
    };
    let conn = state.db.reader();
    let page = store::list(conn, &filter, &page).await.map_err(as_field("team_id"))?;
    Ok(PageOut {
        next_cursor: page.next.map(|c| c.encode()),
        data: TeamOut::load(conn, &actor, page.items, &state.feeds).await?,
    })
}

/// Reads one team.
#[utoipa::path(
    get,
    path = "/teams/{id}",
    tag = "teams",
    params(("id" = i64, Path)),
    responses((status = OK, body = TeamOut, headers(("ETag" = String))), ReadErrors)
)]
async fn get_team(State(state): State<AppState>, actor: Actor, Id(id): Id) -> Result<Response> {
    let conn = state.db.reader();
    let model = store::get(conn, id).await?;
    let version = model.version;
    Ok(with_etag(
        version,
        TeamOut::load_one(conn, &actor, model, &state.feeds).await?,
    ))
}

/// Creates a team owned by an organization the caller manages.
#[utoipa::path(
    post,
    path = "/teams",
    tag = "teams",
    request_body = TeamIn,
    security(("bearer" = [])),
    responses((status = CREATED, body = TeamOut, headers(("ETag" = String), ("Location" = String))), CreateErrors)
)]
async fn create_team(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Json(input): Json<TeamIn>,
) -> Result<Response> {
    validate! {
        key = one(Key::parse_or_generate("key", input.key.as_deref(), "team")),
        name = one(text::required("name", &input.name, NAME_MAX)),
        description = one(text::optional_multiline("description", input.description.as_deref(), DESCRIPTION_MAX)),
    }
    let txn = state.db.begin().await?;
    require_owner(&txn, &actor, input.organization_id, "organization_id").await?;
    let parent = match input.parent_id {
        Some(id) => Some(parent_for(&txn, &actor, id).await?),
        None => None,
    };
    let fields = TeamFields {
        organization_id: input.organization_id,
        name,
        description,
    };
    let model = store::insert(&txn, key, parent.as_ref(), fields, state.clock.now()).await?;
    state.audit(&actor).created(&txn, &model).await?;
    let (id, version) = (model.id, model.version);
    let out = TeamOut::load_one(&txn, &actor, model, &state.feeds).await?;
    txn.commit().await?;
    Ok(created(format!("/api/v1/teams/{id}"), version, out))
}

/// Updates a team (JSON merge patch). Needs `If-Match`.
#[utoipa::path(
    patch,
    path = "/teams/{id}",
    tag = "teams",
    params(("id" = i64, Path), ("If-Match" = String, Header, description = "ETag of the version being changed, or *")),
    request_body(content = TeamPatch, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses((status = OK, body = TeamOut, headers(("ETag" = String))), UpdateErrors)
)]
async fn update_team(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    IfMatch(precondition): IfMatch,
    Json(patch): Json<TeamPatch>,
) -> Result<Response> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_owner(&txn, &actor, current.organization_id, "this team").await?;
    check_version(&precondition, current.version)?;
    let old = TeamFields::of(&current);
    validate! {
        name = one(text::required("name", &patch.name.apply(old.name.clone()), NAME_MAX)),
        description = one(text::optional_multiline(
            "description",
            patch.description.apply(old.description.clone()).as_deref(),
            DESCRIPTION_MAX,
        )),
    }
    let organization_id = patch.organization_id.apply(old.organization_id);
    if organization_id != old.organization_id {
        require_owner(&txn, &actor, organization_id, "organization_id").await?;
    }
    let new_parent = match patch.parent_id.into_option() {
        None => None,
        Some(None) => Some(None),
        Some(Some(parent)) => Some(Some(parent_for(&txn, &actor, parent).await?)),
    };
    let fields = TeamFields {
        organization_id,
        name,
        description,
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
    let version = model.version;
    let out = TeamOut::load_one(&txn, &actor, model, &state.feeds).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// Deletes a team without sub-teams, members or roles requiring it.
#[utoipa::path(
    delete,
    path = "/teams/{id}",
    tag = "teams",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on")),
    security(("bearer" = [])),
    responses((status = NO_CONTENT, description = "Deleted"), DeleteErrors)
)]
async fn delete_team(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
    OptionalIfMatch(precondition): OptionalIfMatch,
) -> Result<StatusCode> {
    let txn = state.db.begin().await?;
    let current = store::get_for_update(&txn, id).await?;
    require_owner(&txn, &actor, current.organization_id, "this team").await?;
    if let Some(precondition) = precondition {
        check_version(&precondition, current.version)?;
    }
    state.audit(&actor).deleted(&txn, &current).await?;
    store::delete(&txn, current).await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Teams are managed by those who manage their organization.
async fn require_owner(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    organization_id: i64,
    what: &'static str,
) -> Result<()> {
    require_organization(conn, actor, organization_id, "organization_id", what).await
}

/// The team a team is placed under, whose organization the caller must manage.
async fn parent_for(conn: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<Model> {
    let parent = store::get(conn, id).await.map_err(as_field("parent_id"))?;
    let organization = organizations::get(conn, parent.organization_id).await?;
    actor.require_manages(&organization.path, "the parent team")?;
    Ok(parent)
}
