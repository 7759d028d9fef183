//! The dispatcher: claims due deliveries under a lease it renews until their sends are
//! recorded, writes each as its platform's message from the session as it is now, merges what
//! falls due to one robot together before keeping the robot within its rate limit, sends
//! outside any transaction, and records every attempt.
//!
//! One round is [`Dispatcher::dispatch_due`]:
//! - **claim** (`claim`, one transaction): claims whose dispatcher died are taken over and
//!   marked in doubt; rows due are claimed, no more than can be sent within one lease; what
//!   their notices say is read; gather windows, throttles and rate limits are applied;
//! - **send** (`send`, no transaction): at most `concurrency` requests at a time;
//! - **record** (`record`, one transaction, tried again if it fails): attempts, outcomes,
//!   subscription health.
//!
//! From the claim until the record commits, the claims are renewed every third of the takeover
//! interval, so no other instance sends a message again while its answer is being recorded.
//!
//! [`Dispatcher::run`] repeats rounds, sleeping until the next due time and waking when work
//! is enqueued. Each dispatcher claims under its instance's identity: a process that restarts
//! under the same identity takes its predecessor's claims back at once, and any instance takes
//! over claims that nobody renewed within the takeover interval.

mod claim;
mod outcome;
mod record;
mod said;
mod send;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta};
use entity::delivery::Model as Delivery;
use entity::webhook::Model as Webhook;
use sea_orm::EntityTrait as _;
use tokio_util::sync::CancellationToken;

use super::client;
use super::message::{self, Options};
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::webhook::{AddressPolicy, Format};
use crate::error::Result;
use crate::store::deliveries;

use self::send::{Body, Message};

/// How a dispatcher works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The most deliveries claimed per round ([`Settings::claim_limit`] may allow fewer).
    pub batch: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// On PostgreSQL, how often to look for work when `LISTEN` is unavailable.
    pub poll: Duration,
    /// How long the delivery log keeps a message after it settled (delivered, failed, expired,
    /// withdrawn or in doubt). At least [`MIN_RETENTION`], so no message it owed is enqueued
    /// again.
    pub retention: TimeDelta,
    /// How long the audit trail keeps an entry; pruned with the delivery log.
    pub audit_retention: TimeDelta,
    /// A claim not renewed for this long is taken over by any instance.
    pub takeover: Duration,
    /// Notices due to one chat robot within this window go out together.
    pub gather: Duration,
    /// The identity claims are made under; a process restarting under the same one takes its
    /// predecessor's claims back at once. A name unique to this process when absent.
    pub instance: Option<String>,
}

/// The shortest retention: longer than the longest reminder offset (thirty days), so a pruned
/// reminder's session has started and nothing brings the reminder back.
pub const MIN_RETENTION: TimeDelta = TimeDelta::days(31);

/// How long the audit trail keeps an entry unless told otherwise: a year and a month, so
/// last year's program can be looked back on while this year's is prepared.
pub const DEFAULT_AUDIT_RETENTION: TimeDelta = TimeDelta::days(400);

/// The logs a running dispatcher prunes.
#[derive(Clone, Copy, Debug)]
enum Log {
    /// The webhook delivery log.
    Deliveries,
    /// The audit trail.
    Audit,
}

/// How often a running dispatcher prunes the log.
const PRUNE_EVERY: TimeDelta = TimeDelta::hours(1);

/// Rows pruned per statement, and statements per pruning: a long log is worked off over hours
/// without holding locks for long.
const PRUNE_BATCH: u64 = 1_000;
const PRUNE_BATCHES: u32 = 50;

/// Dead claims taken over per round.
const TAKEOVER_BATCH: u64 = 500;

/// How often a dispatcher looks for dead claims: claims run out on the scale of the takeover
/// interval, so once a second is soon enough, and a burst's rounds do not each pay for it.
const TAKEOVER_CHECK: TimeDelta = TimeDelta::seconds(1);

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch: 500,
            concurrency: 128,
            timeout: client::TIMEOUT,
            poll: Duration::from_secs(2),
            retention: TimeDelta::days(90),
            audit_retention: DEFAULT_AUDIT_RETENTION,
            takeover: Duration::from_secs(15),
            gather: Duration::from_secs(3),
            instance: None,
        }
    }
}

