//! What became of each delivery, told once where it is decided: one log record and one count
//! per outcome, and for a reminder its receiver accepted, how long after its due time it went.

use chrono::{DateTime, Utc};
use entity::delivery::Model as Delivery;
use entity::kinds::AttemptOutcome;
use entity::webhook::Model as Webhook;
use sea_orm::ActiveEnum as _;

use crate::delivery::backoff::Failure;
use crate::domain::webhook::Format;
use crate::metrics;
use crate::store::deliveries::Taken;
use crate::store::{plan_notices, reminders};

/// Why a delivery came to its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    /// The receiver accepted it.
    Accepted,
    /// The attempt failed this way.
    Failed(Failure),
    /// Its deadline passed before it could be sent.
    DeadlinePassed,
    /// Its subscription is disabled.
    SubscriptionDisabled,
    /// What it was about is gone or off.
    NotWanted,
    /// Its dispatcher stopped mid-send, and another took it over.
    DispatcherStopped,
}

impl Reason {
    /// The `reason` label.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Failed(Failure::Transient) => "transient",
            Self::Failed(Failure::Timeout) => "timeout",
            Self::Failed(Failure::RateLimited) => "rate_limited",
            Self::Failed(Failure::Permanent) => "permanent",
            Self::DeadlinePassed => "deadline_passed",
            Self::SubscriptionDisabled => "subscription_disabled",
            Self::NotWanted => "not_wanted",
            Self::DispatcherStopped => "dispatcher_stopped",
        }
    }
}

/// One delivery's outcome.
pub(super) struct Outcome<'a> {
    /// The subscription's id.
    pub subscription: i64,
    /// Its platform.
    pub platform: Format,
    /// What it tells of (`session.reminder`, …).
    pub event: &'a str,
    /// When it fell due.
    pub due_at: DateTime<Utc>,
    /// `delivered`, `retrying`, `failed`, `expired`, `in_doubt` or `withdrawn`.
    pub result: &'static str,
    /// Why.
    pub reason: Reason,
    /// Attempts made so far, this one included.
    pub attempt: i32,
    /// When it was sent, or settled unsent: its lateness (logged in seconds) is the time
    /// since it fell due.
    pub at: DateTime<Utc>,
}

/// The `result` label of an attempt's outcome.
pub(super) fn attempted(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Retrying => "retrying",
        AttemptOutcome::Failed => "failed",
        AttemptOutcome::Expired => "expired",
        AttemptOutcome::InDoubt => "in_doubt",
    }
}

/// Logs and counts the outcome of a delivery settled without an attempt.
pub(super) fn unsent(webhook: &Webhook, delivery: &Delivery, result: &'static str, reason: Reason, now: DateTime<Utc>) {
    note(&Outcome {
        subscription: webhook.id,
        platform: webhook.format,
        event: &delivery.event_type,
        due_at: delivery.due_at,
        result,
        reason,
        attempt: delivery.attempts,
        at: now,
    });
}

/// Logs and counts the outcome of a delivery another dispatcher sent before it stopped.
pub(super) fn taken_over(taken: &Taken, now: DateTime<Utc>) {
    note(&Outcome {
        subscription: taken.webhook_id,
        platform: taken.format,
        event: &taken.event_type,
        due_at: taken.due_at,
        result: if taken.resent { "retrying" } else { "in_doubt" },
        reason: Reason::DispatcherStopped,
        attempt: taken.attempts,
        at: now,
    });
}

/// Whether an event is a reminder, whose lateness is measured.
fn is_reminder(event: &str) -> bool {
    event == reminders::REMINDER || event == plan_notices::DEADLINE
}

/// Logs and counts an outcome; a delivered reminder's lateness goes to its histogram.
pub(super) fn note(outcome: &Outcome<'_>) {
    let platform = outcome.platform.to_value();
    let lateness = (outcome.at - outcome.due_at).as_seconds_f64();
    tracing::info!(
        subscription = outcome.subscription,
        event = outcome.event,
        platform = %platform,
        result = outcome.result,
        reason = outcome.reason.label(),
        attempt = outcome.attempt,
        lateness = (lateness * 1000.0).round() / 1000.0,
        "webhook delivery outcome"
    );
    ::metrics::counter!(
        metrics::DELIVERIES,
        "platform" => platform.clone(),
        "result" => outcome.result,
        "reason" => outcome.reason.label(),
    )
    .increment(1);
    if outcome.result == "delivered" && is_reminder(outcome.event) {
        ::metrics::histogram!(metrics::REMINDER_LATENESS, "platform" => platform).record(lateness.max(0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_are_told_from_notices() {
        assert!(is_reminder("session.reminder"));
        assert!(is_reminder("plan.deadline"));
        assert!(!is_reminder("session.rescheduled"));
        assert!(!is_reminder("plan.submitted"));
    }

    #[test]
    fn every_reason_has_a_label_of_its_own() {
        let reasons = [
            Reason::Accepted,
            Reason::Failed(Failure::Transient),
            Reason::Failed(Failure::Timeout),
            Reason::Failed(Failure::RateLimited),
            Reason::Failed(Failure::Permanent),
            Reason::DeadlinePassed,
            Reason::SubscriptionDisabled,
            Reason::NotWanted,
            Reason::DispatcherStopped,
        ];
        let labels: std::collections::BTreeSet<&str> = reasons.iter().map(|r| r.label()).collect();
        assert_eq!(labels.len(), reasons.len());
    }
}
