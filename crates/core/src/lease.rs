//! A lease per spreadsheet tab, so two executions never interleave read-decide-write on the same
//! tab.
//!
//! The lease is a small object at `leases/{spreadsheet_id}/{tab}` in the [`Store`] (the tab
//! title hex-encoded, see [`lease_key`]) holding `{"holder","acquired_at","expires_at","token"}`:
//! the execution name, two RFC 3339 UTC times and a random nonce that makes every lease write a
//! new [`Version`]. No customer data.
//!
//! - [`acquire`]: no lease → create it (`put_if_absent`). A lease of the same holder (a redrive,
//!   or a local rerun with the same execution name) or an expired one → take it over by
//!   compare-and-swap on the version just read; if the swap loses, whoever won is reported.
//!   A live lease of another holder → [`LeaseError::Busy`], retryable.
//! - [`renew`]: compare-and-swap on the lease's own version, pushing `expires_at` to now + TTL.
//!   If anyone else wrote the lease since, [`LeaseError::Lost`] (also named `Busy`).
//! - [`release`]: delete only if still at our version; gone or taken over is not an error.
//!
//! The TTL comes from `ORDERSYNC_LEASE_TTL_S` ([`LeaseConfig::from_env`]).
//!
//! What it does not do:
//! - Fence writes. A holder that stalls past `expires_at` without renewing can be taken over
//!   while it still believes it holds the lease; the sheet API cannot reject its late writes.
//!   Holders must [`renew`] (or check [`Lease::remaining`]) before each write and stop on
//!   `Lost`; the TTL must comfortably exceed the longest gap between renewals.
//! - Correct for clock skew. Expiry is judged by the caller's `now` against the `expires_at`
//!   another machine wrote; Lambda clocks are NTP-synced, and the minimum TTL is 10 s.
//! - Add atomicity the store lacks. The guarantees are those of the store's conditional
//!   operations: atomic on S3; in a local directory, atomic within one process and, across
//!   processes, for creation only (see [`crate::store::dir`]).

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::errors::{Classify, ErrorName};
use crate::store::{Store, StoreError, Version};

/// The environment variable holding the lease lifetime in whole seconds.
pub const TTL_ENV: &str = "ORDERSYNC_LEASE_TTL_S";

/// The lease lifetime when [`TTL_ENV`] is unset.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Allowed lifetimes, in seconds.
pub const TTL_RANGE_S: std::ops::RangeInclusive<u64> = 10..=3600;

/// How often [`acquire`] looks again after losing a race to another writer before giving up
/// with `Busy`.
const ACQUIRE_ATTEMPTS: usize = 4;

/// Tab titles up to this many UTF-8 bytes are hex-encoded into the key; longer ones are hashed
/// (keeps the key segment within the 255-byte file name limit of local filesystems).
const MAX_HEX_TAB_BYTES: usize = 100;

/// Longest spreadsheet id accepted (Google's are 44 characters).
const MAX_SPREADSHEET_ID: usize = 128;

/// Longest holder accepted: Step Functions execution names are 1 to 80 characters.
const MAX_HOLDER_CHARS: usize = 80;

/// How long a lease lives without renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    pub ttl: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig { ttl: DEFAULT_TTL }
    }
}

impl LeaseConfig {
    /// Reads [`TTL_ENV`]: whole seconds in [`TTL_RANGE_S`], [`DEFAULT_TTL`] when unset or empty.
    pub fn from_env(env: &dyn crate::config::Env) -> Result<Self, LeaseError> {
        LeaseConfig::parse(env.var(TTL_ENV).as_deref())
    }

    /// [`LeaseConfig::from_env`] on a given value (`None` = unset).
    pub fn parse(value: Option<&str>) -> Result<Self, LeaseError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(LeaseConfig::default());
        };
        value
            .parse::<u64>()
            .ok()
            .filter(|s| TTL_RANGE_S.contains(s))
            .map(|s| LeaseConfig {
                ttl: Duration::from_secs(s),
            })
            .ok_or_else(|| {
                LeaseError::Config(format!(
                    "{TTL_ENV} must be whole seconds from {} to {}, got `{value}`",
                    TTL_RANGE_S.start(),
                    TTL_RANGE_S.end()
                ))
            })
    }

    /// `now` + TTL, refusing a TTL outside [`TTL_RANGE_S`] (the field is public).
    fn expiry(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, LeaseError> {
        let secs = self.ttl.as_secs();
        TimeDelta::from_std(self.ttl)
            .ok()
            .filter(|_| TTL_RANGE_S.contains(&secs))
            .and_then(|ttl| now.checked_add_signed(ttl))
            .ok_or_else(|| {
                LeaseError::Config(format!(
                    "lease TTL must be from {} to {} s, got {secs} s",
                    TTL_RANGE_S.start(),
                    TTL_RANGE_S.end()
                ))
            })
    }
}

