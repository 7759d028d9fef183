//! The secret addresses of a volunteer: renewing the calendar link and the personal page, and
//! the list of page addresses of a team's members for sending by SMS.

use axum::extract::State;
use axum::response::Response;

use super::super::extract::{Authenticated, Id};
use super::super::openapi::SecretErrors;
use super::super::{AppState, with_etag};
use super::{VolunteerOut, present_one, sees_personal_data};
use crate::auth::Actor;
use crate::domain::contact::mask_mobile;
use crate::error::{Error, Result};
use crate::store::volunteers::{self as store, Link};
use crate::store::{organizations, teams};

/// Gives the volunteer a new personal calendar link; the old one answers 404 from now on.
/// For the volunteer and those who manage them.
#[utoipa::path(
    post,
    path = "/volunteers/{id}/feed-token",
    tag = "volunteers",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = VolunteerOut, headers(("ETag" = String))), SecretErrors)
)]
pub(super) async fn rotate_feed_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    renew(&state, &actor, id, Link::Feed).await
}

/// Gives the volunteer a new personal page address; the old page, and the old pages of the
/// teams they lead, answer 404 from now on. For the volunteer and those who manage them.
#[utoipa::path(
    post,
    path = "/volunteers/{id}/page-token",
    tag = "volunteers",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = VolunteerOut, headers(("ETag" = String))), SecretErrors)
)]
pub(super) async fn rotate_page_token(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    renew(&state, &actor, id, Link::Page).await
}

/// Renews one of the volunteer's secret addresses, for the volunteer and those who manage them.
async fn renew(state: &AppState, actor: &Actor, id: i64, link: Link) -> Result<Response> {
    let txn = state.db.begin().await?;
    let (_, path) = store::with_home(&txn, id).await?;
    if !sees_personal_data(actor, id, Some(&path)) {
        let what = match link {
            Link::Feed => "calendar link",
            Link::Page => "page address",
        };
        return Err(Error::Forbidden(format!(
            "only the volunteer and those who manage them can renew the {what}"
        )));
    }
    let current = store::get_for_update(&txn, id).await?;
    let before = current.clone();
    let model = store::renew(&txn, current, link, state.clock.now()).await?;
    let action = match link {
        Link::Feed => "renew_feed_link",
        Link::Page => "renew_page_link",
    };
    state.audit(actor).acted(&txn, action, &before, &model).await?;
    let version = model.version;
    let out = present_one(&txn, actor, model, &state.feeds).await?;
    txn.commit().await?;
    Ok(with_etag(version, out))
}

/// The members of a team and of the teams below it, as CSV for an SMS tool: name, mobile
/// (masked, to tell people apart without spreading the number), and the address of each
/// one's personal page. For those who manage the team's organization; only members of
/// organizations they manage are listed.
#[utoipa::path(
    get,
    path = "/teams/{id}/page-links",
    tag = "volunteers",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, description = "UTF-8 CSV with a byte-order mark: 姓名, 手机号, 个人页面", content_type = "text/csv", body = String), SecretErrors)
)]
pub(super) async fn page_links(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(id): Id,
) -> Result<Response> {
    let conn = state.db.reader();
    let team = teams::get(conn, id).await?;
    let owner = organizations::get(conn, team.organization_id).await?;
    actor.require_manages(&owner.path, "the team")?;
    let members = store::members_below(conn, &team.path).await?;
    let paths = organizations::paths(conn, &members.iter().map(|v| v.organization_id).collect::<Vec<_>>()).await?;
    let public_url = state.feeds.public_url();
    let rows = members
        .into_iter()
        .filter(|v| paths.get(&v.organization_id).is_some_and(|path| actor.manages(path)))
        .map(|v| {
            vec![
                super::super::download::cell(&v.name),
                v.mobile.as_deref().map(mask_mobile).unwrap_or_default(),
                v.page_token
                    .as_deref()
                    .map(|token| crate::web::volunteer_url(public_url, token))
                    .unwrap_or_default(),
            ]
        });
    let file = format!("team-{id}-pages.csv");
    super::super::download::csv_file(&file, &file, &["姓名", "手机号", "个人页面"], rows)
}
