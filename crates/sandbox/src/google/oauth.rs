//! The OAuth 2.0 token endpoint for service accounts (JWT-bearer grant), as yup-oauth2 12 uses
//! it: `POST {token_uri}` with a form body `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
//! &assertion=<JWT>`, the JWT signed RS256 by the key in the service-account JSON.
//!
//! The fake checks what Google checks: the signature against the sandbox key pair's public key,
//! `iss` (the key's `client_email`), `aud` (= `token_uri`), `iat`/`exp` (a short-lived token,
//! 60 s clock skew), no `sub` (no domain-wide delegation for the test account) and the scope:
//! exactly `https://www.googleapis.com/auth/spreadsheets`. Errors use OAuth's JSON shape
//! `{"error": "...", "error_description": "..."}`.
//!
//! The key pair is made when a process first needs it ([`sandbox_key`]) and lives only in that
//! process's memory and the key files it hands out: no private key is compiled into any binary
//! (the `ordersync` command ships this crate for its demo).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Value, json};

use super::routes::form_pairs;

/// A throwaway RSA-2048 key pair for the fake service account. It opens nothing real.
#[derive(Debug)]
pub struct SandboxKey {
    /// The private key, PKCS#8 PEM, as a service-account JSON file carries it.
    pub private_key_pem: String,
    /// The public key, PKCS#1 `RSAPublicKey` DER, which verifies JWT signatures.
    pub public_key_der: Vec<u8>,
}

/// This process's sandbox key pair, made on first use (about half a second: RSA key generation
/// is a prime search) and shared by every fake Google the process starts.
pub fn sandbox_key() -> &'static SandboxKey {
    static KEY: std::sync::OnceLock<SandboxKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        use rsa::pkcs8::EncodePrivateKey as _;
        // A failure here is the OS's random source or the rsa crate failing on its own output:
        // nothing a caller could handle, and the sandbox cannot work without a key.
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
            .expect("generate the sandbox RSA key pair");
        let private_key_pem = key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .expect("encode the sandbox private key")
            .to_string();
        let public_key_der = key
            .to_public_key()
            .to_pkcs1_der()
            .expect("encode the sandbox public key")
            .as_bytes()
            .to_vec();
        SandboxKey {
            private_key_pem,
            public_key_der,
        }
    })
}
/// The fake service account's e-mail (the JWT `iss`).
pub const TEST_CLIENT_EMAIL: &str = "ordersync-test@ordersync-testkit.iam.gserviceaccount.com";
/// The only scope the fake grants.
pub const SPREADSHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";
/// The JWT-bearer grant type.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of an issued access token, as Google's.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Allowed clock skew for `iat`.
const SKEW_SECS: i64 = 60;

