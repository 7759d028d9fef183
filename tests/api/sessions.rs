//! `/api/v1/sessions`, including video-linked slots.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Seed, TestApp, id};

/// A Beijing main venue with its symposium slot, and `n` local sessions linked to it.
pub(crate) async fn beijing_slot(app: &TestApp, seed: &Seed, n: usize) -> (Value, Vec<Value>) {
    let beijing = app
        .create(
            "/api/v1/venues",
            json!({"name": "科技会堂", "kind": "remote_main_venue", "time_zone": "Asia/Shanghai"}),
        )
        .await;
    let slot = app
        .create(
            "/api/v1/sessions",
            json!({
                "activity_id": seed.activity, "venue_id": id(&beijing), "title": "全国科技工作者日座谈会（北京主会场）",
                "starts_at": "2019-05-30T09:00:00+08:00", "ends_at": "2019-05-30T11:00:00+08:00",
                "video_url": "https://meeting.example.org/sciday-2019-0530"
            }),
        )
        .await;
    let mut linked = Vec::new();
    for _ in 0..n {
        linked.push(
            app.create(
                "/api/v1/sessions",
                json!({
                    "activity_id": seed.activity, "venue_id": seed.venue, "title": "授旗仪式（连云港分会场）",
                    "starts_at": "2019-05-30T09:00", "ends_at": "2019-05-30T11:00", "linked_session_id": id(&slot)
                }),
            )
            .await,
        );
    }
    (slot, linked)
}

db_test! {
    async fn times_are_accepted_with_an_offset_or_as_local_time_and_shown_in_the_sessions_zone(app: TestApp) {
        let seed = app.seed().await;
        let with_offset = app.session(seed.activity, seed.venue, "2019-05-28T01:00:00Z", "2019-05-28T03:30:00Z").await;
        assert_eq!(with_offset["starts_at"], "2019-05-28T09:00:00+08:00");
        assert_eq!(with_offset["ends_at"], "2019-05-28T11:30:00+08:00");
        assert_eq!(with_offset["time_zone"], "Asia/Shanghai", "the venue's zone is the default");
        let local = app.session(seed.activity, seed.venue, "2019-05-28T09:00", "2019-05-28T11:30").await;
        assert_eq!(local["starts_at"], with_offset["starts_at"]);
        let elsewhere = app
            .create("/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "time_zone": "Europe/Berlin",
                "starts_at": "2019-05-28T09:00", "ends_at": "2019-05-28T10:00"
            }))
            .await;
        assert_eq!(elsewhere["starts_at"], "2019-05-28T09:00:00+02:00");
        assert_eq!(elsewhere["all_day"], false);
    }
}

db_test! {
    async fn all_day_sessions_span_whole_local_days(app: TestApp) {
        let seed = app.seed().await;
        let exhibition = app
            .create("/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "all_day": true,
                "start_date": "2019-05-27", "end_date": "2019-05-31"
            }))
            .await;
        assert_eq!(exhibition["all_day"], true);
        assert_eq!(exhibition["start_date"], "2019-05-27");
        assert_eq!(exhibition["end_date"], "2019-05-31");
        assert_eq!(exhibition["starts_at"], "2019-05-27T00:00:00+08:00");
        assert_eq!(exhibition["ends_at"], "2019-06-01T00:00:00+08:00");
        let one_day = app
            .create("/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": seed.venue, "all_day": true, "start_date": "2019-05-25"}))
            .await;
        assert_eq!(one_day["end_date"], "2019-05-25");
        let moved = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&exhibition)), "\"1\"", json!({"start_date": "2019-05-28"}))
            .await;
        assert_eq!(moved.body["end_date"], "2019-06-01", "moving the first day keeps the length");
    }
}

