//! The token endpoint's rules (reference §1): the bcrypt `client_secret_sign`, the 5-minute
//! timestamp validity, form-body-only parameters, and one token per resource that is handed
//! out again while it has 30 minutes or more left.
//!
//! Strict where NAVER is documented or reported to be: parameters in the query string get 415
//! (as a 2026 client fix reports), a body that is not `application/x-www-form-urlencoded` gets
//! 415, every required parameter must be present exactly once, the signature must be exactly
//! `base64(bcrypt(client_id + "_" + timestamp, salt = client_secret))` with the `$2a$` prefix.
//!
//! Invented (NAVER's token error codes are not documented beyond their shape): malformed or
//! missing parameters, stale or future timestamps and an `account_id` that is not the linked
//! seller answer 400 `BadRequest` with `invalidInputs` naming the parameter; an unknown client
//! or a wrong signature answers 401 `Unauthorized`; the 415s use `UnsupportedMediaType`. No
//! refresh tokens and no scopes (NAVER has neither).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::server::{ApiError, parse_form};
use crate::orders::Rng;

/// How long a token lives (`expires_in` = 10800).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3 * 3600);

/// A token with at least this much left is handed out again instead of a new one.
pub const REUSE_THRESHOLD: Duration = Duration::from_secs(30 * 60);

/// How far `timestamp` may be from the server clock, either way.
pub const TIMESTAMP_VALIDITY_MS: i64 = 5 * 60 * 1000;

/// The token request's parameters; any of them in the query string is refused.
pub const TOKEN_PARAMS: [&str; 6] = [
    "client_id",
    "timestamp",
    "grant_type",
    "client_secret_sign",
    "type",
    "account_id",
];

/// bcrypt's own base64 alphabet (not RFC 4648's order).
const BCRYPT_ALPHABET: &[u8; 64] =
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Decodes bcrypt's 22-character salt to its 16 bytes; the last character's low 4 bits are
/// ignored, as bcrypt itself does (which is why the official vector's `v` comes back as `u`).
fn decode_salt(salt: &str) -> Option<[u8; 16]> {
    if salt.len() != 22 {
        return None;
    }
    let mut bits: u128 = 0;
    for (i, c) in salt.bytes().enumerate() {
        let v = BCRYPT_ALPHABET.iter().position(|&a| a == c)? as u128;
        // 21 × 6 bits, then only the top 2 bits of the last character: 128 bits in all.
        bits = if i < 21 {
            (bits << 6) | v
        } else {
            (bits << 2) | (v >> 4)
        };
    }
    Some(bits.to_be_bytes())
}

/// `client_secret_sign` for `client_id` at `timestamp_ms`, or `None` when `client_secret` is
/// not a `$2a$NN$` + 22-character bcrypt salt.
///
/// Deliberately written apart from `ordersync_naver::sign` rather than shared with it: the fake
/// checks the client, so a bug they shared would pass unseen. Both are pinned to NAVER's official
/// test vector in their own tests.
pub fn client_secret_sign(
    client_id: &str,
    client_secret: &str,
    timestamp_ms: i64,
) -> Option<String> {
    let rest = client_secret.strip_prefix("$2a$")?;
    let (cost, salt) = rest.split_once('$')?;
    if cost.len() != 2 || !cost.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let cost: u32 = cost.parse().ok()?;
    let salt = decode_salt(salt)?;
    let hashed = bcrypt::hash_with_salt(format!("{client_id}_{timestamp_ms}"), cost, salt).ok()?;
    Some(STANDARD.encode(hashed.format_for_version(bcrypt::Version::TwoA)))
}

/// A random bcrypt salt string with cost 04 (fast in tests), canonical in its last character.
pub(crate) fn generate_secret(rng: &mut Rng) -> String {
    let mut secret = String::from("$2a$04$");
    for _ in 0..21 {
        secret.push(*rng.pick(BCRYPT_ALPHABET) as char);
    }
    // Only these characters have zero low bits, so the secret is what bcrypt echoes back.
    secret.push(*rng.pick(b".Oeu") as char);
    secret
}

/// The application and seller the fake knows.
pub(crate) struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub account_id: String,
}

/// A validated token request: which resource the token is for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `SELF` or `SELLER:<account_id>`; one token per resource.
    pub resource: String,
    /// Whether the form carried an `account_id` (NAVER ignores it with `type=SELF` when issuing
    /// the token, and penalises the application for it the next day).
    pub sent_account_id: bool,
}

