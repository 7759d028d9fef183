//! Notices shaped into each platform's message: Standard Webhooks JSON, or one chat message
//! holding as many notices as the platform's length limit allows.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::signing;
use crate::domain::notice::{self, Happening, PlanHappening, SessionFacts, When};
use crate::domain::webhook::{Format, Platform as _};

/// One notice for one subscription.
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    /// The delivery's id: `webhook-id` for standard receivers, stable across retries.
    pub id: String,
    /// What it is about.
    pub about: About,
    /// When it happened, or when the reminder fell due.
    pub at: DateTime<Utc>,
}

/// What a notice is about.
#[derive(Clone, Debug, PartialEq)]
pub enum About {
    /// Something happened to a session or its staffing.
    Session {
        /// What happened.
        happening: Happening,
        /// The session as it is now.
        session: Box<SessionFacts>,
    },
    /// A program's preparation plans.
    Plans(PlanHappening),
}

impl About {
    /// The event type subscribers choose.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Session { happening, .. } => happening.event_type(),
            Self::Plans(happening) => happening.event_type(),
        }
    }

    fn headline(&self) -> String {
        match self {
            Self::Session { happening, session } => notice::headline(session, happening),
            Self::Plans(happening) => happening.headline(),
        }
    }

    fn body_lines(&self) -> Vec<String> {
        match self {
            Self::Session { happening, session } => notice::body_lines(session, happening),
            Self::Plans(happening) => happening.body_lines(),
        }
    }

    /// The volunteers on duty, whom a chat message may @-mention.
    fn on_duty(&self) -> &[notice::OnDuty] {
        match self {
            Self::Session { session, .. } => &session.roster,
            Self::Plans(_) => &[],
        }
    }
}

/// What a subscription adds to each message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// A word the robot requires in every message (DingTalk, Feishu).
    pub keyword: Option<String>,
    /// Whether assigned volunteers are @-mentioned by mobile (DingTalk, WeCom).
    pub mention: bool,
}

/// Bytes of text each chat platform takes in one message, with room left for the JSON around it.
pub fn text_limit(format: Format) -> usize {
    match format {
        Format::DingTalk | Format::Feishu => 18_000,
        Format::WeCom => 4_000,
        Format::Slack => 39_000,
        Format::Standard => usize::MAX,
    }
}

/// The Standard Webhooks payload of one notice: `{type, timestamp, data}`. Mobiles only masked.
pub fn standard_payload(notice: &Notice) -> Value {
    let data = match &notice.about {
        About::Session { happening, session } => session_data(session, happening),
        About::Plans(happening) => plan_data(happening),
    };
    json!({"type": notice.about.event_type(), "timestamp": notice.at, "data": data})
}

/// What a plan notice's payload carries: never a contact's details.
fn plan_data(happening: &PlanHappening) -> Value {
    match happening {
        PlanHappening::Deadline { before, facts } => json!({
            "program": {"name": facts.program},
            "deadline": facts.deadline,
            "deadline_text": notice::instant_text(facts.deadline, facts.zone, true),
            "time_zone": facts.zone.name(),
            "before_minutes": before.num_minutes(),
            "missing": facts.missing,
            "link": facts.link,
        }),
        PlanHappening::Submitted(plan) => json!({
            "program": {"name": plan.program},
            "plan": {
                "id": plan.id, "organization": plan.organization, "activity_name": plan.activity,
                "revision": plan.revision, "joins_video_link": plan.joins_video_link,
                "submitted_at": plan.zone.local(plan.at), "link": plan.link,
            },
        }),
    }
}

/// A session's start and end as a message carries them: instants in the program's zone with
/// its offset, or the first and last day.
fn times(when: When, zone: crate::domain::zone::Zone) -> (Value, Value, bool) {
    match when {
        When::Timed(start, end) => (json!(zone.local(start)), json!(zone.local(end)), false),
        When::AllDay(first, last) => (json!(first), json!(last), true),
    }
}

