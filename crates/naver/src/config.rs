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
    /// How long an idle keep-alive connection may wait for reuse. NAVER's gateway drops idle
    /// sockets (another client saw "socket hang up" until it cut this to 1 s, then turned
    /// keep-alive off; reference §3), and a request sent on a dropped socket fails after the
    /// fact. About a second keeps the reuse that matters (one call right after another, as
    /// feed pages and detail batches go) and gives up sockets the gateway may have dropped.
    pub pool_idle_timeout: Duration,
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
            pool_idle_timeout: Duration::from_secs(1),
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

/// Whose resources an application's tokens are for, and so which token request and base path
/// it uses (reference §1 and §3, "The hourly penalty").
///
/// NAVER limits a whole application to 1 call per hour, for a day or more, after a token
/// request that sends `account_id` with `type=SELF` or `type=SELLER` from an own-store
/// application. So the mode is never guessed from whether an `account_id` happens to be
/// there: own store is the default, and agency mode has to be asked for by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// An own-store application (내 스토어 애플리케이션): `type=SELF`, never an `account_id`,
    /// on the configured base path (`/external`).
    OwnStore,
    /// A solution (agency) application acting for one linked seller: `type=SELLER` with this
    /// `account_id`, on the `/partner` base path.
    Agency { account_id: String },
}

/// An application's credentials. `Debug` never shows the secret.
///
/// Read from JSON (a Secrets Manager secret, an entry of `NAVER_CREDENTIALS_FILE`) as
/// [`RawCredentials`], then checked by `TryFrom`; deserializing `Credentials` directly runs
/// the same check.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "RawCredentials")]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub access: Access,
}

impl Credentials {
    /// An own-store application's credentials.
    pub fn own_store(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Credentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            access: Access::OwnStore,
        }
    }
}

/// Credentials as written: `{"client_id", "client_secret"}` for an own-store application;
/// `{"client_id", "client_secret", "mode": "agency", "account_id"}` for a solution
/// (agency) application. Other fields are ignored.
#[derive(Clone, serde::Deserialize)]
pub struct RawCredentials {
    pub client_id: String,
    pub client_secret: String,
    /// `"own_store"` (the default) or `"agency"`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
}

/// Why credentials were refused before any call. Messages name fields, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error(
        "account_id is empty: leave it out for an own-store application; an agency application needs its seller's account id and \"mode\": \"agency\""
    )]
    EmptyAccountId,
    #[error(
        "account_id is given without \"mode\": \"agency\": an own-store application must not send one (NAVER answers account_id with type=SELF, or type=SELLER from an own-store application, by limiting the whole application to 1 call per hour): remove it, or add \"mode\": \"agency\" if this is a solution (agency) application"
    )]
    AccountIdWithoutAgency,
    #[error("\"mode\": \"agency\" needs the linked seller's account_id")]
    AgencyWithoutAccountId,
    #[error("mode must be \"own_store\" or \"agency\"")]
    UnknownMode,
}

impl TryFrom<RawCredentials> for Credentials {
    type Error = CredentialsError;

    fn try_from(raw: RawCredentials) -> Result<Self, Self::Error> {
        if raw.client_id.trim().is_empty() {
            return Err(CredentialsError::Empty("client_id"));
        }
        if raw.client_secret.trim().is_empty() {
            return Err(CredentialsError::Empty("client_secret"));
        }
        // Checked before the mode: an empty id is refused whatever the mode says, never sent.
        let account_id = match raw.account_id {
            Some(id) if id.trim().is_empty() => return Err(CredentialsError::EmptyAccountId),
            other => other,
        };
        let access = match (raw.mode.as_deref(), account_id) {
            (None | Some("own_store"), None) => Access::OwnStore,
            (None | Some("own_store"), Some(_)) => {
                return Err(CredentialsError::AccountIdWithoutAgency);
            }
            (Some("agency"), Some(account_id)) => Access::Agency { account_id },
            (Some("agency"), None) => return Err(CredentialsError::AgencyWithoutAccountId),
            (Some(_), _) => return Err(CredentialsError::UnknownMode),
        };
        Ok(Credentials {
            client_id: raw.client_id,
            client_secret: raw.client_secret,
            access,
        })
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("access", &self.access)
            .finish()
    }
}

