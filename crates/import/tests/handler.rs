//! The import handler with an in-process [`Source`]: validation happens before the source is
//! touched, orders stream into the object under the deterministic key, an empty window writes
//! an empty object, and a source failure writes nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::ImportEvent;
use ordersync_core::payload;
use ordersync_core::product_order::OrdersSchema;
use ordersync_core::request::AccountRef;
use ordersync_core::source::{FetchCounts, OrderSink, Source};
use ordersync_core::store::{DirStore, Store, read_object};
use ordersync_core::time::{DateOnly, parse_instant};
use ordersync_core::window::Window;
use ordersync_import::{handle, parse_event};
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
