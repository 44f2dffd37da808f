//! Syncs through the deployed `statemachine.asl.json` on the local runner: S3 over the real
//! protocol, the fake NAVER as NAVER behaves (a snapshot feed, delivery completions only in
//! `/query`, 2 requests/s per API), the fake Google, and one clock shared by the plan, the
//! lease, the NAVER client and the fake shop, so the tests move time and the shop between and
//! during syncs.
//!
//! - sync after sync converges to the truth while the shop moves on (dispatches, a delivery
//!   completion only the re-read finds, purchase confirmations, a partial cancel, new orders,
//!   and a change made visible *during* a sync); a quiet sync writes nothing;
//! - a crash after the sheet write but before the cursor commit: the next sync and a rerun of
//!   the failed execution both end with the same sheet, no duplicates, the cursor moved once;
//! - two syncs of one tab: the one that planned from a cursor another has moved since writes
//!   nothing (an older state never lands over a newer one), and racing two at once leaves the
//!   sheet true after the next sync.

mod common;

use common::summary;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{TimeDelta, Utc};
use ordersync_aws::S3Store;
use ordersync_core::clock::{Clock, ManualClock};
use ordersync_core::cursor::{CursorState, cursor_key, read_cursor};
use ordersync_core::events::{RunSummary, SyncCommit};
use ordersync_core::product_order::ProductOrderStatus;
use ordersync_core::request::{AccountRef, SheetTarget};
use ordersync_core::store::{Store, StoreError, StoreErrorKind, Version};
use ordersync_local::definition::{DEFINITION, INSERT, machine};
use ordersync_local::functions::LocalFunctions;
use ordersync_local::sandbox::{naver_source, sheets_client};
use ordersync_naver::NaverSource;
use ordersync_naver::source::EnvCredentials;
use ordersync_runner::{Failure, Invoker, Options, Outcome, Quiet};
use ordersync_sheets::SheetsClient;
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};
use ordersync_testkit::s3::S3Server;
use serde_json::{Value, json};

const BOOK: &str = "sync-book";
const TAB: &str = "주문";
const SECRET: &str = "shops/sync-1";

struct Sandbox {
    _s3: S3Server,
    store: S3Store,
    clock: ManualClock,
    naver: FakeNaver,
    google: FakeGoogle,
    source: NaverSource<EnvCredentials>,
    sheets: SheetsClient,
}

impl Sandbox {
    async fn start(orders: usize) -> Sandbox {
        let s3 = S3Server::start().await;
        let store = s3.store("sync");
        let clock = ManualClock::at(Utc::now());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let naver = FakeNaver::start(FakeNaverConfig {
            seed: 5,
            orders,
            ..FakeNaverConfig::at(shared.clone())
        })
        .await;
        let google = FakeGoogle::start(FakeGoogleConfig::default()).await;
        google.create_spreadsheet(BOOK);
        let source = naver_source(&naver, naver.client_secret())
            .unwrap()
            .with_clock(shared);
        let sheets = sheets_client(&google).await.unwrap();
        Sandbox {
            _s3: s3,
            store,
            clock,
            naver,
            google,
            source,
            sheets,
        }
    }

