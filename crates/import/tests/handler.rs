//! The import handler with an in-process [`Source`]: validation happens before the source is
//! touched, orders stream into the object under the deterministic key, an empty window writes
//! an empty object, and a source failure writes nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::ImportEvent;
use ordersync_core::keys::{Stage, object_key};
use ordersync_core::payload;
use ordersync_core::product_order::OrdersSchema;
use ordersync_core::request::AccountRef;
use ordersync_core::source::{FeedPart, FeedPosition, FetchCounts, OrderSink, PartLimit, Source};
use ordersync_core::store::{DirStore, Store, read_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_import::{Continuation, handle, handle_with, parse_event};
use ordersync_testkit::orders::orders_in_window;
use serde_json::json;

/// Hands out generated orders; counts how often it was asked.
struct Generated {
    count: u64,
    calls: AtomicU64,
    fail: Option<ErrorName>,
}

impl Source for Generated {
    async fn fetch_window(
        &self,
        _account: &AccountRef,
        window: &Window,
        _deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        for order in orders_in_window(window, 0, self.count, 5) {
            sink(order)?;
        }
        if let Some(name) = self.fail {
            return Err(StepError::new(name, "upstream went away"));
        }
        Ok(FetchCounts {
            changed: self.count,
            fetched: self.count,
            missing: 0,
            api_calls: 1 + self.count.div_ceil(300),
            rechecked: 0,
        })
    }

    /// The same generated orders, as the conditional search would find them.
    async fn fetch_range(
        &self,
        account: &AccountRef,
        window: &Window,
        _by: ordersync_core::request::RangeBy,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        self.fetch_window(account, window, deadline, sink).await
    }

    /// This shop knows no product order by id: every one is missing.
    async fn fetch_ids(
        &self,
        _account: &AccountRef,
        ids: &[String],
        _deadline: Instant,
        _sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(FetchCounts {
            missing: ids.len() as u64,
            api_calls: ids.len().div_ceil(300) as u64,
            ..FetchCounts::default()
        })
    }
}

fn source(count: u64) -> Generated {
    Generated {
        count,
        calls: AtomicU64::new(0),
        fail: None,
    }
}

fn window() -> Window {
    Window::new(
        parse_instant("2026-11-01", DateOnly::StartOfDay).unwrap(),
        parse_instant("2026-11-01", DateOnly::EndOfDay).unwrap(),
    )
    .unwrap()
}

fn event(execution: &str) -> ImportEvent {
    ImportEvent {
        by: None,
        sync: None,
        instances: None,
        execution: execution.into(),
        account: AccountRef {
            secret_id: "ordersync/naver/shop".into(),
        },
        window: window(),
    }
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn writes_every_order_under_the_deterministic_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let out = handle(&store, &source(650), event("exec-1"), deadline())
        .await
        .unwrap();
    assert_eq!(out.orders.records, 650);
    assert_eq!(out.counts.api_calls, 4);
    assert_eq!(
        store.key_of(&out.orders.uri).unwrap(),
        "runs/exec-1/orders/20261101T000000-20261102T000000.jsonl.zst"
    );
    let bytes = read_object(&store, &out.orders).await.unwrap();
    let reader = payload::open::<OrdersSchema>(&bytes, &out.orders).unwrap();
    assert_eq!(reader.meta().window, window());
    assert_eq!(reader.count(), 650);

    // Same execution again: same key, same bytes.
    let again = handle(&store, &source(650), event("exec-1"), deadline())
        .await
        .unwrap();
    assert_eq!(again.orders, out.orders);
}

#[tokio::test]
async fn an_empty_window_is_an_empty_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let out = handle(&store, &source(0), event("exec-2"), deadline())
        .await
        .unwrap();
    assert_eq!(out.orders.records, 0);
    assert!(read_object(&store, &out.orders).await.is_ok());
}

