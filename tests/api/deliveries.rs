//! `GET /api/v1/deliveries`: what every subscription is about to be sent, soonest first, for
//! admins and for the organizers whose subscriptions they are.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Seed, TestApp, id};

/// A subscription of `organization` to the seed program's reminders.
async fn subscription(app: &TestApp, seed: &Seed, organization: i64, name: &str) -> i64 {
    id(&app
        .create(
            "/api/v1/webhooks",
            json!({"organization_id": organization, "url": format!("https://hooks.example.cn/{name}"), "format": "standard",
                   "scope": {"kind": "program", "id": seed.program}, "events": ["session.reminder"]}),
        )
        .await)
}

/// The (subscription, due time) of each message listed.
fn listed(reply: &Value) -> Vec<(i64, String)> {
    reply["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["webhook_id"].as_i64().unwrap(),
                d["due_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

db_test! {
    async fn pending_messages_of_every_subscription_are_listed_soonest_first_to_those_who_manage_them(app: TestApp) {
        let seed = app.seed().await;
        let haizhou = subscription(&app, &seed, seed.haizhou, "haizhou").await;
        let ganyu = subscription(&app, &seed, seed.ganyu, "ganyu").await;
        // Two sessions, each reminded a day and an hour before, to each subscription.
        for (starts, ends) in [("2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00"), ("2019-05-28T14:00+08:00", "2019-05-28T16:00+08:00")] {
            app.session(seed.activity, seed.venue, starts, ends).await;
        }
        let all = app.get_as(&app.admin, "/api/v1/deliveries?status=pending").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        let due: Vec<String> = listed(&all.body).into_iter().map(|(_, at)| at).collect();
        assert_eq!(due.len(), 8);
        assert!(due.windows(2).all(|pair| pair[0] <= pair[1]), "soonest first: {due:?}");
        assert_eq!(due[0], "2019-05-27T06:00:00Z", "a day before 14:00 on 28 May");
        assert!(all.body["data"].as_array().unwrap().iter().all(|d| d["status"] == "pending"));
        // An organizer sees its own subscriptions' messages only.
        let mine = app.get_as(&app.organizer(seed.haizhou).await, "/api/v1/deliveries?status=pending").await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
        assert_eq!(listed(&mine.body).len(), 4);
        assert!(listed(&mine.body).iter().all(|(webhook, _)| *webhook == haizhou));
        let theirs = app.get_as(&app.organizer(seed.ganyu).await, "/api/v1/deliveries").await;
        assert!(listed(&theirs.body).iter().all(|(webhook, _)| *webhook == ganyu));
        // Pages of three walk the same order.
        let mut walked = Vec::new();
        let mut path = "/api/v1/deliveries?status=pending&limit=3".to_owned();
        loop {
            let page = app.get_as(&app.admin, &path).await;
            walked.extend(listed(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/deliveries?status=pending&limit=3&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(walked, listed(&all.body));
    }
}

db_test! {
    async fn the_outbox_narrows_to_one_program(app: TestApp) {
        let seed = app.seed().await;
        subscription(&app, &seed, seed.haizhou, "haizhou").await;
        let ceremony = id(&app.session(seed.activity, seed.venue, "2019-05-28T09:00+08:00", "2019-05-28T11:00+08:00").await);
        // Another program of the same host, whose sessions the subscription does not cover but
        // a second one does.
        let other = id(&app
            .create("/api/v1/programs", json!({"name": "2019年科技活动周", "time_zone": "Asia/Shanghai", "host_organization_id": seed.city}))
            .await);
        let activity = id(&app
            .create("/api/v1/activities", json!({"program_id": other, "title": "科普讲座", "organization_id": seed.haizhou}))
            .await);
        app.create(
            "/api/v1/webhooks",
            json!({"organization_id": seed.haizhou, "url": "https://hooks.example.cn/week", "format": "standard",
                   "scope": {"kind": "program", "id": other}, "events": ["session.reminder"]}),
        )
        .await;
        let lecture = id(&app.session(activity, seed.venue, "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await);
        assert_eq!(app.get_as(&app.admin, "/api/v1/deliveries").await.ids().len(), 4);
        let about = |reply: &Value| -> Vec<i64> {
            reply["data"].as_array().unwrap().iter().map(|d| d["session_id"].as_i64().unwrap()).collect()
        };
        let ours = app.get_as(&app.admin, &format!("/api/v1/deliveries?program_id={}", seed.program)).await;
        assert_eq!(about(&ours.body), [ceremony, ceremony], "{}", ours.body);
        let theirs = app.get_as(&app.admin, &format!("/api/v1/deliveries?program_id={other}")).await;
        assert_eq!(about(&theirs.body), [lecture, lecture]);
    }
}

db_test! {
    async fn the_outbox_needs_a_token_of_an_admin_or_organizer_and_refuses_bad_filters(app: TestApp) {
        let seed = app.seed().await;
        let volunteer = id(&app.create("/api/v1/volunteers", json!({"name": "张伟", "organization_id": seed.haizhou})).await);
        app.get("/api/v1/deliveries").await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let token = app.volunteer_token(volunteer).await;
        app.get_as(&token, "/api/v1/deliveries").await.problem(StatusCode::FORBIDDEN, "forbidden");
        let bad_status = app.get_as(&app.admin, "/api/v1/deliveries?status=queued").await;
        bad_status.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation-failed");
        assert_eq!(app.get_as(&app.admin, "/api/v1/deliveries?program_id=0").await.invalid_fields(), ["program_id"]);
        assert_eq!(app.get_as(&app.admin, "/api/v1/deliveries?limit=0").await.invalid_fields(), ["limit"]);
        let foreign = "aTo0Mg"; // an id-ordered cursor (`i:42`), from another list
        assert_eq!(app.get_as(&app.admin, &format!("/api/v1/deliveries?cursor={foreign}")).await.invalid_fields(), ["cursor"]);
    }
}