    fn functions<'a, S: Store>(
        &'a self,
        store: &'a S,
    ) -> LocalFunctions<'a, S, NaverSource<EnvCredentials>> {
        let mut functions = LocalFunctions::new(store, &self.source, &self.sheets);
        functions.clock = Arc::new(self.clock.clone());
        functions
    }

    /// A sync of the tab, backfilling from the shop's first day the first time.
    fn request(&self) -> Value {
        let (from, _) = self.naver.shop().span();
        json!({
            "account": {"secret_id": SECRET},
            "since": from.date_naive().to_string(),
            "sheet": {"spreadsheet_id": BOOK, "tab": TAB}
        })
    }

    async fn sync_with(&self, invoker: &impl Invoker, store: &impl Store, name: &str) -> Outcome {
        ordersync_runner::run_execution(
            &machine(DEFINITION).unwrap(),
            store,
            invoker,
            &Quiet,
            // Busy retries of a racing sync must outlast the other's write: 30 s × 0.01.
            Options {
                retry_time_scale: 0.01,
            },
            name,
            self.request(),
        )
        .await
        .unwrap()
    }

    /// Any request (a range, say) as a new execution on the real functions.
    async fn execute(&self, name: &str, input: Value) -> RunSummary {
        let functions = self.functions(&self.store);
        summary(
            &ordersync_runner::run_execution(
                &machine(DEFINITION).unwrap(),
                &self.store,
                &functions,
                &Quiet,
                Options {
                    retry_time_scale: 0.01,
                },
                name,
                input,
            )
            .await
            .unwrap(),
        )
    }

    async fn sync(&self, name: &str) -> RunSummary {
        summary(
            &self
                .sync_with(&self.functions(&self.store), &self.store, name)
                .await,
        )
    }

    /// Moves the shared clock (the shop, the plan, the NAVER client and the lease read it).
    fn later(&self, by: TimeDelta) -> chrono::DateTime<chrono::FixedOffset> {
        self.clock.advance(by);
        self.clock.now().fixed_offset()
    }

    async fn cursor(&self) -> Option<CursorState> {
        let key = cursor_key(
            &AccountRef {
                secret_id: SECRET.into(),
            },
            &SheetTarget {
                spreadsheet_id: BOOK.into(),
                tab: TAB.into(),
            },
        )
        .unwrap();
        read_cursor(&self.store, &key)
            .await
            .unwrap()
            .map(|(s, _)| s)
    }

    /// Each product order as the shop has it now: status label, tracking number, quantity.
    fn truth(&self) -> BTreeMap<String, (String, String, String)> {
        let shop = self.naver.shop();
        shop.product_order_ids()
            .into_iter()
            .filter_map(|id| {
                let detail = shop.detail_json(&id)?;
                let po = &detail["productOrder"];
                // Orders still waiting for payment are not in a sync's sheet until paid.
                shop.latest_change(&id)?;
                let status = ProductOrderStatus::from_code(po["productOrderStatus"].as_str()?)
                    .label()
                    .to_owned();
                let tracking = detail["delivery"]["trackingNumber"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let quantity = po["remainQuantity"].to_string();
                Some((id, (status, tracking, quantity)))
            })
            .collect()
    }

    /// The same three columns as the sheet shows them, by header text; panics on a key twice.
    fn sheet(&self) -> BTreeMap<String, (String, String, String)> {
        let values = self.google.values(BOOK, TAB);
        let header = &values[0];
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
        };
        let (key, status, tracking, quantity) = (
            col("상품주문번호"),
            col("주문상태"),
            col("송장번호"),
            col("수량"),
        );
        let mut rows = BTreeMap::new();
        for row in &values[1..] {
            let cell = |i: usize| row.get(i).cloned().unwrap_or_default();
            let previous = rows.insert(cell(key), (cell(status), cell(tracking), cell(quantity)));
            assert!(previous.is_none(), "key {} twice in the sheet", cell(key));
        }
        rows
    }

    fn assert_true(&self, when: &str) {
        let (sheet, truth) = (self.sheet(), self.truth());
        let wrong: Vec<_> = truth
            .iter()
            .filter(|(id, want)| sheet.get(*id) != Some(want))
            .map(|(id, want)| (id, want, sheet.get(id)))
            .take(5)
            .collect();
        assert!(
            wrong.is_empty(),
            "{when}: rows differ from the shop: {wrong:?}"
        );
        assert_eq!(sheet.len(), truth.len(), "{when}: extra rows");
    }
}