db_test! {
    async fn invalid_times_are_refused_and_nothing_is_written(app: TestApp) {
        let seed = app.seed().await;
        let backwards = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "starts_at": "2019-05-28T11:00", "ends_at": "2019-05-28T09:00"
            }))
            .await;
        assert_eq!(backwards.invalid_fields(), ["ends_at"]);
        assert_eq!(backwards.body["errors"][0]["code"], "end_before_start");
        let zone = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "time_zone": "Asia/Lianyungang",
                "starts_at": "soon", "ends_at": "2019-05-28T09:00"
            }))
            .await;
        let mut fields = zone.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["starts_at", "time_zone"]);
        let missing = app
            .post(&app.admin, "/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": seed.venue}))
            .await;
        let mut fields = missing.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["ends_at", "starts_at"]);
        let mixed = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "all_day": true, "start_date": "2019-05-28",
                "starts_at": "2019-05-28T09:00"
            }))
            .await;
        assert_eq!(mixed.invalid_fields(), ["starts_at"]);
        let dst_gap = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "time_zone": "America/New_York",
                "starts_at": "2019-03-10T02:30", "ends_at": "2019-03-10T04:00"
            }))
            .await;
        assert_eq!(dst_gap.body["errors"][0]["code"], "nonexistent_local_time");
        let extras = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": 999, "starts_at": "2019-05-28T09:00", "ends_at": "2019-05-28T10:00",
                "capacity": -1, "video_url": "meeting.example.org"
            }))
            .await;
        let mut fields = extras.invalid_fields();
        fields.sort();
        assert_eq!(fields, ["capacity", "video_url"]);
        let no_venue = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": 999, "starts_at": "2019-05-28T09:00", "ends_at": "2019-05-28T10:00"
            }))
            .await;
        assert_eq!(no_venue.invalid_fields(), ["venue_id"]);
        assert_eq!(app.count("sessions").await, 0);
    }
}

db_test! {
    async fn the_list_filters_by_time_range_venue_status_and_organization(app: TestApp) {
        let seed = app.seed().await;
        let hall = app
            .create("/api/v1/venues", json!({"name": "连云港市文化馆", "kind": "other", "time_zone": "Asia/Shanghai"}))
            .await;
        let day1 = app.session(seed.activity, seed.venue, "2019-05-19T09:00+08:00", "2019-05-19T11:00+08:00").await;
        let day2 = app.session(seed.activity, id(&hall), "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await;
        let day3 = app.session(seed.activity, seed.venue, "2019-05-21T09:00+08:00", "2019-05-21T11:00+08:00").await;
        let ganyu_activity = app
            .create("/api/v1/activities", json!({"program_id": seed.program, "title": "青少年科技创新作品义卖", "organization_id": seed.ganyu}))
            .await;
        let sale = app.session(id(&ganyu_activity), seed.venue, "2019-05-20T14:00+08:00", "2019-05-20T16:00+08:00").await;
        let cancelled = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&day3)), "\"1\"", json!({"status": "cancelled"}))
            .await;
        assert_eq!(cancelled.body["status"], "cancelled");

        let all = app.get(&format!("/api/v1/sessions?program_id={}", seed.program)).await;
        assert_eq!(all.ids(), [id(&day1), id(&day2), id(&sale), id(&day3)], "in start order");
        let window = app
            .get("/api/v1/sessions?from=2019-05-20T00:00:00%2B08:00&to=2019-05-21T00:00:00%2B08:00")
            .await;
        assert_eq!(window.ids(), [id(&day2), id(&sale)]);
        let touching = app.get("/api/v1/sessions?from=2019-05-19T11:00:00%2B08:00&to=2019-05-20T09:00:00%2B08:00").await;
        assert!(touching.ids().is_empty(), "sessions that only touch the window are outside it");
        let at_hall = app.get(&format!("/api/v1/sessions?venue_id={}", id(&hall))).await;
        assert_eq!(at_hall.ids(), [id(&day2)]);
        let scheduled = app.get("/api/v1/sessions?status=scheduled").await;
        assert!(!scheduled.ids().contains(&id(&day3)));
        let ganyu = app.get(&format!("/api/v1/sessions?organization_id={}", seed.ganyu)).await;
        assert_eq!(ganyu.ids(), [id(&sale)]);
        let by_activity = app.get(&format!("/api/v1/sessions?activity_id={}", id(&ganyu_activity))).await;
        assert_eq!(by_activity.ids(), [id(&sale)]);
        let local = app.get("/api/v1/sessions?from=2019-05-20T00:00").await;
        assert_eq!(local.invalid_fields(), ["from"]);
        let mut seen = Vec::new();
        let mut path = "/api/v1/sessions?limit=1".to_owned();
        loop {
            let page = app.get(&path).await;
            seen.extend(page.ids());
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/sessions?limit=1&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, all.ids());
    }
}