fn session_data(session: &SessionFacts, happening: &Happening) -> Value {
    let roster: Vec<Value> = session
        .roster
        .iter()
        .map(|d| json!({"name": d.name, "role": d.role, "status": d.status, "mobile": d.masked_mobile()}))
        .collect();
    let (starts_at, ends_at, all_day) = times(session.when, session.zone);
    let mut data = json!({
        "session": {
            "id": session.id, "title": session.title, "starts_at": starts_at, "ends_at": ends_at,
            "all_day": all_day, "time_zone": session.zone.name(),
            "when": notice::when_text(session.when, session.zone),
            "link": session.link, "video_url": session.video_url,
        },
        "activity": {"title": session.activity},
        "venue": {"id": session.venue_id, "name": session.venue, "address": session.address},
        "roster": roster,
    });
    if let Some(page) = &session.personal_link {
        data["volunteer_page_url"] = json!(page);
    }
    match happening {
        Happening::Reminder { before } => {
            data["before_minutes"] = json!(before.num_minutes());
        }
        Happening::Rescheduled { was } => {
            // What it was, as fields a program can compare, beside the text for people.
            let (starts_at, ends_at, all_day) = times(was.when, session.zone);
            data["previous"] = json!({
                "starts_at": starts_at, "ends_at": ends_at, "all_day": all_day,
                "venue_id": was.venue_id, "venue": {"name": was.venue, "address": was.address},
            });
            let mut changes = serde_json::Map::new();
            if was.when != session.when {
                changes.insert("when".to_owned(), json!({"old": notice::when_text(was.when, session.zone), "new": notice::when_text(session.when, session.zone)}));
            }
            if was.venue != session.venue || was.address != session.address {
                changes.insert(
                    "venue".to_owned(),
                    json!({"old": notice::place(was), "new": notice::place(session)}),
                );
            }
            if was.video_url != session.video_url {
                changes.insert(
                    "video_url".to_owned(),
                    json!({"old": was.video_url, "new": session.video_url}),
                );
            }
            data["changes"] = Value::Object(changes);
        }
        Happening::Cancelled => {}
        Happening::AssignmentCreated(who) | Happening::AssignmentCancelled(who) => {
            data["assignment"] = json!({"name": who.name, "role": who.role, "status": who.status});
        }
        Happening::AssignmentDeclined { who, reason } => {
            data["assignment"] = json!({"name": who.name, "role": who.role, "status": who.status, "reason": reason});
        }
    }
    data
}

/// A chat message made of notices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatText {
    /// A short title (DingTalk shows it in the notification).
    pub title: String,
    /// Markdown text.
    pub markdown: String,
    /// The same as plain text.
    pub plain: String,
    /// How many of the notices it holds, from the first; the rest wait for the next message.
    pub used: usize,
    /// Mobiles to @-mention.
    pub mentions: Vec<String>,
}

/// As many notices as fit in one message of `format`, in order (always at least one, clipped
/// if it alone is too long), with the subscription's keyword in it.
pub fn chat_text(format: Format, notices: &[Notice], options: &Options) -> ChatText {
    let limit = text_limit(format);
    let keyword = options.keyword.as_deref().filter(|k| !k.is_empty());
    let mut text = ChatText {
        title: String::new(),
        markdown: String::new(),
        plain: String::new(),
        used: 0,
        mentions: Vec::new(),
    };
    for notice in notices {
        let headline = notice.about.headline();
        let lines = notice.about.body_lines();
        let separator = if text.used == 0 { "" } else { "\n\n" };
        let markdown = format!(
            "{separator}**{headline}**\n\n{}",
            lines.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n")
        );
        let plain = format!("{separator}{headline}\n{}", lines.join("\n"));
        let budget = limit.saturating_sub(keyword.map_or(0, |k| k.len() + 4));
        if text.used > 0 && text.markdown.len() + markdown.len() > budget {
            break;
        }
        if text.used == 0 {
            text.title = headline.clone();
        }
        text.markdown.push_str(&markdown);
        text.plain.push_str(&plain);
        text.used += 1;
        if options.mention && format.mentions_by_mobile() {
            for duty in notice.about.on_duty().iter().filter(|d| d.is_active()) {
                if let Some(mobile) = &duty.mobile
                    && !text.mentions.contains(mobile)
                {
                    text.mentions.push(mobile.clone());
                }
            }
        }
    }
    if text.used > 1 {
        text.title = format!("{}等{}条通知", text.title, text.used);
    }
    if let Some(keyword) = keyword
        && !text.plain.contains(keyword)
    {
        text.markdown = format!("{keyword}\n\n{}", text.markdown);
        text.plain = format!("{keyword}\n{}", text.plain);
    }
    if !text.mentions.is_empty() {
        let ats: Vec<String> = text.mentions.iter().map(|m| format!("@{m}")).collect();
        text.markdown.push_str(&format!("\n\n{}", ats.join(" ")));
    }
    text.markdown = clip_bytes(&text.markdown, limit);
    text.plain = clip_bytes(&text.plain, limit);
    text
}

/// The event type of a test message sent from the API.
pub const TEST_EVENT: &str = "webhook.test";

