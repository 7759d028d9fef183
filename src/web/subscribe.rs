//! The subscribe box: a feed's `webcal://` and `https://` links, links that add it to Google
//! Calendar and Outlook, and a QR code of its address large enough for a poster.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::error::{FeedLink, Result};
use crate::feeds::service::{Feeds, Target};
use crate::http::AppState;

/// Everything the box shows of one feed.
#[derive(Clone, Debug)]
pub struct Subscribe {
    /// What the calendar is called.
    pub name: String,
    /// Opens the calendar app's subscription dialog.
    pub webcal: String,
    /// The address to copy into any calendar app.
    pub https: String,
    /// Adds the feed to Google Calendar.
    pub google: String,
    /// Adds the feed to Outlook.com.
    pub outlook: String,
    /// An SVG QR code of the `https://` address.
    pub qr_svg: String,
    /// When the feed holds more events than a calendar app should be given: the feeds to
    /// subscribe to instead.
    pub narrower: Option<Vec<FeedLink>>,
    /// The most events a feed holds.
    pub max_events: u32,
}

impl Subscribe {
    /// The box of `target`'s feed, called `name`.
    pub fn new(feeds: &Feeds, target: &Target, name: &str) -> Self {
        let https = feeds.feed_url(target);
        let webcal = feeds.webcal_url(target);
        Self {
            google: format!("https://calendar.google.com/calendar/r?cid={}", encode(&webcal)),
            outlook: format!(
                "https://outlook.live.com/calendar/0/addfromweb?url={}&name={}",
                encode(&https),
                encode(name)
            ),
            qr_svg: qr_svg(&https, "用手机扫码订阅日历"),
            name: name.to_owned(),
            webcal,
            https,
            narrower: None,
            max_events: feeds.settings().max_events,
        }
    }

    /// The box of `target`'s feed as [`Subscribe::new`] makes it, offering narrower feeds
    /// instead when the feed is too large to subscribe to.
    pub async fn checked(state: &AppState, target: &Target, name: &str) -> Result<Self> {
        let mut sub = Self::new(&state.feeds, target, name);
        sub.narrower = state.feeds.narrower_than(&state.db, target, state.clock.now()).await?;
        Ok(sub)
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// An inline SVG QR code of `data`, with a text alternative. Black on white with the quiet
/// zone scanners need, and at least 264 px wide so it prints sharply at poster size.
pub fn qr_svg(data: &str, label: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(264, 264)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // The renderer writes a standalone document; inside a page only the <svg> element goes.
    let element = image.find("<svg").map_or(image.as_str(), |at| &image[at..]);
    let label = label.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
    element.replacen("<svg", &format!("<svg role=\"img\" aria-label=\"{label}\""), 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::service::FeedSettings;

    #[test]
    fn the_box_links_every_calendar_to_one_feed_address() {
        let feeds = Feeds::new(
            FeedSettings {
                public_url: Some("https://sciday.example.cn".to_owned()),
                ..FeedSettings::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        );
        let sub = Subscribe::new(&feeds, &Target::Program(1), "科技工作者日");
        assert_eq!(sub.https, "https://sciday.example.cn/feeds/programs/1.ics");
        assert_eq!(sub.webcal, "webcal://sciday.example.cn/feeds/programs/1.ics");
        assert_eq!(
            sub.google,
            "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fsciday%2Eexample%2Ecn%2Ffeeds%2Fprograms%2F1%2Eics"
        );
        assert!(
            sub.outlook
                .starts_with("https://outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2F")
        );
        assert!(sub.outlook.ends_with(&format!("&name={}", encode("科技工作者日"))));
        assert!(
            sub.qr_svg
                .starts_with("<svg role=\"img\" aria-label=\"用手机扫码订阅日历\"")
        );
        assert!(!sub.qr_svg.contains("<?xml"));
    }
}
