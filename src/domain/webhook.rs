//! Webhook subscriptions as users give them: where messages go, in which format, and the
//! rules that keep a webhook from reaching inside the network it is sent from.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::Url;

use super::field::FieldError;

pub use entity::kinds::WebhookFormat as Format;

/// What each platform allows and needs.
pub trait Platform: Sized {
    /// Every format, in the order the API documents them.
    const ALL: [Self; 5];

    /// The stored and API name.
    fn name(self) -> &'static str;

    /// Reads an API or stored name.
    fn parse(field: &str, value: &str) -> Result<Self, FieldError>;

    /// Hosts a chat format may be sent to; `None` for `standard`, which goes anywhere allowed.
    fn hosts(self) -> Option<&'static [&'static str]>;

    /// Whether a security keyword can be set (DingTalk and Feishu robots may require one).
    fn takes_keyword(self) -> bool;

    /// Whether the robot can @-mention people by mobile number.
    fn mentions_by_mobile(self) -> bool;
}

impl Platform for Format {
    const ALL: [Self; 5] = [Self::Standard, Self::DingTalk, Self::WeCom, Self::Feishu, Self::Slack];

    fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::DingTalk => "dingtalk",
            Self::WeCom => "wecom",
            Self::Feishu => "feishu",
            Self::Slack => "slack",
        }
    }

    fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|f| f.name() == value).ok_or_else(|| {
            FieldError::new(
                field,
                "unknown_format",
                "must be one of standard, dingtalk, wecom, feishu, slack",
            )
        })
    }

    fn hosts(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Standard => None,
            Self::DingTalk => Some(&["oapi.dingtalk.com"]),
            Self::WeCom => Some(&["qyapi.weixin.qq.com"]),
            Self::Feishu => Some(&["open.feishu.cn", "open.larksuite.com"]),
            Self::Slack => Some(&["hooks.slack.com"]),
        }
    }

    fn takes_keyword(self) -> bool {
        matches!(self, Self::DingTalk | Self::Feishu)
    }

    fn mentions_by_mobile(self) -> bool {
        matches!(self, Self::DingTalk | Self::WeCom)
    }
}

/// A checked webhook address: absolute, `http(s)`, no credentials, no fragment; for chat
/// formats `https` to the platform's own host. Where it may connect is decided again at send
/// time, after resolving its host ([`AddressPolicy`]).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl WebhookUrl {
    /// Checks `value` as the address of a subscription in `format`. An IP-literal host is
    /// checked against `policy` here already.
    pub fn parse(field: &str, value: &str, format: Format, policy: &AddressPolicy) -> Result<Self, FieldError> {
        let invalid = |message: String| FieldError::new(field, "invalid_webhook_url", message);
        let value = super::web::within_limit(field, value)?;
        let url = Url::parse(value).map_err(|e| invalid(format!("not a web address: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("must be an http or https address".to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry a user name or password".to_owned()));
        }
        if url.fragment().is_some() {
            return Err(invalid("must not have a #fragment".to_owned()));
        }
        let Some(host) = url.host() else {
            return Err(invalid("must name a host".to_owned()));
        };
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        // An address the operator allowed explicitly (an on-premise deployment of the
        // platform, a test receiver) stands in for the platform's own host.
        let on_premise = literal.is_some_and(|ip| policy.allows_explicitly(ip));
        if let Some(hosts) = format.hosts()
            && !on_premise
        {
            let name = url.host_str().unwrap_or_default();
            if url.scheme() != "https" || !hosts.contains(&name) || url.port().is_some() {
                return Err(invalid(format!(
                    "a {} robot's address is https://{}/…",
                    format.name(),
                    hosts.join(" or https://")
                )));
            }
        }
        if let Some(ip) = literal
            && !policy.permits(ip)
        {
            return Err(FieldError::new(
                field,
                "blocked_address",
                format!("{ip} is not a public address; webhooks may not reach it"),
            ));
        }
        Ok(Self(url))
    }

    /// An address read back from the database, where only checked ones are written.
    pub fn stored(value: &str) -> Self {
        match Url::parse(value) {
            Ok(url) => Self(url),
            // Unreachable in practice; an address that no longer parses cannot be sent to.
            Err(_) => Self(Url::parse("invalid:unreadable").unwrap_or_else(|_| unreachable!("a constant URL parses"))),
        }
    }

    /// The address, as given (with its tokens): only for sending.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// The address with token-bearing query values and path secrets hidden, for logs,
    /// API outputs and delivery records.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

