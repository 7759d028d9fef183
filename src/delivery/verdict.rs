//! What a receiver's answer means, per platform. Chat platforms answer HTTP 200 to most
//! errors and put the error in the body, so the status alone decides nothing for them.

use chrono::TimeDelta;
use serde_json::Value;

use super::backoff::Failure;
use crate::domain::webhook::Format;

/// Most characters of a response body kept in the delivery log.
pub const BODY_KEPT: usize = 1024;

/// A receiver's answer, as read from the wire.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, when given in seconds or as a date.
    pub retry_after: Option<TimeDelta>,
    /// The body (as much as was read).
    pub body: String,
    /// `Location`, on a redirect.
    pub location: Option<String>,
}

/// What the answer decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `None` when delivered; otherwise how it failed.
    pub failure: Option<Failure>,
    /// The platform's own error code, when the body has one.
    pub code: Option<i64>,
    /// The platform's error message, when the body has one.
    pub message: Option<String>,
    /// How long the platform holds the robot after this answer (DingTalk's throttle).
    pub hold: Option<TimeDelta>,
}

impl Verdict {
    fn delivered(code: Option<i64>) -> Self {
        Self {
            failure: None,
            code,
            message: None,
            hold: None,
        }
    }

    fn failed(failure: Failure, message: String) -> Self {
        Self {
            failure: Some(failure),
            code: None,
            message: Some(message),
            hold: None,
        }
    }
}

/// How long DingTalk blocks a robot that sent too fast (`errcode` 130101): about ten minutes.
pub const DINGTALK_THROTTLE: TimeDelta = TimeDelta::minutes(10);

/// DingTalk: `errcode` 130101 is "sending too fast"; 300001/300005 a bad or unknown token;
/// 310000 a keyword, signature or IP rule not met; 400101/400102 a disabled robot.
const DINGTALK_RATE: [i64; 1] = [130_101];
const DINGTALK_PERMANENT: [i64; 5] = [300_001, 300_005, 310_000, 400_101, 400_102];
/// WeCom: 45009 is the frequency limit; 93000/93004 a bad or removed robot key; 40001/40014
/// bad credentials.
const WECOM_RATE: [i64; 1] = [45_009];
const WECOM_PERMANENT: [i64; 4] = [93_000, 93_004, 40_001, 40_014];
/// Feishu: 11232 is the frequency limit; 19021 a bad signature, 19022 an IP not allowed, 19024
/// a missing keyword; 19001 a malformed request.
const FEISHU_RATE: [i64; 1] = [11_232];
const FEISHU_PERMANENT: [i64; 4] = [19_001, 19_021, 19_022, 19_024];

/// Judges an answer from a receiver of `format`.
/// A redirect's target as the log may show it: an absolute address without its credentials
/// (the new address of a Feishu or Slack hook carries its token too).
fn shown_location(location: &str) -> String {
    url::Url::parse(location).map_or_else(|_| location.to_owned(), |url| crate::domain::webhook::redact_url(&url))
}