/// Checks a token request. `query` and `content_type` are raw; `now_ms` is the server clock.
pub(crate) fn check_request(
    creds: &Credentials,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    now_ms: i64,
) -> Result<Grant, ApiError> {
    if let Some(query) = query {
        // Lossy on purpose: any hint of a token parameter in the URL is the mistake we catch.
        let in_query = query
            .split('&')
            .filter_map(|pair| pair.split('=').next())
            .find(|name| TOKEN_PARAMS.contains(name));
        if let Some(name) = in_query {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "토큰 발급 파라미터는 application/x-www-form-urlencoded 본문으로 보내야 합니다 \
                     ({name} was sent in the query string)"
                ),
            ));
        }
    }
    let form_typed = content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_typed {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "Content-Type must be application/x-www-form-urlencoded (got {})",
                content_type.unwrap_or("none")
            ),
        ));
    }
    let body = std::str::from_utf8(body)
        .map_err(|_| bad("body", "Invalid", "the form body is not UTF-8"))?;
    let pairs =
        parse_form(body).map_err(|e| bad("body", "Invalid", &format!("malformed form: {e}")))?;
    let mut params: HashMap<&str, &str> = HashMap::new();
    for (name, value) in &pairs {
        if params.insert(name, value).is_some() {
            return Err(bad(name, "Duplicated", "parameter given more than once"));
        }
    }

    let mut missing = ApiError::new(400, "BadRequest", "필수 파라미터가 누락되었습니다.");
    for name in [
        "client_id",
        "timestamp",
        "grant_type",
        "client_secret_sign",
        "type",
    ] {
        if params.get(name).is_none_or(|v| v.is_empty()) {
            missing = missing.input(name, "NotBlank", "must not be blank");
        }
    }
    if !missing.invalid_inputs.is_empty() {
        return Err(missing);
    }
    let get = |name: &str| params.get(name).copied().unwrap_or_default();

    if get("grant_type") != "client_credentials" {
        return Err(bad("grant_type", "Invalid", "must be client_credentials"));
    }
    let resource = match get("type") {
        "SELF" => "SELF".to_owned(),
        "SELLER" => match params.get("account_id") {
            Some(&account) if account == creds.account_id => format!("SELLER:{account}"),
            Some(&account) if !account.is_empty() => {
                return Err(bad(
                    "account_id",
                    "Invalid",
                    "this application is not linked to that seller",
                ));
            }
            _ => return Err(bad("account_id", "NotBlank", "required when type=SELLER")),
        },
        _ => return Err(bad("type", "Invalid", "must be SELF or SELLER")),
    };

    let raw_ts = get("timestamp");
    let timestamp: i64 = raw_ts
        .parse()
        .ok()
        .filter(|_| raw_ts.bytes().all(|c| c.is_ascii_digit()))
        .ok_or_else(|| bad("timestamp", "Invalid", "must be Unix time in milliseconds"))?;
    if timestamp < now_ms - TIMESTAMP_VALIDITY_MS {
        let hint = if raw_ts.len() <= 10 {
            " (this looks like seconds; NAVER wants milliseconds)"
        } else {
            ""
        };
        return Err(bad(
            "timestamp",
            "Expired",
            &format!("timestamp is more than 5 minutes old{hint}"),
        ));
    }
    if timestamp > now_ms + TIMESTAMP_VALIDITY_MS {
        return Err(bad(
            "timestamp",
            "Future",
            "timestamp is more than 5 minutes in the future",
        ));
    }

    if get("client_id") != creds.client_id {
        return Err(ApiError::new(401, "Unauthorized", "unknown client_id"));
    }
    // The signature is checked last and exactly: same bytes as NAVER's samples produce.
    let expected = client_secret_sign(&creds.client_id, &creds.client_secret, timestamp);
    if expected.as_deref() != Some(get("client_secret_sign")) {
        return Err(ApiError::new(
            401,
            "Unauthorized",
            "client_secret_sign does not match client_id and timestamp",
        ));
    }
    Ok(Grant {
        resource,
        sent_account_id: params.contains_key("account_id"),
    })
}

fn bad(name: &str, kind: &str, message: &str) -> ApiError {
    ApiError::new(400, "BadRequest", "유효하지 않은 요청입니다.").input(name, kind, message)
}

/// Issued tokens.
pub(crate) struct Tokens {
    lifetime: Duration,
    /// The current token of each resource.
    current: HashMap<String, String>,
    /// Every token ever issued, by value: which application, and when it stops working.
    issued: HashMap<String, (String, Instant)>,
    rng: Rng,
}