/// Query parameters whose values are credentials.
const SECRET_PARAMS: [&str; 6] = ["access_token", "key", "token", "sign", "secret", "signature"];

/// The path segments after which a hook's secret follows: Slack's `/services/…`, Feishu's and
/// Lark's `/open-apis/bot/v2/hook/…` (and the older `/open-apis/bot/hook/…`). They are found
/// anywhere in the path, so an on-premise address with a prefix (`/im/open-apis/bot/v2/hook/…`)
/// is hidden too.
const SECRET_PATHS: [&str; 3] = ["/services/", "/open-apis/bot/v2/hook/", "/open-apis/bot/hook/"];

/// `url` with credential query values replaced by `REDACTED`, and the secret path of Slack
/// and Feishu hooks (`/services/…`, `/hook/…`) cut off, wherever it stands in the path.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    let _ = shown.set_username("");
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let hidden = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
                (
                    k.into_owned(),
                    if hidden { "REDACTED".to_owned() } else { v.into_owned() },
                )
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = url.path();
    for marker in SECRET_PATHS {
        if let Some(at) = path.find(marker) {
            let end = at + marker.len();
            if end < path.len() {
                shown.set_path(&format!("{}REDACTED", &path[..end]));
                break;
            }
        }
    }
    shown.into()
}

