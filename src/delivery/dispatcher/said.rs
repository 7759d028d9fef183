//! What the notices of a claimed batch say, read once for the batch: the session as it is
//! now, who is on duty, where it was before a move, the plan facts; and each delivery's
//! `webhook-id`.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Model as Delivery;
use entity::kinds::WebhookScope;
use entity::webhook::Model as Webhook;
use sha2::{Digest as _, Sha256};

use crate::delivery::message::{About, Notice};
use crate::domain::notice::{Happening, PlanHappening, SessionFacts, When};
use crate::error::Result;
use crate::store::notices::{self, Subject};
use crate::store::plan_notices;

/// The `webhook-id` of a delivery: stable across its retries, unique across subscriptions.
pub(super) fn message_id(webhook: &Webhook, delivery: &Delivery) -> String {
    let digest = Sha256::digest(format!("{}\n{}", webhook.key, delivery.dedupe_key));
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// What the notices of a claimed batch say, read once for the batch.
pub(super) struct Said {
    plans: plan_notices::PlanSubjects,
    sessions: HashMap<i64, Subject>,
    people: HashMap<i64, (crate::domain::notice::OnDuty, Option<String>)>,
    venues: HashMap<i64, (String, Option<String>)>,
    /// The personal page of each volunteer with a subscription of their own in the batch.
    pages: HashMap<i64, String>,
}

impl Said {
    pub(super) async fn read(
        conn: &impl sea_orm::ConnectionTrait,
        claimed: &[Delivery],
        subscriptions: &HashMap<i64, Webhook>,
        public_url: &str,
    ) -> Result<Self> {
        // Only a volunteer's own subscription hears of their page: never a group.
        let mut volunteers: Vec<i64> = subscriptions
            .values()
            .filter(|w| w.scope_kind == WebhookScope::Volunteer)
            .map(|w| w.scope_id)
            .collect();
        volunteers.sort_unstable();
        volunteers.dedup();
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
            pages: notices::pages(conn, &volunteers, public_url).await?,
        })
    }

    /// The notice a delivery carries now; `None` when it no longer should go (the session is
    /// gone or off, for anything but its cancellation notice).
    pub(super) fn notice(&self, webhook: &Webhook, delivery: &Delivery) -> Option<Notice> {
        let about = match delivery.event_type.as_str() {
            plan_notices::DEADLINE | plan_notices::SUBMITTED => self.plan_notice(delivery)?,
            _ => self.session_notice(webhook, delivery)?,
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

    fn session_notice(&self, webhook: &Webhook, delivery: &Delivery) -> Option<About> {
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
        let mut session = Box::new(subject.facts.clone());
        if webhook.scope_kind == WebhookScope::Volunteer {
            session.personal_link = self.pages.get(&webhook.scope_id).cloned();
        }
        Some(About::Session { happening, session })
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
            venue_id: was.venue_id,
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
pub(super) fn withdrawn_because(delivery: &Delivery) -> &'static str {
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
