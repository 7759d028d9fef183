//! The dispatcher against a receiver that behaves like each platform: what is sent, when,
//! how often, and what the delivery log says. Time moves with the test's clock; dispatching
//! happens one round at a time.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use sciday::config::Config;
use sciday::delivery::dispatcher::{Dispatcher, Round, Settings};
use sciday::domain::webhook::AddressPolicy;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Seed, TestApp, id};
use crate::receiver::{Receiver, Reply};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

pub(crate) fn loopback_policy() -> AddressPolicy {
    AddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap()])
}

/// The service lets webhooks reach the loopback receiver.
pub(crate) fn loopback(config: &mut Config) {
    config.webhook_addresses = loopback_policy();
}

/// A dispatcher on the app's database and clock; receivers get `timeout` to answer. Chat
/// notices go out in the round they fall due (no gather window), so tests see each round's
/// messages; the window has its own tests.
pub(crate) fn dispatcher(app: &TestApp, timeout: Duration) -> Dispatcher {
    dispatcher_with(
        app,
        Settings {
            timeout,
            gather: Duration::ZERO,
            ..Settings::default()
        },
    )
}

/// A dispatcher on the app's database and clock with these settings.
pub(crate) fn dispatcher_with(app: &TestApp, settings: Settings) -> Dispatcher {
    Dispatcher::new(
        app.db.clone(),
        app.clock.clone(),
        loopback_policy(),
        settings,
        "https://sciday.example.cn",
    )
    .unwrap()
}

pub(crate) fn quick(app: &TestApp) -> Dispatcher {
    dispatcher(app, Duration::from_secs(5))
}

/// The session every test uses: 28 May 2019, 09:00–11:00 Beijing time (01:00–03:00 UTC).
pub(crate) async fn session(app: &TestApp, seed: &Seed) -> i64 {
    id(&app
        .session(
            seed.activity,
            seed.venue,
            "2019-05-28T09:00+08:00",
            "2019-05-28T11:00+08:00",
        )
        .await)
}

/// A program-wide subscription sending to `path` on the receiver; returns it as created.
pub(crate) async fn subscribe(app: &TestApp, seed: &Seed, receiver: &Receiver, path: &str, extra: Value) -> Value {
    let format = path.trim_start_matches('/').split('/').next().unwrap();
    let mut body = json!({"organization_id": seed.haizhou, "name": "市志愿者群", "url": receiver.url(path),
                          "format": format, "scope": {"kind": "program", "id": seed.program}});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.create("/api/v1/webhooks", body).await
}

/// A volunteer assigned to the session, with a mobile number.
async fn staff(app: &TestApp, seed: &Seed, session: i64) -> (i64, i64) {
    let role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": session, "name": "讲解员", "needed": 3}),
        )
        .await);
    let volunteer = id(&app
        .create(
            "/api/v1/volunteers",
            json!({"name": "张伟", "mobile": "14400001234", "organization_id": seed.haizhou}),
        )
        .await);
    let assignment = id(&app
        .create(
            "/api/v1/assignments",
            json!({"role_id": role, "volunteer_id": volunteer}),
        )
        .await);
    (volunteer, assignment)
}

