//! The process-wide AWS configuration every SDK client here is built from (S3, Secrets Manager,
//! Step Functions): region, credentials and endpoints from the environment, as every AWS SDK
//! reads them, and one HTTPS client on rustls + ring.
//!
//! Why ring: google-sheets4 brings ring, the AWS SDK's default HTTPS client would bring
//! aws-lc-rs, and two providers in one binary make rustls refuse to pick one at run time.

/// An HTTPS client for the AWS SDK on rustls + ring (no aws-lc-rs in our binaries).
pub fn https_client() -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Loads the shared AWS configuration from the environment with [`https_client`].
pub async fn load() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}
