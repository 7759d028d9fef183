//! The public pages as a visitor uses them: filtering a program by venue with the form alone,
//! following a session, and subscribing by the QR code on the program page.

use reqwest::StatusCode;

use super::Browser;
use super::cast::cast;
use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_filters_the_program_by_venue_without_javascript_and_opens_a_session() {
    let Some(browser) = Browser::open("program-filter").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let cast = cast(&app).await;
    let program = format!("{}/programs/{}", app.address, cast.seed.program);

    browser.visit(&program, "program").await;
    assert_eq!(
        browser.script("return document.scripts.length").await,
        0,
        "the program page needs no script"
    );
    assert_eq!(browser.text("h1").await, "2019年全国科技工作者日系列活动");
    assert_eq!(
        browser.all_text("ol.sessions h3").await,
        ["科普讲解：走进科技馆", "科技工作者座谈会"]
    );

    browser
        .find("#f-venue")
        .await
        .select_by_value(&cast.hall.to_string())
        .await
        .unwrap();
    browser.click_and_wait("form.filters button[type=submit]").await;
    browser.looks_right("filtered").await;
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.query_pairs()
            .any(|(k, v)| k == "venue" && v == cast.hall.to_string().as_str()),
        "{url}"
    );
    assert_eq!(browser.all_text("ol.sessions h3").await, ["科技工作者座谈会"]);
    assert!(browser.text("p.count").await.contains("共 1 场（已筛选）"));
    let chosen = browser.script("return document.getElementById('f-venue').value").await;
    assert_eq!(chosen, cast.hall.to_string(), "the filter keeps its choice");

    browser.click_and_wait("ol.sessions h3 a").await;
    browser.looks_right("session").await;
    assert_eq!(
        browser.client.current_url().await.unwrap().path(),
        format!("/sessions/{}", cast.afternoon)
    );
    assert_eq!(browser.text("h1").await, "科技工作者座谈会");
    assert!(browser.text("dl.facts").await.contains("连云港市文化馆"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_qr_code_on_the_program_page_reads_as_its_feed_address_which_serves_a_calendar() {
    let Some(browser) = Browser::open("program-subscribe").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let cast = cast(&app).await;
    browser
        .visit(&format!("{}/programs/{}", app.address, cast.seed.program), "program")
        .await;

    let feed = browser
        .find("section.subscribe input#feed-url")
        .await
        .prop("value")
        .await
        .unwrap()
        .expect("the address to copy");
    assert_eq!(
        feed,
        format!("{}/feeds/programs/{}.ics", app.address, cast.seed.program)
    );
    let webcal = browser
        .find("section.subscribe a.button")
        .await
        .attr("href")
        .await
        .unwrap();
    assert_eq!(
        webcal.as_deref(),
        Some(feed.replacen("http://", "webcal://", 1).as_str())
    );
    for calendar in ["calendar.google.com", "outlook.live.com"] {
        let link = browser
            .find(&format!("section.subscribe a[href*='{calendar}']"))
            .await
            .attr("href")
            .await
            .unwrap()
            .unwrap_or_default();
        let host = app
            .address
            .trim_start_matches("http://")
            .replace(':', "%3A")
            .replace('.', "%2E");
        assert!(link.contains(&host), "{link} names the feed");
    }

    let scanned = browser.qr("section.subscribe .qr svg", "program-qr").await;
    assert_eq!(scanned, feed, "the QR code holds the address shown beside it");

    let response = app.client.get(&scanned).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/calendar"), "{kind}");
    assert!(response.text().await.unwrap().contains("科技工作者座谈会"));
    browser.close().await;
}
