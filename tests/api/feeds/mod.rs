//! Calendar feeds: content, validators, caching, privacy and token rotation. The feeds of the
//! sample program are written to `target/tmp/feeds/` for CI to run `ical-check` on.

use std::io::Read as _;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use sciday::transfer::Document;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Feed, Seed, TestApp, id, join_all};
use crate::ical::{self, assert_zones_complete};

mod scale;
mod staffed;

use staffed::assigned;

/// Longer than validators are trusted without a change being marked, whether instances hear
/// each other (PostgreSQL) or not.
pub(super) const PAST_RECHECK: TimeDelta = TimeDelta::seconds(31);

pub(super) fn sample() -> Document {
    serde_json::from_str(sciday::cli::SAMPLE_PROGRAM).unwrap()
}

pub(super) async fn import_sample(app: &TestApp) {
    sciday::transfer::import(&app.db, &sample(), app.policy(), &|| {})
        .await
        .unwrap();
}

/// Where the tests leave feeds for `ical-check` (see `.ci/run`).
pub(crate) fn feed_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("feeds");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The path part of an absolute feed URL the API gave out.
pub(super) fn path_of(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

pub(super) async fn all_ids(app: &TestApp, collection: &str) -> Vec<i64> {
    app.get_as(&app.admin, &format!("/api/v1/{collection}?limit=500"))
        .await
        .ids()
}

/// A volunteer's personal feed path, as an admin reads it from the API.
pub(super) async fn personal_path(app: &TestApp, volunteer: i64) -> String {
    let reply = app.get_as(&app.admin, &format!("/api/v1/volunteers/{volunteer}")).await;
    path_of(reply.body["feed_url"].as_str().expect("admins see the feed link"))
}

/// One session with an event-friendly title at the seed venue.
pub(super) async fn session_at(app: &TestApp, seed: &Seed, extra: Value) -> Value {
    let mut body = json!({
        "activity_id": seed.activity, "venue_id": seed.venue,
        "starts_at": "2019-05-28T09:00+08:00", "ends_at": "2019-05-28T11:00+08:00"
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.create("/api/v1/sessions", body).await
}

pub(super) fn uid(session: i64) -> String {
    format!("session-{session}@127.0.0.1")
}

db_test! {
    async fn every_feed_of_the_sample_program_is_valid_and_written_out_for_ical_check(app: TestApp) {
        import_sample(&app).await;
        let backend = format!("{:?}", app.backend).to_lowercase();
        let dir = feed_dir();
        let mut paths = vec![("program".to_owned(), "/feeds/programs/1.ics".to_owned())];
        for (collection, file) in [("activities", "activity"), ("venues", "venue"), ("organizations", "organization"), ("teams", "team")] {
            // As anyone sees them: a non-public activity has no feed.
            for feed_id in app.get(&format!("/api/v1/{collection}?limit=500")).await.ids() {
                paths.push((format!("{file}-{feed_id}"), format!("/feeds/{collection}/{feed_id}.ics")));
            }
        }
        for volunteer in all_ids(&app, "volunteers").await.into_iter().take(8) {
            paths.push((format!("personal-{volunteer}"), personal_path(&app, volunteer).await));
        }
        paths.push(("program-with-alarms".to_owned(), "/feeds/programs/1.ics?alarms=1d,2h,15m".to_owned()));
        let mut events = 0;
        for (name, path) in &paths {
            let feed = app.feed(path, &[]).await;
            let calendar = feed.calendar();
            assert_zones_complete(&calendar);
            assert_eq!(calendar.get("VERSION"), Some("2.0"));
            assert!(calendar.get("METHOD").is_none(), "a subscription feed has no METHOD");
            for required in ["PRODID", "NAME", "X-WR-CALNAME", "X-WR-TIMEZONE", "X-PUBLISHED-TTL", "REFRESH-INTERVAL"] {
                assert!(calendar.get(required).is_some(), "{name}: no {required}");
            }
            events += calendar.events().len();
            std::fs::write(dir.join(format!("{backend}-{name}.ics")), &feed.bytes).unwrap();
        }
        assert!(events > 100, "the sample feeds hold {events} events");

        // The program feed holds every public session of the program.
        let program = app.feed("/feeds/programs/1.ics", &[]).await.calendar();
        let sessions = app.get("/api/v1/sessions?program_id=1&limit=500").await.ids();
        assert_eq!(program.events().len(), sessions.len());
        assert_eq!(program.text("NAME").as_deref(), Some("2019年全国科技工作者日系列活动"));
        // The crate's own parser reads it too.
        let text = app.feed("/feeds/programs/1.ics", &[]).await;
        let unfolded = icalendar::parser::unfold(text.text());
        let parsed = icalendar::parser::read_calendar(&unfolded).unwrap();
        let events = parsed.components.iter().filter(|c| c.name.as_str() == "VEVENT").count();
        assert_eq!(events, sessions.len());
    }
}

db_test! {
    async fn the_video_link_slot_and_its_followers_carry_the_conference_link(app: TestApp) {
        import_sample(&app).await;
        let program = app.feed("/feeds/programs/1.ics", &[]).await.calendar();
        let linked = app.get("/api/v1/sessions?program_id=1&limit=500").await;
        let mut slots = 0;
        let mut followers = 0;
        for session in linked.body["data"].as_array().unwrap() {
            let own = session["video_url"].as_str();
            let follows = session["linked_session_id"].as_i64();
            if own.is_none() && follows.is_none() {
                continue;
            }
            let event = program.event(&uid(id(session)));
            let conference = event.line("CONFERENCE").expect("a CONFERENCE line");
            assert_eq!(conference.param("VALUE"), Some("URI"));
            assert_eq!(conference.param("FEATURE"), Some("VIDEO"));
            assert!(conference.param("LABEL").is_some());
            assert!(conference.value.starts_with("https://"));
            // URL is the session's page; the video link is CONFERENCE and in the description.
            assert!(event.get("URL").is_some_and(|url| url.ends_with(&format!("/sessions/{}", id(session)))));
            assert!(event.text("DESCRIPTION").unwrap().contains(&conference.value));
            if follows.is_some() {
                followers += 1;
            } else {
                slots += 1;
            }
        }
        assert!(slots >= 1 && followers >= 1, "{slots} slots, {followers} followers");
    }
}

db_test! {
    async fn unchanged_data_renders_byte_identical_and_is_rendered_once(app: TestApp) {
        let seed = app.seed().await;
        session_at(&app, &seed, json!({"title": "开幕式"})).await;
        let renders = app.feeds.renders();
        let first = app.feed("/feeds/programs/1.ics", &[]).await;
        for _ in 0..20 {
            let again = app.feed("/feeds/programs/1.ics", &[]).await;
            assert_eq!(again.bytes, first.bytes);
            assert_eq!(again.etag(), first.etag());
        }
        assert_eq!(app.feeds.renders(), renders + 1, "twenty-one requests, one render");

        // A write outside the feed's scope changes neither ETag nor bytes, even once the
        // feed is checked again.
        app.create("/api/v1/venues", json!({"name": "连云港市图书馆", "kind": "other", "time_zone": "Asia/Shanghai"})).await;
        app.clock.advance(TimeDelta::minutes(5));
        let later = app.feed("/feeds/programs/1.ics", &[]).await;
        assert_eq!(later.etag(), first.etag());
        assert_eq!(later.bytes, first.bytes);
        let calendar = later.calendar();
        let event = &calendar.events()[0];
        // Stamps come from the data, not from the time of the request.
        assert_eq!(event.get("DTSTAMP"), event.get("LAST-MODIFIED"));
        assert_eq!(event.get("DTSTAMP"), Some("20190510T000000Z"));
    }
}

db_test! {
    async fn a_304_answers_without_rendering_and_a_change_in_scope_changes_the_etag(app: TestApp) {
        let seed = app.seed().await;
        let session = session_at(&app, &seed, json!({"title": "开幕式"})).await;
        let path = "/feeds/programs/1.ics";
        let first = app.feed(path, &[]).await;
        let etag = first.etag();
        assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "a strong ETag: {etag}");
        let renders = app.feeds.renders();
        for _ in 0..10 {
            let cached = app.feed(path, &[("If-None-Match", &etag)]).await;
            assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
            assert!(cached.bytes.is_empty());
            assert_eq!(cached.etag(), etag);
            assert_eq!(cached.header("last-modified"), first.header("last-modified"));
        }
        // Weak comparison, lists and `*` match too; another tag does not.
        for header in [format!("W/{etag}"), format!("\"other\", {etag}"), "*".to_owned()] {
            assert_eq!(app.feed(path, &[("If-None-Match", &header)]).await.status, StatusCode::NOT_MODIFIED, "{header}");
        }
        assert_eq!(app.feed(path, &[("If-None-Match", "\"other\"")]).await.status, StatusCode::OK);
        assert_eq!(app.feeds.renders(), renders, "no 304 rendered anything");

        // A session's title, its venue's address, its activity: each changes the feed.
        app.clock.advance(TimeDelta::minutes(1));
        app.patch_current(&format!("/api/v1/sessions/{}", id(&session)), json!({"title": "开幕式暨授旗仪式"})).await;
        let retitled = app.feed(path, &[("If-None-Match", &etag)]).await;
        assert_eq!(retitled.status, StatusCode::OK);
        assert_ne!(retitled.etag(), etag);
        assert_eq!(retitled.calendar().events()[0].text("SUMMARY").as_deref(), Some("开幕式暨授旗仪式"));

        app.clock.advance(TimeDelta::minutes(1));
        app.patch_current(&format!("/api/v1/venues/{}", seed.venue), json!({"address": "海州区朝阳东路"})).await;
        let moved = app.feed(path, &[("If-None-Match", &retitled.etag())]).await;
        assert_eq!(moved.status, StatusCode::OK);
        assert_eq!(moved.calendar().events()[0].text("LOCATION").as_deref(), Some("连云港市科技馆，海州区朝阳东路"));

        app.clock.advance(TimeDelta::minutes(1));
        app.patch_current(&format!("/api/v1/activities/{}", seed.activity), json!({"description": "科普宣传"})).await;
        let described = app.feed(path, &[("If-None-Match", &moved.etag())]).await;
        assert_eq!(described.status, StatusCode::OK);
        assert!(described.calendar().events()[0].text("DESCRIPTION").unwrap().contains("科普宣传"));
        // The event's stamps moved with the change.
        assert_eq!(described.calendar().events()[0].get("DTSTAMP"), Some("20190510T000300Z"));
    }
}

db_test! {
    async fn if_modified_since_is_compared_and_if_none_match_wins(app: TestApp) {
        let seed = app.seed().await;
        session_at(&app, &seed, json!({})).await;
        let path = "/feeds/programs/1.ics";
        let first = app.feed(path, &[]).await;
        let modified = first.header("last-modified").unwrap();
        let status = |headers: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                app.feed(path, &pairs).await.status
            }
        };
        assert_eq!(status(vec![("If-Modified-Since", modified.clone())]).await, StatusCode::NOT_MODIFIED);
        let before = httpdate::fmt_http_date(httpdate::parse_http_date(&modified).unwrap() - std::time::Duration::from_secs(1));
        assert_eq!(status(vec![("If-Modified-Since", before)]).await, StatusCode::OK);
        assert_eq!(status(vec![("If-Modified-Since", "yesterday".to_owned())]).await, StatusCode::OK);
        // A date after the server's now is not believed.
        assert_eq!(status(vec![("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT".to_owned())]).await, StatusCode::OK);
        // With If-None-Match, If-Modified-Since is ignored.
        assert_eq!(
            status(vec![("If-None-Match", "\"stale\"".to_owned()), ("If-Modified-Since", modified.clone())]).await,
            StatusCode::OK
        );
        // A change makes the old date stale.
        app.clock.advance(TimeDelta::minutes(2));
        session_at(&app, &seed, json!({"starts_at": "2019-05-29T09:00+08:00", "ends_at": "2019-05-29T10:00+08:00"})).await;
        assert_eq!(status(vec![("If-Modified-Since", modified)]).await, StatusCode::OK);
    }
}