/// Which addresses webhooks may connect to: public unicast addresses, plus any ranges the
/// operator allows explicitly (an on-premise receiver, a test receiver on loopback).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// The default policy with these ranges allowed too.
    pub fn allowing(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// The ranges allowed beyond public addresses.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether a connection to `ip` is allowed.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.allows_explicitly(ip) || is_public(canonical(ip))
    }

    /// Whether `ip` is in one of the ranges the operator allowed.
    pub fn allows_explicitly(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowed.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A globally routable unicast address: not loopback, private, shared, link-local,
/// documentation, benchmarking, multicast, reserved, or an IPv6 form that embeds one.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2))
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    // Only global unicast (2000::/3) is routable on the internet.
    if segments[0] & 0xe000 != 0x2000 {
        return false;
    }
    match segments[0] {
        // IETF protocol assignments (Teredo and others) and documentation.
        0x2001 if segments[1] < 0x0200 || segments[1] == 0x0db8 => false,
        // 6to4 carries an IPv4 address, which decides.
        0x2002 => is_public_v4(Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        )),
        // Documentation (2001:db8::/32 is above; 3fff::/20 is the newer range).
        0x3fff if segments[1] < 0x1000 => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AddressPolicy {
        AddressPolicy::default()
    }

    #[test]
    fn every_blocked_range_is_refused_and_public_addresses_pass() {
        let blocked = [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2002:7f00:1::1",
            "64:ff9b::a00:1",
            "100::1",
            "3fff::1",
        ];
        for ip in blocked {
            assert!(!policy().permits(ip.parse().unwrap()), "{ip} must be blocked");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "116.62.10.1",
            "172.32.0.1",
            "2400:3200::1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:0808:0808::1",
        ];
        for ip in public {
            assert!(policy().permits(ip.parse().unwrap()), "{ip} must be allowed");
        }
    }

    #[test]
    fn an_explicit_allow_list_lets_chosen_ranges_through() {
        let allowing = AddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()]);
        assert!(allowing.permits("127.0.0.1".parse().unwrap()));
        assert!(allowing.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(allowing.permits("fd00::5".parse().unwrap()));
        assert!(!allowing.permits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn a_chat_robot_on_an_explicitly_allowed_address_stands_in_for_the_platform() {
        let on_premise = AddressPolicy::allowing(vec!["10.8.0.0/16".parse().unwrap()]);
        let robot = "http://10.8.0.5:8080/robot/send?access_token=abc";
        assert!(WebhookUrl::parse("url", robot, Format::DingTalk, &on_premise).is_ok());
        // Without the allow-list it is neither the platform's host nor a public address.
        let refused = WebhookUrl::parse("url", robot, Format::DingTalk, &policy()).unwrap_err();
        assert_eq!(refused.code, "invalid_webhook_url");
        // Public addresses are not explicitly allowed: a chat robot still needs its platform.
        let public = "https://203.0.114.5/robot/send?access_token=abc";
        assert!(WebhookUrl::parse("url", public, Format::DingTalk, &on_premise).is_err());
    }

    #[test]
    fn webhook_addresses_are_checked_for_shape_host_and_platform() {
        let ok = |format, url: &str| WebhookUrl::parse("url", url, format, &policy());
        assert!(ok(Format::Standard, "https://hooks.example.cn/sciday").is_ok());
        assert!(ok(Format::Standard, "http://203.0.114.5:8080/in").is_ok());
        assert!(
            ok(
                Format::DingTalk,
                "https://oapi.dingtalk.com/robot/send?access_token=abc"
            )
            .is_ok()
        );
        assert!(
            ok(
                Format::WeCom,
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
            )
            .is_ok()
        );
        assert!(ok(Format::Feishu, "https://open.feishu.cn/open-apis/bot/v2/hook/abc").is_ok());
        assert!(ok(Format::Slack, "https://hooks.slack.com/services/T0/B0/xyz").is_ok());
        let refused = [
            (Format::Standard, "ftp://hooks.example.cn/", "invalid_webhook_url"),
            (
                Format::Standard,
                "https://user:pw@hooks.example.cn/",
                "invalid_webhook_url",
            ),
            (Format::Standard, "https://hooks.example.cn/#x", "invalid_webhook_url"),
            (Format::Standard, "hooks.example.cn/in", "invalid_webhook_url"),
            (Format::Standard, "http://127.0.0.1:9000/", "blocked_address"),
            (Format::Standard, "http://[::1]/", "blocked_address"),
            (
                Format::Standard,
                "http://169.254.169.254/latest/meta-data",
                "blocked_address",
            ),
            (Format::Standard, "http://2130706433/", "blocked_address"),
            (
                Format::DingTalk,
                "http://oapi.dingtalk.com/robot/send?access_token=abc",
                "invalid_webhook_url",
            ),
            (
                Format::DingTalk,
                "https://hooks.example.cn/robot/send",
                "invalid_webhook_url",
            ),
            (
                Format::WeCom,
                "https://qyapi.weixin.qq.com:8443/cgi-bin/webhook/send?key=abc",
                "invalid_webhook_url",
            ),
            (
                Format::Slack,
                "https://hooks.slack.com.evil.example/services/x",
                "invalid_webhook_url",
            ),
        ];
        for (format, url, code) in refused {
            assert_eq!(ok(format, url).unwrap_err().code, code, "{url}");
        }
    }

    #[test]
    fn tokens_in_addresses_never_show() {
        let cases = [
            (
                "https://oapi.dingtalk.com/robot/send?access_token=s3cr3t",
                "access_token=REDACTED",
            ),
            (
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=s3cr3t&debug=1",
                "key=REDACTED&debug=1",
            ),
            (
                "https://open.feishu.cn/open-apis/bot/v2/hook/s3cr3t",
                "/open-apis/bot/v2/hook/REDACTED",
            ),
            ("https://hooks.slack.com/services/T0/B0/s3cr3t", "/services/REDACTED"),
        ];
        for (url, shown) in cases {
            let format = if url.contains("dingtalk") {
                Format::DingTalk
            } else if url.contains("weixin") {
                Format::WeCom
            } else if url.contains("feishu") {
                Format::Feishu
            } else {
                Format::Slack
            };
            let parsed = WebhookUrl::parse("url", url, format, &policy()).unwrap();
            let redacted = parsed.redacted();
            assert!(!redacted.contains("s3cr3t") && redacted.contains(shown), "{redacted}");
            assert!(!format!("{parsed:?}").contains("s3cr3t"));
        }
    }

    #[test]
    fn hook_secrets_are_hidden_on_on_premise_addresses_with_a_path_prefix() {
        let on_premise = AddressPolicy::allowing(vec!["10.8.0.0/16".parse().unwrap()]);
        let cases = [
            (
                Format::Feishu,
                "http://10.8.0.5/im/open-apis/bot/v2/hook/s3cr3t",
                "/im/open-apis/bot/v2/hook/REDACTED",
            ),
            (
                Format::Feishu,
                "http://10.8.0.5/open-apis/bot/hook/s3cr3t",
                "/open-apis/bot/hook/REDACTED",
            ),
            (
                Format::Slack,
                "http://10.8.0.5:8443/relay/services/T0/B0/s3cr3t",
                "/relay/services/REDACTED",
            ),
        ];
        for (format, url, shown) in cases {
            let parsed = WebhookUrl::parse("url", url, format, &on_premise).unwrap();
            let redacted = parsed.redacted();
            assert!(!redacted.contains("s3cr3t") && redacted.ends_with(shown), "{redacted}");
        }
    }

    #[test]
    fn formats_read_their_names_and_nothing_else() {
        for format in Format::ALL {
            assert_eq!(Format::parse("format", format.name()), Ok(format));
        }
        assert_eq!(Format::parse("format", "DingTalk").unwrap_err().code, "unknown_format");
    }
}