pub(crate) async fn log(app: &TestApp, webhook: i64) -> Vec<Value> {
    let reply = app
        .get_as(&app.admin, &format!("/api/v1/webhooks/{webhook}/deliveries"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["data"].as_array().unwrap().clone()
}

async fn webhook(app: &TestApp, id: i64) -> Value {
    app.get_as(&app.admin, &format!("/api/v1/webhooks/{id}")).await.body
}

db_test! {
    async fn the_log_forgets_settled_messages_after_the_retention_and_keeps_the_rest(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let created = subscribe(&app, &seed, &receiver, "/standard/in", json!({"events": ["session.reminder"]})).await;
        let dispatcher = quick(&app);
        // The day-before reminder goes; the hour-before one stays pending.
        app.clock.set(at("2019-05-27T01:00:00Z"));
        assert_eq!(dispatcher.dispatch_due().await.unwrap().delivered, 1);
        assert_eq!((app.count("deliveries").await, app.count("delivery_attempts").await), (2, 1));
        // Kept for the retention (ninety days by default) …
        app.clock.set(at("2019-05-27T01:00:00Z") + TimeDelta::days(89));
        assert_eq!(dispatcher.prune().await.unwrap(), 0);
        assert_eq!(log(&app, id(&created)).await.len(), 2);
        // … and then removed with its attempts; what has not settled is never pruned.
        app.clock.set(at("2019-05-27T01:00:00Z") + TimeDelta::days(91));
        assert_eq!(dispatcher.prune().await.unwrap(), 1);
        assert_eq!((app.count("deliveries").await, app.count("delivery_attempts").await), (1, 0));
        let left = log(&app, id(&created)).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["status"], "pending");
        // A retention shorter than the longest reminder offset is not honoured.
        let hasty = Dispatcher::new(
            app.db.clone(),
            app.clock.clone(),
            loopback_policy(),
            Settings {
                retention: TimeDelta::days(1),
                ..Settings::default()
            },
            "https://sciday.example.cn",
        )
        .unwrap();
        app.clock.set(at("2019-05-28T00:00:00Z"));
        assert_eq!(hasty.dispatch_due().await.unwrap().delivered, 1, "the hour-before reminder");
        app.clock.set(at("2019-05-28T00:00:00Z") + TimeDelta::days(2));
        assert_eq!(hasty.prune().await.unwrap(), 0);
    }
}

db_test! {
    async fn a_reminder_goes_out_when_due_signed_once_and_is_logged(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        staff(&app, &seed, session).await;
        let created = subscribe(&app, &seed, &receiver, "/standard/in", json!({"events": ["session.reminder"]})).await;
        let secret = created["secret"].as_str().unwrap().to_owned();
        let dispatcher = quick(&app);
        assert_eq!(dispatcher.dispatch_due().await.unwrap().messages, 0, "nothing is due yet");
        // A day before: 27 May, 01:00 UTC.
        app.clock.set(at("2019-05-27T01:00:00Z"));
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!((round.claimed, round.delivered), (1, 1), "{round:?}");
        let got = receiver.received("/standard/in");
        assert_eq!(got.len(), 1);
        let message = &got[0];
        // Signed as the spec says, checked by an independent implementation.
        let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
        let timestamp: i64 = message.header("webhook-timestamp").parse().unwrap();
        assert_eq!(timestamp, at("2019-05-27T01:00:00Z").timestamp());
        let expected = verifier.sign(&message.header("webhook-id"), timestamp, &message.body).unwrap();
        assert_eq!(message.header("webhook-signature"), expected);
        let payload = message.json();
        assert_eq!(payload["type"], "session.reminder");
        assert_eq!(payload["data"]["before_minutes"], 1440);
        assert_eq!(payload["data"]["session"]["when"], "5月28日 09:00–11:00（北京时间）");
        assert_eq!(payload["data"]["roster"][0]["name"], "张伟");
        assert_eq!(payload["data"]["roster"][0]["mobile"], "144****1234");
        assert!(!String::from_utf8_lossy(&message.body).contains("14400001234"));
        // Nothing goes twice.
        assert_eq!(dispatcher.dispatch_due().await.unwrap(), Round::default());
        assert_eq!(receiver.all().len(), 1);
        let log = log(&app, id(&created)).await;
        let delivered: Vec<&Value> = log.iter().filter(|d| d["status"] == "delivered").collect();
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0]["attempts"][0]["http_status"], 204);
        assert_eq!(delivered[0]["attempts"][0]["outcome"], "delivered");
        // The hour-before reminder waits for its time.
        assert!(log.iter().any(|d| d["status"] == "pending" && d["due_at"] == "2019-05-28T00:00:00Z"));
    }
}