/// The Standard Webhooks payload of a test message.
pub fn test_payload(subscription: &str, at: DateTime<Utc>) -> Value {
    json!({"type": TEST_EVENT, "timestamp": at, "data": {"subscription": subscription}})
}

/// A chat test message: says which subscription it comes from, with the robot's keyword.
pub fn test_text(
    subscription: &str,
    at: DateTime<Utc>,
    zone: crate::domain::zone::Zone,
    options: &Options,
) -> ChatText {
    let local = at.with_timezone(&zone.tz()).format("%-m月%-d日 %H:%M");
    let title = "【测试消息】".to_owned();
    let line = format!(
        "订阅「{subscription}」已接通，{local}（{}）发出。",
        notice::zone_label(zone)
    );
    let keyword = options
        .keyword
        .as_deref()
        .filter(|k| !k.is_empty() && !line.contains(*k));
    let prefix = keyword.map(|k| format!("{k}\n")).unwrap_or_default();
    ChatText {
        markdown: format!("{prefix}**{title}**\n\n- {line}"),
        plain: format!("{prefix}{title}\n{line}"),
        title,
        used: 1,
        mentions: Vec::new(),
    }
}

/// The longest prefix of `text` within `max` bytes that ends on a character boundary.
fn clip_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The JSON body a chat robot takes, signed where the platform signs in the body.
pub fn chat_body(format: Format, text: &ChatText, secret: Option<&str>, now: DateTime<Utc>) -> Value {
    match format {
        Format::DingTalk => json!({
            "msgtype": "markdown",
            "markdown": {"title": text.title, "text": text.markdown},
            "at": {"atMobiles": text.mentions, "isAtAll": false},
        }),
        // WeCom's markdown cannot mention by mobile; its text message can.
        Format::WeCom if !text.mentions.is_empty() => json!({
            "msgtype": "text",
            "text": {"content": clip_bytes(&text.plain, 2_000), "mentioned_mobile_list": text.mentions},
        }),
        Format::WeCom => json!({"msgtype": "markdown", "markdown": {"content": text.markdown}}),
        Format::Feishu => {
            let mut body = json!({"msg_type": "text", "content": {"text": text.plain}});
            if let Some(secret) = secret {
                let timestamp = now.timestamp();
                body["timestamp"] = json!(timestamp.to_string());
                body["sign"] = json!(signing::feishu_sign(secret, timestamp));
            }
            body
        }
        Format::Slack | Format::Standard => json!({"text": slack_text(&text.markdown)}),
    }
}

/// Slack's mrkdwn bolds with single asterisks.
fn slack_text(markdown: &str) -> String {
    markdown.replace("**", "*")
}

