//! Deliveries that survive what goes wrong: a dispatcher killed mid-send, a receiver down until
//! just before the start, a burst of changes to one chat group, a throttled robot, an address
//! that redirects. Time moves with the test's clock; dispatching happens one round at a time.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sciday::delivery::dispatcher::{Dispatcher, Settings};
use serde_json::{Value, json};

use crate::db_test;
use crate::dispatch::{dispatcher, dispatcher_with, loopback, quick};
use crate::helpers::{Seed, TestApp, id};
use crate::receiver::{Receiver, Reply};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// 28 May 2019, 09:00–11:00 Beijing time (01:00–03:00 UTC), titled.
async fn session(app: &TestApp, seed: &Seed, title: &str) -> i64 {
    id(&app
        .create(
            "/api/v1/sessions",
            json!({"activity_id": seed.activity, "venue_id": seed.venue, "title": title,
                   "starts_at": "2019-05-28T09:00+08:00", "ends_at": "2019-05-28T11:00+08:00"}),
        )
        .await)
}

/// A program-wide subscription of `format` sending to `url`.
async fn subscribe(app: &TestApp, seed: &Seed, format: &str, url: &str, extra: Value) -> i64 {
    let mut body = json!({"organization_id": seed.haizhou, "name": "市志愿者群", "url": url,
                          "format": format, "scope": {"kind": "program", "id": seed.program}});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    id(&app.create("/api/v1/webhooks", body).await)
}

async fn log(app: &TestApp, webhook: i64) -> Vec<Value> {
    app.get_as(&app.admin, &format!("/api/v1/webhooks/{webhook}/deliveries"))
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// A dispatcher claiming under `instance`, with the default gather window.
fn instance(app: &TestApp, instance: &str) -> Dispatcher {
    let settings = Settings {
        timeout: Duration::from_secs(5),
        instance: Some(instance.to_owned()),
        ..Settings::default()
    };
    dispatcher_with(app, settings)
}

/// Starts a round of `dispatcher` and kills it (drops the round mid-send) as soon as the
/// receiver has the request: what a SIGKILL leaves behind.
async fn killed_mid_send(dispatcher: Dispatcher, receiver: &Receiver, path: &str) {
    let round = tokio::spawn(async move { dispatcher.dispatch_due().await });
    let mut waited = 0;
    while receiver.received(path).is_empty() {
        assert!(waited < 200, "nothing was sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    round.abort();
    assert!(round.await.unwrap_err().is_cancelled());
}

db_test! {
    async fn a_send_whose_dispatcher_died_is_taken_over_after_the_interval_and_repeats_its_webhook_id(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "启动仪式").await;
        let hook = subscribe(&app, &seed, "standard", &receiver.url("/standard/killed"), json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        receiver.script("/standard/killed", vec![Reply::new(204, "").slow(Duration::from_secs(30))]);
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        killed_mid_send(instance(&app, "first"), &receiver, "/standard/killed").await;
        assert_eq!(app.count("deliveries WHERE status = 'sending' AND leased_by = 'first'").await, 1);

        let survivor = instance(&app, "second");
        app.clock.set(due + TimeDelta::seconds(14));
        let round = survivor.dispatch_due().await.unwrap();
        assert_eq!((round.taken_over, round.claimed), (0, 0), "the claim holds for the takeover interval: {round:?}");
        app.clock.set(due + TimeDelta::seconds(16));
        let round = survivor.dispatch_due().await.unwrap();
        assert_eq!((round.taken_over, round.delivered), (1, 1), "{round:?}");

        let received = receiver.received("/standard/killed");
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"), "the repeat is recognisable");
        let entry = log(&app, hook).await[0].clone();
        assert_eq!(entry["status"], "delivered", "{entry}");
        let outcomes: Vec<&str> = entry["attempts"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes, ["in_doubt", "delivered"]);
        assert!(entry["attempts"][0]["error_message"].as_str().unwrap().contains("first"), "{entry}");
    }
}

db_test! {
    async fn a_process_restarting_under_its_identity_takes_its_claims_back_at_once(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "启动仪式").await;
        subscribe(&app, &seed, "standard", &receiver.url("/standard/restarted"), json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        receiver.script("/standard/restarted", vec![Reply::new(204, "").slow(Duration::from_secs(30))]);
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        killed_mid_send(instance(&app, "sciday-1"), &receiver, "/standard/restarted").await;
        app.clock.set(due + TimeDelta::seconds(2));
        let restarted = instance(&app, "sciday-1");
        assert_eq!(restarted.reclaim().await.unwrap(), 1);
        let round = restarted.dispatch_due().await.unwrap();
        assert_eq!((round.taken_over, round.delivered), (1, 1), "{round:?}");
        let received = receiver.received("/standard/restarted");
        assert_eq!(received.len(), 2);
        assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"));
    }
}

db_test! {
    async fn a_send_in_doubt_past_its_deadline_is_logged_in_doubt_and_not_sent_again(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "启动仪式").await;
        let hook = subscribe(&app, &seed, "standard", &receiver.url("/standard/late"), json!({"events": ["session.reminder"], "offsets": ["PT1M"]})).await;
        receiver.script("/standard/late", vec![Reply::new(204, "").slow(Duration::from_secs(30))]);
        let due = at("2019-05-28T00:59:00Z");
        app.clock.set(due);
        killed_mid_send(instance(&app, "first"), &receiver, "/standard/late").await;
        // Nobody looked until the session had started.
        app.clock.set(at("2019-05-28T01:00:05Z"));
        let round = instance(&app, "second").dispatch_due().await.unwrap();
        assert_eq!((round.in_doubt, round.expired, round.messages), (1, 0, 0), "{round:?}");
        let entry = log(&app, hook).await[0].clone();
        assert_eq!(entry["status"], "in_doubt", "never `expired`: it was sent: {entry}");
        assert_eq!(receiver.received("/standard/late").len(), 1);
        let listed = app.get_as(&app.admin, &format!("/api/v1/webhooks/{hook}/deliveries?status=in_doubt")).await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), 1, "{}", listed.body);
    }
}