#[tokio::test]
async fn sync_after_sync_converges_to_the_truth_while_the_shop_moves_on() {
    let sandbox = Sandbox::start(60).await;
    let first = sandbox.sync("first").await;
    let moved = first.sync.expect("a sync reports its cursor");
    assert_eq!(moved.commit, SyncCommit::Moved);
    assert_eq!(moved.generation, 1);
    assert_eq!(first.appended, sandbox.truth().len() as u64);
    assert!(first.windows >= 4, "backfill from the shop's first day");
    sandbox.assert_true("after the backfill");
    let cursor = sandbox.cursor().await.unwrap();
    assert!(moved.open_orders > 0 && moved.open_orders == cursor.open.len() as u64);

    // The shop moves on: dispatches and decisions (feed), deliveries (only `/query`), a
    // partial cancel and new orders.
    let at = sandbox.later(TimeDelta::minutes(20)) - TimeDelta::minutes(5);
    let advanced = sandbox.naver.advance_orders(4, at);
    let delivered = sandbox.naver.deliver_orders(3, at);
    let cancelled = sandbox.naver.cancel_one_unit(1, at);
    let added = sandbox
        .naver
        .add_orders(77, 3, at - TimeDelta::minutes(10), at);
    assert!(advanced.len() == 4 && delivered.len() == 3 && cancelled.len() == 1);
    assert!(
        delivered.iter().all(|id| !advanced.contains(id)),
        "the deliveries reach no feed record"
    );
    assert!(!added.is_empty());
    for id in &delivered {
        assert!(
            cursor.open.iter().any(|o| &o.id == id),
            "a delivering order is on the re-read list"
        );
    }
    let second = sandbox.sync("second").await;
    assert_eq!(second.appended, added.len() as u64, "{second:?}");
    let mut touched: Vec<&String> = advanced
        .iter()
        .chain(&delivered)
        .chain(&cancelled)
        .collect();
    touched.sort();
    touched.dedup();
    assert_eq!(second.updated, touched.len() as u64, "{second:?}");
    assert!(second.orders_rechecked >= delivered.len() as u64);
    sandbox.assert_true("after the second sync");

    // A change NAVER makes visible only while the next sync runs, dated inside its span: the
    // overlap of the sync after picks it up.
    let now = sandbox.later(TimeDelta::minutes(10));
    let late = AtomicBool::new(false);
    let during = DuringInsert {
        inner: sandbox.functions(&sandbox.store),
        before: || {
            if !late.swap(true, Ordering::SeqCst) {
                assert_eq!(
                    sandbox
                        .naver
                        .advance_orders(1, now - TimeDelta::minutes(1))
                        .len(),
                    1
                );
            }
        },
    };
    let third = summary(&sandbox.sync_with(&during, &sandbox.store, "third").await);
    assert_eq!(third.sync.unwrap().commit, SyncCommit::Moved);
    assert!(late.load(Ordering::SeqCst));
    sandbox.later(TimeDelta::minutes(1));
    let fourth = sandbox.sync("fourth").await;
    assert_eq!(fourth.updated, 1, "the late change arrives: {fourth:?}");
    sandbox.assert_true("after the late change");

    // Nothing new: nothing written.
    let writes = sandbox.google.stats().writes;
    sandbox.later(TimeDelta::minutes(10));
    let quiet = sandbox.sync("quiet").await;
    assert_eq!((quiet.appended, quiet.updated), (0, 0), "{quiet:?}");
    assert_eq!(
        sandbox.google.stats().writes,
        writes,
        "a quiet sync writes nothing"
    );
    assert_eq!(quiet.sync.unwrap().generation, 5);
}

/// Runs `before` ahead of every Insert invocation, then the real functions.
struct DuringInsert<I, F> {
    inner: I,
    before: F,
}

impl<I: Invoker, F: Fn() + Sync> Invoker for DuringInsert<I, F> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        if function == INSERT {
            (self.before)();
        }
        self.inner.invoke(function, payload).await
    }
}

