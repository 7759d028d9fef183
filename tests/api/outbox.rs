//! The delivery outbox: a message cannot be enqueued twice, dispatchers claim due rows under a
//! lease and never the same row at once, and a session's pending reminders can be withdrawn.

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Model as Delivery;
use sciday::db::Db;
use sciday::store::deliveries::{
    NewDelivery, claim_due, enqueue, expire_leases_of, next_due, release, renew, take_over, withdraw_pending,
};
use serde_json::json;

use crate::db_test;
use crate::helpers::{Seed, TestApp, id};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A session, then a subscription to hang deliveries on (one that wants no reminders, so
/// the outbox starts empty).
async fn subscription(app: &TestApp) -> (Seed, i64, i64) {
    let seed = app.seed().await;
    let session = session(app, &seed).await;
    let webhook = id(&app
        .create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/in", "format": "standard",
                   "scope": {"kind": "program", "id": seed.program}, "events": ["session.rescheduled", "session.cancelled"]}),
        )
        .await);
    (seed, webhook, session)
}

async fn session(app: &TestApp, seed: &Seed) -> i64 {
    id(&app
        .create(
            "/api/v1/sessions",
            json!({"activity_id": seed.activity, "venue_id": seed.venue,
                   "starts_at": "2019-05-28T09:00+08:00", "ends_at": "2019-05-28T11:00+08:00"}),
        )
        .await)
}

async fn webhook(app: &TestApp, seed: &Seed, scope: serde_json::Value) -> i64 {
    id(&app
        .create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/in", "format": "standard", "scope": scope}),
        )
        .await)
}

/// Claims in a transaction of its own, as a dispatcher does.
async fn claim(db: &Db, now: DateTime<Utc>, lease: TimeDelta, worker: &str, limit: u64) -> Vec<Delivery> {
    let txn = db.begin().await.unwrap();
    let claimed = claim_due(&txn, now, lease, worker, limit).await.unwrap();
    txn.commit().await.unwrap();
    claimed
}

fn reminder(webhook: i64, session: i64, key: &str, due: &str) -> NewDelivery {
    NewDelivery {
        webhook_id: webhook,
        event_type: "session.reminder".to_owned(),
        session_id: Some(session),
        assignment_id: None,
        dedupe_key: key.to_owned(),
        payload: None,
        due_at: at(due),
        deadline: Some(at("2019-05-28T01:00:00Z")),
    }
}

db_test! {
    async fn a_message_with_the_same_key_is_enqueued_once(app: TestApp) {
        let (_, webhook, session) = subscription(&app).await;
        let now = at("2019-05-20T00:00:00Z");
        let txn = app.db.begin().await.unwrap();
        assert!(enqueue(&txn, reminder(webhook, session, "r:1:3600:1", "2019-05-28T00:00:00Z"), now).await.unwrap());
        assert!(!enqueue(&txn, reminder(webhook, session, "r:1:3600:1", "2019-05-28T00:00:00Z"), now).await.unwrap());
        assert!(enqueue(&txn, reminder(webhook, session, "r:1:86400:1", "2019-05-27T01:00:00Z"), now).await.unwrap());
        txn.commit().await.unwrap();
        assert_eq!(next_due(app.db.reader()).await.unwrap().pending, Some(at("2019-05-27T01:00:00Z")));
    }
}