db_test! {
    async fn a_receiver_down_until_just_before_the_start_still_gets_every_reminder(app: TestApp) with loopback; {
        let port = Receiver::vacant_port();
        let seed = app.seed().await;
        session(&app, &seed, "启动仪式").await;
        app.clock.set(at("2019-05-27T00:00:00Z"));
        let url = format!("http://127.0.0.1:{port}/standard/outage");
        let hook = subscribe(&app, &seed, "standard", &url, json!({"events": ["session.reminder"], "offsets": ["PT10M", "PT3M", "PT1M"]})).await;
        let dispatcher = quick(&app);
        let mut receiver = None;
        let mut now = at("2019-05-28T00:50:00Z");
        while now < at("2019-05-28T01:00:00Z") {
            if receiver.is_none() && now >= at("2019-05-28T00:59:30Z") {
                receiver = Some(Receiver::start_on(port).await);
            }
            app.clock.set(now);
            dispatcher.dispatch_due().await.unwrap();
            now += TimeDelta::seconds(1);
        }
        let receiver = receiver.unwrap();
        assert_eq!(receiver.received("/standard/outage").len(), 3);
        for entry in log(&app, hook).await {
            assert_eq!(entry["status"], "delivered", "{entry}");
            let attempts = entry["attempts"].as_array().unwrap();
            assert!(attempts.len() >= 2, "{entry}");
            assert!(attempts[0]["error_message"].as_str().unwrap().contains("refused"), "{entry}");
        }
    }
}

db_test! {
    async fn thirty_reschedules_in_one_second_reach_each_chat_group_in_at_most_two_messages(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let t0 = at("2019-05-20T02:00:00Z");
        app.clock.set(t0);
        let mut sessions = Vec::new();
        for n in 1..=30 {
            sessions.push((n, session(&app, &seed, &format!("科普进校园第{n:02}场")).await));
        }
        let dingtalk = subscribe(&app, &seed, "dingtalk", &receiver.url("/dingtalk/burst"), json!({"events": ["session.rescheduled"]})).await;
        subscribe(&app, &seed, "wecom", &receiver.url("/wecom/burst"), json!({"events": ["session.rescheduled"]})).await;
        for (n, session) in &sessions {
            let starts = format!("2019-05-29T{:02}:{:02}+08:00", 8 + n / 6, (n % 6) * 10);
            let ends = format!("2019-05-29T{:02}:{:02}+08:00", 9 + n / 6, (n % 6) * 10);
            let moved = app.patch_current(&format!("/api/v1/sessions/{session}"), json!({"starts_at": starts, "ends_at": ends})).await;
            assert_eq!(moved.status, reqwest::StatusCode::OK, "{}", moved.body);
        }
        let dispatcher = instance(&app, "sciday-1");
        let mut now = t0 + TimeDelta::milliseconds(900);
        while now <= t0 + TimeDelta::seconds(10) {
            app.clock.set(now);
            dispatcher.dispatch_due().await.unwrap();
            now += TimeDelta::milliseconds(250);
        }
        for path in ["/dingtalk/burst", "/wecom/burst"] {
            let messages = receiver.received(path);
            assert!((1..=2).contains(&messages.len()), "{path}: {} messages", messages.len());
            let text: String = messages.iter().map(|m| m.chat_text()).collect();
            for (n, _) in &sessions {
                assert!(text.contains(&format!("科普进校园第{n:02}场")), "{path}: change {n} missing");
            }
        }
        assert!(log(&app, dingtalk).await.iter().all(|e| e["status"] == "delivered"));
    }
}

