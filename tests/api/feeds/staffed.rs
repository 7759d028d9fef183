//! Feeds that follow people: a volunteer's personal feed and a team's feed — what they show,
//! what they never show, and their secret links.

use reqwest::StatusCode;
use serde_json::json;

use super::{all_ids, import_sample, path_of, personal_path, sample, session_at, uid};
use crate::db_test;
use crate::helpers::{Seed, TestApp, id};

/// A volunteer in a team, assigned to a session, with their own token.
pub(super) struct Assigned {
    pub(super) seed: Seed,
    pub(super) session: i64,
    pub(super) team: i64,
    pub(super) volunteer: i64,
    pub(super) assignment: i64,
    pub(super) token: String,
}

pub(super) async fn assigned(app: &TestApp) -> Assigned {
    let seed = app.seed().await;
    let team = id(&app
        .create(
            "/api/v1/teams",
            json!({"organization_id": seed.city, "name": "科普大篷车志愿者服务团"}),
        )
        .await);
    let session = id(&session_at(app, &seed, json!({"title": "开幕式"})).await);
    let role = id(&app
        .create(
            "/api/v1/session-roles",
            json!({"session_id": session, "name": "讲解员", "needed": 3}),
        )
        .await);
    let volunteer = id(&app
        .create(
            "/api/v1/volunteers",
            json!({"name": "张伟", "mobile": "14400001234", "email": "zhangwei@example.org",
                   "organization_id": seed.haizhou, "teams": [{"team_id": team}]}),
        )
        .await);
    let assignment = id(&app
        .create(
            "/api/v1/assignments",
            json!({"role_id": role, "volunteer_id": volunteer}),
        )
        .await);
    let token = app
        .create(
            "/api/v1/tokens",
            json!({"name": "张伟", "role": "volunteer", "volunteer_id": volunteer}),
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    Assigned {
        seed,
        session,
        team,
        volunteer,
        assignment,
        token,
    }
}

db_test! {
    async fn a_personal_feed_shows_role_status_and_reminders(app: TestApp) {
        let a = assigned(&app).await;
        let path = personal_path(&app, a.volunteer).await;
        assert!(path.len() < 100 && app.address.len() + path.len() < 256);
        let feed = app.feed(&path, &[]).await;
        assert_eq!(feed.header("cache-control").as_deref(), Some("private, no-cache"));
        let disposition = feed.header("content-disposition").unwrap();
        assert!(!disposition.contains(path.trim_start_matches("/feeds/volunteers/").trim_end_matches(".ics")), "the file name never carries the token");
        let calendar = feed.calendar();
        assert_eq!(calendar.text("NAME").as_deref(), Some("张伟的志愿服务"));
        let event = calendar.event(&format!("assignment-{}@127.0.0.1", a.assignment));
        assert_eq!(event.get("STATUS"), Some("TENTATIVE"));
        assert_eq!(event.text("SUMMARY").as_deref(), Some("【待确认】开幕式（讲解员）"));
        let description = event.text("DESCRIPTION").unwrap();
        assert!(description.contains("岗位：讲解员") && description.contains("状态：待确认"), "{description}");
        let alarms = event.children("VALARM");
        let triggers: Vec<&str> = alarms.iter().map(|a| a.get("TRIGGER").unwrap()).collect();
        assert_eq!(triggers, ["-P1D", "-PT1H"]);
        for alarm in alarms {
            assert_eq!(alarm.get("ACTION"), Some("DISPLAY"));
            assert!(alarm.get("DESCRIPTION").is_some());
        }
        let custom = app.feed(&format!("{path}?alarms=30m"), &[]).await.calendar();
        assert_eq!(custom.events()[0].children("VALARM")[0].get("TRIGGER"), Some("-PT30M"));
        assert!(app.feed(&format!("{path}?alarms=none"), &[]).await.calendar().events()[0].children("VALARM").is_empty());

        // Confirmed, then declined: the event stays, cancelled, with a higher SEQUENCE.
        let before: u32 = event.get("SEQUENCE").unwrap().parse().unwrap();
        app.post(&a.token, &format!("/api/v1/assignments/{}/confirm", a.assignment), json!({})).await;
        let confirmed = app.feed(&path, &[]).await.calendar();
        assert_eq!(confirmed.events()[0].get("STATUS"), Some("CONFIRMED"));
        assert_eq!(confirmed.events()[0].text("SUMMARY").as_deref(), Some("开幕式（讲解员）"));
        app.post(&a.token, &format!("/api/v1/assignments/{}/decline", a.assignment), json!({"reason": "临时出差"})).await;
        let declined = app.feed(&path, &[]).await.calendar();
        let event = &declined.events()[0];
        assert_eq!(event.get("STATUS"), Some("CANCELLED"));
        assert!(event.text("DESCRIPTION").unwrap().contains("状态：已请假"));
        assert!(event.children("VALARM").is_empty());
        assert!(event.get("SEQUENCE").unwrap().parse::<u32>().unwrap() > before);

        // Public feeds carry no reminders unless asked.
        let public = app.feed("/feeds/programs/1.ics", &[]).await.calendar();
        assert!(public.events()[0].children("VALARM").is_empty());
        let asked = app.feed("/feeds/programs/1.ics?alarms=1h", &[]).await.calendar();
        assert_eq!(asked.events()[0].children("VALARM").len(), 1);
    }
}

db_test! {
    async fn a_team_feed_shows_its_members_sessions_with_counts_and_no_names(app: TestApp) {
        let a = assigned(&app).await;
        let other = id(&session_at(&app, &a.seed, json!({"title": "无人值守的讲座"})).await);
        let calendar = app.feed(&format!("/feeds/teams/{}.ics", a.team), &[]).await.calendar();
        assert_eq!(calendar.events().len(), 1);
        let event = calendar.event(&uid(a.session));
        assert_eq!(event.get("STATUS"), Some("CONFIRMED"));
        assert!(event.text("DESCRIPTION").unwrap().contains("本队志愿者：1 人（讲解员 1 人）"));
        assert!(!calendar.events().iter().any(|e| e.get("UID") == Some(uid(other).as_str())));
        // Once no member serves there, the event stays as the session is (it goes ahead), and
        // its description says the team withdrew.
        app.post(&app.admin, &format!("/api/v1/assignments/{}/cancel", a.assignment), json!({"reason": "调整"})).await;
        let after = app.feed(&format!("/feeds/teams/{}.ics", a.team), &[]).await.calendar();
        let event = after.event(&uid(a.session));
        assert_eq!(event.get("STATUS"), Some("CONFIRMED"));
        assert!(event.text("DESCRIPTION").unwrap().contains("本队已退出此场次"));
    }
}

db_test! {
    async fn no_feed_carries_volunteers_personal_data(app: TestApp) {
        import_sample(&app).await;
        let document = sample();
        let volunteers = serde_json::to_value(&document).unwrap()["volunteers"].as_array().unwrap().clone();
        let mut secrets: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for volunteer in &volunteers {
            for field in ["mobile", "email"] {
                if let Some(text) = volunteer[field].as_str() {
                    secrets.push(text.to_owned());
                }
            }
            names.push(volunteer["name"].as_str().unwrap().to_owned());
        }
        assert!(secrets.len() > 60);
        let mut public = vec!["/feeds/programs/1.ics".to_owned(), "/feeds/programs/2.ics".to_owned()];
        for collection in ["teams", "organizations", "venues", "activities"] {
            for feed_id in all_ids(&app, collection).await {
                public.push(format!("/feeds/{collection}/{feed_id}.ics?from=2019-01-01"));
            }
        }
        for path in &public {
            let feed = app.feed(path, &[]).await;
            if feed.status == StatusCode::NOT_FOUND {
                continue;
            }
            let text = feed.text();
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "{path} shows {secret}");
            }
            for name in &names {
                // Volunteer names are personal too: a team feed counts its members, no more.
                assert!(!text.contains(name.as_str()), "{path} names {name}");
            }
        }
        // An owner's own feed shows their schedule and name, not their contact details, and
        // no one else's.
        for volunteer in all_ids(&app, "volunteers").await.into_iter().take(10) {
            let record = app.get_as(&app.admin, &format!("/api/v1/volunteers/{volunteer}")).await.body;
            let mine = app.feed(&personal_path(&app, volunteer).await, &[]).await;
            let text = mine.calendar();
            assert!(text.text("NAME").unwrap().contains(record["name"].as_str().unwrap()));
            for secret in &secrets {
                assert!(!mine.text().contains(secret.as_str()), "a personal feed shows {secret}");
            }
        }
    }
}