db_test! {
    async fn only_due_rows_are_claimed_and_a_lease_keeps_them_until_it_runs_out(app: TestApp) {
        let (_, webhook, session) = subscription(&app).await;
        let now = at("2019-05-28T00:00:00Z");
        let txn = app.db.begin().await.unwrap();
        enqueue(&txn, reminder(webhook, session, "due", "2019-05-27T23:59:00Z"), now).await.unwrap();
        enqueue(&txn, reminder(webhook, session, "later", "2019-05-28T00:30:00Z"), now).await.unwrap();
        txn.commit().await.unwrap();

        let lease = TimeDelta::seconds(30);
        let claimed = claim(&app.db, now, lease, "a", 10).await;
        assert_eq!(claimed.iter().map(|d| d.dedupe_key.as_str()).collect::<Vec<_>>(), ["due"]);
        assert_eq!(claimed[0].leased_by.as_deref(), Some("a"));
        assert!(claim(&app.db, now + TimeDelta::seconds(10), lease, "b", 10).await.is_empty());
        // The first dispatcher died: until its lease has run out nobody takes the row over.
        let txn = app.db.begin().await.unwrap();
        let early = take_over(&txn, now + TimeDelta::seconds(29), 10).await.unwrap();
        txn.commit().await.unwrap();
        assert!(early.resent.is_empty() && early.settled.is_empty(), "{early:?}");
        // Then it is due again at once, marked as possibly sent, with an in-doubt attempt.
        let later = now + TimeDelta::seconds(31);
        let txn = app.db.begin().await.unwrap();
        let taken = take_over(&txn, later, 10).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(taken.resent, [claimed[0].id]);
        let again = claim(&app.db, later, lease, "b", 10).await;
        assert_eq!(again.iter().map(|d| (d.dedupe_key.as_str(), d.leased_by.as_deref(), d.maybe_sent)).collect::<Vec<_>>(), [("due", Some("b"), true)]);
        assert_eq!(app.count(&format!("delivery_attempts WHERE delivery_id = {} AND outcome = 'in_doubt'", claimed[0].id)).await, 1);
    }
}

db_test! {
    async fn a_round_claims_the_reminders_of_one_session_together(app: TestApp) {
        let (seed, first, session_a) = subscription(&app).await;
        let session_b = session(&app, &seed).await;
        // Subscriptions that want no reminders of their own: the test writes them.
        let quiet = |scope: serde_json::Value| {
            json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/in", "format": "standard",
                   "scope": scope, "events": ["session.cancelled"]})
        };
        let second = id(&app.create("/api/v1/webhooks", quiet(json!({"kind": "program", "id": seed.program}))).await);
        let third = id(&app.create("/api/v1/webhooks", quiet(json!({"kind": "organization", "id": seed.haizhou}))).await);
        assert_eq!(app.count("deliveries").await, 0);
        let now = at("2019-05-28T00:00:00Z");
        // Written subscription by subscription, so in id order the two sessions alternate.
        let txn = app.db.begin().await.unwrap();
        for webhook in [first, second, third] {
            for session in [session_b, session_a] {
                let key = format!("r:{session}:3600:{webhook}");
                enqueue(&txn, reminder(webhook, session, &key, "2019-05-28T00:00:00Z"), now).await.unwrap();
            }
        }
        txn.commit().await.unwrap();
        // Due at one instant, a round of three takes one session's three, and reads it once.
        let sessions = |claimed: &[Delivery]| claimed.iter().map(|d| d.session_id).collect::<Vec<_>>();
        let round = claim(&app.db, now, TimeDelta::seconds(30), "a", 3).await;
        assert_eq!(sessions(&round), [Some(session_a); 3]);
        let next = claim(&app.db, now, TimeDelta::seconds(30), "b", 3).await;
        assert_eq!(sessions(&next), [Some(session_b); 3]);
        // Time still comes first: an earlier reminder of another session goes before them.
        let txn = app.db.begin().await.unwrap();
        enqueue(&txn, reminder(first, session_b, "earlier", "2019-05-27T23:00:00Z"), now).await.unwrap();
        enqueue(&txn, reminder(second, session_a, "later", "2019-05-28T00:00:00Z"), now).await.unwrap();
        txn.commit().await.unwrap();
        let last = claim(&app.db, now, TimeDelta::seconds(30), "c", 1).await;
        assert_eq!(last.iter().map(|d| d.dedupe_key.as_str()).collect::<Vec<_>>(), ["earlier"]);
    }
}

