//! `/api/v1/service-hours`: what checked-in assignments add up to, per volunteer or per team,
//! as JSON or as CSV for Excel (UTF-8 with a byte-order mark, so Chinese text opens correctly).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Query};
use super::openapi::ListErrors;
use super::paging::{PageOut, page_request, positive_ids};
use super::{AppState, as_field};
use crate::auth::Actor;
use crate::domain::field::one;
use crate::domain::time::Bound;
use crate::error::{Error, Result};
use crate::store::hours::{self as store, HoursFilter};
use crate::store::{Cursor, PageRequest, organizations, teams};
use crate::validate;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(service_hours))
}

/// How to group the hours.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Volunteer,
    Team,
}

/// How to answer.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    Json,
    /// UTF-8 CSV with a byte-order mark.
    Csv,
}

/// Which hours to count.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoursQuery {
    /// Sessions of this program.
    program_id: Option<i64>,
    /// Volunteers of this organization or one below it.
    organization_id: Option<i64>,
    /// Volunteers in this team or one below it.
    team_id: Option<i64>,
    /// `volunteer` (default) or `team`.
    #[param(inline)]
    by: Option<GroupBy>,
    /// `json` (default) or `csv`.
    #[param(inline)]
    format: Option<Format>,
    /// Sessions ending after this day (YYYY-MM-DD, in the program's time zone, else
    /// Asia/Shanghai) or instant (RFC 3339 with offset), as feeds read it.
    from: Option<String>,
    /// Sessions starting before this day (read as `from`) or instant.
    to: Option<String>,
    /// From `next_cursor` of the previous page (JSON only: a CSV holds every row).
    cursor: Option<String>,
    /// Items per page, 1–500 (default 100; JSON only).
    limit: Option<u64>,
}

/// Hours of one volunteer or team.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursOut {
    /// The volunteer's or team's id.
    id: i64,
    name: String,
    /// For volunteers: their organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization_id: Option<i64>,
    /// For teams: members (sub-teams included) who served.
    #[serde(skip_serializing_if = "Option::is_none")]
    volunteers: Option<u32>,
    /// Checked-in assignments.
    sessions: u32,
    /// Hours served (all-day sessions count 8 hours a day).
    hours: f64,
}

/// Service hours from checked-in assignments, most hours first. Admins see everyone;
/// organizers the volunteers of their organizations; a volunteer token its own.
#[utoipa::path(
    get,
    path = "/service-hours",
    tag = "staffing",
    params(HoursQuery),
    security(("bearer" = [])),
    responses(
        (status = OK, description = "JSON, or CSV with format=csv", content(
            (PageOut<HoursOut> = "application/json"),
            (String = "text/csv"),
        )),
        ListErrors
    )
)]
async fn service_hours(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<HoursQuery>,
) -> Result<Response> {
    validate! {
        page = page_request(query.cursor.as_deref(), query.limit, |c| matches!(c, Cursor::Ordered(..))),
        from = one(query.from.as_deref().map(|t| Bound::parse("from", t)).transpose()),
        to = one(query.to.as_deref().map(|t| Bound::parse("to", t)).transpose()),
        _ids = positive_ids(&[
            ("program_id", query.program_id),
            ("organization_id", query.organization_id),
            ("team_id", query.team_id),
        ]),
    }
    validate! {
        _order = one(Bound::in_order(from, to)),
    }
    let conn = state.db.reader();
    let zone = super::window_zone(conn, query.program_id, None).await?;
    let mut filter = HoursFilter {
        program_id: query.program_id,
        from: from.map(|b| b.instant(zone)),
        to: to.map(|b| b.instant(zone)),
        ..HoursFilter::default()
    };
    if let Some(id) = query.organization_id {
        let path = organizations::get(conn, id)
            .await
            .map_err(as_field("organization_id"))?
            .path;
        if let Actor::Organizer { .. } = actor {
            actor.require_manages(&path, "the organization")?;
        }
        filter.organization_path = Some(path);
    }
    if let Some(id) = query.team_id {
        filter.team_path = Some(teams::get(conn, id).await.map_err(as_field("team_id"))?.path);
    }
    match &actor {
        Actor::Admin { .. } => {}
        Actor::Organizer { path, .. } => {
            if filter.organization_path.is_none() {
                filter.organization_path = Some(path.clone());
            }
        }
        Actor::Volunteer { volunteer_id, .. } => filter.volunteer_id = Some(*volunteer_id),
        Actor::Anonymous => return Err(Error::Unauthenticated("service hours need a bearer token")),
    }
    let rows: Vec<HoursOut> = match query.by.unwrap_or_default() {
        GroupBy::Volunteer => store::by_volunteer(conn, &filter)
            .await?
            .into_iter()
            .map(|r| HoursOut {
                id: r.volunteer.id,
                name: r.volunteer.name,
                organization_id: Some(r.volunteer.organization_id),
                volunteers: None,
                sessions: r.sessions,
                hours: round(r.hours),
            })
            .collect(),
        GroupBy::Team => store::by_team(conn, &filter)
            .await?
            .into_iter()
            .map(|r| HoursOut {
                id: r.team.id,
                name: r.team.name,
                organization_id: None,
                volunteers: Some(r.volunteers),
                sessions: r.sessions,
                hours: round(r.hours),
            })
            .collect(),
    };
    match query.format.unwrap_or_default() {
        Format::Json => Ok(one_page(rows, &page).into_response()),
        Format::Csv => csv_response(&rows, query.by.unwrap_or_default()),
    }
}