pub fn judge(format: Format, answer: &Answer) -> Verdict {
    let status = answer.status;
    if (300..=399).contains(&status) {
        // Webhooks are never redirected: an address that redirects is a misconfiguration to
        // fix, not a failure to retry for hours.
        let target = answer.location.as_deref().map_or_else(
            || "no Location".to_owned(),
            |l| format!("to {}", clip(&shown_location(l), 200)),
        );
        return Verdict::failed(
            Failure::Permanent,
            format!("the address redirects (HTTP {status} {target}); correct the subscription's address"),
        );
    }
    let by_status = match status {
        200..=299 => None,
        408 => Some(Failure::Timeout),
        429 => Some(Failure::RateLimited),
        400..=499 => Some(Failure::Permanent),
        _ => Some(Failure::Transient),
    };
    match format {
        Format::Standard => Verdict {
            failure: by_status,
            code: None,
            message: None,
            hold: None,
        },
        Format::Slack => {
            let body = answer.body.trim();
            match by_status {
                None if body == "ok" => Verdict::delivered(None),
                // Slack names its errors in plain text (`invalid_token`, `no_service`, …).
                None => Verdict::failed(Failure::Transient, clip(body, 200)),
                failure => Verdict {
                    failure,
                    code: None,
                    message: (!body.is_empty()).then(|| clip(body, 200)),
                    hold: None,
                },
            }
        }
        Format::DingTalk | Format::WeCom | Format::Feishu => {
            let json: Option<Value> = serde_json::from_str(&answer.body).ok();
            let (code_key, message_key, rate, permanent): (&[&str], &[&str], &[i64], &[i64]) = match format {
                Format::DingTalk => (&["errcode"], &["errmsg"], &DINGTALK_RATE, &DINGTALK_PERMANENT),
                Format::WeCom => (&["errcode"], &["errmsg"], &WECOM_RATE, &WECOM_PERMANENT),
                // Feishu answers `code`/`msg`, and older robots `StatusCode`/`StatusMessage`.
                _ => (
                    &["code", "StatusCode"],
                    &["msg", "StatusMessage"],
                    &FEISHU_RATE,
                    &FEISHU_PERMANENT,
                ),
            };
            let code = json
                .as_ref()
                .and_then(|v| code_key.iter().find_map(|k| v.get(*k)?.as_i64()));
            let message = json
                .as_ref()
                .and_then(|v| message_key.iter().find_map(|k| v.get(*k)?.as_str().map(str::to_owned)));
            let failure = match (by_status, code) {
                (Some(failure), _) => Some(failure),
                (None, Some(0)) => None,
                (None, Some(code)) if rate.contains(&code) => Some(Failure::RateLimited),
                (None, Some(code)) if permanent.contains(&code) => Some(Failure::Permanent),
                // Another error code, or a 200 without the platform's answer: not delivered.
                (None, _) => Some(Failure::Transient),
            };
            let throttled = format == Format::DingTalk && code == Some(DINGTALK_RATE[0]) && by_status.is_none();
            let message = message.filter(|m| !m.is_empty() && failure.is_some());
            Verdict {
                failure,
                code,
                message: if throttled {
                    Some(format!(
                        "{}: DingTalk throttles this robot for about {} minutes after too many messages, so nothing goes to it sooner",
                        message.unwrap_or_else(|| "sending too fast".to_owned()),
                        DINGTALK_THROTTLE.num_minutes()
                    ))
                } else {
                    message
                },
                hold: throttled.then_some(DINGTALK_THROTTLE),
            }
        }
    }
}

