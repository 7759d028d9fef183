//! The record phase: every attempt of a round written to the delivery log in one
//! transaction, with what follows from it (delivered, retried on the schedule, failed for good,
//! expired, or in doubt), the robots a platform throttled held, and each subscription's health.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::kinds::{AttemptOutcome, DeliveryStatus};
use sea_orm::Set;

use super::outcome::{self, Outcome, Reason};
use super::send::Sent;
use super::{Dispatcher, Round};
use crate::delivery::backoff::{self, Asked, Failure, Next};
use crate::delivery::verdict::{self, Answer, Verdict};
use crate::error::Result;
use crate::store::deliveries::{self, Settled};
use crate::store::webhooks;

impl Dispatcher {
    /// Records a round's attempts and what follows from them, in one transaction. A test
    /// message is never retried.
    pub(super) async fn record(&self, sent: Vec<Sent>, round: &mut Round, once: bool) -> Result<()> {
        if sent.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut settled: Vec<(Settled, Vec<i64>)> = Vec::new();
        let mut attempts = Vec::new();
        // Per subscription: reached (`None`), or failing with the latest permanent refusal.
        let mut health: BTreeMap<i64, Option<Option<String>>> = BTreeMap::new();
        let mut holds: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
        for sent in sent {
            let format = sent.message.webhook.format;
            let verdict = match &sent.result {
                Ok(answer) => verdict::judge(format, answer),
                Err((failure, message)) => Verdict {
                    failure: Some(*failure),
                    code: None,
                    message: Some(message.clone()),
                    hold: None,
                },
            };
            let answer = sent.result.as_ref().ok();
            let error = verdict.failure.map(|_| describe(answer, &verdict));
            let jitter = rand::random_range(-1.0..=1.0);
            let webhook_id = sent.message.webhook.id;
            if let Some(hold) = verdict.hold {
                holds.insert(webhook_id, now + hold);
            }
            // No answer in time: the request may have arrived all the same.
            let unknown = verdict.failure == Some(Failure::Timeout);
            match verdict.failure {
                None => {
                    health.insert(webhook_id, None);
                }
                Some(failure) => {
                    let flag = (failure == Failure::Permanent).then(|| error.clone().unwrap_or_default());
                    if let Some(failing) = health.entry(webhook_id).or_insert(Some(None))
                        && flag.is_some()
                    {
                        *failing = flag;
                    }
                }
            }
            for delivery in &sent.message.deliveries {
                let attempt = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
                let (outcome, next) = match verdict.failure {
                    None => (AttemptOutcome::Delivered, None),
                    Some(_) if once => (AttemptOutcome::Failed, None),
                    Some(failure) => {
                        let asked = Asked {
                            retry_after: answer.and_then(|a| a.retry_after),
                            hold: verdict.hold,
                        };
                        let deadline = delivery.deadline;
                        match backoff::next_attempt(attempt, now, failure, asked, jitter, deadline, self.last_try()) {
                            Next::RetryAt(at) => (AttemptOutcome::Retrying, Some(at)),
                            Next::GiveUp => (AttemptOutcome::Failed, None),
                            Next::Expire => (AttemptOutcome::Expired, None),
                        }
                    }
                };
                let maybe_sent = unknown || delivery.maybe_sent;
                // Out of time after an attempt that may have arrived: in doubt, not expired.
                let outcome = match outcome {
                    AttemptOutcome::Expired if maybe_sent => AttemptOutcome::InDoubt,
                    outcome => outcome,
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
                    AttemptOutcome::InDoubt => {
                        round.in_doubt += 1;
                        DeliveryStatus::InDoubt
                    }
                    AttemptOutcome::Expired => {
                        round.expired += 1;
                        DeliveryStatus::Expired
                    }
                };
                outcome::note(&Outcome {
                    subscription: webhook_id,
                    platform: format,
                    event: &delivery.event_type,
                    due_at: delivery.due_at,
                    result: outcome::attempted(outcome),
                    reason: verdict.failure.map_or(Reason::Accepted, Reason::Failed),
                    attempt: delivery.attempts + 1,
                    at: sent.attempted_at,
                });
                let outcome_of_row = Settled {
                    status,
                    next_attempt_at: next,
                    attempted: true,
                    error: error.clone(),
                    maybe_sent: unknown,
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
            // Each delivery's outcome is logged above; a failure's cause once per request.
            if let Some(error) = &error {
                tracing::warn!(
                    subscription = webhook_id,
                    url = %webhooks::shown_url(&sent.message.webhook),
                    deliveries = sent.message.deliveries.len(),
                    %error,
                    "webhook delivery failed"
                );
            }
        }
        let record = Record {
            attempts,
            settled,
            holds,
            health,
        };
        // The messages are out: a record that fails (a deadlock, a lost connection) is tried
        // again, under the claims the heartbeat keeps, rather than left for a takeover that
        // would send them again.
        let mut tries = 0;
        loop {
            match self.write(&record, now).await {
                Ok(()) => return Ok(()),
                Err(error) if tries < RECORD_TRIES => {
                    tries += 1;
                    tracing::warn!(%error, tries, "recording webhook attempts failed; trying again");
                    tokio::time::sleep(RECORD_PAUSE * tries).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Writes a round's record in one transaction.
    async fn write(&self, record: &Record, now: DateTime<Utc>) -> Result<()> {
        let Record {
            attempts,
            settled,
            holds,
            health,
        } = record;
        let mut attempts = attempts.clone();
        let txn = self.db.begin().await?;
        // Deliveries first, then subscriptions in id order, as a claim takes them.
        // A subscription deleted meanwhile took its deliveries with it: their attempts go
        // unrecorded rather than failing the record of the rest.
        let tried: Vec<i64> = settled.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let present = deliveries::existing(&txn, &tried).await?;
        attempts.retain(|a| matches!(&a.delivery_id, sea_orm::ActiveValue::Set(id) if present.contains(id)));
        deliveries::log_attempts(&txn, attempts).await?;
        for (settled, ids) in settled {
            deliveries::settle(&txn, ids, &self.worker, settled, now).await?;
        }
        for (&webhook_id, &until) in holds {
            webhooks::hold(&txn, webhook_id, until).await?;
        }
        let reached: Vec<i64> = health.iter().filter(|(_, h)| h.is_none()).map(|(id, _)| *id).collect();
        webhooks::note_delivered(&txn, &reached, now).await?;
        for (&webhook_id, flag) in health.iter().filter_map(|(id, h)| Some((id, h.clone()?))) {
            if let Some(reason) = webhooks::note_failing(&txn, webhook_id, flag, now).await? {
                tracing::warn!(subscription = webhook_id, %reason, "webhook subscription disabled");
            }
        }
        txn.commit().await?;
        Ok(())
    }
}

/// What a round's attempts come to, written in one transaction.
struct Record {
    attempts: Vec<entity::delivery_attempt::ActiveModel>,
    settled: Vec<(Settled, Vec<i64>)>,
    /// Robots a platform asked to hold off, until when.
    holds: BTreeMap<i64, DateTime<Utc>>,
    /// Per subscription: reached (`None`), or failing with the latest permanent refusal.
    health: BTreeMap<i64, Option<Option<String>>>,
}

/// How often a failed record is tried again, and the pause before the first retry (growing
/// with each): about six seconds in all, well inside a heartbeat-kept claim.
const RECORD_TRIES: u32 = 5;
const RECORD_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

/// One line for the log and the delivery record.
pub(super) fn describe(answer: Option<&Answer>, verdict: &Verdict) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_described_with_status_code_and_message() {
        let answer = Answer {
            status: 200,
            retry_after: None,
            body: String::new(),
            location: None,
        };
        let verdict = Verdict {
            failure: Some(Failure::Permanent),
            code: Some(310_000),
            message: Some("keywords not in content".to_owned()),
            hold: None,
        };
        assert_eq!(
            describe(Some(&answer), &verdict),
            "HTTP 200, code 310000, keywords not in content"
        );
    }
}
