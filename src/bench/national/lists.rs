//! Lists at national size: the candidates for a role open to every volunteer, the sessions
//! from late in the program, and a page deep in a keyset-paged list reached by following
//! its cursors.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use entity::prelude::{Activity, Session, SessionRole};
use entity::{activity, session, session_role};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _};
use serde_json::Value;

use super::super::load::{self, Limits};
use super::report::Row;
use super::{DataSet, Options};
use crate::db::Db;

/// Rows a page of the deep list holds.
const PAGE: usize = 500;

/// Measures the candidates, the late sessions and the deep page on the service at `base`.
pub async fn measure(db: &Db, data: &DataSet, base: &str, token: &str, options: &Options) -> anyhow::Result<Vec<Row>> {
    let client = reqwest::Client::new();
    let limits = Limits {
        requests: options.repeated,
        workers: 1,
        time: options.seconds * 4,
    };
    let mut rows = Vec::new();

    let role = open_role(db, data).await?;
    let path = format!("/api/v1/session-roles/{role}/candidates");
    let label = format!(
        "candidates: first page, a role open to all {} volunteers",
        crate::domain::text::thousands(data.generated.volunteers as u64)
    );
    rows.push(repeated(&client, base, &path, Some(token), limits, label).await?);

    let late = data.last_day;
    let path = format!("/api/v1/sessions?from={late}");
    let label = format!("sessions list: from= {late}, the program's last day");
    rows.push(repeated(&client, base, &path, None, limits, label).await?);

    eprintln!("  following volunteers list cursors, {PAGE} a page");
    let (page, cursor) = deep_page(&client, base, token, options.deep_pages, options.seconds * 12).await?;
    let rows_in = crate::domain::text::thousands(((page - 1) * PAGE) as u64);
    // The same place in the list, a page of the size followed and one of the default size.
    for (limit, size) in [
        (format!("limit={PAGE}&"), format!("{PAGE} a page")),
        (String::new(), "default page size".to_owned()),
    ] {
        let path = format!("/api/v1/volunteers?{limit}{cursor}");
        let label = format!("volunteers list: {rows_in} rows in (keyset cursor), {size}");
        rows.push(repeated(&client, base, &path, Some(token), limits, label).await?);
    }
    Ok(rows)
}

/// A role of the host's own activity with no team and a free seat: every volunteer of the
/// program's organizations is in its pool, and eligible unless busy that day.
async fn open_role(db: &Db, data: &DataSet) -> anyhow::Result<i64> {
    let host = Activity::find()
        .filter(activity::Column::ProgramId.eq(data.generated.program_id))
        .filter(activity::Column::OrganizationId.eq(data.generated.root_organization_id))
        .one(db.reader())
        .await?
        .context("the data set has no activity of the host's own (generate it again with --regenerate)")?;
    // A page of the activity's roles at a time, until one has a seat free.
    let mut after = 0;
    loop {
        let roles: Vec<(i64, i32)> = SessionRole::find()
            .select_only()
            .column(session_role::Column::Id)
            .column(session_role::Column::Needed)
            .inner_join(Session)
            .filter(session::Column::ActivityId.eq(host.id))
            .filter(session_role::Column::TeamId.is_null())
            .filter(session_role::Column::Id.gt(after))
            .order_by_asc(session_role::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db.reader())
            .await?;
        let Some(&(last, _)) = roles.last() else {
            anyhow::bail!("every role of the host's activity is full");
        };
        let ids: Vec<i64> = roles.iter().map(|(id, _)| *id).collect();
        let filled = crate::store::roles::filled(db.reader(), &ids).await?;
        let free = roles
            .into_iter()
            .find(|(id, needed)| filled.get(id).copied().unwrap_or(0) < u64::try_from(*needed).unwrap_or(0));
        if let Some((id, _)) = free {
            return Ok(id);
        }
        after = last;
    }
}

/// `path` asked one request at a time, `limits` bounding how often; the first answer's items
/// counted for the note.
async fn repeated(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    limits: Limits,
    label: String,
) -> anyhow::Result<Row> {
    eprintln!("  {label}");
    let url = format!("{base}{path}");
    let ask = {
        let (client, token) = (client.clone(), token.map(str::to_owned));
        move |url: &str| {
            let request = client.get(url);
            match &token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        }
    };
    let items = match ask(&url).send().await?.json::<Value>().await {
        Ok(page) => page["data"].as_array().map_or(0, Vec::len),
        Err(_) => 0,
    };
    let sample = load::drive(limits, move |_| ask(&url).send()).await;
    Ok(Row::load(label, &sample, 200).noting(format!("{items} items a page")))
}

/// Follows the volunteers list's `next_cursor` from the first page to page `pages` (or the
/// last there is, or as far as `within` allows): the page's number and its `cursor=` query
/// parameter (empty for the first page).
async fn deep_page(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    pages: usize,
    within: Duration,
) -> anyhow::Result<(usize, String)> {
    let started = Instant::now();
    let first = format!("/api/v1/volunteers?limit={PAGE}");
    let mut cursor_parameter = String::new();
    let mut page = 1;
    while page < pages && started.elapsed() < within {
        let answer: Value = client
            .get(format!("{base}{first}&{cursor_parameter}"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let Some(cursor) = answer["next_cursor"].as_str() else {
            break;
        };
        cursor_parameter = format!(
            "cursor={}",
            url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect::<String>()
        );
        page += 1;
    }
    Ok((page, cursor_parameter))
}
