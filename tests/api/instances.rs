//! Dispatchers as running instances: several on one database, one that died mid-send, one
//! that starts after downtime or restarts under its identity, one told to stop. Time moves with
//! the test's clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sciday::delivery::dispatcher::{Dispatcher, Settings};
use serde_json::json;

use crate::db_test;
use crate::dispatch::{log, loopback, loopback_policy, quick, session, subscribe};
use crate::helpers::id;
use crate::receiver::{Receiver, Reply};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Starts a round of `dispatcher` and returns once `receiver` has had `messages` at `path`,
/// the round still waiting for their answers.
async fn round_sent(
    dispatcher: &Arc<Dispatcher>,
    receiver: &Receiver,
    path: &str,
    messages: usize,
) -> tokio::task::JoinHandle<sciday::error::Result<sciday::delivery::dispatcher::Round>> {
    let round = tokio::spawn({
        let dispatcher = Arc::clone(dispatcher);
        async move { dispatcher.dispatch_due().await }
    });
    let mut waited = 0;
    while receiver.received(path).len() < messages {
        assert!(waited < 200, "the messages were not sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    round
}

db_test! {
    async fn two_dispatchers_on_one_database_send_each_message_once(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        for i in 0..4 {
            subscribe(&app, &seed, &receiver, &format!("/standard/pair{i}"), json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        }
        for _ in 0..30 {
            session(&app, &seed).await;
        }
        app.clock.set(at("2019-05-28T00:00:00Z"));
        let small = Settings { batch: 7, ..Settings::default() };
        let mut pair: Vec<Arc<Dispatcher>> = Vec::new();
        for _ in 0..2 {
            // On PostgreSQL each has its own pool, as two instances would; SQLite has one writer.
            let db = match app.backend {
                crate::helpers::Backend::Postgres => {
                    sciday::db::Db::connect(&sciday::db::DatabaseUrl::new(app.database_url()), 4).await.unwrap()
                }
                crate::helpers::Backend::Sqlite => app.db.clone(),
            };
            pair.push(Arc::new(Dispatcher::new(db, app.clock.clone(), loopback_policy(), small.clone(), "https://sciday.example.cn").unwrap()));
        }
        let runs = pair.iter().map(|d| {
            let d = Arc::clone(d);
            async move {
                let mut delivered = 0;
                loop {
                    let round = d.dispatch_due().await.unwrap();
                    if round.claimed == 0 {
                        return delivered;
                    }
                    delivered += round.delivered;
                }
            }
        });
        let delivered: Vec<usize> = crate::helpers::join_all(runs).await;
        assert_eq!(delivered.iter().sum::<usize>(), 120);
        let ids: Vec<String> = receiver.all().iter().map(|r| r.header("webhook-id")).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((ids.len(), unique.len()), (120, 120));
    }
}

db_test! {
    async fn a_dispatcher_that_died_mid_send_is_taken_over_when_its_lease_runs_out(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        subscribe(&app, &seed, &receiver, "/standard/orphan", json!({"events": ["session.reminder"], "offsets": ["PT1H"]})).await;
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        let survivor = quick(&app);
        // Another instance claimed the reminder and was killed before recording anything.
        let txn = app.db.begin().await.unwrap();
        let taken = sciday::store::deliveries::claim_due(&txn, due, survivor.lease(), "killed", 10).await.unwrap();
        txn.commit().await.unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(survivor.dispatch_due().await.unwrap().claimed, 0, "the lease holds");
        app.clock.set(due + survivor.lease() + TimeDelta::seconds(1));
        assert_eq!(survivor.dispatch_due().await.unwrap().delivered, 1);
        assert_eq!(receiver.received("/standard/orphan").len(), 1);
    }
}

db_test! {
    async fn reminders_due_while_the_service_was_down_go_out_at_start_unless_too_late(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/restart", json!({"events": ["session.reminder"]})).await;
        // Down from before the day-before reminder until half an hour before the session.
        app.clock.set(at("2019-05-28T00:30:00Z"));
        let round = quick(&app).dispatch_due().await.unwrap();
        assert_eq!(round.delivered, 2, "both reminders are still before the session: {round:?}");
        // A second restart after the start sends nothing late.
        let session2 = id(&app.session(seed.activity, seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T10:00+08:00").await);
        app.clock.set(at("2019-05-29T02:00:00Z"));
        let round = quick(&app).dispatch_due().await.unwrap();
        assert_eq!((round.delivered, round.expired), (0, 2), "{round:?}");
        assert_eq!(receiver.received("/standard/restart").len(), 2);
        let expired = log(&app, id(&hook)).await.into_iter().filter(|d| d["session_id"] == session2 && d["status"] == "expired").count();
        assert_eq!(expired, 2);
    }
}

db_test! {
    async fn the_dispatcher_loop_takes_back_its_earlier_claims_and_wakes_for_new_work(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        subscribe(&app, &seed, &receiver, "/standard/loop", json!({"events": ["session.cancelled"]})).await;
        let dispatcher = Arc::new(quick(&app));
        // A notice claimed under this instance's identity by its previous life, which was
        // killed: taken back at start, not when the lease runs out.
        let other = id(&app.session(seed.activity, seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T10:00+08:00").await);
        app.patch_current(&format!("/api/v1/sessions/{other}"), json!({"status": "cancelled"})).await;
        let txn = app.db.begin().await.unwrap();
        let held = sciday::store::deliveries::claim_due(&txn, app.policy().now, dispatcher.lease(), dispatcher.worker(), 10)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(held.len(), 1);
        let stop = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn({
            let dispatcher = Arc::clone(&dispatcher);
            let stop = stop.clone();
            async move { dispatcher.run(stop).await }
        });
        // Idle with nothing due for weeks, it must wake for the cancellation notice.
        app.patch_current(&format!("/api/v1/sessions/{session}"), json!({"status": "cancelled"})).await;
        let mut waited = 0;
        while receiver.received("/standard/loop").is_empty() {
            assert!(waited < 100, "the notice did not go out");
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
        }
        while receiver.received("/standard/loop").len() < 2 {
            assert!(waited < 200, "the notice held by the previous life did not go out");
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += 1;
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap();
        assert_eq!(app.count("deliveries WHERE status = 'sending'").await, 0);
        assert_eq!(app.count(&format!("deliveries WHERE id = {} AND status = 'delivered' AND maybe_sent", held[0].id)).await, 1);
        assert_eq!(app.count(&format!("delivery_attempts WHERE delivery_id = {} AND outcome = 'in_doubt'", held[0].id)).await, 1);
        assert_eq!(receiver.received("/standard/loop").len(), 2);
    }
}

db_test! {
    async fn told_to_stop_mid_send_the_dispatcher_finishes_and_records_the_send(app: TestApp) with loopback; {
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        let session = session(&app, &seed).await;
        let hook = subscribe(&app, &seed, &receiver, "/standard/busy", json!({"events": ["session.cancelled"]})).await;
        receiver.script("/standard/busy", vec![Reply::new(204, "").slow(Duration::from_millis(500))]);
        app.patch_current(&format!("/api/v1/sessions/{session}"), json!({"status": "cancelled"})).await;
        let dispatcher = Arc::new(quick(&app));
        let stop = tokio_util::sync::CancellationToken::new();
        let running = tokio::spawn({
            let dispatcher = Arc::clone(&dispatcher);
            let stop = stop.clone();
            async move { dispatcher.run(stop).await }
        });
        let mut waited = 0;
        while receiver.received("/standard/busy").is_empty() {
            assert!(waited < 100, "the notice was not sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        // SIGTERM arrives while the receiver is still answering.
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap();
        let entry = log(&app, id(&hook)).await[0].clone();
        assert_eq!(entry["status"], "delivered", "{entry}");
        assert_eq!(entry["attempts"].as_array().unwrap().len(), 1);
    }
}

db_test! {
    async fn a_round_whose_record_meets_a_deadlock_records_again_and_sends_nothing_twice(app: TestApp) with loopback; {
        // SQLite has one writer and no row locks: a record there cannot meet a deadlock.
        if app.backend != crate::helpers::Backend::Postgres {
            return;
        }
        use sea_orm::ConnectionTrait as _;
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = id(&subscribe(&app, &seed, &receiver, "/standard/locked", json!({"events": ["session.reminder"], "offsets": ["PT1H", "PT2H"]})).await);
        let slow = Reply::new(204, "").slow(Duration::from_millis(800));
        receiver.script("/standard/locked", vec![slow.clone(), slow]);
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        let dispatcher = Arc::new(quick(&app));
        let round = round_sent(&dispatcher, &receiver, "/standard/locked", 2).await;
        let mut waited = 0;
        // While the receiver answers, another transaction locks one of the two rows; the record
        // settles the other and waits for this one, and then that transaction asks for the row
        // the record holds: PostgreSQL ends the record's transaction as the deadlock's victim.
        let other = app.db.begin().await.unwrap();
        let rows = format!("SELECT id FROM deliveries WHERE webhook_id = {hook}");
        other.execute_unprepared(&format!("{rows} ORDER BY id DESC LIMIT 1 FOR NO KEY UPDATE")).await.unwrap();
        let waiting = "pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        while app.count(waiting).await == 0 {
            assert!(waited < 500, "the record never waited for the locked row");
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        other.execute_unprepared(&format!("{rows} ORDER BY id LIMIT 1 FOR NO KEY UPDATE")).await.unwrap();
        other.commit().await.unwrap();
        let round = round.await.unwrap().expect("the round records its sends once the deadlock is over");
        assert_eq!(round.delivered, 2, "{round:?}");
        // Long after the lease, nothing is left to take over and send again.
        app.clock.set(due + dispatcher.lease() * 2);
        assert_eq!(dispatcher.dispatch_due().await.unwrap().claimed, 0);
        assert_eq!(receiver.received("/standard/locked").len(), 2);
        assert_eq!(app.count(&format!("deliveries WHERE webhook_id = {hook} AND status = 'delivered' AND NOT maybe_sent")).await, 2);
        assert_eq!(app.count(&format!("delivery_attempts WHERE webhook_id = {hook}")).await, 2);
    }
}

db_test! {
    async fn a_heartbeat_during_the_record_waits_beside_it_and_the_round_ends(app: TestApp) with loopback; {
        // SQLite has one writer and no row locks: its record never waits for a row.
        if app.backend != crate::helpers::Backend::Postgres {
            return;
        }
        use sea_orm::ConnectionTrait as _;
        let receiver = Receiver::start().await;
        let seed = app.seed().await;
        session(&app, &seed).await;
        let hook = id(&subscribe(&app, &seed, &receiver, "/standard/beat", json!({"events": ["session.reminder"], "offsets": ["PT1H", "PT2H"]})).await);
        let due = at("2019-05-28T00:00:00Z");
        app.clock.set(due);
        // A heartbeat every 100 ms.
        let dispatcher = Arc::new(crate::dispatch::dispatcher_with(&app, Settings {
            takeover: Duration::from_millis(300),
            timeout: Duration::from_secs(2),
            gather: Duration::ZERO,
            ..Settings::default()
        }));
        let slow = Reply::new(204, "").slow(Duration::from_millis(800));
        receiver.script("/standard/beat", vec![slow.clone(), slow]);
        let round = round_sent(&dispatcher, &receiver, "/standard/beat", 2).await;
        let mut waited = 0;
        // While the receiver answers, another transaction takes one of the two rows: a renewal
        // waits for it, and the send and the record must go on beside that renewal; the record
        // settles the other row and waits for this one, its transaction open, while heartbeats
        // come and their renewals wait for the record's rows.
        let other = app.db.begin().await.unwrap();
        let rows = format!("SELECT id FROM deliveries WHERE webhook_id = {hook}");
        other.execute_unprepared(&format!("{rows} ORDER BY id DESC LIMIT 1 FOR NO KEY UPDATE")).await.unwrap();
        let waiting = "pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        while app.count(waiting).await < 2 {
            assert!(waited < 500, "the record never went on beside a waiting renewal");
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        other.commit().await.unwrap();
        let round = tokio::time::timeout(Duration::from_secs(10), round)
            .await
            .expect("the round ends: the record commits and the renewal after it")
            .unwrap()
            .unwrap();
        assert_eq!(round.delivered, 2, "{round:?}");
        assert_eq!(receiver.received("/standard/beat").len(), 2);
        assert_eq!(app.count(&format!("deliveries WHERE webhook_id = {hook} AND status = 'delivered'")).await, 2);
    }
}
