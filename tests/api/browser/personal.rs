//! A volunteer's own page as they use it on a phone: 确认参加, then 请假 with a reason, and
//! the seat they leave is free for someone else.

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

use super::Browser;
use super::cast::{assign, cast, status};
use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volunteer_confirms_then_takes_leave_from_their_page_and_the_seat_is_free_again() {
    let Some(browser) = Browser::open("volunteer-answers").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let cast = cast(&app).await;
    let (desk, duty) = (cast.desk.assignment, format!("article#a{}", cast.desk.assignment));
    let refused = app
        .post(
            &app.admin,
            "/api/v1/assignments",
            json!({"role_id": cast.desk_role, "volunteer_id": cast.spare.id}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::CONFLICT,
        "the desk has one seat: {}",
        refused.body
    );

    browser.visit(&cast.desk.person.page_url, "page").await;
    assert_eq!(browser.text("h1").await, format!("{}，您好", cast.desk.person.name));
    assert_eq!(browser.text(&format!("{duty} .badge")).await, "待确认");

    browser
        .click_and_wait(&format!("{duty} form[action$='/confirm'] button"))
        .await;
    browser.looks_right("confirmed").await;
    assert!(browser.text(".notice.ok").await.contains("已确认参加"));
    assert_eq!(browser.text(&format!("{duty} .badge")).await, "已确认");
    assert_eq!(status(&app, desk).await, "confirmed");
    let confirm_buttons = browser
        .client
        .find_all(Locator::Css(&format!("{duty} form[action$='/confirm']")))
        .await
        .unwrap();
    assert!(confirm_buttons.is_empty(), "confirmed once, the button is gone");

    browser.click(&format!("{duty} details summary")).await;
    let reason = browser.find(&format!("{duty} details textarea[name=reason]")).await;
    assert!(reason.is_displayed().await.unwrap(), "请假 opens the form");
    reason.send_keys("单位临时安排出差，无法参加").await.unwrap();
    browser.looks_right("leave-form").await;
    browser
        .click_and_wait(&format!("{duty} details button[type=submit]"))
        .await;
    browser.looks_right("on-leave").await;
    assert!(browser.text(".notice.ok").await.contains("已请假"));
    assert_eq!(browser.text(&format!("{duty} .badge")).await, "已请假");

    let answer = app.get_as(&app.admin, &format!("/api/v1/assignments/{desk}")).await;
    assert_eq!(answer.body["status"], "declined", "{}", answer.body);
    assert_eq!(answer.body["reason"], "单位临时安排出差，无法参加", "{}", answer.body);
    let role = app.get(&format!("/api/v1/session-roles/{}", cast.desk_role)).await;
    assert_eq!(role.body["filled"], 0, "{}", role.body);
    assign(&app, cast.desk_role, cast.spare.id).await;
    browser.close().await;
}
