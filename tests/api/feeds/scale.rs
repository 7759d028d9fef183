//! Feeds at national scale: knowing a feed changed without reading its rows, rendering only
//! the events that changed, a bound on events per feed, and instances that hear each other.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use reqwest::StatusCode;
use sciday::feeds::service::{FeedKey, Feeds, Params, Target};
use serde_json::json;

use super::staffed::assigned;
use super::{all_ids, import_sample, path_of, personal_path, session_at};
use crate::db_test;
use crate::helpers::{TestApp, id};

/// Every feed of the sample program, public and personal.
async fn every_target(app: &TestApp) -> Vec<Target> {
    let mut targets = Vec::new();
    for (collection, target) in [
        ("programs", Target::Program as fn(i64) -> Target),
        ("activities", Target::Activity),
        ("venues", Target::Venue),
        ("organizations", Target::Organization),
        ("teams", Target::Team),
    ] {
        targets.extend(all_ids(app, collection).await.into_iter().map(target));
    }
    for volunteer in all_ids(app, "volunteers").await {
        let path = personal_path(app, volunteer).await;
        let token = path.trim_start_matches("/feeds/volunteers/").trim_end_matches(".ics");
        targets.push(Target::Volunteer(token.to_owned()));
    }
    targets
}

/// The body a feed has when nothing of it was kept: a new instance's.
async fn rendered_whole(app: &TestApp, fresh: &Feeds, target: &Target) -> Vec<u8> {
    let key = FeedKey {
        target: target.clone(),
        params: Params::default(),
    };
    let now = app.policy().now;
    let validated = fresh.validate(&app.db, now, &key).await.unwrap();
    fresh.body(&app.db, &validated, now).await.unwrap().plain.to_vec()
}

db_test! {
    async fn feeds_assembled_from_kept_events_equal_feeds_rendered_whole_after_changes(app: TestApp) {
        import_sample(&app).await;
        app.clock.set(chrono::DateTime::parse_from_rfc3339("2019-05-20T00:00:00Z").unwrap().to_utc());
        // Every event of every feed is kept (activities that are not public have none).
        let mut targets = Vec::new();
        for target in every_target(&app).await {
            let path = format!("/feeds/{}/{}.ics", target.collection(), target.name());
            match app.feed(&path, &[]).await.status {
                StatusCode::OK => targets.push(target),
                status => assert_eq!((status, target.collection()), (StatusCode::NOT_FOUND, "activities")),
            }
        }
        assert!(targets.len() > 40, "{} feeds", targets.len());
        // Then a session, a venue, an organizer, a role and an assignment change.
        let sessions = all_ids(&app, "sessions").await;
        let session = format!("/api/v1/sessions/{}", sessions[0]);
        assert_eq!(app.patch_current(&session, json!({"title": "开幕式（改期）"})).await.status, StatusCode::OK);
        let venue = format!("/api/v1/venues/{}", all_ids(&app, "venues").await[0]);
        assert_eq!(app.patch_current(&venue, json!({"name": "连云港市科技馆（新馆）"})).await.status, StatusCode::OK);
        let organization = format!("/api/v1/organizations/{}", all_ids(&app, "organizations").await[1]);
        assert_eq!(app.patch_current(&organization, json!({"contact": {"name": "王芳"}})).await.status, StatusCode::OK);
        let role = format!("/api/v1/session-roles/{}", all_ids(&app, "session-roles").await[0]);
        assert_eq!(app.patch_current(&role, json!({"name": "引导员"})).await.status, StatusCode::OK);
        let proposed = app.get_as(&app.admin, "/api/v1/assignments?status=proposed&limit=1").await.ids();
        let assignment = proposed[0];
        let confirmed = app.post(&app.admin, &format!("/api/v1/assignments/{assignment}/confirm"), json!({})).await;
        assert!(confirmed.status.is_success(), "{confirmed:?}");

        let fresh = Feeds::new(app.feeds.settings().clone(), "127.0.0.1:1".parse().unwrap());
        let mut compared = 0;
        for target in &targets {
            let path = format!("/feeds/{}/{}.ics", target.collection(), target.name());
            let served = app.feed(&path, &[]).await;
            assert_eq!(served.status, StatusCode::OK);
            assert_eq!(
                String::from_utf8_lossy(&served.bytes),
                String::from_utf8_lossy(&rendered_whole(&app, &fresh, target).await),
                "{path}"
            );
            compared += 1;
        }
        assert_eq!(compared, targets.len());
    }
}