/// A store whose cursor writes fail while `broken` is set (the crash between the sheet write
/// and the cursor commit, as seen from the next run).
struct CursorWritesFail<'a> {
    inner: &'a S3Store,
    broken: AtomicBool,
    refused: AtomicUsize,
}

impl CursorWritesFail<'_> {
    fn refuse(&self, key: &str) -> Result<(), StoreError> {
        if key.starts_with("cursors/") && self.broken.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError {
                op: "put",
                key: key.to_owned(),
                kind: StoreErrorKind::Transient,
                detail: "the process died before the cursor write".into(),
            });
        }
        Ok(())
    }
}

impl Store for CursorWritesFail<'_> {
    fn uri(&self, key: &str) -> String {
        self.inner.uri(key)
    }
    fn key_of(&self, uri: &str) -> Result<String, ordersync_core::payload::PayloadError> {
        self.inner.key_of(uri)
    }
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), StoreError> {
        self.refuse(key)?;
        self.inner.put(key, body).await
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.inner.get_versioned(key).await
    }
    async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<Option<Version>, StoreError> {
        self.refuse(key)?;
        self.inner.put_if_absent(key, body).await
    }
    async fn put_if_match(
        &self,
        key: &str,
        body: Vec<u8>,
        expected: &Version,
    ) -> Result<Option<Version>, StoreError> {
        self.refuse(key)?;
        self.inner.put_if_match(key, body, expected).await
    }
    async fn delete_if_match(&self, key: &str, expected: &Version) -> Result<bool, StoreError> {
        self.inner.delete_if_match(key, expected).await
    }
}

#[tokio::test]
async fn a_crash_before_the_cursor_commit_is_repaired_by_the_next_sync_and_by_a_rerun() {
    let sandbox = Sandbox::start(40).await;
    let failing = CursorWritesFail {
        inner: &sandbox.store,
        broken: AtomicBool::new(true),
        refused: AtomicUsize::new(0),
    };
    let outcome = sandbox
        .sync_with(&sandbox.functions(&failing), &failing, "crashes")
        .await;
    let Outcome::Failed { failure, .. } = outcome else {
        panic!("the cursor write never succeeds: {outcome:?}")
    };
    assert_eq!(failure.error, "Ordersync.Store");
    assert!(
        failing.refused.load(Ordering::SeqCst) > 1,
        "retried by the ASL"
    );
    // The sheet was written; the cursor was not.
    sandbox.assert_true("after the crash");
    assert!(sandbox.cursor().await.is_none());

    // The next sync redoes the stretch: same sheet, nothing appended twice.
    sandbox.later(TimeDelta::minutes(5));
    let next = sandbox.sync("next").await;
    assert_eq!((next.appended, next.updated), (0, 0), "{next:?}");
    assert_eq!(next.sync.unwrap().generation, 1);
    sandbox.assert_true("after the next sync");

    // A rerun of the failed execution (what a redrive does) finds the cursor moved by another
    // sync since it planned: it writes nothing and succeeds.
    failing.broken.store(false, Ordering::SeqCst);
    let rerun = summary(
        &sandbox
            .sync_with(&sandbox.functions(&failing), &failing, "crashes")
            .await,
    );
    assert_eq!(rerun.sync.unwrap().commit, SyncCommit::Superseded);
    assert_eq!(sandbox.cursor().await.unwrap().generation, 1);
    sandbox.assert_true("after the rerun");
}