/// DingTalk signs in the query string: `timestamp` (ms) and `sign`.
pub fn dingtalk_query(secret: &str, now: DateTime<Utc>) -> [(&'static str, String); 2] {
    let timestamp = now.timestamp_millis();
    [
        ("timestamp", timestamp.to_string()),
        ("sign", signing::dingtalk_sign(secret, timestamp)),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::domain::notice::OnDuty;
    use crate::domain::zone::Zone;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn notice(id: i64, title: &str) -> Notice {
        Notice {
            id: format!("msg_{id}"),
            about: About::Session {
                happening: Happening::Reminder {
                    before: TimeDelta::hours(1),
                },
                session: Box::new(SessionFacts {
                    id,
                    title: title.to_owned(),
                    activity: "科普宣传周".to_owned(),
                    when: When::Timed(at("2019-05-28T01:00:00Z"), at("2019-05-28T03:00:00Z")),
                    zone: Zone::from_stored("Asia/Shanghai"),
                    venue_id: 3,
                    venue: "连云港市科技馆".to_owned(),
                    address: None,
                    video_url: Some("https://meeting.example.cn/j/530".to_owned()),
                    link: format!("https://sciday.example.cn/api/v1/sessions/{id}"),
                    personal_link: None,
                    roster: vec![OnDuty {
                        name: "张伟".to_owned(),
                        role: "讲解员".to_owned(),
                        status: "proposed".to_owned(),
                        mobile: Some("14400001234".to_owned()),
                    }],
                }),
            },
            at: at("2019-05-28T00:00:00Z"),
        }
    }

    #[test]
    fn the_standard_payload_has_type_timestamp_and_data_with_masked_mobiles() {
        let payload = standard_payload(&notice(7, "启动仪式"));
        assert_eq!(payload["type"], "session.reminder");
        assert_eq!(payload["timestamp"], "2019-05-28T00:00:00Z");
        assert_eq!(payload["data"]["session"]["when"], "5月28日 09:00–11:00（北京时间）");
        assert_eq!(
            payload["data"]["session"]["video_url"],
            "https://meeting.example.cn/j/530"
        );
        assert_eq!(payload["data"]["roster"][0]["mobile"], "144****1234");
        assert!(!payload.to_string().contains("14400001234"));
    }

    #[test]
    fn a_chat_message_carries_the_keyword_and_mentions_only_when_asked() {
        let notices = [notice(7, "启动仪式")];
        let plain = chat_text(Format::DingTalk, &notices, &Options::default());
        assert!(plain.mentions.is_empty() && !plain.markdown.contains("14400001234"));
        let options = Options {
            keyword: Some("科协".to_owned()),
            mention: true,
        };
        let text = chat_text(Format::DingTalk, &notices, &options);
        assert!(text.markdown.starts_with("科协") && text.plain.starts_with("科协"));
        assert_eq!(text.mentions, ["14400001234"]);
        let body = chat_body(Format::DingTalk, &text, None, at("2019-05-28T00:00:00Z"));
        assert_eq!(body["at"]["atMobiles"][0], "14400001234");
        // Feishu cannot mention by mobile.
        assert!(chat_text(Format::Feishu, &notices, &options).mentions.is_empty());
        let wecom = chat_body(
            Format::WeCom,
            &chat_text(Format::WeCom, &notices, &options),
            None,
            at("2019-05-28T00:00:00Z"),
        );
        assert_eq!(wecom["msgtype"], "text");
        assert_eq!(wecom["text"]["mentioned_mobile_list"][0], "14400001234");
    }

    #[test]
    fn notices_due_together_are_merged_up_to_the_platforms_limit() {
        let notices: Vec<Notice> = (0..40).map(|i| notice(i, &"科普进校园".repeat(20))).collect();
        let wecom = chat_text(Format::WeCom, &notices, &Options::default());
        assert!(wecom.used > 1 && wecom.used < 40, "{}", wecom.used);
        assert!(wecom.markdown.len() <= text_limit(Format::WeCom));
        assert!(wecom.title.ends_with(&format!("等{}条通知", wecom.used)));
        let dingtalk = chat_text(Format::DingTalk, &notices, &Options::default());
        assert!(dingtalk.used > wecom.used && dingtalk.markdown.len() <= text_limit(Format::DingTalk));
        // The next message starts where this one stopped: nothing is dropped.
        let rest = chat_text(Format::DingTalk, &notices[dingtalk.used..], &Options::default());
        assert_eq!(dingtalk.used + rest.used, 40);
        // One notice longer than the limit is clipped, not dropped or split inside a character.
        let long = [notice(1, &"长".repeat(5000))];
        let clipped = chat_text(Format::WeCom, &long, &Options::default());
        assert_eq!(clipped.used, 1);
        assert!(clipped.markdown.len() <= text_limit(Format::WeCom));
    }

    #[test]
    fn a_test_message_names_its_subscription_and_carries_the_keyword() {
        let at = at("2019-05-28T01:30:00Z");
        let options = Options {
            keyword: Some("科协".to_owned()),
            mention: true,
        };
        let text = test_text("市志愿者支队群", at, Zone::from_stored("Asia/Shanghai"), &options);
        assert!(text.plain.starts_with("科协\n【测试消息】"), "{}", text.plain);
        assert!(
            text.markdown
                .contains("订阅「市志愿者支队群」已接通，5月28日 09:30（北京时间）发出。")
        );
        assert!(text.mentions.is_empty());
        let payload = test_payload("市志愿者支队群", at);
        assert_eq!(payload["type"], TEST_EVENT);
        assert_eq!(payload["data"]["subscription"], "市志愿者支队群");
    }

    #[test]
    fn robots_that_sign_get_their_signature_where_they_look_for_it() {
        let now = at("2019-05-28T00:00:00Z");
        let text = chat_text(Format::Feishu, &[notice(7, "启动仪式")], &Options::default());
        let body = chat_body(Format::Feishu, &text, Some("feishu-secret"), now);
        assert_eq!(body["timestamp"], now.timestamp().to_string());
        assert_eq!(body["sign"], signing::feishu_sign("feishu-secret", now.timestamp()));
        let [timestamp, sign] = dingtalk_query("SEC0123", now);
        assert_eq!(timestamp, ("timestamp", now.timestamp_millis().to_string()));
        assert_eq!(sign.1, signing::dingtalk_sign("SEC0123", now.timestamp_millis()));
        let slack = chat_body(Format::Slack, &text, None, now);
        assert!(slack["text"].as_str().unwrap().starts_with("*【活动提醒】"));
    }
}