db_test! {
    async fn after_one_session_changes_only_its_event_is_rendered_again(app: TestApp) {
        let seed = app.seed().await;
        let mut sessions = Vec::new();
        for day in 20..26 {
            let at = |hour: u32| format!("2019-05-{day}T{hour:02}:00:00+08:00");
            sessions.push(id(&app.session(seed.activity, seed.venue, &at(9), &at(11)).await));
        }
        let path = format!("/feeds/programs/{}.ics", seed.program);
        let before = app.events_rendered_by(&path).await;
        assert_eq!(before, 6, "a first request renders every event");
        let moved = format!("/api/v1/sessions/{}", sessions[2]);
        assert_eq!(app.patch_current(&moved, json!({"title": "专家进校园（改期）"})).await.status, StatusCode::OK);
        assert_eq!(app.events_rendered_by(&path).await, 1, "one session changed, one event rendered");
        let feed = app.feed(&path, &[]).await;
        let titles: Vec<_> = feed.calendar().events().iter().filter_map(|e| e.text("SUMMARY")).collect();
        assert_eq!(titles.iter().filter(|t| t.contains("改期")).count(), 1, "{titles:?}");
        // Another set of reminders is another rendering of each event.
        assert_eq!(app.events_rendered_by(&format!("{path}?alarms=1h")).await, 6);
    }
}

db_test! {
    async fn a_304_reads_nothing_until_something_the_feed_shows_changes(app: TestApp) {
        let a = assigned(&app).await;
        let program = format!("/feeds/programs/{}.ics", a.seed.program);
        let first = app.feed(&program, &[]).await;
        let reads = app.feeds.reads();
        let etag = first.etag();
        // Revalidations, well past the recheck interval where no change is marked.
        for _ in 0..5 {
            app.clock.advance(TimeDelta::milliseconds(400));
            assert_eq!(app.feed(&program, &[("If-None-Match", &etag)]).await.status, StatusCode::NOT_MODIFIED);
        }
        // Two seconds passed: where changes are not heard (SQLite), a read each second.
        let heard = app.feeds.changes().listening();
        let expected = if heard { reads } else { reads + 2 };
        assert_eq!(app.feeds.reads(), expected, "a read per recheck interval at most, none while changes are heard");

        // Writes the program feed does not show (a volunteer's name, a webhook) leave it alone.
        let reads = app.feeds.reads();
        let volunteer = format!("/api/v1/volunteers/{}", a.volunteer);
        assert_eq!(app.patch_current(&volunteer, json!({"name": "张伟强"})).await.status, StatusCode::OK);
        assert_eq!(app.feed(&program, &[("If-None-Match", &etag)]).await.status, StatusCode::NOT_MODIFIED);
        assert_eq!(app.feeds.reads(), reads, "the program feed was not read again");
        // The personal feed, which shows the name, is.
        let personal = personal_path(&app, a.volunteer).await;
        assert!(app.feed(&personal, &[]).await.calendar().text("X-WR-CALNAME").unwrap().contains("张伟强"));

        // A write to one of its sessions moves it at once.
        let session = session_at(&app, &a.seed, json!({"title": "科普讲座"})).await;
        let after = app.feed(&program, &[("If-None-Match", &etag)]).await;
        assert_eq!(after.status, StatusCode::OK);
        assert_ne!(after.etag(), etag);
        assert!(after.text().contains(&format!("session-{}@", id(&session))));
    }
}