db_test! {
    async fn a_claim_past_its_deadline_is_settled_in_doubt_never_expired(app: TestApp) {
        let (_, webhook, session) = subscription(&app).await;
        let now = at("2019-05-28T00:59:00Z");
        let txn = app.db.begin().await.unwrap();
        let mut last_minute = reminder(webhook, session, "last-minute", "2019-05-28T00:59:00Z");
        last_minute.deadline = Some(at("2019-05-28T01:00:00Z"));
        enqueue(&txn, last_minute, now).await.unwrap();
        txn.commit().await.unwrap();
        let claimed = claim(&app.db, now, TimeDelta::seconds(15), "killed", 10).await;
        assert_eq!(claimed.len(), 1);
        let txn = app.db.begin().await.unwrap();
        let taken = take_over(&txn, at("2019-05-28T01:00:30Z"), 10).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(taken.settled, [claimed[0].id]);
        assert!(taken.resent.is_empty());
        assert_eq!(app.count("deliveries WHERE status = 'in_doubt' AND maybe_sent").await, 1);
        assert_eq!(app.count("deliveries WHERE status IN ('expired', 'pending', 'sending')").await, 0);
    }
}

db_test! {
    async fn a_heartbeat_keeps_claims_a_restart_takes_its_own_back_and_a_stop_frees_them(app: TestApp) {
        let (_, webhook, session) = subscription(&app).await;
        let now = at("2019-05-28T00:00:00Z");
        let txn = app.db.begin().await.unwrap();
        for key in ["a1", "a2", "b1"] {
            enqueue(&txn, reminder(webhook, session, key, "2019-05-27T23:59:00Z"), now).await.unwrap();
        }
        txn.commit().await.unwrap();
        let lease = TimeDelta::seconds(15);
        assert_eq!(claim(&app.db, now, lease, "a", 2).await.len(), 2);
        assert_eq!(claim(&app.db, now, lease, "b", 2).await.len(), 1);
        // "a" renews; "b" does not.
        assert_eq!(renew(app.db.reader(), "a", now + TimeDelta::seconds(25)).await.unwrap(), 2);
        let txn = app.db.begin().await.unwrap();
        let taken = take_over(&txn, now + TimeDelta::seconds(20), 10).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(taken.resent.len(), 1, "only b's claim ran out");
        assert_eq!(app.count("deliveries WHERE status = 'sending' AND leased_by = 'a'").await, 2);
        // "a" restarts: its leases end at once.
        assert_eq!(expire_leases_of(app.db.reader(), "a", now + TimeDelta::seconds(21)).await.unwrap(), 2);
        let txn = app.db.begin().await.unwrap();
        let taken = take_over(&txn, now + TimeDelta::seconds(21), 10).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(taken.resent.len(), 2, "{taken:?}");
        // A dispatcher told to stop frees what it holds, due again, without counting an attempt.
        let held = claim(&app.db, now + TimeDelta::seconds(22), lease, "c", 10).await;
        assert_eq!(held.len(), 3);
        assert_eq!(release(app.db.reader(), "c", now + TimeDelta::seconds(23)).await.unwrap(), 3);
        assert_eq!(app.count("deliveries WHERE status = 'pending' AND leased_by IS NULL").await, 3);
        assert_eq!(app.count("deliveries WHERE attempts = 1").await, 3, "the in-doubt attempts only");
    }
}

db_test! {
    async fn concurrent_dispatchers_never_claim_the_same_row(app: TestApp) {
        let (_, webhook, session) = subscription(&app).await;
        let now = at("2019-05-28T00:00:00Z");
        let txn = app.db.begin().await.unwrap();
        for i in 0..200 {
            enqueue(&txn, reminder(webhook, session, &format!("k{i}"), "2019-05-27T23:00:00Z"), now).await.unwrap();
        }
        txn.commit().await.unwrap();
        let claimers = (0..4).map(|worker| {
            let db = app.db.clone();
            async move {
                let mut mine = Vec::new();
                loop {
                    let batch = claim(&db, now, TimeDelta::minutes(1), &format!("w{worker}"), 7).await;
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|d| d.id));
                }
            }
        });
        let claimed: Vec<i64> = crate::helpers::join_all(claimers).await.into_iter().flatten().collect();
        let mut unique = claimed.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!((claimed.len(), unique.len()), (200, 200));
    }
}

