//! The insert handler against the fake Google server and a directory store: a crash after any
//! write followed by a rerun (same execution, or a new one) ends with the clean run's sheet;
//! two executions racing for one tab never duplicate a row.

use std::time::{Duration, Instant};

use ordersync_core::clock::{Clock, ManualClock, SystemClock};
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::{InsertEvent, TransformEvent, WindowOutcome};
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::lease::LeaseConfig;
use ordersync_core::payload::encode;
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::request::SheetTarget;
use ordersync_core::rows::{Cell, RowsSchema, SheetRow};
use ordersync_core::store::{DirStore, Store, StoreError, Version, write_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::{MAX_WINDOW, split};
use ordersync_insert::handle;
use ordersync_sheets::{SheetsClient, SheetsConfig, Target, WriteGuard, upsert};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::orders::orders_in_window;

async fn client(fake: &FakeGoogle) -> SheetsClient {
    SheetsClient::new(
        &fake.service_account_key_json(),
        SheetsConfig {
            base_url: fake.base_url(),
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(100),
            ..SheetsConfig::default()
        },
    )
    .await
    .unwrap()
}

/// Rows objects for two consecutive days in `store`, via the transform handler: day `i` has
/// `count` orders with ids from `base(i)` and the rest of their details from seed `seed(i)`.
async fn windows_of(
    store: &DirStore,
    execution: &str,
    count: u64,
    base: impl Fn(u64) -> u64,
    seed: impl Fn(u64) -> u64,
) -> Vec<WindowOutcome> {
    let from = parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap();
    let to = parse_instant("2026-11-02", DateOnly::EndOfDay).unwrap();
    let mut refs = Vec::new();
    for (i, window) in (0u64..).zip(split(from, to, MAX_WINDOW)) {
        let orders = orders_in_window(&window, base(i), count, seed(i));
        let key = object_key(execution, Stage::Orders, &window).unwrap();
        let orders_ref = write_object::<OrdersSchema>(
            store,
            &key,
            encode::<OrdersSchema>(&OrdersMeta { window }, &orders).unwrap(),
        )
        .await
        .unwrap();
        let out = ordersync_transform::handle(
            store,
            TransformEvent {
                execution: execution.into(),
                window,
                orders: orders_ref,
                columns: None,
            },
        )
        .await
        .unwrap();
        refs.push(out.into());
    }
    refs
}

/// Rows objects for two windows (150 different orders each).
async fn rows_objects(store: &DirStore, execution: &str) -> Vec<WindowOutcome> {
    windows_of(store, execution, 150, |i| i * 1000, |i| 9 + i).await
}

/// Every row of the windows' rows objects, in window order.
async fn read_rows(store: &DirStore, windows: &[WindowOutcome]) -> Vec<SheetRow> {
    let mut rows = Vec::new();
    for r in windows.iter().map(|w| &w.rows) {
        let bytes = ordersync_core::store::read_object(store, r).await.unwrap();
        rows.extend(
            ordersync_core::payload::open::<RowsSchema>(&bytes, r)
                .unwrap()
                .map(Result::unwrap),
        );
    }
    rows
}

fn event(execution: &str, tab: &str, windows: Vec<WindowOutcome>) -> InsertEvent {
    InsertEvent {
        sync: None,
        execution: execution.into(),
        sheet: SheetTarget {
            spreadsheet_id: "book".into(),
            tab: tab.into(),
        },
        windows,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Fails ("the process died") before write number `die_at` (1-based).
struct CrashBefore {
    die_at: u32,
    seen: u32,
}

impl WriteGuard for CrashBefore {
    async fn before_write(&mut self) -> Result<(), StepError> {
        self.seen += 1;
        if self.seen == self.die_at {
            return Err(StepError::new(ErrorName::Upstream, "simulated crash"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_crash_after_any_write_then_a_rerun_matches_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let refs = rows_objects(&store, "exec-crash").await;

    // The clean run, for comparison.
    let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
    fake.create_spreadsheet("book");
    let sheets = client(&fake).await;
    handle(
        &store,
        &sheets,
        &LeaseConfig::default(),
        &SystemClock,
        event("exec-crash", "t", refs.clone()),
        soon(),
    )
    .await
    .unwrap();
    let clean = fake.values("book", "t");
    assert_eq!(clean.len(), 301);

    // Crash before the 1st write (structure) or the 2nd (values), then rerun as the same
    // execution (a redrive) or as a new one.
    let mut scenarios = 0;
    for die_at in 1..=2 {
        for rerun_as in ["exec-crash", "exec-new"] {
            let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
            fake.create_spreadsheet("book");
            let sheets = client(&fake).await;
            // The crashed attempt, driven through the same upsert the handler uses.
            let headers: Vec<String> = ordersync_core::columns::ColumnChoice::default()
                .resolve()
                .unwrap()
                .into_iter()
                .map(|c| c.header)
                .collect();
            let rows = read_rows(&store, &refs).await;
            let target = Target {
                spreadsheet: "book",
                tab: "t",
                headers: &headers,
                key_index: 0,
            };
            let err = upsert(
                &sheets,
                &target,
                &rows,
                soon(),
                &mut CrashBefore { die_at, seen: 0 },
            )
            .await
            .unwrap_err();
            assert_eq!(err.message, "simulated crash");

            handle(
                &store,
                &sheets,
                &LeaseConfig::default(),
                &SystemClock,
                event(rerun_as, "t", refs.clone()),
                soon(),
            )
            .await
            .unwrap();
            assert_eq!(
                fake.values("book", "t"),
                clean,
                "crash before write {die_at}, rerun as {rerun_as}"
            );
            scenarios += 1;
        }
    }
    assert_eq!(scenarios, 4);
}

#[tokio::test]
async fn two_executions_on_one_tab_never_duplicate_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let refs_a = rows_objects(&store, "exec-a").await;
    let refs_b = rows_objects(&store, "exec-b").await;
    let fake = FakeGoogle::start(FakeGoogleConfig {
        latency: Duration::from_millis(40),
        ..FakeGoogleConfig::default()
    })
    .await;
    fake.create_spreadsheet("book");
    let sheets = client(&fake).await;
    let config = LeaseConfig::default();

    let (a, b) = tokio::join!(
        handle(
            &store,
            &sheets,
            &config,
            &SystemClock,
            event("exec-a", "race", refs_a.clone()),
            soon()
        ),
        handle(
            &store,
            &sheets,
            &config,
            &SystemClock,
            event("exec-b", "race", refs_b.clone()),
            soon()
        ),
    );
    // Exactly one got the tab; the other was told to retry later.
    let busy: Vec<_> = [&a, &b]
        .into_iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(busy.len(), 1, "{a:?} {b:?}");
    assert_eq!(busy[0].name, ErrorName::Busy);
    assert!(busy[0].name.retryable());

    // Step Functions retries the busy one: it finds every row already there.
    let retry = if a.is_err() {
        handle(
            &store,
            &sheets,
            &config,
            &SystemClock,
            event("exec-a", "race", refs_a),
            soon(),
        )
        .await
        .unwrap()
    } else {
        handle(
            &store,
            &sheets,
            &config,
            &SystemClock,
            event("exec-b", "race", refs_b),
            soon(),
        )
        .await
        .unwrap()
    };
    assert_eq!((retry.appended, retry.unchanged), (0, 300));
    let grid = fake.values("book", "race");
    let keys: std::collections::HashSet<_> = grid.iter().skip(1).map(|r| r[0].clone()).collect();
    assert_eq!((grid.len(), keys.len()), (301, 300));
}

/// A product order changed on two days has a row in both windows: the later window's row is
/// the one in the sheet, once, at the place of the first.
#[tokio::test]
async fn a_key_in_several_windows_is_written_once_with_the_latest_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    // The same order ids on both days (base 0), other details (seed).
    let windows = windows_of(&store, "exec-twice", 60, |_| 0, |i| 30 + i).await;
    let expected: std::collections::BTreeMap<String, Vec<String>> = read_rows(&store, &windows)
        .await
        .into_iter()
        .map(|row| {
            let cells = row
                .cells
                .iter()
                .map(|c| match c {
                    Cell::Text(t) => t.clone(),
                    Cell::Number(n) => n.to_string(),
                    Cell::Keep(_) => unreachable!("transform keeps no cell of a feed row"),
                })
                .collect();
            // Later windows' rows replace earlier ones.
            (row.key, cells)
        })
        .collect();
    let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
    fake.create_spreadsheet("book");
    let sheets = client(&fake).await;
    let result = handle(
        &store,
        &sheets,
        &LeaseConfig::default(),
        &SystemClock,
        event("exec-twice", "t", windows),
        soon(),
    )
    .await
    .unwrap();
    assert_eq!(result.appended, expected.len() as u64);
    let mut values = fake.values("book", "t");
    values.remove(0);
    let written: std::collections::BTreeMap<String, Vec<String>> = values
        .into_iter()
        .map(|row| (row[0].clone(), row))
        .collect();
    assert_eq!(written.len(), expected.len(), "one row per key");
    assert_eq!(written, expected, "each key holds its latest window's row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_loop_that_outlives_the_lease_never_lands_over_the_next_holder() {
    // Google's real quota window (60 s) at one write a minute: A's addSheet takes the minute's
    // only write, so its value write is answered 429 and A keeps retrying. The lease clock is
    // pinned and moved past A's 10 s lease while A retries; B takes the expired lease. A must
    // not write after that: it renews before every attempt, finds the lease gone and stops.
    // (Checked once per write request, as before, A's retry would land over B's tab when the
    // quota frees.) A renews every ≤ 100 ms and may renew a lapsed lease nobody took yet, so
    // A's lease writes are paused while the clock moves and B takes over: otherwise A's next
    // renewal could land between the two, and on a loaded machine it once did.
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let refs = rows_objects(&store, "exec-a").await;
    let a_store = PausableLeaseWrites {
        inner: &store,
        gate: tokio::sync::RwLock::new(()),
    };
    let fake = FakeGoogle::start(FakeGoogleConfig {
        writes_per_minute: 1,
        ..FakeGoogleConfig::default()
    })
    .await;
    fake.create_spreadsheet("book");
    let sheets = client(&fake).await;
    let config = LeaseConfig::parse(Some("10")).unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T07:00:00+09:00")
        .unwrap()
        .to_utc();
    let clock = ManualClock::at(t0);

    let a = handle(
        &a_store,
        &sheets,
        &config,
        &clock,
        event("exec-a", "slow", refs),
        Instant::now() + Duration::from_secs(120),
    );
    let takeover = async {
        // Until A is in its retry loop (its value write refused by the quota).
        while fake.stats().rejected_429 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let paused = a_store.gate.write().await;
        let applied = fake.stats().applied_writes;
        clock.advance(chrono::TimeDelta::seconds(11));
        let b =
            ordersync_core::lease::acquire(&store, "book", "slow", "exec-b", &config, clock.now())
                .await
                .expect("A's lease lapsed: B takes the tab");
        drop(paused);
        (applied, b)
    };
    let (a, (applied_before_b, _b)) = tokio::join!(a, takeover);
    let err = a.expect_err("A lost the lease and must stop");
    assert_eq!(err.name, ErrorName::Busy, "{err}");
    assert_eq!(
        fake.stats().applied_writes,
        applied_before_b,
        "no write of A landed after B took the tab"
    );
}

/// A's view of the store, whose lease writes (compare-and-swap: every renewal) wait while the
/// test holds `gate` for writing; an in-flight one finishes first. Everything else passes through.
struct PausableLeaseWrites<'a> {
    inner: &'a DirStore,
    gate: tokio::sync::RwLock<()>,
}

impl Store for PausableLeaseWrites<'_> {
    fn uri(&self, key: &str) -> String {
        self.inner.uri(key)
    }
    fn key_of(&self, uri: &str) -> Result<String, ordersync_core::payload::PayloadError> {
        self.inner.key_of(uri)
    }
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.inner.put(key, body).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.inner.get_versioned(key).await
    }
    async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Option<Version>, StoreError> {
        self.inner.put_if_absent(key, body).await
    }
    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> Result<Option<Version>, StoreError> {
        let _open = self.gate.read().await;
        self.inner.put_if_match(key, body, expected).await
    }
    async fn delete_if_match(&self, key: &str, expected: &Version) -> Result<bool, StoreError> {
        self.inner.delete_if_match(key, expected).await
    }
}
