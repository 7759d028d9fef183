//! `/api/v1/service-hours`: what checked-in assignments of sessions that are over add up to,
//! per volunteer or per team, as JSON or as CSV for Excel (UTF-8 with a byte-order mark, so
//! Chinese text opens correctly) whose rows carry what a volunteer record states.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Authenticated, Query};
use super::openapi::ListErrors;
use super::paging::{PageOut, page_request, page_response, positive_ids};
use super::{AppState, as_field, download};
use crate::auth::Actor;
use crate::domain::field::one;
use crate::domain::hours;
use crate::domain::time::Bound;
use crate::domain::zone::Zone;
use crate::error::{Error, Result};
use crate::store::hours::{self as store, HoursFilter};
use crate::store::{Cursor, PageRequest, organizations, programs, teams};
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

/// Hours of one volunteer or team. A volunteer's row holds what a volunteer record
/// (志愿服务记录) states: name, volunteer number, service content, hours and the issuing
/// organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursOut {
    /// The volunteer's or team's id.
    id: i64,
    /// For volunteers: their volunteer number, the stable `key` their organization gave them
    /// (never an identity-card number).
    #[serde(skip_serializing_if = "Option::is_none")]
    volunteer_number: Option<String>,
    name: String,
    /// The volunteer's or team's organization.
    organization_id: i64,
    organization_name: String,
    /// For teams: members (sub-teams included) who served.
    #[serde(skip_serializing_if = "Option::is_none")]
    volunteers: Option<u32>,
    /// For volunteers: what they did, each activity with the role served, e.g.
    /// `第三十一届科普宣传周（讲解员）`.
    #[serde(skip_serializing_if = "Option::is_none")]
    service_content: Option<Vec<String>>,
    /// Sessions served: checked in, and over.
    sessions: u32,
    /// Hours served (all-day sessions count 8 hours a day).
    hours: f64,
    /// For volunteers: the organizations that issue the record, the hosts of the programs
    /// served.
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_by: Option<Vec<IssuerOut>>,
}

/// An organization that issues volunteer records.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuerOut {
    id: i64,
    name: String,
}

/// Service hours over a period, one page of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursPageOut {
    /// Where the period counted begins: `from` as given, else the start of the first session
    /// served; absent when neither is known. In the program's time zone.
    from: Option<DateTime<FixedOffset>>,
    /// Where it ends: `to` as given, or now if that is earlier. Only sessions over by then count.
    to: DateTime<FixedOffset>,
    data: Vec<HoursOut>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// Service hours of checked-in assignments, most hours first. A session counts once it is
/// over, for its whole length; one still running counts nothing yet. Admins see everyone;
/// organizers the volunteers of their organizations; a volunteer token its own.
#[utoipa::path(
    get,
    path = "/service-hours",
    tag = "staffing",
    params(HoursQuery),
    security(("bearer" = [])),
    responses(
        (status = OK, description = "JSON, or CSV with format=csv", content(
            (HoursPageOut = "application/json"),
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
    let now = state.clock.now();
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
    let by = query.by.unwrap_or_default();
    let (rows, first_start) = match by {
        GroupBy::Volunteer => {
            let rows = store::by_volunteer(conn, &filter, now).await?;
            let first = rows.iter().map(|r| r.first_start).min();
            (rows.into_iter().map(HoursOut::volunteer).collect::<Vec<_>>(), first)
        }
        GroupBy::Team => {
            let rows = store::by_team(conn, &filter, now).await?;
            let first = rows.iter().filter_map(|r| r.first_start).min();
            (rows.into_iter().map(HoursOut::team).collect(), first)
        }
    };
    let period = Period {
        from: filter.from.or(first_start),
        to: filter.to.map_or(now, |to| to.min(now)),
        zone,
    };
    match query.format.unwrap_or_default() {
        Format::Json => {
            let page = one_page(rows, &page);
            let next = page.next_cursor.clone();
            let out = HoursPageOut {
                from: period.from.map(|t| zone.local(t)),
                to: zone.local(period.to),
                data: page.data,
                next_cursor: page.next_cursor,
            };
            Ok(page_response(out, next))
        }
        Format::Csv => {
            let program = match query.program_id {
                Some(id) => Some((id, programs::get(conn, id).await?.name)),
                None => None,
            };
            csv_response(&rows, by, &period, program)
        }
    }
}

impl HoursOut {
    fn volunteer(r: store::VolunteerHours) -> Self {
        Self {
            id: r.volunteer.id,
            volunteer_number: Some(r.volunteer.key),
            name: r.volunteer.name,
            organization_id: r.volunteer.organization_id,
            organization_name: r.organization_name,
            volunteers: None,
            service_content: Some(r.content),
            sessions: r.sessions,
            hours: round(r.hours),
            issued_by: Some(r.issuers.into_iter().map(|(id, name)| IssuerOut { id, name }).collect()),
        }
    }

    fn team(r: store::TeamHours) -> Self {
        Self {
            id: r.team.id,
            volunteer_number: None,
            name: r.team.name,
            organization_id: r.team.organization_id,
            organization_name: r.organization_name,
            volunteers: Some(r.volunteers),
            service_content: None,
            sessions: r.sessions,
            hours: round(r.hours),
            issued_by: None,
        }
    }
}

/// The period counted.
struct Period {
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    zone: Zone,
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

/// The rows as CSV that Excel opens with Chinese text intact, named for the program and the
/// period. A volunteer's row is a volunteer record: it repeats the period and the issuing
/// organization, so that it stands on its own when copied out.
fn csv_response(rows: &[HoursOut], by: GroupBy, period: &Period, program: Option<(i64, String)>) -> Result<Response> {
    let (first, last) = hours::days(period.from, period.to, period.zone);
    let label = hours::period_label(first, last);
    let header: &[&str] = match by {
        GroupBy::Volunteer => &[
            "志愿者编号",
            "姓名",
            "所属组织编号",
            "所属组织",
            "服务内容",
            "服务时间",
            "服务场次",
            "服务时长（小时）",
            "出具组织",
        ],
        GroupBy::Team => &[
            "队伍编号",
            "队伍名称",
            "所属组织编号",
            "所属组织",
            "服务时间",
            "服务人数",
            "服务场次",
            "服务时长（小时）",
        ],
    };
    let records = rows.iter().map(|row| {
        let organization = [row.organization_id.to_string(), download::cell(&row.organization_name)];
        let counted = [row.sessions.to_string(), format!("{:.2}", row.hours)];
        match by {
            GroupBy::Volunteer => {
                let content = row.service_content.as_deref().unwrap_or_default().join("；");
                let issuers: Vec<&str> = row.issued_by.iter().flatten().map(|i| i.name.as_str()).collect();
                [
                    vec![
                        download::cell(row.volunteer_number.as_deref().unwrap_or_default()),
                        download::cell(&row.name),
                    ],
                    organization.to_vec(),
                    vec![download::cell(&content), label.clone()],
                    counted.to_vec(),
                    vec![download::cell(&issuers.join("、"))],
                ]
                .concat()
            }
            GroupBy::Team => [
                vec![row.id.to_string(), download::cell(&row.name)],
                organization.to_vec(),
                vec![label.clone(), row.volunteers.unwrap_or_default().to_string()],
                counted.to_vec(),
            ]
            .concat(),
        }
    });
    let program = program.as_ref().map(|(id, name)| (*id, name.as_str()));
    let (ascii, name) = hours::file_names(program, matches!(by, GroupBy::Team), first, last);
    download::csv_file(&ascii, &name, header, records)
}