#[tokio::test]
async fn a_redrive_commits_once_and_a_rerun_after_the_commit_writes_nothing() {
    let sandbox = Sandbox::start(40).await;
    let failing = CursorWritesFail {
        inner: &sandbox.store,
        broken: AtomicBool::new(true),
        refused: AtomicUsize::new(0),
    };
    let outcome = sandbox
        .sync_with(&sandbox.functions(&failing), &failing, "once")
        .await;
    assert!(matches!(outcome, Outcome::Failed { .. }));
    // Redrive: the store is healthy again; only Insert reruns, and it commits.
    failing.broken.store(false, Ordering::SeqCst);
    let recording = Recording {
        inner: sandbox.functions(&failing),
        calls: Mutex::new(Vec::new()),
    };
    let redriven = summary(&sandbox.sync_with(&recording, &failing, "once").await);
    let sync = redriven.sync.unwrap();
    assert_eq!((sync.commit, sync.generation), (SyncCommit::Moved, 1));
    let calls = recording.calls.lock().unwrap().clone();
    assert_eq!(
        calls.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [INSERT],
        "a redrive reruns Insert only"
    );
    sandbox.assert_true("after the redrive");

    // The same Insert once more (its answer was lost after the commit): nothing written.
    let writes = sandbox.google.stats().writes;
    let again = sandbox
        .functions(&sandbox.store)
        .invoke(INSERT, calls[0].1.clone())
        .await
        .unwrap();
    let again: RunSummary = serde_json::from_value(again).unwrap();
    assert_eq!(again.sync.unwrap().commit, SyncCommit::AlreadyMoved);
    assert_eq!(sandbox.google.stats().writes, writes);
    assert_eq!(sandbox.cursor().await.unwrap().generation, 1);
}

/// Records every invocation, then runs the real functions.
struct Recording<I> {
    inner: I,
    calls: Mutex<Vec<(String, Value)>>,
}

impl<I: Invoker> Invoker for Recording<I> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        self.calls
            .lock()
            .unwrap()
            .push((function.to_owned(), payload.clone()));
        self.inner.invoke(function, payload).await
    }
}

#[tokio::test]
async fn a_sync_that_planned_before_another_committed_writes_nothing_and_racing_two_stays_true() {
    let sandbox = Sandbox::start(40).await;
    sandbox.sync("base").await;
    sandbox.assert_true("base");

    // A plans and imports; before its Insert, the shop moves and B runs from start to end.
    let at = sandbox.later(TimeDelta::minutes(15)) - TimeDelta::minutes(5);
    let b_ran = &AtomicBool::new(false);
    let sandbox = &sandbox;
    let b_store = &sandbox.store;
    let a = InsertWaitsFor {
        inner: sandbox.functions(&sandbox.store),
        first: move || async move {
            if !b_ran.swap(true, Ordering::SeqCst) {
                assert_eq!(sandbox.naver.advance_orders(3, at).len(), 3);
                sandbox.later(TimeDelta::minutes(1));
                let b = summary(
                    &sandbox
                        .sync_with(&sandbox.functions(b_store), b_store, "b")
                        .await,
                );
                assert_eq!(b.updated, 3, "B saw the newer state: {b:?}");
            }
        },
    };
    let a_outcome = summary(&sandbox.sync_with(&a, &sandbox.store, "a").await);
    assert_eq!(a_outcome.sync.unwrap().commit, SyncCommit::Superseded);
    assert_eq!((a_outcome.appended, a_outcome.updated), (0, 0));
    sandbox.assert_true("A's older data did not land over B's");
    assert_eq!(sandbox.cursor().await.unwrap().committed_by, "b");

    // Two at once: the lease serialises their writes; whichever is second finds the cursor
    // moved. Neither loses a change: the next sync brings the sheet to the truth.
    let at = sandbox.later(TimeDelta::minutes(15)) - TimeDelta::minutes(5);
    sandbox.naver.advance_orders(2, at);
    let (x, y) = tokio::join!(sandbox.sync("x"), sandbox.sync("y"));
    let commits = [x.sync.unwrap().commit, y.sync.unwrap().commit];
    assert!(commits.contains(&SyncCommit::Moved), "{commits:?}");
    sandbox.later(TimeDelta::minutes(1));
    sandbox.sync("after-race").await;
    sandbox.assert_true("after the race");
}