/// The base URL agency mode calls: the configured one with its last segment `/external`
/// replaced by `/partner` (`https://api.commerce.naver.com/partner`), as NAVER tells
/// solution applications (reference §1, api-agency #140, #642). Token requests go there too
/// [INFER: the reference names `/partner` for the order APIs; one base for every call is
/// the simplest reading]. `None` when the base does not end in `/external`.
pub fn partner_base_url(base_url: &str) -> Option<String> {
    base_url
        .strip_suffix("/external")
        .map(|origin| format!("{origin}/partner"))
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
        // clients): see `NaverConfig::pool_idle_timeout`.
        .pool_idle_timeout(config.pool_idle_timeout)
        .user_agent(concat!("ordersync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| NaverError::Config(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let c = Credentials::own_store("app", "$2a$04$abcdefghijklmnopqrstuv");
        let shown = format!("{c:?}");
        assert!(
            shown.contains("app") && !shown.contains("abcdefghij"),
            "{shown}"
        );
    }

    fn parse(json: serde_json::Value) -> Result<Credentials, String> {
        serde_json::from_value::<Credentials>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn own_store_is_the_default_and_agency_must_be_asked_for() {
        let secret = "$2a$04$abcdefghijklmnopqrstuv";
        let own = parse(serde_json::json!({"client_id": "app", "client_secret": secret}));
        assert_eq!(own.unwrap().access, Access::OwnStore);
        let own = parse(serde_json::json!({
            "client_id": "app", "client_secret": secret, "mode": "own_store"
        }));
        assert_eq!(own.unwrap().access, Access::OwnStore);
        let agency = parse(serde_json::json!({
            "client_id": "app", "client_secret": secret, "mode": "agency", "account_id": "ncp_1"
        }));
        assert_eq!(
            agency.unwrap().access,
            Access::Agency {
                account_id: "ncp_1".into()
            }
        );
        for (json, why) in [
            (
                serde_json::json!({"client_id": "app", "client_secret": secret, "account_id": ""}),
                "account_id is empty",
            ),
            (
                serde_json::json!({
                    "client_id": "app", "client_secret": secret, "mode": "agency", "account_id": "  "
                }),
                "account_id is empty",
            ),
            (
                serde_json::json!({"client_id": "app", "client_secret": secret, "account_id": "ncp_1"}),
                "without \"mode\": \"agency\"",
            ),
            (
                serde_json::json!({"client_id": "app", "client_secret": secret, "mode": "agency"}),
                "needs the linked seller's account_id",
            ),
            (
                serde_json::json!({"client_id": "app", "client_secret": secret, "mode": "SELLER"}),
                "mode must be",
            ),
            (
                serde_json::json!({"client_id": "", "client_secret": secret}),
                "client_id is empty",
            ),
        ] {
            let error = parse(json.clone()).unwrap_err();
            assert!(error.contains(why), "{json}: {error}");
            assert!(!error.contains("abcdefghij"), "{error}");
        }
    }

    #[test]
    fn agency_mode_calls_the_partner_path() {
        assert_eq!(
            partner_base_url(DEFAULT_BASE_URL).as_deref(),
            Some("https://api.commerce.naver.com/partner")
        );
        assert_eq!(
            partner_base_url("http://127.0.0.1:9/external").as_deref(),
            Some("http://127.0.0.1:9/partner")
        );
        assert_eq!(partner_base_url("http://127.0.0.1:9/external/v2"), None);
        assert_eq!(partner_base_url("http://127.0.0.1:9"), None);
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

    /// A keep-alive HTTP/1.1 server that answers every request `200 ok` and counts the
    /// connections it accepted.
    async fn counting_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let accepted = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        // Requests without a body: each ends with an empty line.
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if socket.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    /// The default drops a connection idle for 3 s (NAVER's gateway would have); a client
    /// configured to keep it longer reuses it, so the count does see reuse. Slowness only
    /// lengthens the idle gap, which cannot make the first half pass wrongly.
    #[tokio::test]
    async fn idle_connections_are_not_reused_after_about_a_second() {
        use std::sync::atomic::Ordering;
        assert!(NaverConfig::default().pool_idle_timeout <= Duration::from_secs(1));
        for (idle, connections) in [
            (NaverConfig::default().pool_idle_timeout, 2),
            (Duration::from_secs(600), 1),
        ] {
            let (url, accepted) = counting_server().await;
            let http = http_client(&NaverConfig {
                pool_idle_timeout: idle,
                ..NaverConfig::default()
            })
            .unwrap();
            for i in 0..2 {
                if i > 0 {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                let answer = http.get(&url).send().await.unwrap();
                assert_eq!(answer.text().await.unwrap(), "ok");
            }
            assert_eq!(
                accepted.load(Ordering::SeqCst),
                connections,
                "idle {idle:?}"
            );
        }
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