impl Settings {
    /// How long a claim lasts unless renewed: the takeover interval.
    pub fn lease(&self) -> TimeDelta {
        TimeDelta::from_std(self.takeover).unwrap_or(TimeDelta::seconds(15))
    }

    /// Rows claimed per round: no more than can be sent within one lease even if every
    /// receiver waits out the timeout (`concurrency` at a time), and at most `batch`.
    pub fn claim_limit(&self) -> u64 {
        let waves = (self.takeover.as_millis() / self.timeout.as_millis().max(1)).max(1);
        let fits = u64::try_from(waves)
            .unwrap_or(1)
            .saturating_mul(self.concurrency.max(1) as u64);
        fits.min(self.batch.max(1))
    }

    /// How often claims are renewed while a round sends: three times per takeover interval.
    pub fn heartbeat(&self) -> Duration {
        (self.takeover / 3).max(Duration::from_millis(100))
    }
}

/// The longest a dispatcher sleeps without looking again.
const MAX_IDLE: Duration = Duration::from_secs(300);

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Requests sent.
    pub messages: usize,
    /// Deliveries accepted by their receiver.
    pub delivered: usize,
    /// Deliveries that failed and will be tried again.
    pub retrying: usize,
    /// Deliveries that failed for good.
    pub failed: usize,
    /// Deliveries whose deadline passed and that were never sent.
    pub expired: usize,
    /// Deliveries no longer wanted (session off, subscription disabled).
    pub withdrawn: usize,
    /// Deliveries held back: a robot's gather window, its rate limit or its platform's throttle.
    pub deferred: usize,
    /// Claims of a dispatcher that stopped, taken over and due again.
    pub taken_over: usize,
    /// Deliveries settled in doubt: they may have arrived, and their deadline has passed.
    pub in_doubt: usize,
}