db_test! {
    async fn head_gzip_and_headers_behave_like_a_good_static_server(app: TestApp) {
        let seed = app.seed().await;
        session_at(&app, &seed, json!({"title": "开幕式"})).await;
        let path = "/feeds/programs/1.ics";
        let plain = app.feed(path, &[]).await;
        assert_eq!(plain.header("content-type").as_deref(), Some("text/calendar; charset=utf-8"));
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.header("vary").as_deref(), Some("Accept-Encoding"));
        // Browsers revalidate every time; a shared cache may keep it briefly.
        assert_eq!(plain.header("cache-control").as_deref(), Some("public, max-age=0, must-revalidate, s-maxage=30, stale-while-revalidate=30"));
        let disposition = plain.header("content-disposition").unwrap();
        assert!(disposition.starts_with("inline; filename=\"sciday-programs-1.ics\""), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''2019%E5%B9%B4"), "{disposition}");
        assert_eq!(plain.header("content-length"), Some(plain.bytes.len().to_string()));

        let head = app.feed_with(Method::HEAD, path, &[]).await;
        assert_eq!(head.status, StatusCode::OK);
        assert!(head.bytes.is_empty());
        assert_eq!(head.etag(), plain.etag());
        assert_eq!(head.header("content-length"), Some(plain.bytes.len().to_string()));

        let gzipped = app.feed(path, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(gzipped.header("content-encoding").as_deref(), Some("gzip"));
        assert_ne!(gzipped.etag(), plain.etag(), "each encoding has its own strong tag");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(gzipped.bytes.as_slice()).read_to_end(&mut unzipped).unwrap();
        assert_eq!(unzipped, plain.bytes);
        // Either tag revalidates.
        let revalidated = app.feed(path, &[("Accept-Encoding", "gzip"), ("If-None-Match", &plain.etag())]).await;
        assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
        assert_eq!(app.feed(path, &[("Accept-Encoding", "gzip;q=0")]).await.header("content-encoding"), None);

        // No Accept header at all, as some calendar clients send.
        let raw = raw_get(&app, path).await;
        assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
        assert!(raw.contains("BEGIN:VCALENDAR\r\n"));
    }
}

/// A request with nothing but `Host`: no `Accept`, no `User-Agent`.
async fn raw_get(app: &TestApp, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8(response).unwrap()
}

async fn sequence_and_status(app: &TestApp, session: i64) -> (String, String) {
    let calendar = app.feed("/feeds/programs/1.ics", &[]).await.calendar();
    let event = calendar.event(&uid(session));
    (
        event.get("SEQUENCE").unwrap().to_owned(),
        event.get("STATUS").unwrap().to_owned(),
    )
}

db_test! {
    async fn sequence_rises_with_time_place_and_status_and_not_otherwise(app: TestApp) {
        let seed = app.seed().await;
        let session = id(&session_at(&app, &seed, json!({"title": "开幕式"})).await);
        let hall = id(&app.create("/api/v1/venues", json!({"name": "连云港市文化馆", "kind": "other", "time_zone": "Asia/Shanghai"})).await);
        let path = format!("/api/v1/sessions/{session}");
        assert_eq!(sequence_and_status(&app, session).await, ("0".to_owned(), "CONFIRMED".to_owned()));
        app.patch_current(&path, json!({"title": "开幕式暨授旗仪式", "description": "全体志愿者参加"})).await;
        assert_eq!(sequence_and_status(&app, session).await.0, "0", "a new title is not a reschedule");
        app.patch_current(&path, json!({"starts_at": "2019-05-28T10:00+08:00"})).await;
        assert_eq!(sequence_and_status(&app, session).await.0, "1");
        app.patch_current(&path, json!({"venue_id": hall})).await;
        assert_eq!(sequence_and_status(&app, session).await.0, "2");
        app.patch_current(&path, json!({"status": "cancelled"})).await;
        assert_eq!(sequence_and_status(&app, session).await, ("3".to_owned(), "CANCELLED".to_owned()));
        app.patch_current(&path, json!({"status": "scheduled"})).await;
        assert_eq!(sequence_and_status(&app, session).await, ("4".to_owned(), "CONFIRMED".to_owned()));
    }
}

db_test! {
    async fn a_session_following_a_slot_gets_a_new_sequence_when_the_slot_moves(app: TestApp) {
        let seed = app.seed().await;
        let slot = id(&session_at(&app, &seed, json!({"title": "北京主会场", "video_url": "https://v.example/cast"})).await);
        let local = id(&session_at(&app, &seed, json!({"title": "连云港分会场", "linked_session_id": slot})).await);
        app.patch_current(&format!("/api/v1/sessions/{slot}"), json!({"starts_at": "2019-05-28T14:00+08:00"})).await;
        let calendar = app.feed("/feeds/programs/1.ics", &[]).await.calendar();
        let follower = calendar.event(&uid(local));
        assert_eq!(follower.get("SEQUENCE"), Some("1"));
        assert_eq!(follower.line("DTSTART").unwrap().value, "20190528T140000");
        // The follower has no link of its own: the slot's is shown.
        assert_eq!(follower.line("CONFERENCE").unwrap().value, "https://v.example/cast");
    }
}

db_test! {
    async fn cancelled_and_deleted_sessions_stay_marked_until_thirty_days_after_their_end(app: TestApp) {
        let seed = app.seed().await;
        let kept = id(&session_at(&app, &seed, json!({"title": "照常举行"})).await);
        let cancelled = id(&session_at(&app, &seed, json!({"title": "取消的讲座"})).await);
        let deleted = id(&session_at(&app, &seed, json!({"title": "删除的讲座"})).await);
        app.patch_current(&format!("/api/v1/sessions/{cancelled}"), json!({"status": "cancelled"})).await;
        assert_eq!(app.delete(&app.admin, &format!("/api/v1/sessions/{deleted}")).await.status, StatusCode::NO_CONTENT);

        let path = "/feeds/programs/1.ics?from=2019-01-01";
        let calendar = app.feed(path, &[]).await.calendar();
        for gone in [cancelled, deleted] {
            let event = calendar.event(&uid(gone));
            assert_eq!(event.get("STATUS"), Some("CANCELLED"));
            assert!(event.text("SUMMARY").unwrap().starts_with("【已取消】"));
            assert!(event.children("VALARM").is_empty());
        }
        // The sessions end on 28 May; on 26 June they are still there, on 28 June gone.
        app.clock.set("2019-06-26T12:00:00Z".parse().unwrap());
        assert_eq!(app.feed(path, &[]).await.calendar().events().len(), 3);
        app.clock.set("2019-06-28T12:00:00Z".parse().unwrap());
        let later = app.feed(path, &[]).await.calendar();
        let uids: Vec<&str> = later.events().iter().filter_map(|e| e.get("UID")).collect();
        assert_eq!(uids, [uid(kept).as_str()]);
    }
}

db_test! {
    async fn a_feed_covers_thirty_days_back_by_default_and_from_and_to_change_that(app: TestApp) {
        let seed = app.seed().await;
        let april = id(&session_at(&app, &seed, json!({"starts_at": "2019-04-01T09:00+08:00", "ends_at": "2019-04-01T10:00+08:00"})).await);
        let may = id(&session_at(&app, &seed, json!({})).await);
        let june = id(&session_at(&app, &seed, json!({"starts_at": "2019-06-10T09:00+08:00", "ends_at": "2019-06-10T10:00+08:00"})).await);
        let uids = |feed: Feed| {
            feed.calendar()
                .events()
                .iter()
                .map(|e| e.get("UID").unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        // Today is 10 May: 1 April is more than thirty days ago.
        assert_eq!(uids(app.feed("/feeds/programs/1.ics", &[]).await), [uid(may), uid(june)]);
        assert_eq!(uids(app.feed("/feeds/programs/1.ics?from=2019-03-01", &[]).await), [uid(april), uid(may), uid(june)]);
        assert_eq!(uids(app.feed("/feeds/programs/1.ics?from=2019-03-01&to=2019-06-01", &[]).await), [uid(april), uid(may)]);
        assert_eq!(
            uids(app.feed("/feeds/programs/1.ics?from=2019-05-28T10:30:00%2B08:00", &[]).await),
            [uid(may), uid(june)],
            "a session still running at `from` is in"
        );
    }
}

db_test! {
    async fn all_day_sessions_are_dates_ending_the_day_after_and_every_zone_has_its_vtimezone(app: TestApp) {
        let seed = app.seed().await;
        let week = id(&session_at(&app, &seed, json!({"all_day": true, "start_date": "2019-05-25", "end_date": "2019-05-31", "starts_at": null, "ends_at": null})).await);
        session_at(&app, &seed, json!({"title": "开幕式"})).await;
        let new_york = id(&app.create("/api/v1/venues", json!({"name": "纽约华人科技协会", "kind": "other", "time_zone": "America/New_York"})).await);
        let remote = id(&app.create("/api/v1/sessions", json!({
            "activity_id": seed.activity, "venue_id": new_york,
            "starts_at": "2019-05-29T19:00", "ends_at": "2019-05-29T21:00"
        })).await);
        let calendar = app.feed("/feeds/programs/1.ics", &[]).await.calendar();
        assert_zones_complete(&calendar);
        let all_day = calendar.event(&uid(week));
        assert_eq!(all_day.line("DTSTART").unwrap().param("VALUE"), Some("DATE"));
        assert_eq!(all_day.get("DTSTART"), Some("20190525"));
        assert_eq!(all_day.get("DTEND"), Some("20190601"));
        let event = calendar.event(&uid(remote));
        assert_eq!(event.line("DTSTART").unwrap().param("TZID"), Some("America/New_York"));
        assert_eq!(event.get("DTSTART"), Some("20190529T190000"));
        let zones = calendar.children("VTIMEZONE");
        let eastern = zones.iter().find(|z| z.get("TZID") == Some("America/New_York")).unwrap();
        let daylight = eastern.children("DAYLIGHT");
        assert!(!daylight.is_empty(), "May in New York is daylight time");
        assert!(daylight.iter().any(|d| d.get("TZOFFSETTO") == Some("-0400")));
        let shanghai = zones.iter().find(|z| z.get("TZID") == Some("Asia/Shanghai")).unwrap();
        assert_eq!(shanghai.children.len(), 1);
        assert_eq!(shanghai.children("STANDARD")[0].get("TZOFFSETTO"), Some("+0800"));
        assert_eq!(calendar.get("X-WR-TIMEZONE"), Some("Asia/Shanghai"));
    }
}

db_test! {
    async fn user_text_is_escaped_and_its_carriage_returns_normalized(app: TestApp) {
        let seed = app.seed().await;
        let title = "讲座; 问答, 互动 \\ 签到";
        let description = "第一行\r\n第二行\r第三行 😀 emoji";
        let session = id(&session_at(&app, &seed, json!({"title": title, "description": description})).await);
        let feed = app.feed("/feeds/programs/1.ics", &[]).await;
        assert!(!feed.text().replace("\r\n", "").contains('\r'), "a carriage return got through");
        let calendar = feed.calendar();
        let event = calendar.event(&uid(session));
        assert_eq!(event.get("SUMMARY"), Some("讲座\\; 问答\\, 互动 \\\\ 签到"));
        assert_eq!(event.text("SUMMARY").as_deref(), Some(title));
        assert!(event.text("DESCRIPTION").unwrap().starts_with("第一行\n第二行\n第三行 😀 emoji\n"));
    }
}

db_test! {
    async fn malformed_and_unknown_feeds_get_precise_problems(app: TestApp) {
        let seed = app.seed().await;
        for path in [
            "/feeds/programs/abc.ics",
            "/feeds/programs/1",
            "/feeds/programs/0.ics",
            "/feeds/programs/999.ics",
            "/feeds/sessions/1.ics",
            "/feeds/volunteers/1.ics",
            "/feeds/volunteers/0123456789abcdef0123456789abcdef.ics",
            "/feeds/teams/999.ics",
        ] {
            app.get(path).await.problem(StatusCode::NOT_FOUND, "not-found");
        }
        let program = format!("/feeds/programs/{}.ics", seed.program);
        for (query, field) in [
            ("from=tomorrow", "from"),
            ("to=2019-02-30", "to"),
            ("from=2019-06-01&to=2019-05-01", "to"),
            ("alarms=1w", "alarms"),
            ("alarms=1h,1h", "alarms"),
            ("alarms=45d", "alarms"),
            ("from=2019-01-01&from=2019-02-01", "from"),
        ] {
            let reply = app.get(&format!("{program}?{query}")).await;
            assert_eq!(reply.invalid_fields(), [field], "{query}");
        }
        // Unknown parameters (cache busters) are ignored.
        assert_eq!(app.feed(&format!("{program}?nocache=1"), &[]).await.status, StatusCode::OK);
        assert_eq!(app.feed_with(Method::POST, &program, &[]).await.status, StatusCode::METHOD_NOT_ALLOWED);
    }
}

db_test! {
    async fn writes_no_instance_announced_show_once_the_recheck_interval_passes(app: TestApp) {
        let seed = app.seed().await;
        let session = session_at(&app, &seed, json!({"title": "开幕式"})).await;
        let path = "/feeds/programs/1.ics";
        let before = app.feed(path, &[]).await;
        // A write this instance does not see happen, and no one announces (a command run
        // beside it).
        let txn = app.db.begin().await.unwrap();
        let current = sciday::store::sessions::get_for_update(&txn, id(&session)).await.unwrap();
        let mut fields = <sciday::store::sessions::SessionFields as sciday::store::Fields<_>>::of(&current);
        fields.title = Some("开幕式（改期）".to_owned());
        let audit = sciday::store::audit::Audit::new(sciday::store::audit::Author::cli(), app.policy().now);
        sciday::store::sessions::update(&txn, current, fields, app.policy(), &audit).await.unwrap();
        txn.commit().await.unwrap();
        let soon = app.feed(path, &[]).await;
        assert_eq!(soon.etag(), before.etag(), "within the recheck interval the known ETag stands");
        // One second where instances cannot hear each other (SQLite), thirty where they can.
        app.clock.advance(PAST_RECHECK);
        let later = app.feed(path, &[]).await;
        assert_ne!(later.etag(), before.etag());
        assert_eq!(later.calendar().events()[0].text("SUMMARY").as_deref(), Some("开幕式（改期）"));
    }
}

db_test! {
    async fn a_personal_feed_read_with_its_rows_has_the_etag_a_revalidation_finds(app: TestApp) {
        let a = assigned(&app).await;
        let path = personal_path(&app, a.volunteer).await;
        let reads = app.feeds.reads();
        let first = app.feed(&path, &[]).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(app.feeds.reads(), reads + 1);
        // Once the recheck interval has passed, the validators are read again.
        app.clock.advance(PAST_RECHECK);
        let again = app.feed(&path, &[("If-None-Match", &first.etag())]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert_eq!(app.feeds.reads(), reads + 2);
        app.clock.advance(PAST_RECHECK);
        let head = app.feed_with(Method::HEAD, &path, &[]).await;
        assert_eq!(head.etag(), first.etag());
        app.clock.advance(PAST_RECHECK);
        let renders = app.feeds.renders();
        let plain = app.feed(&path, &[]).await;
        assert_eq!((plain.etag(), &plain.bytes), (first.etag(), &first.bytes));
        assert_eq!(app.feeds.renders(), renders, "the body was cached under the same ETag");

        // A volunteer with nothing assigned has an empty feed, the same both ways.
        let idle = id(&app
            .create("/api/v1/volunteers", json!({"name": "李娜", "organization_id": a.seed.haizhou}))
            .await);
        let idle_path = personal_path(&app, idle).await;
        let empty = app.feed(&idle_path, &[]).await;
        assert_eq!(empty.status, StatusCode::OK);
        assert!(empty.calendar().events().is_empty());
        app.clock.advance(PAST_RECHECK);
        assert_eq!(app.feed(&idle_path, &[("If-None-Match", &empty.etag())]).await.status, StatusCode::NOT_MODIFIED);
    }
}

db_test! {
    async fn concurrent_requests_for_a_feed_read_its_validators_once(app: TestApp) {
        let seed = app.seed().await;
        session_at(&app, &seed, json!({"title": "开幕式"})).await;
        let a = app.feed("/feeds/programs/1.ics", &[]).await;
        app.clock.advance(PAST_RECHECK);
        let reads = app.feeds.reads();
        let requests = (0..16).map(|_| {
            let request = app.request(Method::GET, "/feeds/programs/1.ics").header("If-None-Match", a.etag());
            async move { request.send().await.unwrap().status() }
        });
        let statuses = join_all(requests).await;
        assert!(statuses.iter().all(|status| *status == StatusCode::NOT_MODIFIED), "{statuses:?}");
        assert_eq!(app.feeds.reads(), reads + 1, "sixteen requests, one read");
    }
}

#[test]
fn the_strict_reader_rejects_what_feeds_must_not_contain() {
    for bad in [
        "BEGIN:VCALENDAR\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nX:1\rY\r\nEND:VCALENDAR\r\n",
        &format!("BEGIN:VCALENDAR\r\nX-LONG:{}\r\nEND:VCALENDAR\r\n", "a".repeat(80)),
    ] {
        assert!(std::panic::catch_unwind(|| ical::parse(bad)).is_err(), "{bad:?}");
    }
    let good = ical::parse("BEGIN:VCALENDAR\r\nNAME:a\\, b\r\n c\r\nEND:VCALENDAR\r\n");
    assert_eq!(good.text("NAME").as_deref(), Some("a, bc"));
}