/// Awaits `first` ahead of every Insert invocation, then the real functions.
struct InsertWaitsFor<I, F> {
    inner: I,
    first: F,
}

impl<I, F, Fut> Invoker for InsertWaitsFor<I, F>
where
    I: Invoker,
    F: Fn() -> Fut + Sync,
    Fut: std::future::Future<Output = ()>,
{
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        if function == INSERT {
            (self.first)().await;
        }
        self.inner.invoke(function, payload).await
    }
}

#[tokio::test]
async fn a_range_by_payment_date_is_every_order_paid_then_as_it_is_now() {
    let sandbox = &Sandbox::start(60).await;
    let (from, to) = sandbox.naver.shop().span();
    // After the range: some of its orders move on, so their feed record leaves the range.
    let at = sandbox.later(TimeDelta::minutes(30)) - TimeDelta::minutes(5);
    let moved = sandbox.naver.advance_orders(5, at);
    assert_eq!(moved.len(), 5);
    let request = |tab: &str, by: &str| {
        json!({
            "account": {"secret_id": SECRET},
            "range": {"from": from.to_rfc3339(), "to": to.to_rfc3339(), "by": by},
            "sheet": {"spreadsheet_id": BOOK, "tab": tab}
        })
    };
    let run = |name: &'static str, input: Value| sandbox.execute(name, input);
    let details_before = sandbox.naver.stats().detail_calls;
    let paid = run("paid", request("결제일 기준", "paid")).await;
    let want: Vec<String> = sandbox
        .naver
        .shop()
        .dated_between("PAYED_DATETIME", from, to - TimeDelta::milliseconds(1))
        .unwrap()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(paid.appended, want.len() as u64, "{paid:?}");
    assert_eq!(
        sandbox.naver.stats().detail_calls,
        details_before,
        "details come inline: no /query call"
    );
    let values = sandbox.google.values(BOOK, "결제일 기준");
    let truth = sandbox.truth();
    let cell = |row: &[String], header: &str| {
        let at = values[0].iter().position(|h| h == header).unwrap();
        row.get(at).cloned().unwrap_or_default()
    };
    for row in &values[1..] {
        let (status, tracking, quantity) = &truth[&row[0]];
        assert_eq!(
            (
                &cell(row, "주문상태"),
                &cell(row, "송장번호"),
                &cell(row, "수량")
            ),
            (status, tracking, quantity),
            "row {} as it is now",
            row[0]
        );
    }
    let in_sheet = |tab: &str| -> Vec<String> {
        sandbox.google.values(BOOK, tab)[1..]
            .iter()
            .map(|r| r[0].clone())
            .collect()
    };
    let paid_ids = in_sheet("결제일 기준");
    let moved_paid: Vec<&String> = moved.iter().filter(|id| want.contains(id)).collect();
    assert!(!moved_paid.is_empty());
    assert!(moved_paid.iter().all(|id| paid_ids.contains(id)));

    // The same range over the change feed misses exactly those: their latest change is later.
    run("changed", request("변경일 기준", "changed")).await;
    let changed_ids = in_sheet("변경일 기준");
    assert!(moved_paid.iter().all(|id| !changed_ids.contains(id)));
}

