//! The dispatcher: claims due deliveries under a lease, writes each as its platform's message
//! from the session as it is now, keeps every robot within its rate limit (merging what is
//! due together), sends outside any transaction, and records every attempt.
//!
//! One round is [`Dispatcher::dispatch_due`]: claim (one transaction: rows due, their
//! subscriptions locked, what the notices say read, rate limits applied), send (no
//! transaction, at most `concurrency` requests at a time), record (one transaction: attempts,
//! outcomes, subscription health). [`Dispatcher::run`] repeats rounds, sleeping until the next
//! due time and waking when work is enqueued.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Model as Delivery;
use entity::kinds::{AttemptOutcome, DeliveryStatus};
use entity::webhook::Model as Webhook;
use futures_util::StreamExt as _;
use sea_orm::{EntityTrait as _, Set};
use sha2::{Digest as _, Sha256};
use tokio_util::sync::CancellationToken;

use super::backoff::{self, Failure, Next};
use super::message::{self, About, ChatText, Notice, Options};
use super::verdict::{self, Answer, Verdict};
use super::{client, limits, signing};
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::notice::{Happening, PlanHappening, SessionFacts, When};
use crate::domain::webhook::{AddressPolicy, Format, WebhookUrl};
use crate::error::Result;
use crate::store::deliveries::{self, Settled};
use crate::store::notices::{self, Subject};
use crate::store::plan_notices;
use crate::store::webhooks::{self, Health};

/// How a dispatcher works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Deliveries claimed per round.
    pub batch: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// On PostgreSQL, how often to look for work when `LISTEN` is unavailable.
    pub poll: Duration,
    /// How long the delivery log keeps a message after it settled (delivered, failed, expired
    /// or withdrawn). At least [`MIN_RETENTION`], so no message it owed is enqueued again.
    pub retention: TimeDelta,
}

/// The shortest retention: longer than the longest reminder offset (thirty days), so a pruned
/// reminder's session has started and nothing brings the reminder back.
pub const MIN_RETENTION: TimeDelta = TimeDelta::days(31);

/// How often a running dispatcher prunes the log.
const PRUNE_EVERY: TimeDelta = TimeDelta::hours(1);

/// Rows pruned per statement, and statements per pruning: a long log is worked off over hours
/// without holding locks for long.
const PRUNE_BATCH: u64 = 1_000;
const PRUNE_BATCHES: u32 = 50;

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch: 500,
            concurrency: 64,
            timeout: client::TIMEOUT,
            poll: Duration::from_secs(2),
            retention: TimeDelta::days(90),
        }
    }
}

impl Settings {
    /// How long a claim lasts: longer than a whole round may take even if every receiver
    /// waits out the timeout (a batch goes out `concurrency` requests at a time), with room to
    /// record it; so no row is taken over while it is still being sent.
    pub fn lease(&self) -> TimeDelta {
        let waves = self.batch.div_ceil(self.concurrency.max(1) as u64).max(1);
        let timeout = TimeDelta::from_std(self.timeout).unwrap_or(TimeDelta::seconds(10));
        timeout * i32::try_from(waves).unwrap_or(i32::MAX) + TimeDelta::seconds(30)
    }
}

/// The longest a dispatcher sleeps without looking again.
const MAX_IDLE: Duration = Duration::from_secs(300);

/// The most of a response body read.
const BODY_READ: usize = 64 * 1024;

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
    /// Deliveries whose deadline passed.
    pub expired: usize,
    /// Deliveries no longer wanted (session off, subscription disabled).
    pub withdrawn: usize,
    /// Deliveries put back to respect a robot's rate limit.
    pub deferred: usize,
}

/// What a message holds.
#[derive(Clone, Debug)]
enum Body {
    /// One Standard Webhooks message.
    Standard { id: String, payload: Vec<u8> },
    /// One chat message holding one or more notices.
    Chat(ChatText),
}

/// One request to make.
#[derive(Clone, Debug)]
struct Message {
    webhook: Arc<Webhook>,
    deliveries: Vec<Delivery>,
    body: Body,
}