db_test! {
    async fn a_rotated_token_answers_404_and_the_new_one_works(app: TestApp) {
        let a = assigned(&app).await;
        let old = personal_path(&app, a.volunteer).await;
        assert_eq!(app.feed(&old, &[]).await.status, StatusCode::OK);
        let rotate = format!("/api/v1/volunteers/{}/feed-token", a.volunteer);

        // Only the volunteer and those who manage them may rotate; nothing changes otherwise.
        app.post("sciday_not-a-real-token", &rotate, json!({})).await.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let stranger = app.create("/api/v1/organizations", json!({"kind": "society", "name": "连云港市医学会"})).await;
        let outsider = app.organizer(id(&stranger)).await;
        app.post(&outsider, &rotate, json!({})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.feed(&old, &[]).await.status, StatusCode::OK);
        app.post(&app.admin, "/api/v1/volunteers/999999/feed-token", json!({})).await.problem(StatusCode::NOT_FOUND, "not-found");

        let rotated = app.post(&a.token, &rotate, json!({})).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        let new = path_of(rotated.body["feed_url"].as_str().unwrap());
        assert_ne!(new, old);
        assert!(rotated.body["webcal_url"].as_str().unwrap().starts_with("webcal://"));
        app.feed(&old, &[]).await;
        let gone = app.get(&old).await;
        gone.problem(StatusCode::NOT_FOUND, "not-found");
        assert_eq!(app.feed(&new, &[]).await.status, StatusCode::OK);
    }
}