/// Where a row stands in the most-hours-first order: fewer hundredths of an hour later, then
/// by id.
fn place(row: &HoursOut) -> Cursor {
    let hundredths = (row.hours * 100.0).round();
    // Hours are far below what an i32 of hundredths holds; the cast only saturates.
    #[allow(clippy::cast_possible_truncation)]
    Cursor::Ordered(-(hundredths as i32), row.id)
}

/// The page `page` asks for of rows in most-hours-first order.
fn one_page(rows: Vec<HoursOut>, page: &PageRequest) -> PageOut<HoursOut> {
    let key = |c: &Cursor| match c {
        Cursor::Ordered(order, id) => (*order, *id),
        _ => (i32::MIN, i64::MIN),
    };
    let mut rows: Vec<(Cursor, HoursOut)> = rows.into_iter().map(|r| (place(&r), r)).collect();
    rows.sort_by_key(|(c, _)| key(c));
    let after = page.after.as_ref().map(key);
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let mut rest = rows.into_iter().filter(|(c, _)| after.is_none_or(|a| key(c) > a));
    let data: Vec<(Cursor, HoursOut)> = rest.by_ref().take(limit).collect();
    let next_cursor = match rest.next() {
        Some(_) => data.last().map(|(c, _)| c.encode()),
        None => None,
    };
    PageOut {
        data: data.into_iter().map(|(_, r)| r).collect(),
        next_cursor,
    }
}

fn round(hours: f64) -> f64 {
    (hours * 100.0).round() / 100.0
}

/// The rows as CSV that Excel opens with Chinese text intact.
fn csv_response(rows: &[HoursOut], by: GroupBy) -> Result<Response> {
    let header: &[&str] = match by {
        GroupBy::Volunteer => &["志愿者编号", "姓名", "所属组织编号", "服务场次", "服务时长（小时）"],
        GroupBy::Team => &["队伍编号", "队伍名称", "服务人数", "服务场次", "服务时长（小时）"],
    };
    let records = rows.iter().map(|row| {
        let middle = match by {
            GroupBy::Volunteer => row.organization_id.map(|o| o.to_string()).unwrap_or_default(),
            GroupBy::Team => row.volunteers.map(|v| v.to_string()).unwrap_or_default(),
        };
        vec![
            row.id.to_string(),
            super::download::cell(&row.name),
            middle,
            row.sessions.to_string(),
            format!("{:.2}", row.hours),
        ]
    });
    let filename = match by {
        GroupBy::Volunteer => "service-hours-volunteers.csv",
        GroupBy::Team => "service-hours-teams.csv",
    };
    super::download::csv_file(filename, header, records)
}
