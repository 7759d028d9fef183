//! The reminder wave: a hundred thousand reminders due at the same second, sent by the
//! `sciday serve` processes of the run to `standard` receivers on loopback.
//!
//! The subscriptions are made through the API, scoped to a program of their own with no
//! sessions, so subscribing enqueues nothing. Their reminders, of sessions of the national
//! program, are then written to the outbox in one transaction through the store, as the
//! service writes them when sessions are made, but a hundred thousand in seconds. The
//! receiver notes every arrival's `webhook-id`: a message that arrives twice shows there.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::{DateTime, DurationRound as _, TimeDelta, Utc};
use entity::kinds::SessionStatus;
use entity::prelude::Session;
use entity::session;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde_json::json;

use super::super::percentile;
use super::super::receiver;
use super::super::webhooks::{Api, Program, count};
use super::DataSet;
use super::report::Row;
use crate::db::Db;
use crate::store::{deliveries, reminders};

/// Subscriptions the wave is spread over (fewer for a smaller wave).
const SUBSCRIPTIONS: usize = 100;

/// How long after the wave falls due the benchmark waits for it at most.
const PATIENCE: Duration = Duration::from_secs(120);

/// A wave written to the outbox, falling due at `due`.
pub struct Wave {
    size: usize,
    due: DateTime<Utc>,
    lead: Duration,
    tag: String,
    /// The program the subscriptions are scoped to, with its host, venue and activity.
    made: Program,
    webhooks: Vec<i64>,
    arrivals: receiver::Arrivals,
}

/// Subscribes receivers on loopback and writes `size` reminders to them, due at one second a
/// little later, into the outbox.
pub async fn prepare(db: &Db, data: &DataSet, api: &Api, size: usize) -> anyhow::Result<Wave> {
    // An earlier wave's rows are deleted but, where PostgreSQL runs without autovacuum, still
    // in the outbox's indexes for every claim to step over: clear them first, as autovacuum
    // would on a server that runs it.
    if db.backend() == sea_orm::DatabaseBackend::Postgres {
        db.reader()
            .execute_unprepared("VACUUM (ANALYZE) deliveries, delivery_attempts")
            .await?;
    }
    let (address, arrivals) = receiver::start(Duration::ZERO).await?;
    let tag = format!("national-{}", Utc::now().timestamp_micros());
    let made = api.program(&tag).await?;
    let subscriptions = SUBSCRIPTIONS.min(size).max(1);
    let per_subscription = size.div_ceil(subscriptions);
    let mut webhooks = Vec::with_capacity(subscriptions);
    for i in 0..subscriptions {
        let body = json!({"organization_id": made.organization, "url": format!("http://{address}/{tag}/{i}"),
                          "format": "standard", "scope": {"kind": "program", "id": made.program},
                          "events": ["session.reminder"], "offsets": ["PT1H"]});
        webhooks.push(api.post("/api/v1/webhooks", body).await?);
    }
    // Writing the outbox takes about a tenth of a millisecond a row; the wave falls due on
    // the whole second after that.
    let lead = Duration::from_secs(2) + Duration::from_micros(100) * u32::try_from(size)?;
    let due = (Utc::now() + TimeDelta::from_std(lead)?).duration_trunc(TimeDelta::seconds(1))? + TimeDelta::seconds(1);
    let sessions: Vec<(i64, DateTime<Utc>, i32)> = Session::find()
        .select_only()
        .columns([
            session::Column::Id,
            session::Column::StartsAt,
            session::Column::Sequence,
        ])
        .filter(session::Column::ProgramId.eq(data.generated.program_id))
        .filter(session::Column::Status.eq(SessionStatus::Scheduled))
        .filter(session::Column::StartsAt.gt(due + TimeDelta::hours(1)))
        .order_by_asc(session::Column::Id)
        .limit(u64::try_from(per_subscription)?)
        .into_tuple()
        .all(db.reader())
        .await?;
    if sessions.len() < per_subscription {
        bail!(
            "only {} sessions of the data set are still to come; give --regenerate",
            sessions.len()
        );
    }
    let rows: Vec<_> = webhooks
        .iter()
        .flat_map(|webhook| {
            sessions
                .iter()
                .map(move |(id, starts_at, sequence)| (*webhook, *id, *starts_at, *sequence))
        })
        .take(size)
        .map(|(webhook, id, starts_at, sequence)| {
            reminders::reminder(webhook, id, starts_at, sequence, starts_at - due)
        })
        .collect();
    let txn = db.begin().await?;
    deliveries::enqueue_all(&txn, rows, Utc::now()).await?;
    txn.commit().await?;
    if Utc::now() >= due {
        bail!("writing {size} reminders took longer than {lead:?} (the machine is busy)");
    }
    eprintln!("  {size} reminders due at {due} for {subscriptions} subscriptions");
    Ok(Wave {
        size,
        due,
        lead,
        tag,
        made,
        webhooks,
        arrivals,
    })
}