impl Tokens {
    pub fn new(seed: u64) -> Tokens {
        Tokens {
            lifetime: TOKEN_LIFETIME,
            current: HashMap::new(),
            issued: HashMap::new(),
            rng: Rng::new(seed ^ 0x746f_6b65_6e73),
        }
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_lifetime(&mut self, lifetime: Duration) {
        self.lifetime = lifetime;
    }

    /// The resource's current token if it has [`REUSE_THRESHOLD`] or more left, else a new one
    /// (the old one keeps working until it expires). Returns the token, its remaining whole
    /// seconds, and whether it is new.
    pub fn issue(&mut self, client_id: &str, resource: &str, now: Instant) -> (String, u64, bool) {
        if let Some(token) = self.current.get(resource)
            && let Some((_, expires)) = self.issued.get(token)
        {
            let left = expires.saturating_duration_since(now);
            if left >= REUSE_THRESHOLD {
                return (token.clone(), left.as_secs(), false);
            }
        }
        let token = loop {
            let candidate = format!("{:016x}{:016x}", self.rng.next_u64(), self.rng.next_u64());
            if !self.issued.contains_key(&candidate) {
                break candidate;
            }
        };
        self.issued
            .insert(token.clone(), (client_id.to_owned(), now + self.lifetime));
        self.current.insert(resource.to_owned(), token.clone());
        (token, self.lifetime.as_secs(), true)
    }

    /// The application a live token belongs to.
    pub fn check(&self, token: &str, now: Instant) -> Option<&str> {
        self.issued
            .get(token)
            .filter(|(_, expires)| now < *expires)
            .map(|(client, _)| client.as_str())
    }

    /// Every issued token stops working now.
    pub fn expire_all(&mut self, now: Instant) {
        for (_, expires) in self.issued.values_mut() {
            *expires = (*expires).min(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_vector() {
        let sign = client_secret_sign(
            "aaaabbbbcccc",
            "$2a$10$abcdefghijklmnopqrstuv",
            1643961623299,
        )
        .unwrap();
        assert_eq!(
            sign,
            "JDJhJDEwJGFiY2RlZmdoaWprbG1ub3BxcnN0dXVCVldZSk42T0VPdEx1OFY0cDQxa2IuTnpVaUEzbmsy"
        );
        assert_eq!(
            String::from_utf8(STANDARD.decode(&sign).unwrap()).unwrap(),
            "$2a$10$abcdefghijklmnopqrstuuBVWYJN6OEOtLu8V4p41kb.NzUiA3nk2"
        );
    }

    #[test]
    fn secrets_that_are_not_salts_sign_nothing() {
        for bad in [
            "",
            "$2b$10$abcdefghijklmnopqrstuv",
            "$2a$10$short",
            "$2a$1x$abcdefghijklmnopqrstuv",
            "$2a$10$abcdefghijklmnopqrst!v",
        ] {
            assert_eq!(client_secret_sign("id", bad, 1), None, "{bad}");
        }
    }

    #[test]
    fn generated_secrets_are_canonical_salts() {
        let mut rng = Rng::new(3);
        let secret = generate_secret(&mut rng);
        assert_eq!(secret.len(), 29);
        let hash = STANDARD
            .decode(client_secret_sign("x", &secret, 5).unwrap())
            .unwrap();
        // bcrypt echoes a canonical salt unchanged.
        assert!(String::from_utf8(hash).unwrap().starts_with(&secret));
    }

    #[test]
    fn tokens_are_reused_only_with_30_minutes_left() {
        let mut tokens = Tokens::new(1);
        let t0 = Instant::now();
        let (a, left, new) = tokens.issue("app", "SELF", t0);
        assert!(new);
        assert_eq!(left, 10_800);
        let (again, _, new) = tokens.issue("app", "SELF", t0 + Duration::from_secs(9_000));
        assert_eq!((again.as_str(), new), (a.as_str(), false));
        let (seller, _, _) = tokens.issue("app", "SELLER:s", t0);
        assert_ne!(seller, a);
        let late = t0 + Duration::from_secs(10_800 - 1_799);
        let (b, _, new) = tokens.issue("app", "SELF", late);
        assert!(new && b != a);
        assert_eq!(tokens.check(&a, late), Some("app"));
        assert_eq!(tokens.check(&a, t0 + TOKEN_LIFETIME), None);
        tokens.expire_all(late);
        assert_eq!(tokens.check(&b, late), None);
    }
}