#[tokio::test]
async fn a_range_by_payment_date_into_a_synced_tab_keeps_the_change_feed_columns() {
    let sandbox = &Sandbox::start(40).await;
    let (from, to) = sandbox.naver.shop().span();
    sandbox.later(TimeDelta::minutes(30));
    sandbox.sync("keep-1").await;
    let changed_at = |values: &[Vec<String>]| -> BTreeMap<String, String> {
        let at = values[0].iter().position(|h| h == "최종변경일시").unwrap();
        values[1..]
            .iter()
            .map(|r| (r[0].clone(), r.get(at).cloned().unwrap_or_default()))
            .collect()
    };
    let synced = changed_at(&sandbox.google.values(BOOK, TAB));
    assert!(synced.values().all(|d| !d.is_empty()), "{synced:?}");

    // The shop moves on; a range by payment date (the conditional search: no feed record)
    // then brings statuses up to date but does not know the change-feed columns.
    let at = sandbox.later(TimeDelta::minutes(30)) - TimeDelta::minutes(5);
    let moved = sandbox.naver.advance_orders(5, at);
    assert_eq!(moved.len(), 5);
    let paid = sandbox
        .execute(
            "keep-paid",
            json!({
                "account": {"secret_id": SECRET},
                "range": {"from": from.to_rfc3339(), "to": to.to_rfc3339(), "by": "paid"},
                "sheet": {"spreadsheet_id": BOOK, "tab": TAB}
            }),
        )
        .await;
    assert!(paid.updated >= 1, "{paid:?}");
    sandbox.assert_true("after the range by payment date");
    let after = changed_at(&sandbox.google.values(BOOK, TAB));
    assert_eq!(after, synced, "the range kept every 최종변경일시");

    // The next sync reads the feed again: the moved orders' records are their new ones.
    sandbox.later(TimeDelta::minutes(1));
    sandbox.sync("keep-2").await;
    sandbox.assert_true("after the next sync");
    let resynced = changed_at(&sandbox.google.values(BOOK, TAB));
    for id in &moved {
        assert_ne!(resynced[id], synced[id], "{id} has its later change");
    }
}

/// The real functions, counting the imports that stored their place and asked to be continued.
struct CountingContinues<I> {
    inner: I,
    continues: AtomicUsize,
}

impl<I: Invoker> Invoker for CountingContinues<I> {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, Failure> {
        let answer = self.inner.invoke(function, payload).await;
        if matches!(&answer, Err(f) if f.error == "Ordersync.Continue") {
            self.continues.fetch_add(1, Ordering::SeqCst);
        }
        answer
    }
}

/// The change-feed requests NAVER answered, as their query strings.
fn feed_questions(naver: &FakeNaver) -> Vec<String> {
    naver
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("last-changed-statuses") && r.status == 200)
        .filter_map(|r| r.query)
        .collect()
}

#[tokio::test]
async fn a_sync_whose_windows_outlast_an_invocation_goes_on_from_navers_position() {
    let sandbox = Sandbox::start(1500).await;
    let mut functions = sandbox.functions(&sandbox.store);
    // Import's deadline (the Lambda timeout less 10 s) falls inside its 60 s continuation
    // reserve from the start: every import invocation reads one feed page, stores it with
    // NAVER's position and ends with Ordersync.Continue, whatever the machine's speed. The
    // Import task's own retrier is the loop that goes on.
    functions.timeouts.import = std::time::Duration::from_secs(65);
    let counting = CountingContinues {
        inner: functions,
        continues: AtomicUsize::new(0),
    };
    let first = summary(&sandbox.sync_with(&counting, &sandbox.store, "parts").await);
    let continues = counting.continues.load(Ordering::SeqCst);
    let questions = feed_questions(&sandbox.naver);
    assert!(
        continues >= 3 && questions.len() > first.windows as usize,
        "windows of several pages, continued: {continues} continues, {} pages",
        questions.len()
    );
    let mut distinct = questions.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), questions.len(), "no feed page asked twice");
    assert_eq!(first.appended, sandbox.truth().len() as u64, "{first:?}");
    sandbox.assert_true("after a backfill read in parts");
    assert_eq!(first.sync.unwrap().commit, SyncCommit::Moved);

    // The next sync, on ordinary timeouts, has nothing to add: the parts held every change.
    sandbox.later(TimeDelta::minutes(10));
    let next = sandbox.sync("after-parts").await;
    assert_eq!((next.appended, next.updated), (0, 0), "{next:?}");
    sandbox.assert_true("after the next sync");
}