/// Why a lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another execution holds a live lease on the tab.
    #[error("the sheet tab is leased by execution `{holder}` for another {} s", ceil_secs(*expires_in))]
    Busy {
        holder: String,
        expires_in: Duration,
    },
    /// Our lease was taken over (it expired, or the same execution started again) or removed.
    #[error("{}", lost_message(holder.as_deref()))]
    Lost { holder: Option<String> },
    /// The lease TTL is misconfigured.
    #[error("{0}")]
    Config(String),
    /// The spreadsheet id, tab or holder cannot name a lease.
    #[error("{0}")]
    InvalidInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn lost_message(holder: Option<&str>) -> String {
    match holder {
        Some(holder) => {
            format!("the lease on the sheet tab was taken over by execution `{holder}`")
        }
        None => "the lease on the sheet tab expired and is gone".to_owned(),
    }
}

impl Classify for LeaseError {
    fn error_name(&self) -> ErrorName {
        match self {
            LeaseError::Busy { .. } | LeaseError::Lost { .. } => ErrorName::Busy,
            LeaseError::Config(_) => ErrorName::Config,
            LeaseError::InvalidInput(_) => ErrorName::InvalidInput,
            LeaseError::Store(e) => e.error_name(),
        }
    }
}

/// A lease we hold (as of the last acquire or renew).
#[derive(Debug)]
pub struct Lease {
    key: String,
    holder: String,
    version: Version,
    acquired_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl Lease {
    /// The store key of the lease object.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The execution name holding the lease.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The version of the lease object we wrote last.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// When this holder first took the lease (kept across renewals).
    pub fn acquired_at(&self) -> DateTime<Utc> {
        self.acquired_at
    }

    /// When the lease lapses unless renewed.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// Time left before the lease lapses at `now` (zero once lapsed).
    pub fn remaining(&self, now: DateTime<Utc>) -> Duration {
        (self.expires_at - now).to_std().unwrap_or(Duration::ZERO)
    }

    /// Whether less than half the TTL is left: time to [`renew`] before the next write.
    pub fn should_renew(&self, config: &LeaseConfig, now: DateTime<Utc>) -> bool {
        self.remaining(now) < config.ttl / 2
    }
}

/// The stored lease object.
#[derive(Debug, Serialize, Deserialize)]
struct LeaseObject {
    holder: String,
    acquired_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    token: String,
}

impl LeaseObject {
    fn new(holder: &str, acquired_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> Self {
        LeaseObject {
            holder: holder.to_owned(),
            acquired_at,
            expires_at,
            token: new_token(),
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a lease object always serialises")
    }

    fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// 128 random-enough bits: std's per-process random hash keys over a counter, the process id
/// and the clock. Unique per write, which is all the token is for.
fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(i);
        hasher.write_u64(n);
        hasher.write_u32(std::process::id());
        hasher.write_u128(nanos);
        *half = hasher.finish();
    }
    format!("{:016x}{:016x}", halves[0], halves[1])
}

/// The store key of the lease on `tab` of `spreadsheet_id`: `leases/{spreadsheet_id}/{tab}`,
/// where the tab title (any Unicode, `/`, spaces) becomes one safe path segment: the lowercase
/// hex of its UTF-8 when that is at most 100 bytes, `sha256-{hex digest}` otherwise. The title
/// is lower-cased first: Google's titles are unique without regard to case, so `Orders` and
/// `orders` are one tab and must be one lease. Lowercase hex also keeps the segment the same on
/// case-insensitive filesystems.
pub fn lease_key(spreadsheet_id: &str, tab: &str) -> Result<String, LeaseError> {
    let id_ok = (1..=MAX_SPREADSHEET_ID).contains(&spreadsheet_id.len())
        && spreadsheet_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(LeaseError::InvalidInput(format!(
            "a spreadsheet id must be 1 to {MAX_SPREADSHEET_ID} characters of A-Z, a-z, 0-9, _ and -"
        )));
    }
    if tab.is_empty() {
        return Err(LeaseError::InvalidInput(
            "a sheet tab title must not be empty".into(),
        ));
    }
    let tab = tab.to_lowercase();
    let segment = if tab.len() <= MAX_HEX_TAB_BYTES {
        hex::encode(tab.as_bytes())
    } else {
        format!("sha256-{}", hex::encode(Sha256::digest(tab.as_bytes())))
    };
    Ok(format!("leases/{spreadsheet_id}/{segment}"))
}

fn validate_holder(holder: &str) -> Result<(), LeaseError> {
    let ok = !holder.is_empty()
        && holder.chars().count() <= MAX_HOLDER_CHARS
        && !holder.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(LeaseError::InvalidInput(format!(
            "a lease holder must be an execution name: 1 to {MAX_HOLDER_CHARS} characters, no whitespace or control characters"
        )))
    }
}