db_test! {
    async fn moving_the_beijing_slot_moves_every_linked_session_by_the_same_amount(app: TestApp) {
        let seed = app.seed().await;
        let (slot, linked) = beijing_slot(&app, &seed, 3).await;
        let independent = app.session(seed.activity, seed.venue, "2019-05-30T09:00+08:00", "2019-05-30T11:00+08:00").await;
        let reply = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&slot)), "\"1\"", json!({"starts_at": "2019-05-30T14:30:00+08:00"}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["starts_at"], "2019-05-30T14:30:00+08:00");
        assert_eq!(reply.body["ends_at"], "2019-05-30T16:30:00+08:00");
        let followers = reply.body["linked_sessions_updated"].as_array().unwrap();
        assert_eq!(followers.len(), 3);
        for session in &linked {
            let now = app.get(&format!("/api/v1/sessions/{}", id(session))).await;
            assert_eq!(now.body["starts_at"], "2019-05-30T14:30:00+08:00");
            assert_eq!(now.body["ends_at"], "2019-05-30T16:30:00+08:00");
            assert_eq!(now.etag(), "\"2\"", "a subscriber-visible change bumps the version");
        }
        let untouched = app.get(&format!("/api/v1/sessions/{}", id(&independent))).await;
        assert_eq!(untouched.body["starts_at"], "2019-05-30T09:00:00+08:00");
        // Lengthening the slot without moving its start leaves the linked sessions alone.
        let longer = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&slot)), "\"2\"", json!({"ends_at": "2019-05-30T17:00:00+08:00"}))
            .await;
        assert!(longer.body["linked_sessions_updated"].as_array().unwrap().is_empty());
    }
}

db_test! {
    async fn links_are_followed_through_chains(app: TestApp) {
        let seed = app.seed().await;
        let (slot, linked) = beijing_slot(&app, &seed, 1).await;
        let relay = app
            .create("/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "starts_at": "2019-05-30T09:00", "ends_at": "2019-05-30T11:00",
                "linked_session_id": id(&linked[0])
            }))
            .await;
        let reply = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&slot)), "*", json!({"starts_at": "2019-05-30T10:00:00+08:00"}))
            .await;
        assert_eq!(reply.body["linked_sessions_updated"].as_array().unwrap().len(), 2);
        let end_of_chain = app.get(&format!("/api/v1/sessions/{}", id(&relay))).await;
        assert_eq!(end_of_chain.body["starts_at"], "2019-05-30T10:00:00+08:00");
    }
}

