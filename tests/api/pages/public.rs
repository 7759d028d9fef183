//! The public pages: what they show, what they never show, and how they are cached.

use reqwest::StatusCode;
use serde_json::json;

use super::{crew, open, open_with};
use crate::db_test;
use crate::helpers::id;

db_test! {
    async fn the_program_page_shows_public_sessions_by_day_and_filters_without_javascript(app: TestApp) {
        let seed = app.seed().await;
        let school = id(&app
            .create("/api/v1/venues", json!({"name": "连云港市新海高级中学", "kind": "school", "time_zone": "Asia/Shanghai", "address": "江苏省连云港市海州区朝阳东路"}))
            .await);
        let hidden = id(&app
            .create("/api/v1/activities", json!({"program_id": seed.program, "title": "内部筹备会", "organization_id": seed.haizhou, "public": false}))
            .await);
        app.session(seed.activity, seed.venue, "2019-05-28T09:00+08:00", "2019-05-28T11:00+08:00").await;
        app.create("/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": school, "title": "校园专场", "starts_at": "2019-05-29T14:00+08:00", "ends_at": "2019-05-29T16:00+08:00"})).await;
        app.session(hidden, seed.venue, "2019-05-28T13:00+08:00", "2019-05-28T14:00+08:00").await;

        let home = open(&app, "/").await;
        assert_eq!(home.status, StatusCode::OK);
        assert!(home.html.contains(r#"<html lang="zh-CN">"#));
        assert!(home.text().contains("2019年全国科技工作者日系列活动"), "{}", home.text());
        assert_eq!(home.header("content-type").as_deref(), Some("text/html; charset=utf-8"));

        let program = format!("/programs/{}", seed.program);
        let page = open(&app, &program).await;
        let text = page.text();
        assert_eq!(page.status, StatusCode::OK, "{text}");
        assert!(text.contains("5月28日 星期二") && text.contains("5月29日 星期三"), "{text}");
        assert!(text.contains("09:00–11:00 第三十一届科普宣传周"), "{text}");
        assert!(text.contains("校园专场") && text.contains("（海州区）"), "{text}");
        assert!(!text.contains("内部筹备会"), "a non-public activity never appears: {text}");
        assert!(text.contains("共 2 场"), "{text}");
        // Each filter is a plain form field, so the page filters without JavaScript.
        for name in ["activity", "venue", "organization", "day"] {
            assert!(page.html.contains(&format!(r#"name="{name}""#)), "no {name} filter");
        }
        let by_venue = open(&app, &format!("{program}?venue={school}&activity=&organization=&day=")).await.text();
        assert!(by_venue.contains("校园专场") && by_venue.contains("共 1 场"), "{by_venue}");
        assert!(!by_venue.contains("09:00–11:00"), "{by_venue}");
        let by_day = open(&app, &format!("{program}?day=2019-05-28")).await.text();
        assert!(by_day.contains("09:00–11:00") && !by_day.contains("校园专场"), "{by_day}");
        let by_organizer = open(&app, &format!("{program}?organization={}", seed.ganyu)).await.text();
        assert!(by_organizer.contains("共 0 场"), "{by_organizer}");

        let bad = open(&app, &format!("{program}?day=tomorrow")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.text().contains("2019-05-30"), "the refusal says what a day looks like: {}", bad.text());
    }
}

db_test! {
    async fn cancelled_moved_and_video_linked_sessions_say_so(app: TestApp) {
        let seed = app.seed().await;
        let called_off = id(&app.session(seed.activity, seed.venue, "2019-05-28T09:00+08:00", "2019-05-28T11:00+08:00").await);
        let moved = id(&app.session(seed.activity, seed.venue, "2019-05-29T09:00+08:00", "2019-05-29T11:00+08:00").await);
        let beijing = id(&app
            .create("/api/v1/venues", json!({"name": "科技会堂", "kind": "other", "time_zone": "Asia/Shanghai", "address": "北京市海淀区复兴路3号"}))
            .await);
        let slot = id(&app.session(seed.activity, beijing, "2019-05-30T09:00+08:00", "2019-05-30T11:00+08:00").await);
        let linked = id(&app
            .create("/api/v1/sessions", json!({"activity_id": seed.activity, "venue_id": seed.venue, "title": "授旗仪式（分会场）", "linked_session_id": slot, "starts_at": "2019-05-30T09:00+08:00", "ends_at": "2019-05-30T11:00+08:00", "video_url": "https://meeting.example.cn/j/530"}))
            .await);
        app.patch_current(&format!("/api/v1/sessions/{called_off}"), json!({"status": "cancelled"})).await;
        app.patch_current(&format!("/api/v1/sessions/{moved}"), json!({"starts_at": "2019-05-29T10:30+08:00", "ends_at": "2019-05-29T12:30+08:00"})).await;

        let page = open(&app, &format!("/programs/{}", seed.program)).await;
        assert!(page.html.contains("<del>09:00–11:00</del>"), "a cancelled session is struck through");
        let text = page.text();
        assert!(text.contains("已取消"), "{text}");
        assert!(text.contains("时间调整：09:00 → 10:30"), "{text}");
        assert!(text.contains("授旗仪式（分会场） 与北京主会场视频连线"), "{text}");

        let session = open(&app, &format!("/sessions/{moved}")).await;
        assert_eq!(session.status, StatusCode::OK);
        let text = session.text();
        assert!(text.contains("5月29日 星期三 10:30–12:30"), "{text}");
        assert!(text.contains("变更记录") && text.contains("时间调整：09:00 → 10:30"), "{text}");
        let video = open(&app, &format!("/sessions/{linked}")).await.text();
        assert!(video.contains("https://meeting.example.cn/j/530"), "a public session shows its video link: {video}");
        let gone = open(&app, &format!("/sessions/{called_off}")).await.text();
        assert!(gone.contains("已取消"), "{gone}");
    }
}

db_test! {
    async fn no_volunteer_name_or_number_appears_on_any_public_page(app: TestApp) {
        let crew = crew(&app).await;
        let seed = &crew.seed;
        let pages = [
            "/".to_owned(),
            format!("/programs/{}", seed.program),
            format!("/activities/{}", seed.activity),
            format!("/venues/{}", seed.venue),
            format!("/organizations/{}", seed.haizhou),
            format!("/teams/{}", crew.team),
            format!("/sessions/{}", crew.session),
        ];
        for path in pages {
            let page = open(&app, &path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            for secret in ["王志愿", "李志愿", "赵领队", "13800002222", "2222", "讲解员 1"] {
                assert!(!page.html.contains(secret), "{path} shows {secret}");
            }
        }
        let team = open(&app, &format!("/teams/{}", crew.team)).await.text();
        assert!(team.contains("科普志愿者服务团") && team.contains("09:00–11:00"), "the team page shows its schedule: {team}");
    }
}

db_test! {
    async fn what_is_not_public_or_not_there_has_no_page(app: TestApp) {
        let seed = app.seed().await;
        let hidden = id(&app
            .create("/api/v1/activities", json!({"program_id": seed.program, "title": "内部筹备会", "organization_id": seed.haizhou, "public": false}))
            .await);
        let inner = id(&app.session(hidden, seed.venue, "2019-05-28T13:00+08:00", "2019-05-28T14:00+08:00").await);
        for path in [
            format!("/activities/{hidden}"),
            format!("/sessions/{inner}"),
            "/programs/999".to_owned(),
            "/programs/abc".to_owned(),
            "/sessions/-1".to_owned(),
            "/venues/99999999999999999999".to_owned(),
            "/v/0123456789abcdef0123456789abcdef".to_owned(),
            "/v/not-a-token".to_owned(),
            "/assets/passwd".to_owned(),
        ] {
            let page = open(&app, &path).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
            assert!(page.text().contains("找不到页面"), "{path}: {}", page.text());
            assert!(page.html.contains(r#"lang="zh-CN""#), "{path}");
        }
    }
}

db_test! {
    async fn a_page_answers_if_none_match_with_304_until_something_on_it_changes(app: TestApp) {
        let seed = app.seed().await;
        let session = id(&app.session(seed.activity, seed.venue, "2019-05-28T09:00+08:00", "2019-05-28T11:00+08:00").await);
        let path = format!("/programs/{}", seed.program);
        let first = open(&app, &path).await;
        let etag = first.header("etag").expect("pages carry an ETag");
        assert_eq!(first.header("cache-control").as_deref(), Some("public, max-age=0, must-revalidate, s-maxage=30, stale-while-revalidate=30"));
        let again = open_with(&app, &path, &[("If-None-Match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.html.is_empty());

        app.patch_current(&format!("/api/v1/sessions/{session}"), json!({"title": "开幕式暨广场科普集市"})).await;
        let changed = open_with(&app, &path, &[("If-None-Match", &etag)]).await;
        assert_eq!(changed.status, StatusCode::OK);
        assert_ne!(changed.header("etag").unwrap(), etag);
        assert!(changed.text().contains("开幕式暨广场科普集市"));

        let css = open(&app, "/assets/sciday.css").await;
        assert_eq!(css.header("content-type").as_deref(), Some("text/css; charset=utf-8"));
        let css_again = open_with(&app, "/assets/sciday.css", &[("If-None-Match", &css.header("etag").unwrap())]).await;
        assert_eq!(css_again.status, StatusCode::NOT_MODIFIED);
    }
}

db_test! {
    async fn every_page_with_a_feed_has_a_subscribe_box_with_its_links_and_qr_code(app: TestApp) {
        let crew = crew(&app).await;
        let seed = &crew.seed;
        for (page, feed) in [
            (format!("/programs/{}", seed.program), format!("/feeds/programs/{}.ics", seed.program)),
            (format!("/activities/{}", seed.activity), format!("/feeds/activities/{}.ics", seed.activity)),
            (format!("/venues/{}", seed.venue), format!("/feeds/venues/{}.ics", seed.venue)),
            (format!("/organizations/{}", seed.haizhou), format!("/feeds/organizations/{}.ics", seed.haizhou)),
            (format!("/teams/{}", crew.team), format!("/feeds/teams/{}.ics", crew.team)),
        ] {
            let html = open(&app, &page).await.html;
            let https = format!("{}{feed}", app.address);
            let webcal = https.replace("http://", "webcal://");
            assert!(html.contains(&format!(r#"value="{https}""#)), "{page}: the address to copy");
            assert!(html.contains(&format!(r#"href="{webcal}""#)), "{page}: the webcal link");
            let encoded: String = url::form_urlencoded::byte_serialize(webcal.as_bytes()).collect();
            assert!(html.contains("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2F"), "{page}: Google ({encoded})");
            assert!(html.contains("https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F"), "{page}: Outlook");
            assert!(html.contains(r#"<svg role="img" aria-label="用手机扫码订阅日历""#), "{page}: the QR code");
            let feed = app.feed(&feed, &[]).await;
            assert_eq!(feed.status, StatusCode::OK, "{page}: the feed it names exists");
        }
    }
}

db_test! {
    async fn a_venue_page_opens_the_map_apps_people_use(app: TestApp) {
        let seed = app.seed().await;
        let venue = id(&app
            .create("/api/v1/venues", json!({"name": "赣榆区黑林镇大树村", "kind": "village", "time_zone": "Asia/Shanghai", "address": "江苏省连云港市赣榆区黑林镇", "latitude": 34.87, "longitude": 118.87}))
            .await);
        app.session(seed.activity, venue, "2019-05-21T09:00+08:00", "2019-05-21T11:00+08:00").await;
        let page = open(&app, &format!("/venues/{venue}")).await;
        let text = page.text();
        assert!(text.contains("江苏省连云港市赣榆区黑林镇") && text.contains("赣榆区"), "{text}");
        assert!(page.html.contains("https://uri.amap.com/marker?position=118.87,34.87"), "高德地图");
        assert!(page.html.contains("coordinate=wgs84"));
        assert!(page.html.contains("https://api.map.baidu.com/marker?location=34.87,118.87"), "百度地图");
        assert!(page.html.contains("geo:34.87,118.87"));
        assert!(text.contains("09:00–11:00"), "{text}");
    }
}
