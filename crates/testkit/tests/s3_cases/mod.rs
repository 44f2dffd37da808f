//! The store's conditional operations and the sheet-tab lease over the real S3 protocol, as
//! cases any S3 server can be put through ([`Bucket`]): s3s-fs behind the test kit's server
//! (`lease_s3.rs`) and moto (`store_moto.rs`). Included by each as `mod s3_cases;`.
//!
//! Each case uses keys under `p/` in the bucket and checks the SSE header of every put.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use ordersync_aws::{AnyStore, S3Store};
use ordersync_core::errors::{Classify, ErrorName};
use ordersync_core::lease::{self, Lease, LeaseConfig, LeaseError};
use ordersync_core::payload::PayloadError;
use ordersync_core::store::{Store, StoreError, Version};
use tokio::sync::{Barrier, Mutex};

/// An S3 server with one bucket, as the cases need it.
pub trait Bucket: Sync {
    /// An [`S3Store`] on the bucket under `prefix`, SSE-S3.
    fn store(&self, prefix: &str) -> S3Store;
    /// Every key under `prefix` (full keys, sorted).
    fn keys(&self, prefix: &str) -> impl Future<Output = Vec<String>>;
    /// The raw bytes at `key` (full key), `None` when absent.
    fn get_raw(&self, key: &str) -> impl Future<Output = Option<Vec<u8>>>;
    /// PutObject requests the server has received so far.
    fn puts(&self) -> usize;
    /// Every PutObject so far asked for SSE-S3 (and there was at least one).
    fn assert_all_puts_encrypted(&self);
}

const SHEET: &str = "1AbC-dEf_123";
const TAB: &str = "주문 내역/2026 Q1";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

/// Create-only and compare-and-swap puts, conditional deletes, on one key.
pub async fn conditional_operations_follow_s3_preconditions(server: &impl Bucket) {
    let store = server.store("p");
    let key = "leases/s/k";

    assert_eq!(store.get_versioned(key).await.unwrap(), None);
    let v1 = store
        .put_if_absent(key, b"one".to_vec())
        .await
        .unwrap()
        .expect("created");
    assert_eq!(
        store.put_if_absent(key, b"two".to_vec()).await.unwrap(),
        None,
        "second create must be refused"
    );
    let (body, read) = store.get_versioned(key).await.unwrap().unwrap();
    assert_eq!(body, b"one");
    assert_eq!(read, v1, "GET and PUT agree on the ETag");

    let v2 = store
        .put_if_match(key, b"three".to_vec(), &v1)
        .await
        .unwrap()
        .expect("swap on the current version");
    assert_ne!(v1, v2);
    assert_eq!(
        store
            .put_if_match(key, b"four".to_vec(), &v1)
            .await
            .unwrap(),
        None,
        "swap on a stale version must be refused"
    );
    assert!(!store.delete_if_match(key, &v1).await.unwrap());
    assert_eq!(
        server.get_raw("p/leases/s/k").await.as_deref(),
        Some(&b"three"[..])
    );
    assert!(store.delete_if_match(key, &v2).await.unwrap());
    assert!(!store.delete_if_match(key, &v2).await.unwrap());
    assert_eq!(
        store
            .put_if_match(key, b"five".to_vec(), &v2)
            .await
            .unwrap(),
        None,
        "swap on a missing key must be refused"
    );
    assert_eq!(server.keys("p/").await, Vec::<String>::new());
    server.assert_all_puts_encrypted();
}

/// Acquire, busy, renew, take-over by the same execution, lost, expiry and steal, release.
pub async fn lease_life_cycle(server: &impl Bucket) {
    let store = AnyStore::S3(server.store("p"));
    let config = LeaseConfig::default();

    let mut a = lease::acquire(&store, SHEET, TAB, "exec-a", &config, t0())
        .await
        .unwrap();
    assert_eq!(server.keys("p/leases/").await, [format!("p/{}", a.key())]);

    let err = lease::acquire(&store, SHEET, TAB, "exec-b", &config, at(10))
        .await
        .unwrap_err();
    assert_eq!(err.error_name(), ErrorName::Busy);
    assert!(
        matches!(&err, LeaseError::Busy { holder, expires_in }
            if holder == "exec-a" && *expires_in == Duration::from_secs(290)),
        "{err:?}"
    );

    lease::renew(&store, &mut a, &config, at(200))
        .await
        .unwrap();
    assert_eq!(a.expires_at(), at(500));

    // The same execution (a redrive) takes its own lease over at once; the old handle is lost.
    let mut again = lease::acquire(&store, SHEET, TAB, "exec-a", &config, at(201))
        .await
        .unwrap();
    let err = lease::renew(&store, &mut a, &config, at(202))
        .await
        .unwrap_err();
    assert!(matches!(err, LeaseError::Lost { .. }), "{err:?}");
    assert_eq!(err.error_name(), ErrorName::Busy);
    lease::release(&store, a).await.unwrap();
    lease::renew(&store, &mut again, &config, at(203))
        .await
        .unwrap();

    // Expired: another execution takes it over; the late release of the old one is harmless.
    let b = lease::acquire(&store, SHEET, TAB, "exec-b", &config, at(600))
        .await
        .unwrap();
    lease::release(&store, again).await.unwrap();
    let err = lease::acquire(&store, SHEET, TAB, "exec-c", &config, at(601))
        .await
        .unwrap_err();
    assert!(matches!(err, LeaseError::Busy { ref holder, .. } if holder == "exec-b"));

    lease::release(&store, b).await.unwrap();
    assert_eq!(server.keys("p/leases/").await, Vec::<String>::new());
    lease::acquire(&store, SHEET, TAB, "exec-c", &config, at(602))
        .await
        .unwrap();
    server.assert_all_puts_encrypted();
}

