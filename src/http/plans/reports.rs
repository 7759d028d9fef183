//! What admins forward and chase: who has not submitted, and every plan as CSV.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, FixedOffset, Utc};
use entity::kinds::{OrganizationKind, PlanReview, VenueKind};
use entity::plan_extension::Model as Extension;
use serde::Serialize;
use utoipa::ToSchema;

use super::local;
use crate::domain::zone::Zone;
use crate::error::Result;
use crate::http::extract::{Authenticated, Id};
use crate::http::openapi::ReadErrors;
use crate::http::{AppState, download};
use crate::store::plans as store;
use crate::store::{organizations, programs, venues};

/// An organization expected to submit that has not.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissingOut {
    organization_id: i64,
    name: String,
    kind: OrganizationKind,
    /// Whom to call.
    contact_name: Option<String>,
    contact_office_phone: Option<String>,
    contact_mobile: Option<String>,
    /// Its extension, when one was granted.
    extended_until: Option<DateTime<FixedOffset>>,
}

/// Who has not submitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct MissingListOut {
    /// The deadline in the program's zone.
    deadline: Option<DateTime<FixedOffset>>,
    /// How many organizations are expected to submit (county associations and flagged ones).
    expected: usize,
    /// How many of them have.
    submitted: usize,
    data: Vec<MissingOut>,
}

/// The organizations expected to submit (county associations below the host and those
/// flagged `plan_expected`) that have not yet, with their contacts (admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/missing",
    tag = "plans",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, body = MissingListOut), ReadErrors)
)]
pub(super) async fn missing_plans(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
) -> Result<axum::Json<MissingListOut>> {
    actor.require_admin()?;
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    let mut missing = store::expected(conn, &program).await?;
    let expected = missing.len();
    let submitted = store::submitters(conn, program.id).await?;
    missing.retain(|o| !submitted.contains(&o.id));
    let extensions: HashMap<i64, Extension> = store::extensions(conn, program.id)
        .await?
        .into_iter()
        .map(|e| (e.organization_id, e))
        .collect();
    Ok(axum::Json(MissingListOut {
        deadline: program.plan_deadline.map(|d| local(d, zone)),
        expected,
        submitted: expected - missing.len(),
        data: missing
            .into_iter()
            .map(|o| MissingOut {
                extended_until: extensions.get(&o.id).map(|e| local(e.until, zone)),
                organization_id: o.id,
                name: o.name,
                kind: o.kind,
                contact_name: o.contact_name,
                contact_office_phone: o.contact_office_phone,
                contact_mobile: o.contact_mobile,
            })
            .collect(),
    }))
}

/// All of a program's plans as CSV (UTF-8 with a byte-order mark, for Excel), in the form's
/// columns, for forwarding to the province (admins).
#[utoipa::path(
    get,
    path = "/programs/{id}/plans/export",
    tag = "plans",
    params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = OK, description = "CSV", content_type = "text/csv"), ReadErrors)
)]
pub(super) async fn export_plans(
    State(state): State<AppState>,
    Authenticated(actor): Authenticated,
    Id(program_id): Id,
) -> Result<Response> {
    actor.require_admin()?;
    let conn = state.db.reader();
    let program = programs::get(conn, program_id).await?;
    let zone = Zone::from_stored(&program.time_zone);
    let plans = store::all(conn, program.id).await?;
    let organization_ids: Vec<i64> = plans.iter().map(|p| p.organization_id).collect();
    let names = organizations::names(conn, &organization_ids).await?;
    let venue_ids: Vec<i64> = plans.iter().map(|p| p.venue_id).collect();
    let platforms = venues::by_ids(conn, &venue_ids).await?;
    let time = |at: DateTime<Utc>| at.with_timezone(&zone.tz()).format("%Y-%m-%d %H:%M:%S").to_string();
    let header = [
        "序号",
        "主办单位名称",
        "主题活动名称",
        "承办单位名称",
        "对接入驻平台",
        "平台类型",
        "座谈会当天与北京主场视频连线",
        "联系人",
        "办公电话",
        "手机",
        "传真",
        "电子邮箱",
        "方案",
        "版本",
        "首次提交时间",
        "最近修改时间",
        "审核状态",
        "审核意见",
    ];
    let rows = plans.into_iter().enumerate().map(|(i, p)| {
        let platform = platforms.get(&p.venue_id);
        let cell = |text: &str| download::cell(text);
        let optional = |text: &Option<String>| text.as_deref().map(download::cell).unwrap_or_default();
        vec![
            (i + 1).to_string(),
            cell(names.get(&p.organization_id).map_or("", String::as_str)),
            cell(&p.activity_name),
            cell(&p.organizing_unit),
            platform.map(|v| cell(&v.name)).unwrap_or_default(),
            platform.map(|v| platform_kind(v.kind).to_owned()).unwrap_or_default(),
            if p.joins_video_link { "是" } else { "否" }.to_owned(),
            cell(&p.contact_name),
            optional(&p.contact_office_phone),
            p.contact_mobile.clone(),
            optional(&p.contact_fax),
            optional(&p.contact_email),
            cell(&p.text),
            p.revision.to_string(),
            time(p.submitted_at),
            time(p.revised_at),
            review_text(p.review).to_owned(),
            optional(&p.review_comment),
        ]
    });
    let file = format!("plans-program-{}.csv", program.id);
    download::csv_file(&file, &file, &header, rows)
}

fn platform_kind(kind: VenueKind) -> &'static str {
    match kind {
        VenueKind::PartyMassesServiceCenter => "党群服务中心",
        VenueKind::CivilizationPracticeCenter => "新时代文明实践中心",
        _ => "其他",
    }
}

fn review_text(review: PlanReview) -> &'static str {
    match review {
        PlanReview::Submitted => "已提交",
        PlanReview::Shortlisted => "入围",
        PlanReview::Forwarded => "已报送省科协",
        PlanReview::Selected => "入选",
        PlanReview::NotSelected => "未入选",
    }
}