/// yup-oauth2 encodes JWT parts with padded URL-safe base64; other signers omit the padding.
const JWT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An OAuth error answer: HTTP status, `error`, `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

/// The access tokens issued so far.
#[derive(Default)]
pub(crate) struct Tokens {
    issued: HashMap<String, Issued>,
    next: u64,
}

struct Issued {
    account: String,
    expires: Instant,
}

impl Tokens {
    /// The account a bearer token belongs to, if it was issued here and has not expired.
    pub(crate) fn account(&self, token: &str, now: Instant) -> Option<&str> {
        self.issued
            .get(token)
            .filter(|t| t.expires > now)
            .map(|t| t.account.as_str())
    }

    /// Issues a token for the test account without a JWT exchange.
    pub(crate) fn issue_for_test(&mut self) -> String {
        self.issue(TEST_CLIENT_EMAIL, Instant::now())
    }

    fn issue(&mut self, account: &str, now: Instant) -> String {
        self.next += 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let token = format!("ya29.fake-{:04}-{nanos:08x}", self.next);
        self.issued.insert(
            token.clone(),
            Issued {
                account: account.to_owned(),
                expires: now + TOKEN_LIFETIME,
            },
        );
        token
    }
}

/// Handles one token request body; on success returns the token response JSON.
pub(crate) fn exchange(
    tokens: &mut Tokens,
    content_type: Option<&str>,
    body: &[u8],
    token_uri: &str,
    now: i64,
) -> Result<Value, OAuthError> {
    let form_type = content_type
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .is_some_and(|t| t.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(OAuthError::new(
            400,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let body = std::str::from_utf8(body)
        .map_err(|_| OAuthError::new(400, "invalid_request", "body is not UTF-8"))?;
    let pairs = form_pairs(body)
        .map_err(|e| OAuthError::new(400, "invalid_request", format!("bad form body: {e}")))?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match field("grant_type") {
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            ));
        }
        None => {
            return Err(OAuthError::new(
                400,
                "invalid_request",
                "Missing required parameter: grant_type",
            ));
        }
    }
    let assertion = field("assertion").ok_or_else(|| {
        OAuthError::new(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        )
    })?;
    let claims = verify_jwt(assertion)?;
    check_claims(&claims, token_uri, now)?;
    let token = tokens.issue(TEST_CLIENT_EMAIL, Instant::now());
    Ok(json!({
        "access_token": token,
        "expires_in": TOKEN_LIFETIME.as_secs(),
        "token_type": "Bearer",
    }))
}

fn invalid_grant(description: impl Into<String>) -> OAuthError {
    OAuthError::new(400, "invalid_grant", description)
}

/// Decodes a compact JWS, checks the RS256 signature, and returns the claims object.
pub(crate) fn verify_jwt(assertion: &str) -> Result<Value, OAuthError> {
    let mut parts = assertion.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_grant(
            "Invalid JWT: not a compact JWS (header.claims.signature)",
        ));
    };
    let decode = |part: &str, what: &str| {
        JWT_BASE64
            .decode(part)
            .map_err(|e| invalid_grant(format!("Invalid JWT: {what} is not base64url: {e}")))
    };
    let header: Value = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|e| invalid_grant(format!("Invalid JWT: header is not JSON: {e}")))?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(invalid_grant(format!(
            "Invalid JWT: alg must be RS256, header was {header}"
        )));
    }
    let signature = decode(signature, "signature")?;
    let signed_len = assertion.len() - assertion.rsplit('.').next().map_or(0, str::len) - 1;
    let signed = &assertion.as_bytes()[..signed_len];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &sandbox_key().public_key_der)
        .verify(signed, &signature)
        .map_err(|_| invalid_grant("Invalid JWT Signature."))?;
    let claims: Value = serde_json::from_slice(&decode(claims, "claims")?)
        .map_err(|e| invalid_grant(format!("Invalid JWT: claims are not JSON: {e}")))?;
    if !claims.is_object() {
        return Err(invalid_grant("Invalid JWT: claims are not a JSON object"));
    }
    Ok(claims)
}

/// Checks `iss`, `aud`, `iat`, `exp`, `sub` and `scope` of verified claims at `now` (Unix s).
pub(crate) fn check_claims(claims: &Value, token_uri: &str, now: i64) -> Result<(), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(TEST_CLIENT_EMAIL) {
        return Err(invalid_grant(format!(
            "Invalid grant: account not found (iss {:?}; the fake knows only {TEST_CLIENT_EMAIL})",
            claims.get("iss")
        )));
    }
    if text("aud") != Some(token_uri) {
        return Err(invalid_grant(format!(
            "Invalid JWT: Failed audience check. The right audience is {token_uri}"
        )));
    }
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(invalid_grant("Invalid JWT: iat and exp must be integers"));
    };
    let timeframe = exp <= now
        || iat > now + SKEW_SECS
        || exp <= iat
        || exp - iat > TOKEN_LIFETIME.as_secs() as i64;
    if timeframe {
        return Err(invalid_grant(
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable \
             timeframe. Check your iat and exp values in the JWT claim.",
        ));
    }
    match claims.get("sub") {
        None | Some(Value::Null) => {}
        Some(_) => {
            return Err(OAuthError::new(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client \
                 not authorized for any of the scopes requested. (The fake's test account has no \
                 domain-wide delegation: do not set a subject.)",
            ));
        }
    }
    match text("scope") {
        Some(SPREADSHEETS_SCOPE) => Ok(()),
        other => Err(OAuthError::new(
            400,
            "invalid_scope",
            format!(
                "Invalid OAuth scope or ID token audience provided. (The fake grants exactly \
                 {SPREADSHEETS_SCOPE}; requested {other:?}.)"
            ),
        )),
    }
}

/// The service-account key JSON for the sandbox key pair, with `token_uri` pointing at the fake.
pub(crate) fn service_account_key_json(token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "ordersync-testkit",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": sandbox_key().private_key_pem,
        "client_email": TEST_CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": format!(
            "https://www.googleapis.com/robot/v1/metadata/x509/{}",
            TEST_CLIENT_EMAIL.replace('@', "%40")
        ),
        "universe_domain": "googleapis.com",
    })
    .to_string()
}
