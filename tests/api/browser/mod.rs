//! The pages in a real browser: Debian's chromium, headless at a phone's size, driven through
//! chromedriver (WebDriver) with fantoccini, against the real service on port 0.
//!
//! They need `chromium` and `chromium-driver` (and `fonts-noto-cjk`, or the screenshots show
//! boxes for Chinese). Without chromedriver each test says so and passes having done nothing,
//! unless `SCIDAY_BROWSER_TESTS=required` (as `.ci/run` sets it): then it fails.
//!
//! One database backend is enough here: the pages call the same store functions whose rules
//! the API tests run on SQLite and on PostgreSQL, so these run on SQLite only. Every step
//! leaves a screenshot in `target/tmp/screens/`, and a page that renders blank or without
//! its stylesheet fails the test there.

mod a11y;
mod cast;
mod leader;
mod personal;
mod public;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// How long any one wait in a browser test may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The header's background, from the stylesheet: proof that it was loaded and applied.
const HEADER_BACKGROUND: &str = "rgb(11, 79, 156)";

/// A headless chromium, its chromedriver and the test it serves.
pub struct Browser {
    pub client: Client,
    test: &'static str,
    /// Screenshots taken so far, numbered in order in their names.
    shots: AtomicU32,
    driver: Driver,
}

/// The chromedriver process, in a process group of its own with the chromium it starts, and
/// the profile directory the browser writes to. Dropping it ends them all and removes the
/// directory, also when a test panics halfway.
struct Driver {
    child: Child,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id().and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: kill(2) with a negative pid signals the process group that `pid` leads,
            // which is the one `process_group(0)` made for chromedriver and its browser.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
    }
}

impl Browser {
    /// Starts chromedriver and a browser for `test`; `None`, said out loud, when chromedriver
    /// is not installed and the browser tests are not required.
    pub async fn open(test: &'static str) -> Option<Self> {
        let required = std::env::var("SCIDAY_BROWSER_TESTS").is_ok_and(|v| v == "required");
        let Some((chromedriver, chromium)) = installed() else {
            assert!(
                !required,
                "SCIDAY_BROWSER_TESTS=required but chromedriver or chromium is missing: \
                 apt-get install chromium chromium-driver fonts-noto-cjk"
            );
            skipped("chromedriver (Debian's chromium-driver) is not installed");
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(&chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // It chooses its own free port and says which: no window for another process to take it.
        let port = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromedriver says which port it listens on");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let driver = Driver { child, profile };
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=412,915", "--lang=zh-CN", "--no-first-run",
                    "--disable-crash-reporter", "--hide-scrollbars",
                    format!("--user-data-dir={}", driver.profile.path().display()),
                ],
                // Headless windows are at least 500 px wide; a phone's screen is narrower.
                "mobileEmulation": {"deviceMetrics": {"width": 412, "height": 915, "pixelRatio": 1.0}},
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("a chromium session through chromedriver: {e}"));
        client
            .update_timeouts(fantoccini::wd::TimeoutConfiguration::new(
                Some(PATIENCE),
                Some(PATIENCE),
                Some(Duration::ZERO),
            ))
            .await
            .unwrap();
        std::fs::create_dir_all(screens()).unwrap();
        Some(Self {
            client,
            test,
            shots: AtomicU32::new(0),
            driver,
        })
    }