/// An [`S3Store`] seen by one of two racing acquirers: its first read waits until the other
/// acquirer has read too, so both decide on the same state before either writes, and the
/// conditional requests reach the server one at a time.
///
/// Why not just race two tasks: s3s-fs 0.14.1 checks `If-None-Match` / `If-Match` and only
/// then writes the file (no lock), and moto 5.2.5 checks then writes too, so two overlapping
/// conditional PUTs can *both* succeed there, which real S3 never allows. Sending the writes one at a time gives s3s-fs the
/// atomicity S3 has, while the reads still interleave in the way that matters for the lease.
struct Lockstep {
    inner: S3Store,
    both_read: Arc<Barrier>,
    one_write: Arc<Mutex<()>>,
    waited: AtomicBool,
}

impl Lockstep {
    fn pair(server: &impl Bucket) -> (Lockstep, Lockstep) {
        let both_read = Arc::new(Barrier::new(2));
        let one_write = Arc::new(Mutex::new(()));
        let make = || Lockstep {
            inner: server.store("p"),
            both_read: both_read.clone(),
            one_write: one_write.clone(),
            waited: AtomicBool::new(false),
        };
        (make(), make())
    }
}

impl Store for Lockstep {
    fn uri(&self, key: &str) -> String {
        self.inner.uri(key)
    }

    fn key_of(&self, uri: &str) -> Result<String, PayloadError> {
        self.inner.key_of(uri)
    }

    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        let _one = self.one_write.lock().await;
        self.inner.put(key, body).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        let read = self.inner.get_versioned(key).await;
        if !self.waited.swap(true, Ordering::SeqCst) {
            self.both_read.wait().await;
        }
        read
    }

    async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Option<Version>, StoreError> {
        let _one = self.one_write.lock().await;
        self.inner.put_if_absent(key, body).await
    }

    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> Result<Option<Version>, StoreError> {
        let _one = self.one_write.lock().await;
        self.inner.put_if_match(key, body, expected).await
    }

    async fn delete_if_match(&self, key: &str, expected: &Version) -> Result<bool, StoreError> {
        let _one = self.one_write.lock().await;
        self.inner.delete_if_match(key, expected).await
    }
}

/// Both acquirers race at `now`; exactly one wins and the other is `Busy` naming the winner.
async fn race(server: &impl Bucket, tab: &str, now: DateTime<Utc>) -> Lease {
    let config = LeaseConfig::default();
    let (store_a, store_b) = Lockstep::pair(server);
    let puts_before = server.puts();
    let (a, b) = tokio::join!(
        lease::acquire(&store_a, SHEET, tab, "exec-a", &config, now),
        lease::acquire(&store_b, SHEET, tab, "exec-b", &config, now),
    );
    let (winner, loser) = match (a, b) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
        (a, b) => panic!("expected one winner, got {a:?} and {b:?}"),
    };
    assert_eq!(
        server.puts() - puts_before,
        2,
        "both acquirers must have sent their conditional PUT"
    );
    assert_eq!(loser.error_name(), ErrorName::Busy, "{loser:?}");
    assert!(
        matches!(&loser, LeaseError::Busy { holder, expires_in }
            if holder == winner.holder() && *expires_in == Duration::from_secs(300)),
        "{loser:?}"
    );
    winner
}

/// Two acquirers that decided on the same state: one wins, the other gets 412 and is Busy.
pub async fn concurrent_acquires_have_one_winner(server: &impl Bucket) {
    for round in 0..5 {
        // Both see no lease; both send If-None-Match: *; the loser gets 412, looks again and
        // finds the winner's live lease.
        let tab = format!("new tab {round}");
        race(server, &tab, t0()).await;

        // Both see the same expired lease; both send If-Match on its ETag; the loser gets 412.
        let tab = format!("stale tab {round}");
        lease::acquire(
            &server.store("p"),
            SHEET,
            &tab,
            "exec-old",
            &LeaseConfig::default(),
            t0(),
        )
        .await
        .unwrap();
        let winner = race(server, &tab, at(400)).await;
        assert_eq!(winner.acquired_at(), at(400));
    }
    server.assert_all_puts_encrypted();
}
