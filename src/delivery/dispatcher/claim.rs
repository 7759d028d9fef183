//! The claim phase, after the rows are claimed: what each claimed row becomes, in the claiming
//! transaction. A row past its deadline ends (`expired`, or `in_doubt` when an earlier attempt
//! may have arrived); a row nobody wants any more is withdrawn; for a chat robot, notices wait
//! while its platform throttles it, then for its gather window to close, and then go out
//! merged, as many messages as its rate limit allows now (the rest wait for the limit).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Model as Delivery;
use entity::kinds::DeliveryStatus;
use sea_orm::DatabaseTransaction;

use super::outcome::{self, Reason};
use super::said::{Said, withdrawn_because};
use super::send::{Body, Message};
use super::{Dispatcher, Round};
use crate::delivery::gather::{self, Gather};
use crate::delivery::limits;
use crate::delivery::message::{self, Notice, Options};
use crate::domain::webhook::Format;
use crate::error::Result;
use crate::store::deliveries::{self, Settled};
use crate::store::webhooks;

impl Dispatcher {
    /// Turns claimed rows into the messages to send now, settling or deferring the others in
    /// `txn`.
    pub(super) async fn compose(
        &self,
        txn: &DatabaseTransaction,
        claimed: Vec<Delivery>,
        now: DateTime<Utc>,
        round: &mut Round,
    ) -> Result<Vec<Message>> {
        let mut webhook_ids: Vec<i64> = claimed.iter().map(|d| d.webhook_id).collect();
        webhook_ids.sort_unstable();
        webhook_ids.dedup();
        let subscriptions = webhooks::for_round(txn, &webhook_ids).await?;
        let said = Said::read(txn, &claimed, &subscriptions, &self.public_url).await?;
        let mut by_webhook: BTreeMap<i64, Vec<Delivery>> = BTreeMap::new();
        for delivery in claimed {
            by_webhook.entry(delivery.webhook_id).or_default().push(delivery);
        }
        let mut messages = Vec::new();
        let mut unsent: Vec<(Settled, Vec<i64>)> = Vec::new();
        for (webhook_id, rows) in by_webhook {
            let Some(webhook) = subscriptions.get(&webhook_id).filter(|w| w.enabled) else {
                round.withdrawn += rows.len();
                if let Some(disabled) = subscriptions.get(&webhook_id) {
                    for row in &rows {
                        outcome::unsent(disabled, row, "withdrawn", Reason::SubscriptionDisabled, now);
                    }
                }
                let ids = rows.iter().map(|d| d.id).collect();
                unsent.push((ending(DeliveryStatus::Withdrawn, "the subscription is disabled"), ids));
                continue;
            };
            let webhook = Arc::new(webhook.clone());
            let mut ready = Vec::new();
            for row in rows {
                if row.deadline.is_some_and(|deadline| deadline <= now) {
                    let result = if row.maybe_sent { "in_doubt" } else { "expired" };
                    outcome::unsent(&webhook, &row, result, Reason::DeadlinePassed, now);
                    let settled = if row.maybe_sent {
                        round.in_doubt += 1;
                        ending(
                            DeliveryStatus::InDoubt,
                            "its deadline passed; an earlier attempt, whose answer never came, may have arrived",
                        )
                    } else {
                        round.expired += 1;
                        ending(DeliveryStatus::Expired, "its deadline passed before it could be sent")
                    };
                    unsent.push((settled, vec![row.id]));
                } else if let Some(notice) = said.notice(&webhook, &row) {
                    ready.push((row, notice));
                } else {
                    outcome::unsent(&webhook, &row, "withdrawn", Reason::NotWanted, now);
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
            let ids: Vec<i64> = ready.iter().map(|(row, _)| row.id).collect();
            if let Some(until) = webhook.throttled_until.filter(|until| *until > now) {
                round.deferred += ids.len();
                deliveries::defer(txn, &ids, &self.worker, until, now).await?;
                continue;
            }
            let earliest_due = ready.iter().map(|(row, _)| row.due_at).min().unwrap_or(now);
            let latest_start = ready
                .iter()
                .filter_map(|(row, _)| row.deadline)
                .min()
                .map(|deadline| deadline - self.last_try());
            let window = TimeDelta::from_std(self.settings.gather).unwrap_or_else(|_| TimeDelta::zero());
            match gather::decide(webhook.gathering_until, earliest_due, latest_start, window, now) {
                Gather::Wait(until) => {
                    round.deferred += ids.len();
                    deliveries::defer(txn, &ids, &self.worker, until, now).await?;
                    if webhook.gathering_until != Some(until) {
                        webhooks::set_gathering(txn, webhook.id, Some(until)).await?;
                    }
                    continue;
                }
                Gather::SendNow if webhook.gathering_until.is_some() => {
                    webhooks::set_gathering(txn, webhook.id, None).await?;
                }
                Gather::SendNow => {}
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
                    let held: Vec<i64> = rows[start..].iter().map(|d| d.id).collect();
                    round.deferred += held.len();
                    deliveries::defer(txn, &held, &self.worker, free, now).await?;
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
            webhooks::note_sends(txn, webhook.id, &recent).await?;
        }
        for (settled, ids) in &unsent {
            deliveries::settle(txn, ids, &self.worker, settled, now).await?;
        }
        Ok(messages)
    }

    /// How long before a deadline the last try goes: a request's timeout, so that its answer
    /// comes before the session starts.
    pub(super) fn last_try(&self) -> TimeDelta {
        TimeDelta::from_std(self.settings.timeout).unwrap_or(TimeDelta::seconds(10))
    }
}

/// A claimed row that ends without an attempt.
pub(super) fn ending(status: DeliveryStatus, why: &str) -> Settled {
    Settled {
        status,
        next_attempt_at: None,
        attempted: false,
        error: Some(why.to_owned()),
        maybe_sent: false,
    }
}