/// An attempt's result: the answer, or how the request failed.
struct Sent {
    message: Message,
    attempted_at: DateTime<Utc>,
    duration: Duration,
    result: std::result::Result<Answer, (Failure, String)>,
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
        let worker = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "sciday".to_owned()),
            std::process::id(),
            rand::random::<u32>()
        );
        Ok(Self {
            db,
            clock,
            client,
            policy,
            settings,
            worker,
            public_url: public_url.to_owned(),
        })
    }

    /// The name this dispatcher claims rows under.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// How long its claims last ([`Settings::lease`]).
    pub fn lease(&self) -> TimeDelta {
        self.settings.lease()
    }

    /// Sends what is due now: one round of claim, send and record.
    pub async fn dispatch_due(&self) -> Result<Round> {
        let now = self.clock.now();
        let mut round = Round::default();
        let txn = self.db.begin().await?;
        let claimed = deliveries::claim_due(&txn, now, self.lease(), &self.worker, self.settings.batch).await?;
        round.claimed = claimed.len();
        if claimed.is_empty() {
            txn.commit().await?;
            return Ok(round);
        }
        let mut webhook_ids: Vec<i64> = claimed.iter().map(|d| d.webhook_id).collect();
        webhook_ids.sort_unstable();
        webhook_ids.dedup();
        let subscriptions = webhooks::lock_all(&txn, &webhook_ids).await?;
        let said = Said::read(&txn, &claimed, &self.public_url).await?;
        let mut by_webhook: BTreeMap<i64, Vec<Delivery>> = BTreeMap::new();
        for delivery in claimed {
            by_webhook.entry(delivery.webhook_id).or_default().push(delivery);
        }
        let mut messages = Vec::new();
        let mut unsent: Vec<(Settled, Vec<i64>)> = Vec::new();
        for (webhook_id, rows) in by_webhook {
            let Some(webhook) = subscriptions.get(&webhook_id).filter(|w| w.enabled) else {
                round.withdrawn += rows.len();
                let ids = rows.iter().map(|d| d.id).collect();
                unsent.push((ending(DeliveryStatus::Withdrawn, "the subscription is disabled"), ids));
                continue;
            };
            let webhook = Arc::new(webhook.clone());
            let mut ready = Vec::new();
            for row in rows {
                if row.deadline.is_some_and(|deadline| deadline <= now) {
                    round.expired += 1;
                    unsent.push((
                        ending(DeliveryStatus::Expired, "its deadline passed before it could be sent"),
                        vec![row.id],
                    ));
                } else if let Some(notice) = said.notice(&webhook, &row) {
                    ready.push((row, notice));
                } else {
                    round.withdrawn += 1;
                    unsent.push((ending(DeliveryStatus::Withdrawn, withdrawn_because(&row)), vec![row.id]));
                }
            }
            if ready.is_empty() {
                continue;
            }
            let format = webhook.format;
            if format == Format::Standard {
                for (row, notice) in ready {
                    let payload = serde_json::to_vec(&message::standard_payload(&notice)).unwrap_or_default();
                    messages.push(Message {
                        webhook: Arc::clone(&webhook),
                        deliveries: vec![row],
                        body: Body::Standard { id: notice.id, payload },
                    });
                }
                continue;
            }
            let options = Options {
                keyword: webhook.keyword.clone(),
                mention: webhook.mention,
            };
            let lookback = limits::lookback(format);
            let mut recent: Vec<DateTime<Utc>> = webhooks::recent_sends(&webhook)
                .into_iter()
                .filter(|at| *at > now - lookback)
                .collect();
            let (rows, notices): (Vec<Delivery>, Vec<Notice>) = ready.into_iter().unzip();
            let mut start = 0;
            while start < notices.len() {
                let free = limits::next_free(format, &recent, now);
                if free > now {
                    let ids: Vec<i64> = rows[start..].iter().map(|d| d.id).collect();
                    round.deferred += ids.len();
                    deliveries::defer(&txn, &ids, &self.worker, free, now).await?;
                    break;
                }
                let text = message::chat_text(format, &notices[start..], &options);
                let end = (start + text.used.max(1)).min(rows.len());
                recent.push(now);
                messages.push(Message {
                    webhook: Arc::clone(&webhook),
                    deliveries: rows[start..end].to_vec(),
                    body: Body::Chat(text),
                });
                start = end;
            }
            webhooks::note_sends(&txn, webhook.id, &recent).await?;
        }
        for (settled, ids) in &unsent {
            deliveries::settle(&txn, ids, &self.worker, settled, now).await?;
        }
        txn.commit().await?;
        round.messages = messages.len();
        let sent: Vec<Sent> = futures_util::stream::iter(messages)
            .map(|message| self.send(message))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        self.record(sent, &mut round, false).await?;
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
        let row = entity::delivery::ActiveModel {
            webhook_id: Set(webhook.id),
            event_type: Set(message::TEST_EVENT.to_owned()),
            session_id: Set(None),
            assignment_id: Set(None),
            dedupe_key: Set(key),
            payload: Set(None),
            due_at: Set(now),
            deadline: Set(None),
            status: Set(DeliveryStatus::Sending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            lease_until: Set(Some(now + self.lease())),
            leased_by: Set(Some(self.worker.clone())),
            delivered_at: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let delivery = sea_orm::ActiveModelTrait::insert(row, &txn).await?;
        txn.commit().await?;
        let label = webhook.name.clone().unwrap_or_else(|| format!("#{}", webhook.id));
        let body = match webhook.format {
            Format::Standard => Body::Standard {
                id: message_id(webhook, &delivery),
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

    /// Makes one attempt at a message.
    async fn send(&self, message: Message) -> Sent {
        let attempted_at = self.clock.now();
        let timer = Instant::now();
        let result = self.post(&message, attempted_at).await;
        Sent {
            message,
            attempted_at,
            duration: timer.elapsed(),
            result,
        }
    }

    async fn post(&self, message: &Message, now: DateTime<Utc>) -> std::result::Result<Answer, (Failure, String)> {
        let webhook = &message.webhook;
        let mut url = WebhookUrl::stored(&webhook.url).expose().clone();
        client::check_literal(&url, &self.policy).map_err(|blocked| (Failure::Permanent, blocked.to_string()))?;
        let secret = webhook.secret.as_deref().filter(|s| !s.is_empty());
        let request = match &message.body {
            Body::Standard { id, payload } => {
                let timestamp = now.timestamp();
                let mut request = self
                    .client
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("webhook-id", id)
                    .header("webhook-timestamp", timestamp.to_string());
                if let Some(key) = secret.and_then(signing::standard_key) {
                    request = request.header(
                        "webhook-signature",
                        signing::standard_signature(&key, id, timestamp, payload),
                    );
                }
                request.body(payload.clone())
            }
            Body::Chat(text) => {
                if webhook.format == Format::DingTalk
                    && let Some(secret) = secret
                {
                    url.query_pairs_mut().extend_pairs(message::dingtalk_query(secret, now));
                }
                let feishu_secret = secret.filter(|_| webhook.format == Format::Feishu);
                let body = message::chat_body(webhook.format, text, feishu_secret, now);
                self.client.post(url).json(&body)
            }
        };
        let response = request.send().await.map_err(failure_of)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, now));
        let body = read_body(response).await.map_err(failure_of)?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    /// Records a round's attempts and what follows from them, in one transaction. A test
    /// message is never retried.
    async fn record(&self, sent: Vec<Sent>, round: &mut Round, once: bool) -> Result<()> {
        if sent.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut settled: Vec<(Settled, Vec<i64>)> = Vec::new();
        let mut attempts = Vec::new();
        let mut health: BTreeMap<i64, Health> = BTreeMap::new();
        for sent in sent {
            let format = sent.message.webhook.format;
            let verdict = match &sent.result {
                Ok(answer) => verdict::judge(format, answer),
                Err((failure, message)) => Verdict {
                    failure: Some(*failure),
                    code: None,
                    message: Some(message.clone()),
                },
            };
            let answer = sent.result.as_ref().ok();
            let error = verdict.failure.map(|_| describe(answer, &verdict));
            let jitter = rand::random_range(-1.0..=1.0);
            let webhook_id = sent.message.webhook.id;
            match verdict.failure {
                None => {
                    health.insert(webhook_id, Health::Delivered);
                }
                Some(failure) => {
                    let flag = (failure == Failure::Permanent).then(|| error.clone().unwrap_or_default());
                    let entry = health.entry(webhook_id).or_insert(Health::Failing { flag: None });
                    if let Health::Failing { flag: kept } = entry
                        && flag.is_some()
                    {
                        *kept = flag;
                    }
                }
            }
            for delivery in &sent.message.deliveries {
                let attempt = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
                let (outcome, next) = match verdict.failure {
                    None => (AttemptOutcome::Delivered, None),
                    Some(_) if once => (AttemptOutcome::Failed, None),
                    Some(failure) => {
                        let retry_after = answer.and_then(|a| a.retry_after);
                        match backoff::next_attempt(attempt, now, failure, retry_after, jitter, delivery.deadline) {
                            Next::RetryAt(at) => (AttemptOutcome::Retrying, Some(at)),
                            Next::GiveUp => (AttemptOutcome::Failed, None),
                            Next::Expire => (AttemptOutcome::Expired, None),
                        }
                    }
                };
                let status = match outcome {
                    AttemptOutcome::Delivered => {
                        round.delivered += 1;
                        DeliveryStatus::Delivered
                    }
                    AttemptOutcome::Retrying => {
                        round.retrying += 1;
                        DeliveryStatus::Pending
                    }
                    AttemptOutcome::Failed => {
                        round.failed += 1;
                        DeliveryStatus::Failed
                    }
                    AttemptOutcome::Expired => {
                        round.expired += 1;
                        DeliveryStatus::Expired
                    }
                };
                let outcome_of_row = Settled {
                    status,
                    next_attempt_at: next,
                    attempted: true,
                    error: error.clone(),
                };
                match settled.iter_mut().find(|(s, _)| *s == outcome_of_row) {
                    Some((_, ids)) => ids.push(delivery.id),
                    None => settled.push((outcome_of_row, vec![delivery.id])),
                }
                attempts.push(entity::delivery_attempt::ActiveModel {
                    delivery_id: Set(delivery.id),
                    webhook_id: Set(webhook_id),
                    attempted_at: Set(sent.attempted_at),
                    duration_ms: Set(i32::try_from(sent.duration.as_millis()).unwrap_or(i32::MAX)),
                    http_status: Set(answer.map(|a| i32::from(a.status))),
                    error_code: Set(verdict.code.filter(|_| verdict.failure.is_some())),
                    error_message: Set(verdict.message.clone()),
                    response_body: Set(answer
                        .map(|a| verdict::clip(&a.body, verdict::BODY_KEPT))
                        .filter(|b| !b.is_empty())),
                    outcome: Set(outcome),
                    next_attempt_at: Set(next),
                    ..Default::default()
                });
            }
            match &error {
                Some(error) => tracing::warn!(
                    subscription = webhook_id,
                    url = %sent.message.webhook.url_shown,
                    deliveries = sent.message.deliveries.len(),
                    %error,
                    "webhook delivery failed"
                ),
                None => tracing::debug!(
                    subscription = webhook_id,
                    deliveries = sent.message.deliveries.len(),
                    "webhook delivered"
                ),
            }
        }
        let txn = self.db.begin().await?;
        // A subscription deleted meanwhile took its deliveries with it: their attempts go
        // unrecorded rather than failing the record of the rest.
        let tried: Vec<i64> = settled.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let present = deliveries::existing(&txn, &tried).await?;
        attempts.retain(|a| matches!(&a.delivery_id, sea_orm::ActiveValue::Set(id) if present.contains(id)));
        deliveries::log_attempts(&txn, attempts).await?;
        for (settled, ids) in &settled {
            deliveries::settle(&txn, ids, &self.worker, settled, now).await?;
        }
        for (webhook_id, health) in health {
            if let Some(reason) = webhooks::note_health(&txn, webhook_id, health, now).await? {
                tracing::warn!(subscription = webhook_id, %reason, "webhook subscription disabled");
            }
        }
        txn.commit().await?;
        Ok(())
    }

    /// Removes from the log what settled longer than the retention ago; returns how many.
    pub async fn prune(&self) -> Result<u64> {
        let before = self.clock.now() - self.settings.retention.max(MIN_RETENTION);
        let mut pruned = 0;
        for _ in 0..PRUNE_BATCHES {
            let txn = self.db.begin().await?;
            let removed = deliveries::prune(&txn, before, PRUNE_BATCH).await?;
            txn.commit().await?;
            pruned += removed;
            if removed < PRUNE_BATCH {
                break;
            }
        }
        Ok(pruned)
    }

    /// Repeats rounds until `stop` is cancelled: sleeps until the next delivery falls due,
    /// wakes when work is enqueued (on PostgreSQL, by any instance), finishes the round in
    /// flight when told to stop, and then frees whatever it still holds. Once an hour it
    /// prunes the log.
    pub async fn run(&self, stop: CancellationToken) {
        let mut listener = self.listen().await;
        let mut next_prune = self.clock.now();
        loop {
            if self.clock.now() >= next_prune {
                match self.prune().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "pruned the webhook delivery log"),
                    Err(error) => tracing::warn!(%error, "could not prune the webhook delivery log"),
                }
                next_prune = self.clock.now() + PRUNE_EVERY;
            }
            let bell = deliveries::OUTBOX.notified();
            tokio::pin!(bell);
            bell.as_mut().enable();
            let wait = match self.dispatch_due().await {
                Ok(round) if round.claimed as u64 >= self.settings.batch => Duration::ZERO,
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
            Ok(Some(at)) => (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO).min(cap),
            Ok(None) => cap,
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

/// A claimed row that ends without an attempt.
fn ending(status: DeliveryStatus, why: &str) -> Settled {
    Settled {
        status,
        next_attempt_at: None,
        attempted: false,
        error: Some(why.to_owned()),
    }
}

/// The `webhook-id` of a delivery: stable across its retries, unique across subscriptions.
fn message_id(webhook: &Webhook, delivery: &Delivery) -> String {
    let digest = Sha256::digest(format!("{}\n{}", webhook.key, delivery.dedupe_key));
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// How a request failed, without its address (which may carry the robot's token).
fn failure_of(error: reqwest::Error) -> (Failure, String) {
    let blocked = std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| e.source())
        .find_map(|e| e.downcast_ref::<client::Blocked>().map(ToString::to_string));
    if let Some(blocked) = blocked {
        return (Failure::Permanent, blocked);
    }
    let failure = if error.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Transient
    };
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    (failure, verdict::clip(&text, 300))
}

/// A `Retry-After` value: seconds, or an HTTP date.
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<TimeDelta> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u32>() {
        return Some(TimeDelta::seconds(i64::from(seconds)));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((at - now).max(TimeDelta::zero()))
}

/// Reads at most [`BODY_READ`] bytes of a response.
async fn read_body(mut response: reqwest::Response) -> reqwest::Result<String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_READ.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= BODY_READ {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// One line for the log and the delivery record.
fn describe(answer: Option<&Answer>, verdict: &Verdict) -> String {
    let mut parts = Vec::new();
    if let Some(answer) = answer {
        parts.push(format!("HTTP {}", answer.status));
    }
    if let Some(code) = verdict.code {
        parts.push(format!("code {code}"));
    }
    if let Some(message) = &verdict.message {
        parts.push(message.clone());
    }
    if parts.is_empty() {
        parts.push("not accepted".to_owned());
    }
    parts.join(", ")
}

/// What the notices of a claimed batch say, read once for the batch.
struct Said {
    plans: plan_notices::PlanSubjects,
    sessions: HashMap<i64, Subject>,
    people: HashMap<i64, (crate::domain::notice::OnDuty, Option<String>)>,
    venues: HashMap<i64, (String, Option<String>)>,
}

impl Said {
    async fn read(conn: &impl sea_orm::ConnectionTrait, claimed: &[Delivery], public_url: &str) -> Result<Self> {
        let mut session_ids: Vec<i64> = claimed.iter().filter_map(|d| d.session_id).collect();
        session_ids.sort_unstable();
        session_ids.dedup();
        let mut assignment_ids: Vec<i64> = claimed.iter().filter_map(|d| d.assignment_id).collect();
        assignment_ids.sort_unstable();
        assignment_ids.dedup();
        let mut venue_ids: Vec<i64> = claimed.iter().filter_map(|d| was(d).map(|w| w.venue_id)).collect();
        venue_ids.sort_unstable();
        venue_ids.dedup();
        let (mut program_ids, mut plan_ids) = (Vec::new(), Vec::new());
        for delivery in claimed {
            match delivery.event_type.as_str() {
                plan_notices::DEADLINE => program_ids.extend(payload_id(delivery, "program_id")),
                plan_notices::SUBMITTED => plan_ids.extend(payload_id(delivery, "plan_id")),
                _ => {}
            }
        }
        for ids in [&mut program_ids, &mut plan_ids] {
            ids.sort_unstable();
            ids.dedup();
        }
        Ok(Self {
            plans: plan_notices::subjects(conn, &program_ids, &plan_ids, public_url).await?,
            sessions: notices::sessions(conn, &session_ids, public_url).await?,
            people: notices::people(conn, &assignment_ids).await?,
            venues: notices::venues(conn, &venue_ids).await?,
        })
    }

    /// The notice a delivery carries now; `None` when it no longer should go (the session is
    /// gone or off, for anything but its cancellation notice).
    fn notice(&self, webhook: &Webhook, delivery: &Delivery) -> Option<Notice> {
        let about = match delivery.event_type.as_str() {
            plan_notices::DEADLINE | plan_notices::SUBMITTED => self.plan_notice(delivery)?,
            _ => self.session_notice(delivery)?,
        };
        Some(Notice {
            id: message_id(webhook, delivery),
            about,
            at: delivery.due_at,
        })
    }

    /// A plan notice; a deadline reminder goes only while someone has still to submit.
    fn plan_notice(&self, delivery: &Delivery) -> Option<About> {
        if delivery.event_type == plan_notices::DEADLINE {
            let facts = self.plans.deadlines.get(&payload_id(delivery, "program_id")?)?;
            if facts.missing.is_empty() || delivery.deadline != Some(facts.deadline) {
                return None;
            }
            return Some(About::Plans(PlanHappening::Deadline {
                before: reminder_offset(delivery)?,
                facts: facts.clone(),
            }));
        }
        let mut facts = self.plans.submissions.get(&payload_id(delivery, "plan_id")?)?.clone();
        // The version this notice announces, though a later one may have come in since.
        if let Some(revision) = payload_id(delivery, "revision").and_then(|r| i32::try_from(r).ok()) {
            facts.revision = revision;
        }
        Some(About::Plans(PlanHappening::Submitted(facts)))
    }

    fn session_notice(&self, delivery: &Delivery) -> Option<About> {
        let subject = self.sessions.get(&delivery.session_id?)?;
        let on_duty = || self.people.get(&delivery.assignment_id?);
        let happening = match delivery.event_type.as_str() {
            "session.reminder" if subject.on => Happening::Reminder {
                before: reminder_offset(delivery)?,
            },
            "session.rescheduled" if subject.on => Happening::Rescheduled {
                was: Box::new(self.before(&subject.facts, was(delivery)?)),
            },
            "session.cancelled" => Happening::Cancelled,
            "assignment.created" => Happening::AssignmentCreated(on_duty()?.0.clone()),
            "assignment.cancelled" => Happening::AssignmentCancelled(on_duty()?.0.clone()),
            "assignment.declined" => {
                let (who, reason) = on_duty()?;
                Happening::AssignmentDeclined {
                    who: who.clone(),
                    reason: reason.clone(),
                }
            }
            _ => return None,
        };
        Some(About::Session {
            happening,
            session: subject.facts.clone(),
        })
    }

    /// The session as it was before a move.
    fn before(&self, now: &SessionFacts, was: Was) -> SessionFacts {
        let when = match now.when {
            When::Timed(..) => When::Timed(was.starts_at, was.ends_at),
            When::AllDay(..) => {
                let tz = now.zone.tz();
                let last = (was.ends_at - TimeDelta::microseconds(1))
                    .with_timezone(&tz)
                    .date_naive();
                When::AllDay(was.starts_at.with_timezone(&tz).date_naive(), last)
            }
        };
        let (venue, address) = self
            .venues
            .get(&was.venue_id)
            .cloned()
            .unwrap_or_else(|| (now.venue.clone(), now.address.clone()));
        SessionFacts {
            when,
            venue,
            address,
            roster: Vec::new(),
            ..now.clone()
        }
    }
}

/// Where and when a session was, as its reschedule notice recorded.
#[derive(Clone, Copy)]
struct Was {
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    venue_id: i64,
}

fn was(delivery: &Delivery) -> Option<Was> {
    let was = delivery.payload.as_ref()?.get("was")?;
    Some(Was {
        starts_at: serde_json::from_value(was.get("starts_at")?.clone()).ok()?,
        ends_at: serde_json::from_value(was.get("ends_at")?.clone()).ok()?,
        venue_id: was.get("venue_id")?.as_i64()?,
    })
}

/// Why a delivery that no longer says anything was withdrawn.
fn withdrawn_because(delivery: &Delivery) -> &'static str {
    match delivery.event_type.as_str() {
        plan_notices::DEADLINE => "every organization expected to submit has submitted, or the deadline moved",
        plan_notices::SUBMITTED => "the plan is gone",
        _ => "the session is no longer on",
    }
}

/// A number the delivery's payload holds.
fn payload_id(delivery: &Delivery, name: &str) -> Option<i64> {
    delivery.payload.as_ref()?.get(name)?.as_i64()
}

fn reminder_offset(delivery: &Delivery) -> Option<TimeDelta> {
    let seconds = delivery
        .payload
        .as_ref()
        .and_then(|p| p.get("offset_seconds")?.as_i64());
    match seconds {
        Some(seconds) => Some(TimeDelta::seconds(seconds)),
        None => Some(delivery.deadline? - delivery.due_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_outlasts_a_round_in_which_every_receiver_times_out() {
        let settings = Settings::default();
        // 500 rows, 64 at a time: eight waves of ten seconds, and room to record.
        assert_eq!(settings.lease(), TimeDelta::seconds(110));
        let one_by_one = Settings {
            batch: 3,
            concurrency: 1,
            timeout: Duration::from_secs(2),
            ..Settings::default()
        };
        assert_eq!(one_by_one.lease(), TimeDelta::seconds(36));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2019-05-28T00:00:00Z").unwrap().to_utc();
        assert_eq!(retry_after("120", now), Some(TimeDelta::seconds(120)));
        assert_eq!(
            retry_after("Tue, 28 May 2019 00:01:30 GMT", now),
            Some(TimeDelta::seconds(90))
        );
        assert_eq!(
            retry_after("Mon, 27 May 2019 00:00:00 GMT", now),
            Some(TimeDelta::zero())
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn failures_are_described_with_status_code_and_message() {
        let answer = Answer {
            status: 200,
            retry_after: None,
            body: String::new(),
        };
        let verdict = Verdict {
            failure: Some(Failure::Permanent),
            code: Some(310_000),
            message: Some("keywords not in content".to_owned()),
        };
        assert_eq!(
            describe(Some(&answer), &verdict),
            "HTTP 200, code 310000, keywords not in content"
        );
    }
}
