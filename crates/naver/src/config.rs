//! Client configuration, credentials, and the HTTP client NAVER is called with.
//!
//! The HTTP client resolves IPv4 addresses only (NAVER's API host has no IPv6, and a v6 attempt
//! first only adds a timeout), sets connect and request timeouts, and uses the process's single
//! rustls provider (ring).

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::NaverError;

/// Production base URL (reference §1).
pub const DEFAULT_BASE_URL: &str = "https://api.commerce.naver.com/external";

#[derive(Debug, Clone)]
pub struct NaverConfig {
    /// `NAVER_COMMERCE_BASE_URL`, without a trailing `/`.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// First backoff ceiling; doubles per attempt up to `backoff_cap`.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Subtracted from the token timestamp and from "now" when clamping windows, so a clock a
    /// little ahead of NAVER's is not "in the future" there.
    pub clock_skew: Duration,
    /// The part of the application's rate limit this client may use, in (0, 1]. NAVER's
    /// buckets are per application, so `n` import instances running at once (the Map's
    /// concurrency) each take `1/n`; otherwise they would overrun the bucket together and
    /// collect 429s, each one a wasted call.
    pub rate_share: f64,
}

impl Default for NaverConfig {
    fn default() -> Self {
        NaverConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(300),
            backoff_cap: Duration::from_secs(10),
            clock_skew: Duration::from_secs(3),
            rate_share: 1.0,
        }
    }
}

impl NaverConfig {
    /// Reads `NAVER_COMMERCE_BASE_URL` (default: production).
    pub fn from_env(env: &dyn ordersync_core::config::Env) -> Result<Self, NaverError> {
        let mut config = NaverConfig::default();
        if let Some(url) = env.var("NAVER_COMMERCE_BASE_URL") {
            config.base_url = check_base_url(&url)?;
        }
        Ok(config)
    }

    /// This config for one of `instances` clients that run at once with the same application
    /// (the Map's concurrency): each keeps to its part of the rate limit.
    pub fn shared_by(mut self, instances: u32) -> Self {
        self.rate_share = 1.0 / f64::from(instances.max(1));
        self
    }
}

/// Accepts `http(s)://host[:port]/path` and drops a trailing `/`.
pub fn check_base_url(url: &str) -> Result<String, NaverError> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|_| NaverError::Config("NAVER_COMMERCE_BASE_URL is not a URL".into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(NaverError::Config(
            "NAVER_COMMERCE_BASE_URL must be an http(s) URL with a host".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An application's credentials. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    /// For agencies: the seller's account id (`type=SELLER`); absent for `type=SELF`.
    #[serde(default)]
    pub account_id: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// Resolves names to IPv4 addresses only.
#[derive(Debug, Clone, Copy, Default)]
struct Ipv4Only;

impl Resolve for Ipv4Only {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(SocketAddr::is_ipv4)
                .collect();
            if addrs.is_empty() {
                return Err(format!("{} has no IPv4 address", name.as_str()).into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for NAVER calls. Build once per process and share.
pub fn http_client(config: &NaverConfig) -> Result<reqwest::Client, NaverError> {
    ordersync_core::tls::install_crypto_provider();
    reqwest::Client::builder()
        .dns_resolver(std::sync::Arc::new(Ipv4Only))
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        // NAVER's gateway drops idle keep-alive connections ("socket hang up" in other
        // clients); a short idle timeout keeps us from reusing a dead one.
        .pool_idle_timeout(Duration::from_secs(15))
        .user_agent(concat!("ordersync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| NaverError::Config(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let c = Credentials {
            client_id: "app".into(),
            client_secret: "$2a$04$abcdefghijklmnopqrstuv".into(),
            account_id: None,
        };
        let shown = format!("{c:?}");
        assert!(
            shown.contains("app") && !shown.contains("abcdefghij"),
            "{shown}"
        );
    }

    #[test]
    fn base_url_is_checked_and_trimmed() {
        assert_eq!(
            check_base_url("http://127.0.0.1:9/external/").unwrap(),
            "http://127.0.0.1:9/external"
        );
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("not a url").is_err());
    }

    #[tokio::test]
    async fn resolver_returns_only_ipv4() {
        let addrs: Vec<_> = Ipv4Only
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(SocketAddr::is_ipv4), "{addrs:?}");
    }
}
