//! One TLS crypto provider for the whole process: rustls with ring.
//!
//! The AWS SDK client is built on ring explicitly (see `ordersync_aws::config::https_client`);
//! reqwest (NAVER) and hyper-rustls (Google) take the process default, which this installs.
//! Two providers compiled in would make rustls refuse to choose at run time.

/// Installs ring as the process-wide rustls provider. Safe to call many times.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want either way.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