db_test! {
    async fn a_feed_over_the_event_limit_is_refused_with_narrower_feeds(app: TestApp) with |config| {
        config.feeds.max_events = 8;
    }; {
        import_sample(&app).await;
        app.clock.set(chrono::DateTime::parse_from_rfc3339("2019-05-20T00:00:00Z").unwrap().to_utc());
        let program = all_ids(&app, "programs").await[0];
        let path = format!("/feeds/programs/{program}.ics");
        let sessions = app.get_as(&app.admin, "/api/v1/sessions?limit=500").await.ids().len();
        assert!(sessions > 8, "the sample has {sessions} sessions");
        let refused = app.get(&path).await;
        let problem = refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "feed-too-large");
        assert!(problem["detail"].as_str().unwrap().contains("more than the 8"), "{problem}");
        let narrower = problem["narrower"].as_array().unwrap();
        let urls: Vec<&str> = narrower.iter().map(|n| n["url"].as_str().unwrap()).collect();
        assert!(urls.iter().any(|u| u.contains("/feeds/organizations/")), "{urls:?}");
        assert!(urls.iter().any(|u| u.contains("/feeds/activities/")), "{urls:?}");
        assert!(urls.iter().any(|u| u.contains(&format!("/feeds/programs/{program}.ics?from="))), "{urls:?}");
        for link in narrower {
            assert!(link["webcal"].as_str().unwrap().starts_with("webcal://"));
            assert!(!link["title"].as_str().unwrap().is_empty());
        }
        // Every activity offered is a feed that answers.
        let mut answered = 0;
        for url in urls.iter().filter(|u| u.contains("/feeds/activities/")) {
            let reply = app.feed(&path_of(url), &[]).await;
            assert!(matches!(reply.status, StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY), "{url}");
            answered += usize::from(reply.status == StatusCode::OK);
        }
        assert!(answered > 0);
        // The refusal stands on a second request, and a conditional one, and nothing was cut.
        assert_eq!(app.get(&path).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.feed(&path, &[("If-None-Match", "\"x\"")]).await.status, StatusCode::UNPROCESSABLE_ENTITY);

        // The program's page offers the narrower feeds in its subscribe box.
        let page = app.feed(&format!("/programs/{program}"), &[]).await;
        let page = page.text();
        assert!(page.contains("feed-too-large"), "the page says the whole program is too large");
        for url in urls.iter().take(3) {
            assert!(page.contains(&url.replace('&', "&amp;")), "{url}");
        }
    }
}

db_test! {
    async fn a_write_through_one_instance_shows_in_anothers_feeds_within_a_second(app: TestApp) {
        if app.backend != crate::helpers::Backend::Postgres {
            // One SQLite database is served by one instance.
            return;
        }
        let seed = app.seed().await;
        let other = app.another_instance().await;
        let path = format!("/feeds/programs/{}.ics", seed.program);
        let etag = other.feed(&path, &[]).await.etag();
        // The other instance hears its own start first; wait until it listens.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !other.feeds.changes().listening() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(other.feeds.changes().listening());
        let etag = {
            let again = other.feed(&path, &[]).await;
            if again.etag() == etag { etag } else { again.etag() }
        };
        let written = Instant::now();
        session_at(&app, &seed, json!({"title": "院士报告会"})).await;
        // The clock stands still: only the announcement can tell the other instance.
        let mut seen = None;
        while written.elapsed() < Duration::from_secs(3) {
            let reply = other.feed(&path, &[("If-None-Match", &etag)]).await;
            if reply.status == StatusCode::OK {
                seen = Some(written.elapsed());
                assert!(reply.text().contains("院士报告会"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let seen = seen.expect("the other instance showed the write");
        assert!(seen < Duration::from_secs(1), "shown after {seen:?}");
    }
}
