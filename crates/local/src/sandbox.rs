//! Clients wired to the sandbox servers (`ordersync-sandbox`): a NAVER source on the fake shop and a Sheets
//! client on the fake Google, configured exactly as against the real APIs except for the base
//! URLs and the fakes' own credentials. The demo and the end-to-end tests share them, so every
//! sandbox run talks to the fakes the same way.
//!
//! This module starts no server; callers choose the fakes' configuration.

use ordersync_naver::source::EnvCredentials;
use ordersync_naver::{Access, Credentials, NaverConfig, NaverSource, config::http_client};
use ordersync_sandbox::google::FakeGoogle;
use ordersync_sandbox::naver::FakeNaver;
use ordersync_sheets::{SheetsClient, SheetsConfig};

/// A NAVER source on `naver`, signing with `client_secret` (the fake's own, or a wrong one to
/// see an `Ordersync.Auth` failure).
pub fn naver_source(
    naver: &FakeNaver,
    client_secret: &str,
) -> Result<NaverSource<EnvCredentials>, String> {
    let config = NaverConfig {
        base_url: naver.base_url(),
        ..NaverConfig::default()
    };
    let http = http_client(&config).map_err(|e| e.to_string())?;
    Ok(NaverSource::new(
        http,
        config,
        EnvCredentials::new(Credentials {
            client_id: naver.client_id().to_owned(),
            client_secret: client_secret.to_owned(),
            access: Access::OwnStore,
        }),
    ))
}

/// A Sheets client on `google`, with its service-account key.
pub async fn sheets_client(google: &FakeGoogle) -> Result<SheetsClient, String> {
    SheetsClient::new(
        &google.service_account_key_json(),
        SheetsConfig {
            base_url: google.base_url(),
            ..SheetsConfig::default()
        },
    )
    .await
    .map_err(|e| e.to_string())
}