#[tokio::test]
async fn bad_events_are_rejected_before_the_source_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let good = serde_json::to_value(event("exec-3")).unwrap();
    let cases = [
        (
            {
                let mut v = good.clone();
                v["window"]["to"] = json!("2026-11-03T00:00:00+09:00");
                v
            },
            "at most 24 h",
        ),
        (
            {
                let mut v = good.clone();
                v["window"]["to"] = json!("2026-10-31T00:00:00+09:00");
                v
            },
            "window.to is not after window.from",
        ),
        (
            {
                let mut v = good.clone();
                v["account"]["secret_id"] = json!("$2a$04$abcdefghijklmnopqrstuv");
                v
            },
            "never the secret itself",
        ),
        (
            {
                let mut v = good.clone();
                v["account"] = json!({"client_id": "x", "client_secret": "y"});
                v
            },
            "account.client_id: unknown field",
        ),
        (
            {
                let mut v = good.clone();
                v["execution"] = json!("a b");
                v
            },
            "execution name contains",
        ),
        (json!({"execution": "x"}), "missing field"),
    ];
    let src = source(10);
    for (value, expected) in cases {
        let result = match parse_event(value.clone()) {
            Ok(e) => handle(&store, &src, e, deadline()).await,
            Err(e) => Err(e),
        };
        let err = result.expect_err("must fail");
        assert_eq!(err.name, ErrorName::InvalidInput, "{value}");
        assert!(err.message.contains(expected), "{value}: {}", err.message);
        assert!(
            !err.message.contains("abcdefghij"),
            "the secret-looking value is not echoed"
        );
    }
    assert_eq!(
        src.calls.load(Ordering::SeqCst),
        0,
        "no source call for bad input"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[tokio::test]
async fn a_failing_source_writes_nothing_and_keeps_its_error_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let failing = Generated {
        count: 5,
        calls: AtomicU64::new(0),
        fail: Some(ErrorName::RateLimited),
    };
    let err = handle(&store, &failing, event("exec-4"), deadline())
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::RateLimited);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

/// A change feed of `pages` pages of 100 generated orders that can go on from a position (the
/// next page's number in `more_sequence`), like NAVER's `more`. Counts every page read, and
/// fails once, as a crash would, when it is about to read page `fail_at`.
struct Paged {
    pages: u64,
    reads: std::sync::Mutex<Vec<u64>>,
    fail_at: std::sync::Mutex<Option<u64>>,
}

impl Paged {
    fn new(pages: u64) -> Self {
        Paged {
            pages,
            reads: std::sync::Mutex::new(Vec::new()),
            fail_at: std::sync::Mutex::new(None),
        }
    }

    fn reads(&self) -> Vec<u64> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

const PAGE: u64 = 100;

impl Source for Paged {
    async fn fetch_window(
        &self,
        account: &AccountRef,
        window: &Window,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        ordersync_core::source::whole_window(self, account, window, deadline, sink).await
    }

    async fn fetch_feed_part(
        &self,
        _account: &AccountRef,
        window: &Window,
        from: Option<&FeedPosition>,
        limit: PartLimit,
        _deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FeedPart, StepError> {
        let mut page = from.map_or(1, |p| p.more_sequence.parse::<u64>().unwrap());
        let mut counts = FetchCounts::default();
        let mut read = 0;
        loop {
            if *self.fail_at.lock().unwrap() == Some(page) {
                *self.fail_at.lock().unwrap() = None;
                return Err(StepError::new(ErrorName::Upstream, "connection reset"));
            }
            self.reads.lock().unwrap().push(page);
            read += 1;
            let orders = orders_in_window(window, (page - 1) * PAGE, PAGE, page);
            counts.api_calls += 2;
            for order in orders {
                counts.changed += 1;
                counts.fetched += 1;
                sink(order)?;
            }
            if page == self.pages {
                return Ok(FeedPart { counts, more: None });
            }
            page += 1;
            if limit.reached(read) {
                let more = FeedPosition {
                    more_from: format!("page {page}"),
                    more_sequence: page.to_string(),
                    last_changed_to: "2026-11-01T23:59:59.999+09:00".into(),
                };
                return Ok(FeedPart {
                    counts,
                    more: Some(more),
                });
            }
        }
    }

    async fn fetch_range(
        &self,
        _account: &AccountRef,
        _window: &Window,
        _by: ordersync_core::request::RangeBy,
        _deadline: Instant,
        _sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        unreachable!("a sync window reads the feed")
    }

    async fn fetch_ids(
        &self,
        _account: &AccountRef,
        _ids: &[String],
        _deadline: Instant,
        _sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        unreachable!("no re-read in these cases")
    }
}

/// The records of an orders object, as JSON lines (comparable across objects).
async fn records(store: &DirStore, reference: &ordersync_core::ObjectRef) -> Vec<String> {
    let bytes = read_object(store, reference).await.unwrap();
    payload::open::<OrdersSchema>(&bytes, reference)
        .unwrap()
        .map(|o| serde_json::to_string(&o.unwrap()).unwrap())
        .collect()
}

/// A deadline past the continuation's reserve: the part limit alone ends a part.
fn late() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

fn far() -> Continuation {
    Continuation::default()
}

#[tokio::test]
async fn a_window_that_outlasts_its_invocation_goes_on_from_its_stored_place() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let feed = Paged::new(5);
    // The whole window in one invocation: the reference answer.
    let whole = handle_with(&store, &feed, event("exec-whole"), late(), far())
        .await
        .unwrap();
    assert_eq!(feed.reads(), [1, 2, 3, 4, 5]);
    assert_eq!(whole.orders.records, 5 * PAGE);
    let only_object = std::fs::read_dir(dir.path().join("runs/exec-whole/orders"))
        .unwrap()
        .count();
    assert_eq!(only_object, 1, "a window read whole stores nothing else");