db_test! {
    async fn api_outputs_link_their_feeds_and_only_owners_see_personal_links(app: TestApp) {
        let a = assigned(&app).await;
        for (collection, feed_id) in [
            ("programs", a.seed.program),
            ("activities", a.seed.activity),
            ("venues", a.seed.venue),
            ("organizations", a.seed.city),
            ("teams", a.team),
        ] {
            let body = app.get(&format!("/api/v1/{collection}/{feed_id}")).await.body;
            let feed_url = body["feed_url"].as_str().unwrap_or_else(|| panic!("{collection}: {body}"));
            assert_eq!(path_of(feed_url), format!("/feeds/{collection}/{feed_id}.ics"));
            assert_eq!(body["webcal_url"].as_str().unwrap(), feed_url.replacen("http://", "webcal://", 1));
            assert_eq!(app.feed(&path_of(feed_url), &[]).await.status, StatusCode::OK);
        }
        let hidden = app
            .create("/api/v1/activities", json!({"program_id": a.seed.program, "kind": "series", "display_order": 9, "title": "内部培训", "organization_id": a.seed.haizhou, "public": false}))
            .await;
        assert!(hidden.get("feed_url").is_none());
        app.get(&format!("/feeds/activities/{}.ics", id(&hidden))).await.problem(StatusCode::NOT_FOUND, "not-found");

        let anonymous = app.get(&format!("/api/v1/volunteers/{}", a.volunteer)).await;
        if anonymous.status == StatusCode::OK {
            assert!(anonymous.body.get("feed_url").is_none());
        }
        let other = id(&app.create("/api/v1/volunteers", json!({"name": "李娜", "organization_id": a.seed.ganyu})).await);
        let peer = app.get_as(&a.token, &format!("/api/v1/volunteers/{other}")).await;
        if peer.status == StatusCode::OK {
            assert!(peer.body.get("feed_url").is_none(), "{}", peer.body);
        }
        let own = app.get_as(&a.token, &format!("/api/v1/volunteers/{}", a.volunteer)).await;
        assert!(own.body["feed_url"].as_str().unwrap().contains("/feeds/volunteers/"));
    }
}