/// Takes the lease on `tab` of `spreadsheet_id` for `holder` (the execution name) until
/// `now` + TTL. See the module docs for the rules.
pub async fn acquire(
    store: &impl Store,
    spreadsheet_id: &str,
    tab: &str,
    holder: &str,
    config: &LeaseConfig,
    now: DateTime<Utc>,
) -> Result<Lease, LeaseError> {
    validate_holder(holder)?;
    let key = lease_key(spreadsheet_id, tab)?;
    let expires_at = config.expiry(now)?;
    let mut last_seen: Option<(String, DateTime<Utc>)> = None;
    for _ in 0..ACQUIRE_ATTEMPTS {
        let object = LeaseObject::new(holder, now, expires_at);
        let written = match store.get_versioned(&key).await? {
            None => store.put_if_absent(&key, object.to_bytes()).await?,
            Some((bytes, version)) => {
                match LeaseObject::parse(&bytes) {
                    Some(current) if current.holder != holder && current.expires_at > now => {
                        return Err(busy(current.holder, current.expires_at, now));
                    }
                    Some(current) => {
                        if current.holder == holder {
                            tracing::info!(%key, holder, "taking over this execution's own lease");
                        } else {
                            tracing::info!(
                                %key,
                                holder,
                                previous = %current.holder,
                                expired_at = %current.expires_at,
                                "taking over an expired lease"
                            );
                        }
                        last_seen = Some((current.holder, current.expires_at));
                    }
                    None => {
                        // Our writes are whole objects, so this is tampering; blocking forever
                        // on it would need an operator, so treat it as lapsed.
                        tracing::warn!(%key, "lease object unreadable; taking it over");
                    }
                }
                store
                    .put_if_match(&key, object.to_bytes(), &version)
                    .await?
            }
        };
        if let Some(version) = written {
            return Ok(Lease {
                key,
                holder: holder.to_owned(),
                version,
                acquired_at: now,
                expires_at,
            });
        }
        // Someone wrote the lease between our read and our write: look again to see who.
    }
    let (holder, until) = last_seen.unwrap_or_else(|| ("unknown".to_owned(), now));
    Err(busy(holder, until, now))
}