    // Every invocation starts inside its reserve (deadline 1 s away, reserve 60 s): each reads
    // one page, stores it with its place, and asks to be continued, whatever the machine's speed.
    let mut answers = Vec::new();
    let done = loop {
        let soon = Instant::now() + Duration::from_secs(1);
        match handle_with(&store, &feed, event("exec-parts"), soon, far()).await {
            Ok(done) => break done,
            Err(e) => {
                assert_eq!(e.name, ErrorName::Continue, "{e}");
                assert!(e.name.retryable());
                answers.push(e.message);
                assert!(answers.len() < 10, "never ends");
            }
        }
    };
    assert_eq!(answers.len(), 4, "{answers:?}");
    assert!(answers[0].contains("1 stored parts (100 product orders so far)"));
    assert_eq!(feed.reads(), [1, 2, 3, 4, 5], "no page read twice");
    assert_eq!(done.orders.records, 5 * PAGE);
    assert_eq!(done.counts.fetched, 5 * PAGE, "counts of every part");
    assert_eq!(done.counts.api_calls, 10);
    assert_eq!(
        records(&store, &done.orders).await,
        records(&store, &whole.orders).await,
        "joined in order: the same object as the window read whole"
    );
    assert_eq!(
        store.key_of(&done.orders.uri).unwrap(),
        "runs/exec-parts/orders/20261101T000000-20261102T000000.jsonl.zst"
    );

    // The progress is spent: the same execution name later reads the window afresh.
    let again = handle_with(&store, &feed, event("exec-parts"), late(), far())
        .await
        .unwrap();
    assert_eq!(feed.reads(), [1, 2, 3, 4, 5]);
    assert_eq!(again.orders.records, 5 * PAGE);
}

#[tokio::test]
async fn parts_are_stored_every_n_pages_and_a_crash_loses_only_the_part_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let feed = Paged::new(5);
    let whole = handle_with(&store, &feed, event("exec-a"), late(), far())
        .await
        .unwrap();
    feed.reads();

    let every_two = Continuation {
        part_pages: 2,
        ..Continuation::default()
    };
    // Page 4 fails (a reset, an out-of-memory, a kill): pages 1-2 are a stored part, page 3
    // was in the part that failed.
    *feed.fail_at.lock().unwrap() = Some(4);
    let err = handle_with(&store, &feed, event("exec-b"), late(), every_two)
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Upstream);
    assert_eq!(feed.reads(), [1, 2, 3]);
    let orders = dir.path().join("runs/exec-b/orders");
    assert!(
        orders
            .join("20261101T000000-20261102T000000.part-0001.jsonl.zst")
            .exists()
    );
    assert!(
        !orders
            .join("20261101T000000-20261102T000000.jsonl.zst")
            .exists(),
        "no window object before the feed ended"
    );

    // The retry goes on from page 3, not from the window's start, and ends in one invocation.
    let done = handle_with(&store, &feed, event("exec-b"), late(), every_two)
        .await
        .unwrap();
    assert_eq!(feed.reads(), [3, 4, 5]);
    assert_eq!(
        records(&store, &done.orders).await,
        records(&store, &whole.orders).await
    );
    let parts = std::fs::read_dir(&orders)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".part-")
        })
        .count();
    assert_eq!(parts, 3, "pages 1-2, 3-4, 5");
}

#[tokio::test]
async fn a_crash_between_the_last_part_and_the_window_object_only_joins() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let feed = Paged::new(3);
    let every_page = Continuation {
        part_pages: 1,
        ..Continuation::default()
    };
    let whole = handle_with(&store, &feed, event("exec-c0"), late(), every_page)
        .await
        .unwrap();
    feed.reads();
    // The window's object cannot be written (a directory stands at its key): the invocation
    // fails after the last part and its progress were stored.
    let window_key = object_key("exec-c", Stage::Orders, &window()).unwrap();
    std::fs::create_dir_all(dir.path().join(&window_key)).unwrap();
    handle_with(&store, &feed, event("exec-c"), late(), every_page)
        .await
        .unwrap_err();
    assert_eq!(feed.reads(), [1, 2, 3]);
    std::fs::remove_dir(dir.path().join(&window_key)).unwrap();

    let again = handle_with(&store, &feed, event("exec-c"), late(), every_page)
        .await
        .unwrap();
    assert!(feed.reads().is_empty(), "no feed page read again");
    assert_eq!(
        records(&store, &again.orders).await,
        records(&store, &whole.orders).await
    );
    assert_eq!(again.counts, whole.counts);
}