/// Waits for the wave's reminders to be sent by the `instances` serving the database, and
/// reports how long until every one was delivered and whether any went twice; then deletes
/// the subscriptions with their log.
pub async fn settle(db: &Db, api: &Api, wave: Wave, instances: usize) -> anyhow::Result<Row> {
    let (size, due, webhooks) = (wave.size, wave.due, &wave.webhooks);

    let ids = webhooks.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let settled = format!("deliveries WHERE webhook_id IN ({ids}) AND status NOT IN ('pending', 'sending')");
    let give_up = Instant::now() + wave.lead + PATIENCE;
    while wave.arrivals.len() < size || usize::try_from(count(db, &settled).await?)? < size {
        if Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = usize::try_from(
        count(
            db,
            &format!("deliveries WHERE webhook_id IN ({ids}) AND status = 'delivered'"),
        )
        .await?,
    )?;
    let ours = format!("/{}/", wave.tag);
    let arrived: Vec<_> = wave
        .arrivals
        .all()
        .into_iter()
        .filter(|a| a.path.starts_with(&ours))
        .collect();
    let distinct: HashSet<&str> = arrived.iter().map(|a| a.message.as_str()).collect();
    let twice = arrived.len() - distinct.len();
    let mut lateness: Vec<Duration> = arrived
        .iter()
        .map(|a| (a.at - due).to_std().unwrap_or_default())
        .collect();
    lateness.sort_unstable();
    let all_in = lateness.last().copied().unwrap_or_default();
    for webhook in webhooks {
        api.delete(&format!("/api/v1/webhooks/{webhook}")).await?;
    }
    // The program made for the wave goes too, so the database holds only the data set and a
    // later `--regenerate` may empty it.
    let made = &wave.made;
    for path in [
        format!("activities/{}", made.activity),
        format!("programs/{}", made.program),
        format!("venues/{}", made.venue),
        format!("organizations/{}", made.organization),
    ] {
        api.delete(&format!("/api/v1/{path}")).await?;
    }
    let verdict = if distinct.len() == size && delivered == size {
        format!("all delivered {:.1} s after due", all_in.as_secs_f64())
    } else {
        format!(
            "{} of {size} received, {delivered} logged delivered, within {} s",
            distinct.len(),
            PATIENCE.as_secs()
        )
    };
    Ok(Row {
        requests: Some(arrived.len()),
        median: Some(percentile(&lateness, 0.50)),
        p99: Some(percentile(&lateness, 0.99)),
        rate: Some(distinct.len() as f64 / all_in.as_secs_f64().max(1e-3)),
        ..Row::new(format!(
            "reminder wave: {} due at one second, {instances} instance(s), {} `standard` subscriptions",
            crate::domain::text::thousands(size as u64),
            webhooks.len()
        ))
    }
    .noting(format!(
        "{verdict}; {twice} received twice; latency columns: lateness after due"
    )))
}