db_test! {
    async fn chat_platforms_are_judged_by_their_answer_body_not_the_status(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        staff(&app, &seed, session).await;
        let reminders = json!({"events": ["session.reminder"], "offsets": ["PT1H"]});
        let dingtalk = subscribe(&app, &seed, &receiver, "/dingtalk/robot/send", json!({
            "events": ["session.reminder"], "offsets": ["PT1H"], "keyword": "科协", "secret": "SECabc", "mention": true})).await;
        let wecom = subscribe(&app, &seed, &receiver, "/wecom/webhook/send", reminders.clone()).await;
        let feishu = subscribe(&app, &seed, &receiver, "/feishu/hook", json!({
            "events": ["session.reminder"], "offsets": ["PT1H"], "secret": "feishu-secret"})).await;
        let slack = subscribe(&app, &seed, &receiver, "/slack/services", reminders).await;
        receiver.script("/dingtalk/robot/send", vec![Reply::new(200, r#"{"errcode":310000,"errmsg":"keywords not in content"}"#)]);
        receiver.script("/wecom/webhook/send", vec![Reply::new(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#)]);
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        let round = quick(&app).dispatch_due().await.unwrap();
        assert_eq!((round.messages, round.delivered, round.failed, round.retrying), (4, 2, 1, 1), "{round:?}");

        // DingTalk: signed in the query, keyword and mention in the text; refused for good.
        let ding = &receiver.received("/dingtalk/robot/send")[0];
        assert!(ding.query.contains(&format!("timestamp={}", due.timestamp_millis())), "{}", ding.query);
        assert!(ding.query.contains("sign="));
        assert!(ding.chat_text().starts_with("科协"), "{}", ding.chat_text());
        assert!(ding.chat_text().contains("5月28日 09:00–11:00（北京时间）"));
        assert_eq!(ding.json()["at"]["atMobiles"][0], "14400001234");
        let ding_log = log(&app, id(&dingtalk)).await;
        assert_eq!(ding_log[0]["status"], "failed");
        assert_eq!(ding_log[0]["attempts"][0]["error_code"], 310000);
        assert_eq!(ding_log[0]["attempts"][0]["error_message"], "keywords not in content");
        let flagged = webhook(&app, id(&dingtalk)).await;
        assert!(flagged["flag"].as_str().unwrap().contains("310000"), "{flagged}");
        assert!(flagged["failing_since"].is_string());

        // WeCom: 200 with its rate-limit code is not delivered; it waits at least a minute.
        let wecom_log = log(&app, id(&wecom)).await;
        assert_eq!(wecom_log[0]["status"], "pending");
        let next: DateTime<Utc> = serde_json::from_value(wecom_log[0]["next_attempt_at"].clone()).unwrap();
        assert!(next >= due + TimeDelta::seconds(60), "{next}");
        assert_eq!(wecom_log[0]["attempts"][0]["outcome"], "retrying");

        // Feishu: signed in the body; Slack: a plain "ok".
        let fei = receiver.received("/feishu/hook")[0].json();
        assert_eq!(fei["timestamp"], due.timestamp().to_string());
        assert!(fei["sign"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(log(&app, id(&feishu)).await[0]["status"], "delivered");
        assert_eq!(log(&app, id(&slack)).await[0]["status"], "delivered");
        assert!(receiver.received("/slack/services")[0].chat_text().contains("*【"));
    }
}

db_test! {
    async fn retries_follow_the_schedule_honour_retry_after_and_stop_at_the_deadline(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/flaky", json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        receiver.script("/standard/flaky", vec![
            Reply::new(500, "oops"),
            Reply::new(429, "slow down").retry_after("2400"),
            Reply::new(503, "still down"),
            Reply::new(502, "down again"),
        ]);
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        let dispatcher = quick(&app);
        dispatcher.dispatch_due().await.unwrap();
        let first = log(&app, id(&hook)).await[0].clone();
        let next: DateTime<Utc> = serde_json::from_value(first["next_attempt_at"].clone()).unwrap();
        // 5 s ± 20 %.
        assert!(next >= due + TimeDelta::seconds(4) && next <= due + TimeDelta::seconds(6), "{next}");
        assert_eq!(first["attempts"][0]["http_status"], 500);
        // Not before its time.
        app.clock.set(due + TimeDelta::seconds(3));
        assert_eq!(dispatcher.dispatch_due().await.unwrap().messages, 0);
        app.clock.set(next);
        dispatcher.dispatch_due().await.unwrap();
        let second = log(&app, id(&hook)).await[0].clone();
        let after_429: DateTime<Utc> = serde_json::from_value(second["next_attempt_at"].clone()).unwrap();
        assert!(after_429 >= next + TimeDelta::seconds(2400), "Retry-After is honoured: {after_429}");
        // Thirty minutes (± 20 %) after the third try is past the session's start (01:00):
        // one last try goes a request's timeout (5 s here) before it.
        app.clock.set(after_429);
        dispatcher.dispatch_due().await.unwrap();
        let third = log(&app, id(&hook)).await[0].clone();
        assert_eq!(third["status"], "pending", "{third}");
        let last_try: DateTime<Utc> = serde_json::from_value(third["next_attempt_at"].clone()).unwrap();
        assert_eq!(last_try, at("2019-05-28T00:59:55Z"));
        app.clock.set(last_try);
        dispatcher.dispatch_due().await.unwrap();
        let last = log(&app, id(&hook)).await[0].clone();
        assert_eq!(last["status"], "expired", "never late: {last}");
        assert_eq!(last["attempts"].as_array().unwrap().len(), 4);
        app.clock.set(at("2019-05-28T02:00:00Z"));
        assert_eq!(dispatcher.dispatch_due().await.unwrap(), Round::default());
        assert_eq!(receiver.received("/standard/flaky").len(), 4);
    }
}

db_test! {
    async fn an_answer_slower_than_the_timeout_is_retried_on_the_schedule_and_may_have_arrived(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/slow", json!({"events": ["session.reminder"], "offsets": ["P1D"]})).await;
        receiver.script("/standard/slow", vec![Reply::new(204, "").slow(Duration::from_secs(30))]);
        let due = at("2019-05-27T01:00:00Z");
        app.clock.set(due);
        let round = dispatcher(&app, Duration::from_millis(200)).dispatch_due().await.unwrap();
        assert_eq!(round.retrying, 1, "{round:?}");
        let entry = log(&app, id(&hook)).await[0].clone();
        assert!(entry["attempts"][0]["http_status"].is_null());
        let next: DateTime<Utc> = serde_json::from_value(entry["next_attempt_at"].clone()).unwrap();
        // 5 s ± 20 %, like any other failure: no fixed minute.
        assert!(next >= due + TimeDelta::seconds(4) && next <= due + TimeDelta::seconds(6), "{next}");
        // Had the session started before an answer came, the log would say "in doubt".
        app.clock.set(at("2019-05-28T01:00:00Z"));
        let round = dispatcher(&app, Duration::from_millis(200)).dispatch_due().await.unwrap();
        assert_eq!(round.in_doubt, 1, "{round:?}");
        let entry = log(&app, id(&hook)).await[0].clone();
        assert_eq!(entry["status"], "in_doubt", "{entry}");
        assert_eq!(receiver.received("/standard/slow").len(), 1, "nothing sent after the start");
    }
}

db_test! {
    async fn a_cancelled_session_sends_its_notice_and_never_its_reminders(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        subscribe(&app, &seed, &receiver, "/wecom/group", json!({})).await;
        let path = format!("/api/v1/sessions/{session}");
        let cancelled = app.patch_current(&path, json!({"status": "cancelled"})).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        let dispatcher = quick(&app);
        dispatcher.dispatch_due().await.unwrap();
        for time in ["2019-05-27T01:00:00Z", "2019-05-28T00:00:00Z", "2019-05-28T00:59:59Z"] {
            app.clock.set(at(time));
            dispatcher.dispatch_due().await.unwrap();
        }
        let got = receiver.received("/wecom/group");
        assert_eq!(got.len(), 1, "only the cancellation notice");
        assert!(got[0].chat_text().contains("取消"), "{}", got[0].chat_text());
    }
}

db_test! {
    async fn a_moved_session_is_reminded_at_its_new_time_with_a_notice_of_the_change(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        subscribe(&app, &seed, &receiver, "/dingtalk/moved", json!({"offsets": ["PT1H"]})).await;
        let path = format!("/api/v1/sessions/{session}");
        let moved = app
            .patch_current(&path, json!({"starts_at": "2019-05-28T14:00+08:00", "ends_at": "2019-05-28T16:00+08:00"}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let dispatcher = quick(&app);
        dispatcher.dispatch_due().await.unwrap();
        let notice = receiver.received("/dingtalk/moved");
        assert_eq!(notice.len(), 1);
        assert!(notice[0].chat_text().contains("时间由 09:00 改为 14:00"), "{}", notice[0].chat_text());
        // The old reminder time passes quietly; the new one (05:00 UTC) brings the reminder.
        app.clock.set(at("2019-05-28T00:00:00Z"));
        dispatcher.dispatch_due().await.unwrap();
        assert_eq!(receiver.received("/dingtalk/moved").len(), 1);
        app.clock.set(at("2019-05-28T05:00:00Z"));
        dispatcher.dispatch_due().await.unwrap();
        let got = receiver.received("/dingtalk/moved");
        assert_eq!(got.len(), 2);
        assert!(got[1].chat_text().contains("14:00–16:00"), "{}", got[1].chat_text());
    }
}

db_test! {
    async fn reminders_due_together_are_merged_and_a_robot_over_its_limit_waits(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        for _ in 0..3 {
            session(&app, &seed).await;
        }
        let hook = subscribe(&app, &seed, &receiver, "/dingtalk/busy", json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        // The robot has had twenty messages in the last minute already.
        let txn = app.db.begin().await.unwrap();
        let sends: Vec<DateTime<Utc>> = (0..20).map(|i| due - TimeDelta::seconds(50 - i)).collect();
        sciday::store::webhooks::note_sends(&txn, id(&hook), &sends).await.unwrap();
        txn.commit().await.unwrap();
        let dispatcher = quick(&app);
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!((round.messages, round.deferred), (0, 3), "{round:?}");
        // Free again once the oldest of the twenty is a minute old: all three in one message.
        app.clock.set(due + TimeDelta::seconds(9));
        assert_eq!(dispatcher.dispatch_due().await.unwrap().messages, 0);
        app.clock.set(due + TimeDelta::seconds(10));
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!((round.messages, round.delivered), (1, 3), "{round:?}");
        let got = receiver.received("/dingtalk/busy");
        assert_eq!(got.len(), 1);
        assert!(got[0].json()["markdown"]["title"].as_str().unwrap().ends_with("等3条通知"));
    }
}

db_test! {
    async fn assignments_are_announced_and_a_volunteers_own_robot_follows_their_duties(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": session, "name": "讲解员", "needed": 2})).await);
        let volunteer = id(&app
            .create("/api/v1/volunteers", json!({"name": "李娜", "mobile": "14400005678", "organization_id": seed.haizhou}))
            .await);
        let personal = id(&app
            .create("/api/v1/webhooks", json!({"organization_id": seed.haizhou, "url": receiver.url("/standard/lina"),
                "format": "standard", "scope": {"kind": "volunteer", "id": volunteer}}))
            .await);
        let assignment = id(&app.create("/api/v1/assignments", json!({"role_id": role, "volunteer_id": volunteer})).await);
        let dispatcher = quick(&app);
        dispatcher.dispatch_due().await.unwrap();
        let got = receiver.received("/standard/lina");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].json()["type"], "assignment.created");
        assert_eq!(got[0].json()["data"]["assignment"]["name"], "李娜");
        // Assigned, the volunteer's robot will remind them.
        let pending = |log: &[Value]| log.iter().filter(|d| d["event_type"] == "session.reminder" && d["status"] == "pending").count();
        assert_eq!(pending(&log(&app, personal).await), 2);
        let declined = app
            .post(&app.admin, &format!("/api/v1/assignments/{assignment}/decline"), json!({"reason": "出差"}))
            .await;
        assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
        dispatcher.dispatch_due().await.unwrap();
        let got = receiver.received("/standard/lina");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].json()["type"], "assignment.declined");
        assert_eq!(got[1].json()["data"]["assignment"]["reason"], "出差");
        // No longer on duty: no reminders for them.
        assert_eq!(pending(&log(&app, personal).await), 0);
        app.clock.set(at("2019-05-28T00:30:00Z"));
        dispatcher.dispatch_due().await.unwrap();
        assert_eq!(receiver.received("/standard/lina").len(), 2);
    }
}

db_test! {
    async fn a_subscription_made_or_changed_later_gets_reminders_for_sessions_already_planned(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/late", json!({"events": ["session.reminder"]})).await;
        let dues = |log: Vec<Value>| {
            let mut dues: Vec<String> = log
                .iter()
                .filter(|d| d["status"] == "pending")
                .map(|d| d["due_at"].as_str().unwrap().to_owned())
                .collect();
            dues.sort();
            dues
        };
        assert_eq!(dues(log(&app, id(&hook)).await), ["2019-05-27T01:00:00Z", "2019-05-28T00:00:00Z"]);
        let path = format!("/api/v1/webhooks/{}", id(&hook));
        // A new name owes nobody anything: the outbox is left as it is.
        app.clock.advance(TimeDelta::minutes(1));
        let renamed = app.patch_current(&path, json!({"name": "市志愿服务支队群"})).await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
        assert_eq!(app.count("deliveries WHERE updated_at > created_at").await, 0);
        let changed = app.patch_current(&path, json!({"offsets": ["PT30M"]})).await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
        assert_eq!(dues(log(&app, id(&hook)).await), ["2019-05-28T00:30:00Z"]);
        app.patch_current(&path, json!({"enabled": false})).await;
        assert!(dues(log(&app, id(&hook)).await).is_empty());
        app.patch_current(&path, json!({"enabled": true, "offsets": ["P1D", "PT30M"]})).await;
        assert_eq!(dues(log(&app, id(&hook)).await), ["2019-05-27T01:00:00Z", "2019-05-28T00:30:00Z"]);
    }
}

db_test! {
    async fn a_permanent_refusal_stops_retrying_and_five_days_of_failures_disable(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/gone", json!({"events": ["session.cancelled", "session.rescheduled"]})).await;
        receiver.script("/standard/gone", vec![Reply::new(410, "gone")]);
        let path = format!("/api/v1/sessions/{session}");
        app.patch_current(&path, json!({"starts_at": "2019-05-28T10:00+08:00", "ends_at": "2019-05-28T12:00+08:00"})).await;
        let dispatcher = quick(&app);
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!(round.failed, 1, "a 4xx is not retried: {round:?}");
        let flagged = webhook(&app, id(&hook)).await;
        assert!(flagged["flag"].as_str().unwrap().contains("HTTP 410"), "{flagged}");
        assert_eq!(flagged["enabled"], true);
        // Failing for five days: the next failure disables it.
        app.clock.advance(TimeDelta::days(5));
        receiver.script("/standard/gone", vec![Reply::new(500, "down")]);
        app.patch_current(&path, json!({"status": "cancelled"})).await;
        dispatcher.dispatch_due().await.unwrap();
        let disabled = webhook(&app, id(&hook)).await;
        assert_eq!(disabled["enabled"], false, "{disabled}");
        assert!(disabled["disabled_reason"].as_str().unwrap().contains("5 days"));
        // Its pending retry is withdrawn rather than sent.
        app.clock.advance(TimeDelta::minutes(1));
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!((round.messages, round.withdrawn), (0, 1), "{round:?}");
        // Switched back on by an organizer, it starts afresh.
        let enabled = app.patch_current(&format!("/api/v1/webhooks/{}", id(&hook)), json!({"enabled": true})).await;
        assert!(enabled.body["failing_since"].is_null() && enabled.body["flag"].is_null(), "{}", enabled.body);
    }
}

db_test! {
    async fn the_delivery_log_resends_and_sends_a_test_message(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/dingtalk/log", json!({"events": ["session.reminder"], "offsets": ["PT1H"], "keyword": "科协"})).await;
        let hook = id(&hook);
        // A test message now, answered at once.
        let tested = app.post(&app.admin, &format!("/api/v1/webhooks/{hook}/test"), json!({})).await;
        assert_eq!(tested.status, StatusCode::OK, "{}", tested.body);
        assert_eq!(tested.body["event_type"], "webhook.test");
        assert_eq!(tested.body["status"], "delivered");
        assert_eq!(tested.body["attempts"][0]["http_status"], 200);
        let text = receiver.received("/dingtalk/log")[0].chat_text();
        assert!(text.contains("测试消息") && text.contains("科协"), "{text}");
        // A refused test is shown, not retried.
        receiver.script("/dingtalk/log", vec![Reply::new(200, r#"{"errcode":300001,"errmsg":"token is not exist"}"#)]);
        let refused = app.post(&app.admin, &format!("/api/v1/webhooks/{hook}/test"), json!({})).await;
        assert_eq!(refused.body["status"], "failed");
        assert_eq!(refused.body["attempts"][0]["error_code"], 300001);
        // Resend a delivered reminder: due again now, with the same message id.
        app.clock.set(at("2019-05-28T00:00:00Z"));
        quick(&app).dispatch_due().await.unwrap();
        let reminder = log(&app, hook).await.into_iter().find(|d| d["event_type"] == "session.reminder").unwrap();
        assert_eq!(reminder["status"], "delivered");
        let resend = format!("/api/v1/webhooks/{hook}/deliveries/{}/resend", reminder["id"]);
        let again = app.post(&app.admin, &resend, json!({})).await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
        assert_eq!(again.body["status"], "pending");
        quick(&app).dispatch_due().await.unwrap();
        assert_eq!(receiver.received("/dingtalk/log").len(), 4);
        // After the session started, a reminder is not sent again.
        app.clock.set(at("2019-05-28T01:00:00Z"));
        let late = app.post(&app.admin, &resend, json!({})).await;
        assert_eq!(late.problem(StatusCode::CONFLICT, "conflict")["code"], "deadline_passed");
        // Another subscription's delivery, or none at all, is not found.
        let missing = app.post(&app.admin, &format!("/api/v1/webhooks/{hook}/deliveries/999999/resend"), json!({})).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let single = app.get_as(&app.admin, &format!("/api/v1/webhooks/{hook}/deliveries/{}", reminder["id"])).await;
        assert_eq!(single.body["attempts"].as_array().unwrap().len(), 2);
        // Organizers of other organizations see nothing of it.
        let other = app.organizer(seed.ganyu).await;
        let hidden = app.get_as(&other, &format!("/api/v1/webhooks/{hook}/deliveries")).await;
        assert_eq!(hidden.status, StatusCode::FORBIDDEN);
    }
}

db_test! {
    async fn an_address_the_policy_no_longer_permits_is_never_connected_to(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/inside", json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        app.clock.set(at("2019-05-28T00:00:00Z"));
        // The operator took loopback off the allow-list.
        let strict = Dispatcher::new(app.db.clone(), app.clock.clone(), AddressPolicy::default(), Settings::default(), "https://sciday.example.cn").unwrap();
        let round = strict.dispatch_due().await.unwrap();
        assert_eq!(round.failed, 1, "{round:?}");
        assert!(receiver.all().is_empty());
        let entry = log(&app, id(&hook)).await[0].clone();
        assert!(entry["last_error"].as_str().unwrap().contains("not a public address"), "{entry}");
    }
}

db_test! {
    async fn a_subscription_deleted_while_its_message_is_sent_spoils_nothing_else(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let doomed = subscribe(&app, &seed, &receiver, "/standard/doomed", json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        let kept = subscribe(&app, &seed, &receiver, "/standard/kept", json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        receiver.script("/standard/doomed", vec![Reply::new(204, "").slow(Duration::from_millis(400))]);
        app.clock.set(at("2019-05-28T00:00:00Z"));
        let dispatcher = Arc::new(quick(&app));
        let round = tokio::spawn({
            let dispatcher = Arc::clone(&dispatcher);
            async move { dispatcher.dispatch_due().await }
        });
        let mut waited = 0;
        while receiver.received("/standard/doomed").is_empty() {
            assert!(waited < 100, "the message was not sent");
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        let deleted = app.delete(&app.admin, &format!("/api/v1/webhooks/{}", id(&doomed))).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        let round = round.await.unwrap().unwrap();
        assert_eq!(round.messages, 2);
        let entry = log(&app, id(&kept)).await[0].clone();
        assert_eq!(entry["status"], "delivered", "{entry}");
        assert_eq!(entry["attempts"].as_array().unwrap().len(), 1);
    }
}

db_test! {
    async fn a_volunteer_joining_or_leaving_a_team_moves_the_teams_reminders(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        let (volunteer, _) = staff(&app, &seed, session).await;
        let team = id(&app.create("/api/v1/teams", json!({"organization_id": seed.city, "name": "科普大篷车分队"})).await);
        let hook = id(&app
            .create("/api/v1/webhooks", json!({"organization_id": seed.city, "url": receiver.url("/standard/team"),
                "format": "standard", "scope": {"kind": "team", "id": team}, "events": ["session.reminder"]}))
            .await);
        let pending = |log: Vec<Value>| log.iter().filter(|d| d["status"] == "pending").count();
        assert_eq!(pending(log(&app, hook).await), 0, "nobody of the team serves yet");
        let path = format!("/api/v1/volunteers/{volunteer}");
        let joined = app.patch_current(&path, json!({"teams": [{"team_id": team}]})).await;
        assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
        assert_eq!(pending(log(&app, hook).await), 2);
        app.patch_current(&path, json!({"teams": []})).await;
        assert_eq!(pending(log(&app, hook).await), 0);
    }
}