db_test! {
    async fn chat_notices_wait_for_the_gather_window_but_never_past_a_deadline(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "院士报告会").await;
        let t0 = at("2019-05-28T00:00:00Z");
        app.clock.set(t0 - TimeDelta::hours(1));
        subscribe(&app, &seed, "dingtalk", &receiver.url("/dingtalk/window"), json!({"events": ["session.reminder", "session.cancelled"], "offsets": ["PT1H"]})).await;
        let dispatcher = instance(&app, "sciday-1");
        // The reminder falls due: its window opens; a cancellation joins it within the window.
        app.clock.set(t0);
        assert_eq!(dispatcher.dispatch_due().await.unwrap().messages, 0);
        app.clock.set(t0 + TimeDelta::seconds(1));
        let other = session(&app, &seed, "科技志愿服务").await;
        app.patch_current(&format!("/api/v1/sessions/{other}"), json!({"status": "cancelled"})).await;
        assert_eq!(dispatcher.dispatch_due().await.unwrap().messages, 0);
        app.clock.set(t0 + TimeDelta::seconds(3));
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!((round.messages, round.delivered), (1, 2), "{round:?}");
        let text = receiver.received("/dingtalk/window")[0].chat_text();
        assert!(text.contains("院士报告会") && text.contains("科技志愿服务"), "{text}");
    }
}

db_test! {
    async fn a_throttled_dingtalk_robot_is_held_ten_minutes_and_the_log_says_so(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "院士报告会").await;
        let hook = subscribe(&app, &seed, "dingtalk", &receiver.url("/dingtalk/throttled"), json!({"events": ["session.reminder", "session.cancelled"], "offsets": ["P1D"]})).await;
        receiver.script("/dingtalk/throttled", vec![Reply::new(200, r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#)]);
        let t0 = at("2019-05-27T01:00:00Z");
        app.clock.set(t0);
        let dispatcher = dispatcher(&app, Duration::from_secs(5));
        assert_eq!(dispatcher.dispatch_due().await.unwrap().retrying, 1);
        let entry = log(&app, hook).await[0].clone();
        let next: DateTime<Utc> = serde_json::from_value(entry["next_attempt_at"].clone()).unwrap();
        assert!(next >= t0 + TimeDelta::minutes(10), "{entry}");
        assert!(entry["last_error"].as_str().unwrap().contains("throttles this robot"), "{entry}");
        let held = app.get_as(&app.admin, &format!("/api/v1/webhooks/{hook}")).await.body;
        assert_eq!(serde_json::from_value::<DateTime<Utc>>(held["held_until"].clone()).unwrap(), t0 + TimeDelta::minutes(10));
        // Nothing else goes to the robot meanwhile.
        app.clock.set(t0 + TimeDelta::minutes(1));
        let other = session(&app, &seed, "科技志愿服务").await;
        app.patch_current(&format!("/api/v1/sessions/{other}"), json!({"status": "cancelled"})).await;
        let round = dispatcher.dispatch_due().await.unwrap();
        assert_eq!((round.messages, round.deferred), (0, 1), "{round:?}");
        app.clock.set(t0 + TimeDelta::minutes(10));
        assert_eq!(dispatcher.dispatch_due().await.unwrap().delivered, 2);
        assert_eq!(receiver.received("/dingtalk/throttled").len(), 2);
    }
}

db_test! {
    async fn an_address_that_redirects_is_flagged_with_status_and_location_and_not_retried(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "院士报告会").await;
        let hook = subscribe(&app, &seed, "standard", &receiver.url("/standard/moved"), json!({"events": ["session.reminder"], "offsets": ["P1D"]})).await;
        receiver.script("/standard/moved", vec![Reply::new(301, "").location("https://hooks.example.cn/sciday")]);
        app.clock.set(at("2019-05-27T01:00:00Z"));
        let round = quick(&app).dispatch_due().await.unwrap();
        assert_eq!(round.failed, 1, "{round:?}");
        let flag = app.get_as(&app.admin, &format!("/api/v1/webhooks/{hook}")).await.body["flag"].clone();
        let flag = flag.as_str().unwrap();
        assert!(flag.contains("HTTP 301") && flag.contains("https://hooks.example.cn/sciday"), "{flag}");
        app.clock.set(at("2019-05-27T03:00:00Z"));
        assert_eq!(quick(&app).dispatch_due().await.unwrap().messages, 0);
        assert_eq!(receiver.received("/standard/moved").len(), 1);
    }
}

db_test! {
    async fn a_standard_reschedule_carries_what_the_session_was_as_fields(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed, "院士报告会").await;
        let hall = id(&app.create("/api/v1/venues", json!({"name": "海州区党群服务中心", "kind": "party_masses_service_center", "time_zone": "Asia/Shanghai", "organization_id": seed.haizhou})).await);
        subscribe(&app, &seed, "standard", &receiver.url("/standard/moved"), json!({"events": ["session.rescheduled"]})).await;
        app.clock.set(at("2019-05-20T00:00:00Z"));
        let moved = app
            .patch_current(&format!("/api/v1/sessions/{session}"), json!({"venue_id": hall, "starts_at": "2019-05-28T14:00+08:00", "ends_at": "2019-05-28T16:00+08:00"}))
            .await;
        assert_eq!(moved.status, reqwest::StatusCode::OK, "{}", moved.body);
        quick(&app).dispatch_due().await.unwrap();
        let data = receiver.received("/standard/moved")[0].json()["data"].clone();
        assert_eq!(data["previous"]["starts_at"], "2019-05-28T09:00:00+08:00", "the program's time, with its offset: {data}");
        assert_eq!(data["previous"]["ends_at"], "2019-05-28T11:00:00+08:00");
        assert_eq!(data["previous"]["venue_id"], seed.venue);
        assert_eq!(data["venue"]["id"], hall);
        assert_eq!(data["session"]["starts_at"], "2019-05-28T14:00:00+08:00");
    }
}