    /// Ends the browser session (the drop ends whatever is left).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        drop(self.driver);
    }

    /// Opens `url` and checks that it shows a styled page; `step` names the screenshot.
    pub async fn visit(&self, url: &str, step: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
        self.looks_right(step).await;
    }

    /// Saves a screenshot of the viewport and fails if the page is blank or unstyled.
    pub async fn looks_right(&self, step: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let path = self.save(&png, step);
        let image = image::load_from_memory(&png).unwrap().to_rgb8();
        let first = image.get_pixel(0, 0);
        let varied = image.pixels().filter(|p| *p != first).count();
        assert!(
            varied * 100 > image.pixels().len(),
            "the page is (almost) one colour: {}",
            path.display()
        );
        let background = self
            .script("return getComputedStyle(document.querySelector('header.top')).backgroundColor")
            .await;
        assert_eq!(
            background,
            HEADER_BACKGROUND,
            "the stylesheet does not apply: {}",
            path.display()
        );
        path
    }

    /// Takes a screenshot of the first element matching `css`, saves it beside the others and
    /// reads the QR code in it.
    pub async fn qr(&self, css: &str, step: &str) -> String {
        let element = self.find(css).await;
        // chromedriver cuts an element's picture at the viewport's edge.
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
                vec![json!(css)],
            )
            .await
            .unwrap();
        let png = element.screenshot().await.unwrap();
        let path = self.save(&png, step);
        read_qr(&png).unwrap_or_else(|why| panic!("{why}: {}", path.display()))
    }

    /// Writes a screenshot under the next number.
    fn save(&self, png: &[u8], step: &str) -> PathBuf {
        let number = self.shots.fetch_add(1, Ordering::Relaxed) + 1;
        let path = screens().join(format!("{}-{number:02}-{step}.png", self.test));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Calls `check` until it gives a value, every 100 ms for at most [`PATIENCE`]; then fails
    /// naming `what` it waited for, with a screenshot and the text of the page.
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() >= deadline {
                let png = self.client.screenshot().await.unwrap_or_default();
                let path = self.save(&png, "timed-out");
                let text = self.script("return document.body.innerText").await;
                panic!(
                    "waited {PATIENCE:?} for {what}; the page ({}):\n{}",
                    path.display(),
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// The texts of every element matching `css`, in page order.
    pub async fn all_text(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap());
        }
        texts
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(error) => panic!("no {css} on {:?}: {error}", self.client.current_url().await),
        }
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks what `css` names and waits for the page it leads to.
    pub async fn click_and_wait(&self, css: &str) {
        let before = self.script("return performance.timeOrigin").await;
        self.click(css).await;
        self.until("the next page to load", || async {
            // While the old page goes away a script may fail; that is not yet an answer.
            let now = self
                .client
                .execute("return [performance.timeOrigin, document.readyState]", vec![])
                .await
                .ok()?;
            (now[0] != before && now[1] == "complete").then_some(())
        })
        .await;
    }

    /// Presses Tab once, as a keyboard user does.
    pub async fn tab(&self) {
        let keys = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down {
                value: char::from(Key::Tab),
            })
            .then(KeyAction::Up {
                value: char::from(Key::Tab),
            });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Cuts the browser off the network, or connects it again, as a phone losing signal.
    pub async fn set_offline(&self, offline: bool) {
        self.client
            .issue_cmd(NetworkConditions { offline })
            .await
            .unwrap_or_else(|e| panic!("setting the network offline={offline}: {e}"));
    }
}

/// chromedriver's vendor command that emulates network conditions.
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/chromium/network_conditions",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (Method, Option<String>) {
        let body = json!({"network_conditions": {
            "offline": self.offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1,
        }});
        (Method::POST, Some(body.to_string()))
    }
}

/// Where the screenshots go.
pub fn screens() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tmp/screens")
}

/// chromedriver and the chromium it starts: `SCIDAY_CHROMEDRIVER` and `SCIDAY_CHROMIUM`, else
/// Debian's paths.
fn installed() -> Option<(PathBuf, PathBuf)> {
    let find = |variable: &str, default: &str| {
        let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
        path.exists().then_some(path)
    };
    Some((
        find("SCIDAY_CHROMEDRIVER", "/usr/bin/chromedriver")?,
        find("SCIDAY_CHROMIUM", "/usr/bin/chromium")?,
    ))
}

/// Says, once per reason and run and past the test harness's capture, that browser tests did
/// nothing.
pub fn skipped(why: &str) {
    static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if !SAID.lock().unwrap_or_else(|e| e.into_inner()).insert(why.to_owned()) {
        return;
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\nNOTE: {why}: the browser tests that need it were NOT run (they passed without doing \
         anything). `bash .ci/run` installs what they need; SCIDAY_BROWSER_TESTS=required makes this fail.\n"
    );
}

/// The text of the one QR code in a picture.
pub fn read_qr(png: &[u8]) -> Result<String, String> {
    let image = image::load_from_memory(png).map_err(|e| e.to_string())?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    match prepared.detect_grids().as_slice() {
        [grid] => grid
            .decode()
            .map(|(_, content)| content)
            .map_err(|e| format!("the QR code does not decode: {e}")),
        grids => Err(format!("{} QR codes in the picture instead of one", grids.len())),
    }
}
