//! A team leader's page on a phone at the door, half an hour before the session: a tap checks
//! a member in; with no signal the tap waits on the phone and is sent once when the signal
//! returns, however often it was tapped; and the code on a member's page checks them in too.

use entity::page_action::{Column, Entity as PageAction};
use sea_orm::{ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _};

use super::Browser;
use super::cast::{Cast, before_the_morning, cast, status};
use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_checks_members_in_by_tap_offline_and_by_code_and_each_counts_once() {
    let Some(browser) = Browser::open("leader-check-in").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.clock.set(before_the_morning());
    let cast = cast(&app).await;
    let [zhang, wang, liu] = [0, 1, 2].map(|i| cast.members[i].assignment);

    // 刘洋's page shows the code, as text and as a QR code of the same text.
    browser.visit(&cast.members[2].person.page_url, "member-code").await;
    let code = browser.text(&format!("article#a{liu} strong.code")).await;
    assert!(code.starts_with(&format!("{liu}-")), "{code}");
    let scanned = browser.qr(&format!("article#a{liu} .scan .qr svg"), "member-qr").await;
    assert_eq!(scanned, code);

    browser.visit(&cast.leader_url, "roster").await;
    assert_eq!(browser.text("h1").await, "科普大篷车志愿者服务团");
    assert!(
        browser
            .text("p.lead")
            .await
            .contains(&format!("领队：{}", cast.leader.name))
    );
    for assignment in [zhang, wang, liu] {
        assert_eq!(badge(&browser, assignment).await, "待确认");
    }

    // Online: one tap.
    browser.click(&check_in_button(zhang)).await;
    checked_in_on_the_page(&browser, zhang).await;
    assert_eq!(browser.text("p.notice.ok[data-said]").await, "张伟：已签到");
    assert_eq!(status(&app, zhang).await, "checked_in");
    let camera = browser.script("return 'BarcodeDetector' in window").await == true;
    let scan = browser.find("#scan-start").await;
    assert_eq!(
        scan.is_displayed().await.unwrap(),
        camera,
        "the camera button only where it can work"
    );
    let video = browser.find("#scan-video").await;
    assert!(
        !video.is_displayed().await.unwrap(),
        "the camera's picture stays hidden until it is opened"
    );

    // Offline: two taps, one queued action, nothing sent.
    browser.set_offline(true).await;
    browser.click(&check_in_button(wang)).await;
    browser.click(&check_in_button(wang)).await;
    let waiting = browser
        .until("the queue to say it holds the action", || async {
            let text = browser.text("#queue").await;
            text.contains("网络未连接").then_some(text)
        })
        .await;
    assert!(waiting.contains("1 项操作已保存在手机上"), "{waiting}");
    assert_eq!(queued(&browser).await, 1, "two taps, one action");
    browser.looks_right("offline-queue").await;
    assert_eq!(
        status(&app, wang).await,
        "proposed",
        "nothing reached the server offline"
    );

    browser.set_offline(false).await;
    checked_in_on_the_page(&browser, wang).await;
    browser
        .until("the queue to empty", || async {
            (queued(&browser).await == 0 && browser.text("#queue").await.is_empty()).then_some(())
        })
        .await;
    assert_eq!(status(&app, wang).await, "checked_in");
    assert_eq!(actions_for(&app, wang).await, 1, "one check-in recorded");

    // A code mistyped is refused and says so; the code from 刘洋's page, typed, checks him in.
    let last = code.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &code[..code.len() - 1], (last + 1) % 10);
    browser.find("#code").await.send_keys(&wrong).await.unwrap();
    browser.click(".scan form.act button[type=submit]").await;
    browser
        .until("the refusal of a wrong code", || async {
            let notes = browser.all_text(".notice.error").await;
            notes.iter().any(|note| note.contains("签到码不对")).then_some(())
        })
        .await;
    assert_eq!(status(&app, liu).await, "proposed");
    assert_eq!(badge(&browser, liu).await, "待确认");
    browser.find("#code").await.send_keys(&code).await.unwrap();
    browser.click(".scan form.act button[type=submit]").await;
    checked_in_on_the_page(&browser, liu).await;
    assert_eq!(status(&app, liu).await, "checked_in");
    assert_eq!(
        browser.all_text("p[data-said]").await,
        ["刘洋：已签到"],
        "only the latest answer shows"
    );
    browser.looks_right("all-checked-in").await;

    // As the server now draws the page: everyone in, once each, and no buttons left to tap.
    browser.client.refresh().await.unwrap();
    browser.looks_right("roster-again").await;
    for assignment in [zhang, wang, liu] {
        assert_eq!(badge(&browser, assignment).await, "已签到");
        assert_eq!(actions_for(&app, assignment).await, 1);
    }
    assert_eq!(browser.all_text("ul.roster form.act").await.len(), 0);
    assert_eq!(PageAction::find().count(app.db.reader()).await.unwrap(), 3);
    leader_is_not_shown_to_others(&app, &cast).await;
    browser.close().await;
}

fn check_in_button(assignment: i64) -> String {
    format!("li#a{assignment} form.act[data-action=check_in] button")
}

async fn badge(browser: &Browser, assignment: i64) -> String {
    browser.text(&format!("li#a{assignment} [data-status]")).await
}

async fn checked_in_on_the_page(browser: &Browser, assignment: i64) {
    browser
        .until("the badge to read 已签到", || async {
            (badge(browser, assignment).await == "已签到").then_some(())
        })
        .await;
}

/// How many actions the page keeps waiting on the phone.
async fn queued(browser: &Browser) -> usize {
    let length = browser
        .script("return JSON.parse(localStorage.getItem('sciday-queue:' + location.pathname) || '[]').length")
        .await;
    usize::try_from(length.as_u64().unwrap()).unwrap()
}

/// Rows in `page_actions` for an assignment.
async fn actions_for(app: &TestApp, assignment: i64) -> u64 {
    PageAction::find()
        .filter(Column::AssignmentId.eq(assignment))
        .count(app.db.reader())
        .await
        .unwrap()
}

/// The leader's address opens nothing for a member of the team who does not lead it.
async fn leader_is_not_shown_to_others(app: &TestApp, cast: &Cast) {
    let member_page = &cast.members[0].person.page_url;
    let not_theirs = format!("{member_page}/teams/{}", cast.team);
    let response = app.client.get(&not_theirs).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
}