/// Sends the outbox.
pub struct Dispatcher {
    db: Db,
    clock: Arc<dyn Clock>,
    client: reqwest::Client,
    policy: AddressPolicy,
    settings: Settings,
    worker: String,
    public_url: String,
    /// When to look for dead claims next (microseconds since the epoch).
    next_takeover: AtomicI64,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("worker", &self.worker)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher over `db`, connecting only where `policy` permits. Sessions are linked
    /// under `public_url`.
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        policy: AddressPolicy,
        settings: Settings,
        public_url: &str,
    ) -> anyhow::Result<Self> {
        let client = client::build(&policy, settings.timeout)?;
        let worker = settings.instance.clone().unwrap_or_else(|| {
            format!(
                "{}-{}-{:08x}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "sciday".to_owned()),
                std::process::id(),
                rand::random::<u32>()
            )
        });
        Ok(Self {
            db,
            clock,
            client,
            policy,
            settings,
            worker,
            public_url: public_url.to_owned(),
            next_takeover: AtomicI64::new(i64::MIN),
        })
    }

    /// The name this dispatcher claims rows under.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// How long its claims last without renewal ([`Settings::lease`]).
    pub fn lease(&self) -> TimeDelta {
        self.settings.lease()
    }

    /// Sends what is due now: one round of claim, send and record.
    pub async fn dispatch_due(&self) -> Result<Round> {
        let now = self.clock.now();
        let mut round = Round::default();
        let txn = self.db.begin().await?;
        let taken = if now.timestamp_micros() >= self.next_takeover.load(Ordering::Relaxed) {
            self.next_takeover
                .store((now + TAKEOVER_CHECK).timestamp_micros(), Ordering::Relaxed);
            deliveries::take_over(&txn, now, TAKEOVER_BATCH).await?
        } else {
            deliveries::TakenOver::default()
        };
        for row in &taken.rows {
            outcome::taken_over(row, now);
        }
        round.taken_over = taken.resent.len();
        round.in_doubt = taken.settled.len();
        if !taken.resent.is_empty() || !taken.settled.is_empty() {
            tracing::warn!(
                due_again = taken.resent.len(),
                in_doubt = taken.settled.len(),
                "took over webhook deliveries whose dispatcher stopped mid-send"
            );
        }
        let claimed = deliveries::claim_due(&txn, now, self.lease(), &self.worker, self.settings.claim_limit()).await?;
        round.claimed = claimed.len();
        if claimed.is_empty() {
            txn.commit().await?;
            return Ok(round);
        }
        let messages = self.compose(&txn, claimed, now, &mut round).await?;
        txn.commit().await?;
        round.messages = messages.len();
        self.renewing(async {
            let sent = self.send_all(messages).await;
            self.record(sent, &mut round, false).await
        })
        .await?;
        Ok(round)
    }

    /// Sends a test message to a subscription now, without retrying, and records it in its
    /// delivery log. Returns the delivery.
    pub async fn send_test(&self, webhook: &Webhook) -> Result<Delivery> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        let key = format!(
            "{}:{}:{:08x}",
            message::TEST_EVENT,
            now.timestamp_micros(),
            rand::random::<u32>()
        );
        let test = deliveries::NewDelivery {
            webhook_id: webhook.id,
            event_type: message::TEST_EVENT.to_owned(),
            session_id: None,
            assignment_id: None,
            dedupe_key: key,
            payload: None,
            due_at: now,
            deadline: None,
        };
        let delivery = deliveries::insert_claimed(&txn, test, now, &self.worker, now + self.lease()).await?;
        txn.commit().await?;
        let label = webhook.name.clone().unwrap_or_else(|| format!("#{}", webhook.id));
        let body = match webhook.format {
            Format::Standard => Body::Standard {
                id: said::message_id(webhook, &delivery),
                payload: serde_json::to_vec(&message::test_payload(&label, now)).unwrap_or_default(),
            },
            _ => Body::Chat(message::test_text(
                &label,
                now,
                crate::domain::zone::Zone::from_stored(crate::feeds::service::DEFAULT_ZONE),
                &Options {
                    keyword: webhook.keyword.clone(),
                    mention: false,
                },
            )),
        };
        let message = Message {
            webhook: Arc::new(webhook.clone()),
            deliveries: vec![delivery.clone()],
            body,
        };
        let sent = self.send(message).await;
        self.record(vec![sent], &mut Round::default(), true).await?;
        Ok(entity::prelude::Delivery::find_by_id(delivery.id)
            .one(self.db.reader())
            .await?
            .unwrap_or(delivery))
    }

    /// Removes from the log what settled longer than the retention ago; returns how many.
    pub async fn prune(&self) -> Result<u64> {
        let before = self.clock.now() - self.settings.retention.max(MIN_RETENTION);
        self.prune_log(Log::Deliveries, before).await
    }

    /// Removes from the audit trail what is older than its retention; returns how many.
    pub async fn prune_audit(&self) -> Result<u64> {
        self.prune_log(Log::Audit, self.clock.now() - self.settings.audit_retention)
            .await
    }

    /// Removes from `log` what is older than `before`, a batch per transaction so no lock is
    /// held for long; returns how many.
    async fn prune_log(&self, log: Log, before: chrono::DateTime<chrono::Utc>) -> Result<u64> {
        let mut pruned = 0;
        for _ in 0..PRUNE_BATCHES {
            let txn = self.db.begin().await?;
            let removed = match log {
                Log::Deliveries => deliveries::prune(&txn, before, PRUNE_BATCH).await?,
                Log::Audit => crate::store::audit::prune(&txn, before, PRUNE_BATCH).await?,
            };
            txn.commit().await?;
            pruned += removed;
            if removed < PRUNE_BATCH {
                break;
            }
        }
        Ok(pruned)
    }

    /// Takes back what a previous life of this instance claimed and never recorded: its leases
    /// end now, so the next round takes those deliveries over (marked in doubt) at once.
    pub async fn reclaim(&self) -> Result<u64> {
        let reclaimed = deliveries::expire_leases_of(self.db.reader(), &self.worker, self.clock.now()).await?;
        // Taken over in the next round.
        self.next_takeover.store(i64::MIN, Ordering::Relaxed);
        if reclaimed > 0 {
            tracing::warn!(
                reclaimed,
                instance = %self.worker,
                "taking back webhook deliveries this instance claimed before it stopped"
            );
        }
        Ok(reclaimed)
    }

    /// Repeats rounds until `stop` is cancelled: takes back its previous life's claims first,
    /// sleeps until the next delivery falls due, wakes when work is enqueued (on PostgreSQL,
    /// by any instance), finishes the round in flight when told to stop, and then frees
    /// whatever it still holds. Once an hour it prunes the log.
    pub async fn run(&self, stop: CancellationToken) {
        if let Err(error) = self.reclaim().await {
            tracing::warn!(%error, "could not take back this instance's earlier claims");
        }
        let mut listener = self.listen().await;
        let mut next_prune = self.clock.now();
        loop {
            if self.clock.now() >= next_prune {
                match self.prune().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "pruned the webhook delivery log"),
                    Err(error) => tracing::warn!(%error, "could not prune the webhook delivery log"),
                }
                match self.prune_audit().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "pruned the audit trail"),
                    Err(error) => tracing::warn!(%error, "could not prune the audit trail"),
                }
                next_prune = self.clock.now() + PRUNE_EVERY;
            }
            let bell = deliveries::OUTBOX.notified();
            tokio::pin!(bell);
            bell.as_mut().enable();
            let wait = match self.dispatch_due().await {
                Ok(round) if round.claimed as u64 >= self.settings.claim_limit() => Duration::ZERO,
                Ok(_) => self.idle_time(listener.is_some()).await,
                Err(error) => {
                    tracing::error!(%error, "dispatching webhooks failed; trying again shortly");
                    Duration::from_secs(1)
                }
            };
            if stop.is_cancelled() {
                break;
            }
            if wait.is_zero() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = &mut bell => {}
                () = tokio::time::sleep(wait) => {}
                heard = next_notification(&mut listener) => {
                    if let Err(error) = heard {
                        tracing::warn!(%error, "lost the outbox channel; polling instead");
                        listener = None;
                    }
                }
            }
        }
        match deliveries::release(self.db.reader(), &self.worker, self.clock.now()).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released claimed webhook deliveries"),
            Err(error) => tracing::warn!(%error, "could not release claimed webhook deliveries"),
        }
    }

    /// Runs until `shutdown` completes (a convenience over [`Self::run`]).
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        let run = self.run(stop);
        tokio::pin!(run);
        tokio::select! {
            () = &mut run => return,
            () = shutdown => trigger.cancel(),
        }
        run.await;
    }

    /// How long to sleep before the next round.
    async fn idle_time(&self, listening: bool) -> Duration {
        let cap = if listening || self.db.backend() != sea_orm::DatabaseBackend::Postgres {
            MAX_IDLE
        } else {
            self.settings.poll
        };
        match deliveries::next_due(self.db.reader()).await {
            Ok(next) => {
                // A claim is taken over once its lease has run out, at the next look for
                // dead claims.
                let takeover = next.lease_end.map(|end| {
                    let check = DateTime::from_timestamp_micros(self.next_takeover.load(Ordering::Relaxed));
                    (end + TimeDelta::milliseconds(1)).max(check.unwrap_or(end))
                });
                match [next.pending, takeover].into_iter().flatten().min() {
                    Some(at) => (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO).min(cap),
                    None => cap,
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read when the next webhook is due");
                Duration::from_secs(1)
            }
        }
    }

    /// Listens on the outbox channel (PostgreSQL).
    async fn listen(&self) -> Option<sea_orm::sqlx::postgres::PgListener> {
        let pool = self.db.postgres_pool()?;
        let listening = async {
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
            listener.listen(deliveries::CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        match listening.await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for new webhook deliveries; polling instead");
                None
            }
        }
    }
}

async fn next_notification(
    listener: &mut Option<sea_orm::sqlx::postgres::PgListener>,
) -> std::result::Result<(), sea_orm::sqlx::Error> {
    match listener {
        Some(listener) => listener.recv().await.map(|_| ()),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_claims_what_it_can_send_within_one_lease() {
        let settings = Settings::default();
        // Fifteen seconds of lease, ten of timeout: one wave of 128 requests.
        assert_eq!(settings.lease(), TimeDelta::seconds(15));
        assert_eq!(settings.claim_limit(), 128);
        assert_eq!(settings.heartbeat(), Duration::from_secs(5));
        let patient = Settings {
            takeover: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            ..Settings::default()
        };
        assert_eq!(patient.claim_limit(), 500, "twelve waves, held to the batch");
        let one_by_one = Settings {
            batch: 3,
            concurrency: 1,
            timeout: Duration::from_secs(20),
            ..Settings::default()
        };
        assert_eq!(one_by_one.claim_limit(), 1);
    }
}