db_test! {
    async fn hook_tokens_are_hidden_on_any_address_even_behind_a_path_prefix(app: TestApp) with loopback; {
        let seed = app.seed().await;
        let feishu = subscribe(&app, &seed, "feishu", "http://127.0.0.1:9/im/open-apis/bot/v2/hook/6f1c-secret-token", json!({})).await;
        let slack = subscribe(&app, &seed, "slack", "http://127.0.0.1:9/relay/services/T0001/B0001/slack-secret", json!({})).await;
        let shown: BTreeSet<String> = app.get_as(&app.admin, "/api/v1/webhooks").await.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["url"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            shown,
            BTreeSet::from([
                "http://127.0.0.1:9/im/open-apis/bot/v2/hook/REDACTED".to_owned(),
                "http://127.0.0.1:9/relay/services/REDACTED".to_owned(),
            ])
        );
        for hook in [feishu, slack] {
            let one = app.get_as(&app.admin, &format!("/api/v1/webhooks/{hook}")).await.body;
            let text = one.to_string();
            assert!(!text.contains("6f1c-secret-token") && !text.contains("slack-secret"), "{one}");
        }
    }
}

db_test! {
    async fn a_dispatcher_sending_longer_than_the_takeover_interval_keeps_its_claims_by_renewing_them(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed, "启动仪式").await;
        subscribe(&app, &seed, "standard", &receiver.url("/standard/long"), json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        receiver.script("/standard/long", vec![Reply::new(204, "").slow(Duration::from_secs(4))]);
        let brief = |name: &str| {
            let settings = Settings {
                timeout: Duration::from_secs(5),
                takeover: Duration::from_secs(1),
                instance: Some(name.to_owned()),
                ..Settings::default()
            };
            dispatcher_with(&app, settings)
        };
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        let sender = brief("sender");
        let round = tokio::spawn(async move { sender.dispatch_due().await });
        while receiver.received("/standard/long").is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Long past the one-second interval, but the sender is alive: its heartbeat (every third
        // of a second) has moved its claim on.
        app.clock.set(due + TimeDelta::seconds(30));
        let mut beats = 0;
        loop {
            use sea_orm::EntityTrait as _;
            let claim = entity::prelude::Delivery::find().one(app.db.reader()).await.unwrap().unwrap();
            if claim.lease_until.is_some_and(|until| until > due + TimeDelta::seconds(30)) {
                break;
            }
            assert!(beats < 300, "the claim was never renewed: {claim:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
            beats += 1;
        }
        let round_of_other = brief("other").dispatch_due().await.unwrap();
        assert_eq!((round_of_other.taken_over, round_of_other.claimed), (0, 0), "{round_of_other:?}");
        assert_eq!(round.await.unwrap().unwrap().delivered, 1);
        assert_eq!(receiver.received("/standard/long").len(), 1);
    }
}