/// At most `max` characters of `text`.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::webhook::Platform as _;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            body: body.to_owned(),
            location: None,
        }
    }

    fn failure(format: Format, status: u16, body: &str) -> Option<Failure> {
        judge(format, &answer(status, body)).failure
    }

    #[test]
    fn a_200_with_an_error_in_the_body_is_not_delivered() {
        assert_eq!(failure(Format::DingTalk, 200, r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert_eq!(failure(Format::WeCom, 200, r#"{"errcode":0,"errmsg":"ok"}"#), None);
        assert_eq!(
            failure(Format::Feishu, 200, r#"{"code":0,"msg":"success","data":{}}"#),
            None
        );
        assert_eq!(
            failure(Format::Feishu, 200, r#"{"StatusCode":0,"StatusMessage":"success"}"#),
            None
        );
        assert_eq!(failure(Format::Slack, 200, "ok"), None);

        let keyword = judge(
            Format::DingTalk,
            &answer(200, r#"{"errcode":310000,"errmsg":"keywords not in content"}"#),
        );
        assert_eq!(keyword.failure, Some(Failure::Permanent));
        assert_eq!(
            (keyword.code, keyword.message.as_deref()),
            (Some(310_000), Some("keywords not in content"))
        );
        assert_eq!(
            failure(
                Format::WeCom,
                200,
                r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#
            ),
            Some(Failure::Permanent)
        );
        assert_eq!(
            failure(Format::Feishu, 200, r#"{"code":19021,"msg":"sign match fail"}"#),
            Some(Failure::Permanent)
        );
        assert_eq!(
            failure(Format::DingTalk, 200, r#"{"errcode":-1,"errmsg":"系统繁忙"}"#),
            Some(Failure::Transient)
        );
        assert_eq!(
            failure(Format::DingTalk, 200, "<html>gateway</html>"),
            Some(Failure::Transient)
        );
        assert_eq!(failure(Format::Slack, 200, "invalid_payload"), Some(Failure::Transient));
    }

    #[test]
    fn each_platforms_rate_limit_code_means_slow_down() {
        assert_eq!(
            failure(Format::DingTalk, 200, r#"{"errcode":130101,"errmsg":"send too fast"}"#),
            Some(Failure::RateLimited)
        );
        assert_eq!(
            failure(
                Format::WeCom,
                200,
                r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#
            ),
            Some(Failure::RateLimited)
        );
        assert_eq!(
            failure(Format::Feishu, 200, r#"{"code":11232,"msg":"frequency limited"}"#),
            Some(Failure::RateLimited)
        );
        for format in Format::ALL {
            assert_eq!(failure(format, 429, ""), Some(Failure::RateLimited), "{format:?}");
        }
    }

    #[test]
    fn statuses_decide_for_generic_receivers() {
        assert_eq!(failure(Format::Standard, 204, ""), None);
        assert_eq!(failure(Format::Standard, 200, r#"{"errcode":1}"#), None);
        assert_eq!(failure(Format::Standard, 408, ""), Some(Failure::Timeout));
        assert_eq!(failure(Format::Standard, 410, ""), Some(Failure::Permanent));
        assert_eq!(failure(Format::Standard, 401, ""), Some(Failure::Permanent));
        assert_eq!(failure(Format::Standard, 500, ""), Some(Failure::Transient));
        assert_eq!(failure(Format::Standard, 503, ""), Some(Failure::Transient));
        assert_eq!(failure(Format::Slack, 404, "no_service"), Some(Failure::Permanent));
    }

    #[test]
    fn a_redirect_is_a_misconfiguration_named_with_its_target() {
        for format in Format::ALL {
            let moved = Answer {
                location: Some("https://hooks.example.cn/new".to_owned()),
                ..answer(301, "")
            };
            let verdict = judge(format, &moved);
            assert_eq!(verdict.failure, Some(Failure::Permanent), "{format:?}");
            let message = verdict.message.unwrap();
            assert!(
                message.contains("HTTP 301") && message.contains("https://hooks.example.cn/new"),
                "{message}"
            );
        }
        assert!(
            judge(Format::Standard, &answer(302, ""))
                .message
                .unwrap()
                .contains("no Location")
        );
        let to_a_hook = Answer {
            location: Some("https://open.feishu.cn/open-apis/bot/v2/hook/0d5e-secret".to_owned()),
            ..answer(308, "")
        };
        let message = judge(Format::Feishu, &to_a_hook).message.unwrap();
        assert!(
            message.contains("/open-apis/bot/v2/hook/REDACTED") && !message.contains("0d5e-secret"),
            "{message}"
        );
    }

    #[test]
    fn dingtalks_throttle_holds_the_robot_for_ten_minutes_and_says_so() {
        let throttled = judge(
            Format::DingTalk,
            &answer(200, r#"{"errcode":130101,"errmsg":"send too fast"}"#),
        );
        assert_eq!(throttled.hold, Some(TimeDelta::minutes(10)));
        assert!(throttled.message.unwrap().contains("10 minutes"));
        let wecom = judge(
            Format::WeCom,
            &answer(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
        );
        assert_eq!((wecom.failure, wecom.hold), (Some(Failure::RateLimited), None));
    }

    #[test]
    fn clipping_counts_characters_not_bytes() {
        assert_eq!(clip("科技工作者日", 4), "科技工作…");
        assert_eq!(clip("ok", 4), "ok");
    }
}
