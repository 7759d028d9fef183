//! The send phase: each message as one request, at most `concurrency` at a time, outside any
//! transaction; the claims renewed all the while, so no other instance takes them over while
//! this one is alive and sending.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Model as Delivery;
use entity::webhook::Model as Webhook;
use futures_util::StreamExt as _;

use super::Dispatcher;
use crate::delivery::backoff::Failure;
use crate::delivery::message::{self, ChatText};
use crate::delivery::verdict::{self, Answer};
use crate::delivery::{client, signing};
use crate::domain::webhook::{Format, WebhookUrl};
use crate::store::deliveries;

/// The most of a response body read.
const BODY_READ: usize = 64 * 1024;

/// What a message holds.
#[derive(Clone, Debug)]
pub(super) enum Body {
    /// One Standard Webhooks message.
    Standard { id: String, payload: Vec<u8> },
    /// One chat message holding one or more notices.
    Chat(ChatText),
}

/// One request to make.
#[derive(Clone, Debug)]
pub(super) struct Message {
    pub(super) webhook: Arc<Webhook>,
    pub(super) deliveries: Vec<Delivery>,
    pub(super) body: Body,
}

/// An attempt's result: the answer, or how the request failed.
pub(super) struct Sent {
    pub(super) message: Message,
    pub(super) attempted_at: DateTime<Utc>,
    pub(super) duration: Duration,
    pub(super) result: std::result::Result<Answer, (Failure, String)>,
}

impl Dispatcher {
    /// Sends a round's messages, at most `concurrency` at a time.
    pub(super) async fn send_all(&self, messages: Vec<Message>) -> Vec<Sent> {
        futures_util::stream::iter(messages)
            .map(|message| self.send(message))
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect::<Vec<Sent>>()
            .await
    }

    /// Runs `work` (a round's sending and its record) while renewing this dispatcher's claims
    /// every heartbeat: no other instance takes over a message between its send and the
    /// record of it, which would send it again.
    ///
    /// A renewal runs beside the work, never in its stead: the renewal's update waits for the
    /// rows the record's transaction has settled, and that transaction must go on to commit.
    /// (Awaited in place, the renewal stopped the record mid-transaction, and the two waited
    /// for each other for good.)
    pub(super) async fn renewing<T>(&self, work: impl Future<Output = T>) -> T {
        use futures_util::stream::{FuturesUnordered, StreamExt as _};
        tokio::pin!(work);
        let mut beats = tokio::time::interval(self.settings.heartbeat());
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        beats.tick().await;
        let mut renewal = FuturesUnordered::new();
        let done = loop {
            tokio::select! {
                done = &mut work => break done,
                Some(()) = renewal.next() => {}
                _ = beats.tick() => {
                    if renewal.is_empty() {
                        renewal.push(self.renew());
                    }
                }
            }
        };
        // A renewal under way finishes: the record has committed, so it waits for nothing.
        while renewal.next().await.is_some() {}
        done
    }

    /// Extends this dispatcher's claims by one lease from now.
    async fn renew(&self) {
        let until = self.clock.now() + self.lease();
        if let Err(error) = deliveries::renew(self.db.reader(), &self.worker, until).await {
            tracing::warn!(%error, "could not renew the claims on webhook deliveries");
        }
    }

    /// Makes one attempt at a message.
    pub(super) async fn send(&self, message: Message) -> Sent {
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
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_body(response).await.map_err(failure_of)?;
        Ok(Answer {
            status,
            retry_after,
            body,
            location,
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
