//! The HTTP client webhooks are sent with: it connects only to addresses the policy permits
//! (every address a name resolves to is checked, and only checked ones are used), follows no
//! redirect and uses no proxy, so a webhook cannot be pointed inside the network it is sent from.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::domain::webhook::AddressPolicy;

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// An address the policy does not permit.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not a public address; webhooks may not reach it")]
pub struct Blocked(pub IpAddr);

/// Resolves names, refusing any whose addresses include one the policy does not permit.
#[derive(Debug)]
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(bad) = found.iter().find(|address| !policy.permits(address.ip())) {
                return Err(Box::new(Blocked(bad.ip())) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The client for sending webhooks under `policy`.
pub fn build(policy: &AddressPolicy, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone() }))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("sciday-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Checks an address whose host is an IP literal, which is connected to without resolving.
pub fn check_literal(url: &Url, policy: &AddressPolicy) -> Result<(), Blocked> {
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if policy.permits(ip) { Ok(()) } else { Err(Blocked(ip)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver on a loopback port: answers 200, or a redirect on `/moved`.
    async fn receiver() -> u16 {
        let app = axum::Router::new()
            .route("/", axum::routing::post(|| async { "ok" }))
            .route(
                "/moved",
                axum::routing::post(|| async {
                    (axum::http::StatusCode::FOUND, [("location", "http://127.0.0.1:9/")])
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        port
    }

    fn loopback() -> AddressPolicy {
        AddressPolicy::allowing(vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()])
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_unless_allowed() {
        let port = receiver().await;
        let url = format!("http://localhost:{port}/");
        let refused = build(&AddressPolicy::default(), TIMEOUT)
            .unwrap()
            .post(&url)
            .send()
            .await;
        let error = refused.unwrap_err();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        let mut blocked = None;
        while let Some(current) = cause {
            blocked = blocked.or_else(|| current.downcast_ref::<Blocked>().map(|b| b.0));
            cause = current.source();
        }
        assert!(blocked.is_some_and(|ip: IpAddr| ip.is_loopback()), "{error:?}");
        let allowed = build(&loopback(), TIMEOUT).unwrap().post(&url).send().await.unwrap();
        assert_eq!(allowed.text().await.unwrap(), "ok");
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let port = receiver().await;
        let answer = build(&loopback(), TIMEOUT)
            .unwrap()
            .post(format!("http://localhost:{port}/moved"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::FOUND);
    }

    #[test]
    fn literal_addresses_are_checked_before_sending() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert!(check_literal(&url("http://127.0.0.1:8080/"), &AddressPolicy::default()).is_err());
        assert!(check_literal(&url("http://[::1]/"), &AddressPolicy::default()).is_err());
        assert!(check_literal(&url("http://127.0.0.1:8080/"), &loopback()).is_ok());
        assert!(check_literal(&url("https://8.8.8.8/"), &AddressPolicy::default()).is_ok());
        assert!(check_literal(&url("https://hooks.example.cn/"), &AddressPolicy::default()).is_ok());
    }
}