fn busy(holder: String, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> LeaseError {
    LeaseError::Busy {
        holder,
        expires_in: (expires_at - now).to_std().unwrap_or(Duration::ZERO),
    }
}

/// Extends `lease` to `now` + TTL, if it is still ours (compare-and-swap on its version). On
/// [`LeaseError::Lost`] the caller must stop writing.
pub async fn renew(
    store: &impl Store,
    lease: &mut Lease,
    config: &LeaseConfig,
    now: DateTime<Utc>,
) -> Result<(), LeaseError> {
    let expires_at = config.expiry(now)?;
    let object = LeaseObject::new(&lease.holder, lease.acquired_at, expires_at);
    match store
        .put_if_match(&lease.key, object.to_bytes(), &lease.version)
        .await?
    {
        Some(version) => {
            lease.version = version;
            lease.expires_at = expires_at;
            Ok(())
        }
        None => {
            // Only to name the new holder; a failed read still means the lease is lost.
            let holder = match store.get_versioned(&lease.key).await {
                Ok(Some((bytes, _))) => LeaseObject::parse(&bytes).map(|o| o.holder),
                _ => None,
            };
            Err(LeaseError::Lost { holder })
        }
    }
}

/// Gives the lease up: deletes it if it is still at our version. Already gone or taken over is
/// fine (the lease was not ours to delete any more); only a store failure is an error, and the
/// lease then simply lapses at its expiry.
pub async fn release(store: &impl Store, lease: Lease) -> Result<(), LeaseError> {
    let deleted = store.delete_if_match(&lease.key, &lease.version).await?;
    if !deleted {
        tracing::info!(key = %lease.key, holder = %lease.holder, "lease already gone or taken over");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DirStore;

    const SHEET: &str = "1AbC-dEf_123";
    const TAB: &str = "주문 내역/2026";

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn at(secs: i64) -> DateTime<Utc> {
        t0() + TimeDelta::seconds(secs)
    }

    fn config() -> LeaseConfig {
        LeaseConfig::default()
    }

    fn store() -> (tempfile::TempDir, DirStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("store")).unwrap();
        (dir, store)
    }

    async fn stored(store: &DirStore) -> serde_json::Value {
        let key = lease_key(SHEET, TAB).unwrap();
        let bytes = store.get(&key).await.unwrap().expect("lease object");
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn acquire_writes_only_holder_times_and_token() {
        let (_dir, store) = store();
        let lease = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        assert_eq!(lease.holder(), "exec-a");
        assert_eq!(lease.acquired_at(), t0());
        assert_eq!(lease.expires_at(), at(300));
        assert_eq!(lease.key(), lease_key(SHEET, TAB).unwrap());
        let object = stored(&store).await;
        let fields: Vec<_> = object.as_object().unwrap().keys().cloned().collect();
        assert_eq!(fields, ["acquired_at", "expires_at", "holder", "token"]);
        assert_eq!(object["holder"], "exec-a");
        assert_eq!(object["expires_at"], "2026-03-01T09:05:00Z");
        assert!(!object.to_string().contains("주문"), "no tab title inside");
    }

    #[tokio::test]
    async fn live_lease_of_another_holder_is_busy() {
        let (_dir, store) = store();
        let _a = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        let err = acquire(&store, SHEET, TAB, "exec-b", &config(), at(100))
            .await
            .unwrap_err();
        match &err {
            LeaseError::Busy { holder, expires_in } => {
                assert_eq!(holder, "exec-a");
                assert_eq!(*expires_in, Duration::from_secs(200));
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(err.error_name(), ErrorName::Busy);
        assert!(err.error_name().retryable());
        assert_eq!(
            err.to_string(),
            "the sheet tab is leased by execution `exec-a` for another 200 s"
        );
        // The busy attempt changed nothing.
        assert_eq!(stored(&store).await["holder"], "exec-a");
    }

    #[tokio::test]
    async fn same_holder_takes_over_at_once_and_the_old_handle_is_lost() {
        let (_dir, store) = store();
        let mut first = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        let mut second = acquire(&store, SHEET, TAB, "exec-a", &config(), at(1))
            .await
            .unwrap();
        assert_ne!(first.version(), second.version());
        assert_eq!(second.expires_at(), at(301));
        let err = renew(&store, &mut first, &config(), at(2))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LeaseError::Lost { holder: Some(h) } if h == "exec-a"),
            "{err:?}"
        );
        assert_eq!(err.error_name(), ErrorName::Busy);
        // Releasing the stale handle leaves the new lease alone.
        release(&store, first).await.unwrap();
        renew(&store, &mut second, &config(), at(3)).await.unwrap();
        assert_eq!(second.expires_at(), at(303));
    }

    #[tokio::test]
    async fn expired_lease_is_taken_over_and_the_old_holder_cannot_harm_it() {
        let (_dir, store) = store();
        let mut a = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        // Exactly at expiry the lease is lapsed.
        let mut b = acquire(&store, SHEET, TAB, "exec-b", &config(), at(300))
            .await
            .unwrap();
        assert_eq!(b.holder(), "exec-b");
        let err = renew(&store, &mut a, &config(), at(301)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the lease on the sheet tab was taken over by execution `exec-b`"
        );
        release(&store, a).await.unwrap();
        assert_eq!(stored(&store).await["holder"], "exec-b");
        renew(&store, &mut b, &config(), at(302)).await.unwrap();
        let err = acquire(&store, SHEET, TAB, "exec-c", &config(), at(303))
            .await
            .unwrap_err();
        assert!(matches!(err, LeaseError::Busy { ref holder, .. } if holder == "exec-b"));
    }

    #[tokio::test]
    async fn renew_extends_and_keeps_acquired_at() {
        let (_dir, store) = store();
        let mut a = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        assert!(!a.should_renew(&config(), at(100)));
        assert!(a.should_renew(&config(), at(200)));
        let before = a.version().clone();
        renew(&store, &mut a, &config(), at(200)).await.unwrap();
        assert_ne!(a.version(), &before);
        assert_eq!(a.expires_at(), at(500));
        assert_eq!(a.acquired_at(), t0());
        assert_eq!(a.remaining(at(450)), Duration::from_secs(50));
        assert_eq!(a.remaining(at(900)), Duration::ZERO);
        let object = stored(&store).await;
        assert_eq!(object["acquired_at"], "2026-03-01T09:00:00Z");
        assert_eq!(object["expires_at"], "2026-03-01T09:08:20Z");
        // Past the original expiry but within the renewed one: still busy for others.
        let err = acquire(&store, SHEET, TAB, "exec-b", &config(), at(400))
            .await
            .unwrap_err();
        assert!(
            matches!(err, LeaseError::Busy { expires_in, .. } if expires_in == Duration::from_secs(100))
        );
    }

    #[tokio::test]
    async fn renew_after_release_or_deletion_is_lost_without_holder() {
        let (_dir, store) = store();
        let mut a = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        let key = a.key().to_owned();
        std::fs::remove_file(store.root().join(&key)).unwrap();
        let err = renew(&store, &mut a, &config(), at(10)).await.unwrap_err();
        assert!(matches!(err, LeaseError::Lost { holder: None }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the lease on the sheet tab expired and is gone"
        );
        // Releasing a lease that is gone is fine.
        release(&store, a).await.unwrap();
    }

    #[tokio::test]
    async fn release_frees_the_tab_at_once() {
        let (_dir, store) = store();
        let a = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        let key = a.key().to_owned();
        release(&store, a).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        let b = acquire(&store, SHEET, TAB, "exec-b", &config(), at(1))
            .await
            .unwrap();
        assert_eq!(b.holder(), "exec-b");
    }

    #[tokio::test]
    async fn leases_on_other_tabs_and_sheets_are_independent() {
        let (_dir, store) = store();
        acquire(&store, SHEET, "Orders", "exec-a", &config(), t0())
            .await
            .unwrap();
        acquire(&store, SHEET, "Returns", "exec-b", &config(), t0())
            .await
            .unwrap();
        // `orders` is the same tab for Google (titles ignore case), so the same lease.
        let e = acquire(&store, SHEET, "orders", "exec-d", &config(), t0())
            .await
            .unwrap_err();
        assert!(matches!(e, LeaseError::Busy { .. }), "{e:?}");
        acquire(&store, "other-sheet", "Orders", "exec-c", &config(), t0())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn unreadable_lease_object_is_taken_over() {
        let (_dir, store) = store();
        let key = lease_key(SHEET, TAB).unwrap();
        store.put(&key, b"{not json".to_vec()).await.unwrap();
        let lease = acquire(&store, SHEET, TAB, "exec-a", &config(), t0())
            .await
            .unwrap();
        assert_eq!(lease.holder(), "exec-a");
    }

    #[test]
    fn tab_titles_map_to_distinct_single_safe_segments() {
        let long = "가".repeat(200);
        let tabs = [
            "Orders",
            "a/b",
            "a b",
            "a%2Fb",
            "주문 내역",
            "../..",
            ".",
            "탭\u{0}",
            long.as_str(),
        ];
        let mut seen = std::collections::HashSet::new();
        for tab in tabs {
            let key = lease_key(SHEET, tab).unwrap();
            let segment = key.strip_prefix(&format!("leases/{SHEET}/")).unwrap();
            assert!(!segment.is_empty() && segment.len() <= 200, "{key}");
            assert!(
                segment
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-'),
                "{key}"
            );
            assert!(!segment.starts_with('.'), "{key}");
            assert!(seen.insert(key), "{tab} collides");
        }
        assert_eq!(
            lease_key(SHEET, "a/b").unwrap(),
            format!("leases/{SHEET}/612f62")
        );
        // One tab for Google, so one lease: titles are compared without regard to case.
        assert_eq!(
            lease_key(SHEET, "Orders").unwrap(),
            lease_key(SHEET, "orders").unwrap()
        );
        assert_eq!(
            lease_key(SHEET, "ÄRGER").unwrap(),
            lease_key(SHEET, "ärger").unwrap()
        );
        assert!(lease_key(SHEET, &long).unwrap().contains("/sha256-"));
    }

    #[tokio::test]
    async fn hostile_tab_titles_work_in_the_directory_store() {
        let (_dir, store) = store();
        let long = "가".repeat(200);
        for tab in ["a/b", "../..", " ", "주문 내역", long.as_str()] {
            let lease = acquire(&store, SHEET, tab, "exec-a", &config(), t0())
                .await
                .unwrap_or_else(|e| panic!("{tab}: {e}"));
            assert!(store.root().join(lease.key()).is_file());
            release(&store, lease).await.unwrap();
        }
    }

    #[tokio::test]
    async fn bad_ids_tabs_and_holders_are_invalid_input() {
        let (_dir, store) = store();
        for (sheet, tab, holder) in [
            ("", TAB, "exec-a"),
            ("../x", TAB, "exec-a"),
            ("a/b", TAB, "exec-a"),
            (SHEET, "", "exec-a"),
            (SHEET, TAB, ""),
            (SHEET, TAB, "exec a"),
            (SHEET, TAB, "exec\n"),
        ] {
            let err = acquire(&store, sheet, tab, holder, &config(), t0())
                .await
                .unwrap_err();
            assert_eq!(err.error_name(), ErrorName::InvalidInput, "{err}");
        }
        let long_holder = "x".repeat(81);
        let err = acquire(&store, SHEET, TAB, &long_holder, &config(), t0())
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), ErrorName::InvalidInput);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_acquires_have_exactly_one_winner() {
        for round in 0..5 {
            let (_dir, store) = store();
            let store = std::sync::Arc::new(store);
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..16 {
                let store = store.clone();
                tasks.spawn(async move {
                    let holder = format!("exec-{i}");
                    acquire(&*store, SHEET, TAB, &holder, &config(), t0()).await
                });
            }
            let mut winners = Vec::new();
            let mut busy = 0;
            while let Some(result) = tasks.join_next().await {
                match result.unwrap() {
                    Ok(lease) => winners.push(lease.holder().to_owned()),
                    Err(LeaseError::Busy { .. }) => busy += 1,
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
            assert_eq!(busy, 15);
            assert_eq!(stored(&store).await["holder"], winners[0].as_str());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_takeovers_of_an_expired_lease_have_exactly_one_winner() {
        let (_dir, store) = store();
        acquire(&store, SHEET, TAB, "exec-old", &config(), t0())
            .await
            .unwrap();
        let store = std::sync::Arc::new(store);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let store = store.clone();
            tasks.spawn(async move {
                let holder = format!("exec-{i}");
                acquire(&*store, SHEET, TAB, &holder, &config(), at(400)).await
            });
        }
        let mut winners = 0;
        while let Some(result) = tasks.join_next().await {
            match result.unwrap() {
                Ok(_) => winners += 1,
                Err(LeaseError::Busy { holder, .. }) => assert_ne!(holder, "exec-old"),
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners, 1);
    }

    #[test]
    fn ttl_config_defaults_and_bounds() {
        assert_eq!(LeaseConfig::parse(None).unwrap().ttl, DEFAULT_TTL);
        assert_eq!(LeaseConfig::parse(Some(" ")).unwrap().ttl, DEFAULT_TTL);
        assert_eq!(
            LeaseConfig::parse(Some("10")).unwrap().ttl,
            Duration::from_secs(10)
        );
        assert_eq!(
            LeaseConfig::parse(Some(" 3600 ")).unwrap().ttl,
            Duration::from_secs(3600)
        );
        for bad in ["9", "3601", "0", "-5", "1.5", "5m", "abc"] {
            let err = LeaseConfig::parse(Some(bad)).unwrap_err();
            assert_eq!(err.error_name(), ErrorName::Config, "{bad}");
            assert!(err.to_string().contains(TTL_ENV), "{err}");
        }
    }

    #[tokio::test]
    async fn out_of_range_ttl_in_code_is_a_config_error() {
        let (_dir, store) = store();
        let config = LeaseConfig {
            ttl: Duration::from_secs(1),
        };
        let err = acquire(&store, SHEET, TAB, "exec-a", &config, t0())
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), ErrorName::Config);
    }

    #[test]
    fn store_errors_keep_their_names() {
        let err = LeaseError::from(StoreError {
            op: "put_if_absent",
            key: "leases/x/y".into(),
            kind: crate::store::StoreErrorKind::Transient,
            detail: "HTTP 503 SlowDown".into(),
        });
        assert_eq!(err.error_name(), ErrorName::Store);
    }

    #[test]
    fn tokens_differ() {
        let tokens: std::collections::HashSet<_> = (0..1000).map(|_| new_token()).collect();
        assert_eq!(tokens.len(), 1000);
    }
}
