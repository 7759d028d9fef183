//! The delivery outbox: a message cannot be enqueued twice, dispatchers claim due rows under a
//! lease and never the same row at once, and a session's pending reminders can be withdrawn.

use chrono::{DateTime, TimeDelta, Utc};
use entity::delivery::Model as Delivery;
use sciday::db::Db;
use sciday::store::deliveries::{NewDelivery, claim_due, enqueue, next_due, withdraw_pending};
use serde_json::json;

use crate::db_test;
use crate::helpers::{Seed, TestApp, id};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A subscription and a session to hang deliveries on.
async fn subscription(app: &TestApp) -> (Seed, i64, i64) {
    let seed = app.seed().await;
    let webhook = app
        .create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/in", "format": "standard",
                   "scope": {"kind": "program", "id": seed.program}}),
        )
        .await;
    let session = app
        .create(
            "/api/v1/sessions",
            json!({"activity_id": seed.activity, "venue_id": seed.venue,
                   "starts_at": "2019-05-28T09:00+08:00", "ends_at": "2019-05-28T11:00+08:00"}),
        )
        .await;
    (seed, id(&webhook), id(&session))
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
        assert_eq!(next_due(app.db.reader()).await.unwrap(), Some(at("2019-05-27T01:00:00Z")));
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
        // The first dispatcher died: once its lease has run out another takes the row over.
        let taken = claim(&app.db, now + TimeDelta::seconds(31), lease, "b", 10).await;
        assert_eq!(taken.iter().map(|d| (d.dedupe_key.as_str(), d.leased_by.as_deref())).collect::<Vec<_>>(), [("due", Some("b"))]);
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