db_test! {
    async fn a_sessions_pending_reminders_are_withdrawn_and_others_stay(app: TestApp) {
        let (_, webhook, session) = subscription(&app).await;
        let now = at("2019-05-20T00:00:00Z");
        let txn = app.db.begin().await.unwrap();
        enqueue(&txn, reminder(webhook, session, "r1", "2019-05-27T01:00:00Z"), now).await.unwrap();
        enqueue(&txn, reminder(webhook, session, "r2", "2019-05-28T00:00:00Z"), now).await.unwrap();
        let mut notice = reminder(webhook, session, "moved:1:2", "2019-05-20T00:00:00Z");
        notice.event_type = "session.rescheduled".to_owned();
        enqueue(&txn, notice, now).await.unwrap();
        assert_eq!(withdraw_pending(&txn, session, "session.reminder", now).await.unwrap(), 2);
        txn.commit().await.unwrap();
        let claimed = claim(&app.db, at("2019-05-29T00:00:00Z"), TimeDelta::minutes(1), "a", 10).await;
        assert_eq!(claimed.iter().map(|d| d.event_type.as_str()).collect::<Vec<_>>(), ["session.rescheduled"]);
    }
}

/// The outbox as (event type, status, due time), oldest first.
async fn outbox(app: &TestApp) -> Vec<(String, String, String)> {
    use sea_orm::{EntityTrait as _, QueryOrder as _};
    let rows = entity::delivery::Entity::find()
        .order_by_asc(entity::delivery::Column::Id)
        .all(app.db.reader())
        .await
        .unwrap();
    rows.into_iter()
        .map(|d| {
            let status = serde_json::to_value(d.status).unwrap().as_str().unwrap().to_owned();
            (d.event_type, status, d.due_at.format("%m-%dT%H:%M").to_string())
        })
        .collect()
}

fn row(event: &str, status: &str, due: &str) -> (String, String, String) {
    (event.to_owned(), status.to_owned(), due.to_owned())
}

db_test! {
    async fn a_new_session_gets_its_reminders_and_a_move_re_times_them_with_a_notice(app: TestApp) {
        let seed = app.seed().await;
        webhook(&app, &seed, json!({"kind": "program", "id": seed.program})).await;
        let session = session(&app, &seed).await;
        // 09:00 Beijing time is 01:00 UTC: a day and an hour before.
        assert_eq!(
            outbox(&app).await,
            [row("session.reminder", "pending", "05-27T01:00"), row("session.reminder", "pending", "05-28T00:00")]
        );
        let path = format!("/api/v1/sessions/{session}");
        let moved = app
            .patch_current(&path, json!({"starts_at": "2019-05-28T14:00+08:00", "ends_at": "2019-05-28T16:00+08:00"}))
            .await;
        assert_eq!(moved.status, reqwest::StatusCode::OK, "{}", moved.body);
        assert_eq!(
            outbox(&app).await,
            [
                row("session.reminder", "withdrawn", "05-27T01:00"),
                row("session.reminder", "withdrawn", "05-28T00:00"),
                row("session.rescheduled", "pending", "05-10T00:00"),
                row("session.reminder", "pending", "05-27T06:00"),
                row("session.reminder", "pending", "05-28T05:00"),
            ]
        );
        // A change that is neither time nor place leaves the outbox alone.
        app.patch_current(&path, json!({"title": "科普讲座"})).await;
        assert_eq!(outbox(&app).await.len(), 5);
    }
}