db_test! {
    async fn cancelling_the_beijing_slot_cancels_every_linked_session(app: TestApp) {
        let seed = app.seed().await;
        let (slot, linked) = beijing_slot(&app, &seed, 3).await;
        let reply = app
            .patch(&app.admin, &format!("/api/v1/sessions/{}", id(&slot)), "\"1\"", json!({"status": "cancelled"}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["linked_sessions_updated"].as_array().unwrap().len(), 3);
        for session in &linked {
            let now = app.get(&format!("/api/v1/sessions/{}", id(session))).await;
            assert_eq!(now.body["status"], "cancelled");
            assert_eq!(now.body["starts_at"], "2019-05-30T09:00:00+08:00", "cancelling does not move them");
        }
        let listed = app.get(&format!("/api/v1/sessions?linked_session_id={}&status=cancelled", id(&slot))).await;
        assert_eq!(listed.ids().len(), 3);
    }
}

db_test! {
    async fn a_link_may_not_point_to_itself_or_close_a_circle(app: TestApp) {
        let seed = app.seed().await;
        let (slot, linked) = beijing_slot(&app, &seed, 1).await;
        let slot_path = format!("/api/v1/sessions/{}", id(&slot));
        let itself = app.patch(&app.admin, &slot_path, "*", json!({"linked_session_id": id(&slot)})).await;
        assert_eq!(itself.invalid_fields(), ["linked_session_id"]);
        assert_eq!(itself.body["errors"][0]["code"], "link_cycle");
        let circle = app.patch(&app.admin, &slot_path, "*", json!({"linked_session_id": id(&linked[0])})).await;
        assert_eq!(circle.body["errors"][0]["code"], "link_cycle");
        let unknown = app.patch(&app.admin, &slot_path, "*", json!({"linked_session_id": 4242})).await;
        assert_eq!(unknown.invalid_fields(), ["linked_session_id"]);
        let all_day = app
            .post(&app.admin, "/api/v1/sessions", json!({
                "activity_id": seed.activity, "venue_id": seed.venue, "all_day": true, "start_date": "2019-05-30",
                "linked_session_id": id(&slot)
            }))
            .await;
        assert_eq!(all_day.body["errors"][0]["code"], "linked_slot");
        let slot_to_all_day = app.patch(&app.admin, &slot_path, "*", json!({"all_day": true})).await;
        assert_eq!(slot_to_all_day.body["errors"][0]["code"], "linked_slot");
        assert_eq!(app.get(&slot_path).await.etag(), "\"1\"", "refused changes write nothing");
    }
}

db_test! {
    async fn a_deleted_session_disappears_but_a_slot_with_followers_cannot_be_deleted(app: TestApp) {
        let seed = app.seed().await;
        let (slot, linked) = beijing_slot(&app, &seed, 1).await;
        let slot_path = format!("/api/v1/sessions/{}", id(&slot));
        assert_eq!(app.delete(&app.admin, &slot_path).await.problem(StatusCode::CONFLICT, "in-use")["code"], "in_use");
        let follower = format!("/api/v1/sessions/{}", id(&linked[0]));
        assert_eq!(app.delete(&app.admin, &follower).await.status, StatusCode::NO_CONTENT);
        app.get(&follower).await.problem(StatusCode::NOT_FOUND, "not-found");
        app.patch(&app.admin, &follower, "*", json!({"title": "x"})).await.problem(StatusCode::NOT_FOUND, "not-found");
        assert!(!app.get("/api/v1/sessions").await.ids().contains(&id(&linked[0])));
        assert_eq!(app.delete(&app.admin, &slot_path).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.count("sessions").await, 2, "deleted sessions keep their rows for calendar feeds");
    }
}

db_test! {
    async fn an_organizer_updates_its_sessions_with_if_match(app: TestApp) {
        let seed = app.seed().await;
        let session = app.session(seed.activity, seed.venue, "2019-05-20T09:00+08:00", "2019-05-20T11:00+08:00").await;
        let path = format!("/api/v1/sessions/{}", id(&session));
        let haizhou = app.organizer(seed.haizhou).await;
        let ganyu = app.organizer(seed.ganyu).await;
        app.patch(&ganyu, &path, "\"1\"", json!({"capacity": 80})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let ok = app.patch(&haizhou, &path, "\"1\"", json!({"capacity": 80, "starts_at": "2019-05-20T10:00"})).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        assert_eq!(ok.body["ends_at"], "2019-05-20T12:00:00+08:00", "moving the start keeps the length");
        let stale = app.patch(&haizhou, &path, "\"1\"", json!({"capacity": 90})).await;
        stale.problem(StatusCode::PRECONDITION_FAILED, "stale-version");
        assert_eq!(app.get(&path).await.body["capacity"], 80);
        let cleared = app.patch(&haizhou, &path, "\"2\"", json!({"starts_at": null})).await;
        assert_eq!(cleared.invalid_fields(), ["starts_at"]);
    }
}

db_test! {
    async fn a_list_page_links_to_the_next_one_with_the_same_filters(app: TestApp) {
        let seed = app.seed().await;
        for day in ["28", "29", "30"] {
            app.session(seed.activity, seed.venue, &format!("2019-05-{day}T09:00+08:00"), &format!("2019-05-{day}T11:00+08:00")).await;
        }
        let all = app.get("/api/v1/sessions?status=scheduled").await;
        assert_eq!(all.header("link"), None, "a single page links nowhere");
        let mut seen = Vec::new();
        let mut path = "/api/v1/sessions?status=scheduled&limit=2".to_owned();
        loop {
            let page = app.get(&path).await;
            seen.extend(page.ids());
            let Some(link) = page.header("link") else {
                assert!(page.body.get("next_cursor").is_none(), "{}", page.body);
                break;
            };
            let target = link.strip_prefix('<').and_then(|l| l.strip_suffix(">; rel=\"next\"")).unwrap();
            assert!(target.starts_with("/api/v1/sessions?status=scheduled&limit=2&cursor="), "{link}");
            let cursor = page.body["next_cursor"].as_str().unwrap();
            assert_eq!(url_decoded_cursor(target), cursor, "the header and the body name the same page");
            path = target.to_owned();
        }
        assert_eq!(seen, all.ids());
    }
}

fn url_decoded_cursor(target: &str) -> String {
    let query = target.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "cursor")
        .unwrap()
        .1
        .into_owned()
}

db_test! {
    async fn a_session_window_takes_days_in_the_programs_zone_as_feeds_do(app: TestApp) {
        let seed = app.seed().await;
        let late = app.session(seed.activity, seed.venue, "2019-05-29T23:30+08:00", "2019-05-29T23:50+08:00").await;
        let day = app.session(seed.activity, seed.venue, "2019-05-30T09:00+08:00", "2019-05-30T11:00+08:00").await;
        let on_30_may = app.get(&format!("/api/v1/sessions?program_id={}&from=2019-05-30&to=2019-05-31", seed.program)).await;
        assert_eq!(on_30_may.ids(), [id(&day)], "midnight in Lianyungang, not in UTC: {}", on_30_may.body);
        let by_venue = app.get(&format!("/api/v1/sessions?venue_id={}&from=2019-05-29&to=2019-05-30", seed.venue)).await;
        assert_eq!(by_venue.ids(), [id(&late)]);
        let backwards = app.get("/api/v1/sessions?from=2019-05-30&to=2019-05-29").await;
        assert_eq!(backwards.invalid_fields(), ["to"]);
    }
}

db_test! {
    async fn a_client_keeping_a_copy_fetches_only_what_changed_since_its_last_look(app: TestApp) {
        let seed = app.seed().await;
        let kept = app.session(seed.activity, seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00").await;
        let moved = app.session(seed.activity, seed.venue, "2019-05-30T09:00+08:00", "2019-05-30T11:00+08:00").await;
        app.clock.advance(chrono::TimeDelta::minutes(5));
        let last_look = app.policy().now.to_rfc3339().replace('+', "%2B");
        let quiet = app.get(&format!("/api/v1/sessions?updated_since={last_look}")).await;
        assert!(quiet.ids().is_empty(), "{}", quiet.body);
        let patched = app
            .patch_current(&format!("/api/v1/sessions/{}", id(&moved)), json!({"starts_at": "2019-05-30T10:00:00+08:00", "ends_at": "2019-05-30T12:00:00+08:00"}))
            .await;
        assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
        let changed = app.get(&format!("/api/v1/sessions?updated_since={last_look}")).await;
        assert_eq!(changed.ids(), [id(&moved)]);
        assert!(!changed.ids().contains(&id(&kept)));
        let programs = app.get(&format!("/api/v1/programs?updated_since={last_look}")).await;
        assert!(programs.ids().is_empty(), "{}", programs.body);
        let assignments = app.get_as(&app.admin, &format!("/api/v1/assignments?updated_since={last_look}")).await;
        assert_eq!(assignments.status, StatusCode::OK, "{}", assignments.body);
        assert!(assignments.ids().is_empty());
        for list in ["/api/v1/session-roles", "/api/v1/webhooks"] {
            let since = app.get_as(&app.admin, &format!("{list}?updated_since={last_look}")).await;
            assert_eq!(since.status, StatusCode::OK, "{list}: {}", since.body);
            assert!(since.ids().is_empty(), "{list}: {}", since.body);
        }
        let role = app.create("/api/v1/session-roles", json!({"session_id": id(&kept), "name": "引导员", "needed": 2})).await;
        let roles = app.get(&format!("/api/v1/session-roles?updated_since={last_look}")).await;
        assert_eq!(roles.ids(), [id(&role)], "a role made after the last look");
        let named = app.get("/api/v1/programs?q=nothing-like-this").await;
        assert!(named.ids().is_empty());
        let bad = app.get("/api/v1/sessions?updated_since=yesterday").await;
        assert_eq!(bad.invalid_fields(), ["updated_since"]);
    }
}