db_test! {
    async fn a_cancelled_session_gets_no_reminder_but_a_notice_even_to_its_volunteers_robot(app: TestApp) {
        let seed = app.seed().await;
        webhook(&app, &seed, json!({"kind": "program", "id": seed.program})).await;
        let session = session(&app, &seed).await;
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": session, "name": "讲解员", "needed": 2})).await);
        let volunteer = id(&app
            .create("/api/v1/volunteers", json!({"name": "张伟", "mobile": "14400001234", "organization_id": seed.haizhou}))
            .await);
        app.create("/api/v1/assignments", json!({"role_id": role, "volunteer_id": volunteer})).await;
        // A robot for this volunteer alone, made after the session: it covers the session
        // through the assignment.
        let personal = id(&app
            .create(
                "/api/v1/webhooks",
                json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/zhangwei", "format": "standard",
                       "scope": {"kind": "volunteer", "id": volunteer}, "events": ["session.cancelled"]}),
            )
            .await);
        let path = format!("/api/v1/sessions/{session}");
        let cancelled = app.patch_current(&path, json!({"status": "cancelled"})).await;
        assert_eq!(cancelled.status, reqwest::StatusCode::OK, "{}", cancelled.body);
        let rows = outbox(&app).await;
        assert!(rows.iter().all(|(event, status, _)| event != "session.reminder" || status == "withdrawn"), "{rows:?}");
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
        let notices = entity::delivery::Entity::find()
            .filter(entity::delivery::Column::EventType.eq("session.cancelled"))
            .all(app.db.reader())
            .await
            .unwrap();
        let mut receivers: Vec<i64> = notices.iter().map(|d| d.webhook_id).collect();
        receivers.sort_unstable();
        assert_eq!(receivers.len(), 2, "the program's robot and the volunteer's");
        assert!(receivers.contains(&personal));
    }
}

db_test! {
    async fn subscriptions_that_do_not_cover_a_session_or_are_paused_get_nothing(app: TestApp) {
        let seed = app.seed().await;
        let other_program = id(&app
            .create("/api/v1/programs", json!({"name": "2020年全国科技工作者日", "time_zone": "Asia/Shanghai",
                "host_organization_id": seed.city}))
            .await);
        app.create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.city, "url": "https://hooks.example.cn/other", "format": "standard",
                   "scope": {"kind": "program", "id": other_program}}),
        )
        .await;
        let paused = app
            .create(
                "/api/v1/webhooks",
                json!({"organization_id": seed.city, "url": "https://hooks.example.cn/paused", "format": "standard",
                       "scope": {"kind": "organization", "id": seed.city}}),
            )
            .await;
        app.patch_current(&format!("/api/v1/webhooks/{}", id(&paused)), json!({"enabled": false})).await;
        session(&app, &seed).await;
        assert!(outbox(&app).await.is_empty());
    }
}

db_test! {
    async fn a_teams_robot_and_its_parent_teams_hear_of_sessions_their_members_serve_at(app: TestApp) {
        let seed = app.seed().await;
        let detachment = id(&app.create("/api/v1/teams", json!({"organization_id": seed.city, "name": "市志愿服务支队"})).await);
        let squad = id(&app
            .create("/api/v1/teams", json!({"organization_id": seed.city, "name": "科普大篷车分队", "parent_id": detachment}))
            .await);
        let elsewhere = id(&app.create("/api/v1/teams", json!({"organization_id": seed.city, "name": "赣榆分队"})).await);
        let session = session(&app, &seed).await;
        let role = id(&app.create("/api/v1/session-roles", json!({"session_id": session, "name": "讲解员", "needed": 2})).await);
        let volunteer = id(&app
            .create("/api/v1/volunteers", json!({"name": "张伟", "organization_id": seed.haizhou, "teams": [{"team_id": squad}]}))
            .await);
        app.create("/api/v1/assignments", json!({"role_id": role, "volunteer_id": volunteer})).await;
        let mut hooks = Vec::new();
        for team in [detachment, squad, elsewhere] {
            hooks.push(webhook(&app, &seed, json!({"kind": "team", "id": team})).await);
        }
        let covering = sciday::store::reminders::covering(app.db.reader(), session).await.unwrap();
        assert_eq!(covering.iter().map(|w| w.id).collect::<Vec<_>>(), hooks[..2]);
    }
}
