//! The NAVER client against the test kit's strict fake NAVER server: token signing and caching,
//! windows and paging, the fewest calls the protocol allows, rate limits, faults and deadlines.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use ordersync_core::clock::{Clock, ManualClock};
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::product_order::ImportedOrder;
use ordersync_core::request::AccountRef;
use ordersync_core::source::{FeedPosition, FetchCounts, PartLimit, Source};
use ordersync_core::window::{MAX_WINDOW, Window, split};
use ordersync_naver::config::http_client;
use ordersync_naver::source::{EnvCredentials, FileCredentials};
use ordersync_naver::{Access, CredentialStore, Credentials, NaverConfig, NaverSource};
use ordersync_testkit::naver::{Endpoint, FakeNaver, FakeNaverConfig, Fault, FaultKind, NaverMode};

fn account() -> AccountRef {
    AccountRef {
        secret_id: "ordersync/naver/test-shop".into(),
    }
}

fn config(fake: &FakeNaver) -> NaverConfig {
    NaverConfig {
        base_url: fake.base_url(),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
        ..NaverConfig::default()
    }
}

fn naver(fake: &FakeNaver) -> NaverSource<EnvCredentials> {
    source_with(fake, config(fake))
}

fn source_with(fake: &FakeNaver, config: NaverConfig) -> NaverSource<EnvCredentials> {
    let http = http_client(&config).unwrap();
    let credentials = EnvCredentials::new(Credentials {
        client_id: fake.client_id().to_owned(),
        client_secret: fake.client_secret().to_owned(),
        access: Access::OwnStore,
    });
    NaverSource::new(http, config, credentials)
}

async fn fetch(
    source: &impl Source,
    window: &Window,
    deadline: Instant,
) -> (Result<FetchCounts, StepError>, Vec<ImportedOrder>) {
    let mut orders = Vec::new();
    let result = source
        .fetch_window(&account(), window, deadline, &mut |o| {
            orders.push(o);
            Ok(())
        })
        .await;
    (result, orders)
}

fn soon(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

/// Distinct ids the fake's shop changed in `[from, to)`, with their latest change there.
fn expected(
    fake: &FakeNaver,
    window: &Window,
) -> BTreeMap<String, chrono::DateTime<chrono::FixedOffset>> {
    let mut latest = BTreeMap::new();
    for e in fake
        .shop()
        .changes_between(window.from, window.to - TimeDelta::milliseconds(1))
    {
        latest
            .entry(e.product_order_id.clone())
            .and_modify(|d: &mut chrono::DateTime<_>| *d = (*d).max(e.last_changed_date))
            .or_insert(e.last_changed_date);
    }
    latest
}

#[tokio::test]
async fn a_range_in_day_windows_gets_every_change_with_the_fewest_calls() {
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 300,
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (from, to) = fake.shop().span();
    let windows = split(from, to, MAX_WINDOW);
    assert!(windows.len() >= 3, "the shop spans several days");

    let mut minimum_feed = 0;
    let mut minimum_details = 0;
    let mut seen_in: BTreeMap<String, usize> = BTreeMap::new();
    let mut total_calls = 0;
    for window in &windows {
        let want = expected(&fake, window);
        let rows = fake
            .shop()
            .changes_between(window.from, window.to - TimeDelta::milliseconds(1))
            .len() as u64;
        minimum_feed += rows.div_ceil(300).max(1);
        minimum_details += (want.len() as u64).div_ceil(300);

        let (result, orders) = fetch(&source, window, soon(30)).await;
        let counts = result.unwrap();
        total_calls += counts.api_calls;
        let got: BTreeMap<_, _> = orders
            .iter()
            .map(|o| {
                (
                    o.product_order_id.clone(),
                    o.change.as_ref().unwrap().last_changed_date.unwrap(),
                )
            })
            .collect();
        assert_eq!(got, want, "window {}", window.id());
        assert_eq!(
            (counts.changed, counts.fetched, counts.missing),
            (want.len() as u64, want.len() as u64, 0)
        );
        for o in &orders {
            assert!(
                o.detail.product_order.is_some(),
                "detail present for {}",
                o.product_order_id
            );
            *seen_in.entry(o.product_order_id.clone()).or_default() += 1;
        }
    }
    // The feed is a snapshot: an order that changed on two days is listed once, in the window
    // of its latest change, although its history spans both.
    assert!(seen_in.values().all(|&n| n == 1), "no order in two windows");
    let day_of = |t: chrono::DateTime<chrono::FixedOffset>| {
        windows.iter().position(|w| w.from <= t && t < w.to)
    };
    let shop = fake.shop();
    let mut days: BTreeMap<&str, BTreeSet<Option<usize>>> = BTreeMap::new();
    for e in shop.events() {
        days.entry(&e.product_order_id)
            .or_default()
            .insert(day_of(e.last_changed_date));
    }
    assert!(
        days.values().any(|d| d.len() >= 2),
        "some order's history spans two windows"
    );

    let stats = fake.stats();
    assert_eq!(stats.token_calls, 1, "one token for the whole run");
    assert_eq!(
        stats.feed_calls, minimum_feed,
        "feed pages: exactly the minimum"
    );
    assert_eq!(
        stats.detail_calls, minimum_details,
        "details: exactly ⌈ids/300⌉ per window"
    );
    assert_eq!(total_calls, 1 + minimum_feed + minimum_details);
}

#[tokio::test]
async fn paging_across_many_pages_keeps_every_row_once() {
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 2500,
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    // The last day: the feed holds each order's latest change, so most records are there.
    let (_, to) = fake.shop().span();
    let window = Window::new(to - MAX_WINDOW, to).unwrap();
    let rows = fake
        .shop()
        .changes_between(window.from, window.to - TimeDelta::milliseconds(1))
        .len() as u64;
    assert!(rows > 900, "{rows} rows: several pages");
    let (result, orders) = fetch(&source, &window, soon(60)).await;
    let counts = result.unwrap();
    let ids: BTreeSet<_> = orders.iter().map(|o| o.product_order_id.clone()).collect();
    assert_eq!(ids.len(), orders.len(), "no product order twice");
    assert_eq!(ids, expected(&fake, &window).into_keys().collect());
    assert_eq!(fake.stats().feed_calls, rows.div_ceil(300));
    assert_eq!(fake.stats().detail_calls, (ids.len() as u64).div_ceil(300));
    assert_eq!(counts.changed, ids.len() as u64);
}

#[tokio::test]
async fn an_expired_token_is_replaced_once_mid_run() {
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (from, to) = fake.shop().span();
    let windows = split(from, to, MAX_WINDOW);
    fetch(&source, &windows[0], soon(30)).await.0.unwrap();
    fake.expire_tokens();
    let (result, orders) = fetch(&source, &windows[1], soon(30)).await;
    result.unwrap();
    assert_eq!(orders.len(), expected(&fake, &windows[1]).len());
    assert_eq!(fake.stats().token_calls, 2);
    assert_eq!(fake.stats().rejected("GW.AUTHN"), 1);
}

#[tokio::test]
async fn storms_and_hiccups_are_retried_within_the_deadline() {
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    let want = expected(&fake, &window).len();
    for kind in [
        FaultKind::Status {
            status: 429,
            code: "GW.RATE_LIMIT",
        },
        FaultKind::Status {
            status: 429,
            code: "GW.QUOTA_LIMIT",
        },
        FaultKind::Status {
            status: 503,
            code: "GW.BLOCK.01",
        },
        FaultKind::Status {
            status: 500,
            code: "GW.PROXY.01",
        },
        FaultKind::HtmlOk,
        FaultKind::ErrorCodeInOk,
    ] {
        fake.inject(Fault {
            endpoint: Endpoint::Feed,
            times: 3,
            kind: kind.clone(),
        });
        fake.inject(Fault {
            endpoint: Endpoint::Details,
            times: 2,
            kind,
        });
        let (result, orders) = fetch(&source, &window, soon(30)).await;
        let counts = result.unwrap();
        assert_eq!(orders.len(), want);
        assert!(counts.api_calls >= 7, "retries are counted: {counts:?}");
    }
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let mut cfg = config(&fake);
    cfg.request_timeout = Duration::from_millis(300);
    let source = source_with(&fake, cfg);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    fake.inject(Fault {
        endpoint: Endpoint::Details,
        times: 1,
        kind: FaultKind::Delay(Duration::from_secs(2)),
    });
    let (result, orders) = fetch(&source, &window, soon(30)).await;
    result.unwrap();
    assert_eq!(orders.len(), expected(&fake, &window).len());
}

#[tokio::test]
async fn past_the_deadline_limits_and_outages_get_retryable_names() {
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();

    fake.inject(Fault {
        endpoint: Endpoint::Feed,
        times: 10_000,
        kind: FaultKind::Status {
            status: 429,
            code: "GW.RATE_LIMIT",
        },
    });
    let err = fetch(
        &source,
        &window,
        Instant::now() + Duration::from_millis(1500),
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(err.name, ErrorName::RateLimited, "{err}");
    assert!(err.name.retryable());
    assert!(
        err.message.contains("HTTP 429") && err.message.contains("trace "),
        "{}",
        err.message
    );

    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    fake.inject(Fault {
        endpoint: Endpoint::Details,
        times: 10_000,
        kind: FaultKind::Status {
            status: 504,
            code: "GW.TIMEOUT.01",
        },
    });
    let err = fetch(
        &source,
        &window,
        Instant::now() + Duration::from_millis(1500),
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Upstream, "{err}");
    assert!(err.message.contains("GW.TIMEOUT.01"), "{}", err.message);
}

#[tokio::test]
async fn an_unregistered_ip_tells_the_operator_what_to_do() {
    let fake = FakeNaver::start(FakeNaverConfig::default()).await;
    let source = naver(&fake);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    fake.inject(Fault {
        endpoint: Endpoint::Any,
        times: 1,
        kind: FaultKind::Status {
            status: 403,
            code: "GW.IP_NOT_ALLOWED",
        },
    });
    let err = fetch(&source, &window, soon(30)).await.0.unwrap_err();
    assert_eq!(err.name, ErrorName::Auth);
    assert!(!err.name.retryable());
    for needle in [
        "register the Elastic IP of the NAT gateway",
        "`EgressIp`",
        "Korean region and a Korean static IP",
        "ap-northeast-2",
    ] {
        assert!(err.message.contains(needle), "{needle}: {}", err.message);
    }
    assert!(
        err.message.contains("trace "),
        "carries NAVER's trace id: {}",
        err.message
    );
    assert_eq!(fake.stats().feed_calls + fake.stats().detail_calls, 0);
}

#[tokio::test]
async fn a_wrong_secret_is_an_auth_error_without_the_secret() {
    let fake = FakeNaver::start(FakeNaverConfig::default()).await;
    let cfg = config(&fake);
    let wrong = "$2a$04$zzzzzzzzzzzzzzzzzzzzzu";
    let source = NaverSource::new(
        http_client(&cfg).unwrap(),
        cfg,
        EnvCredentials::new(Credentials {
            client_id: fake.client_id().into(),
            client_secret: wrong.into(),
            access: Access::OwnStore,
        }),
    );
    let (from, _) = fake.shop().span();
    let err = fetch(
        &source,
        &Window::new(from, from + MAX_WINDOW).unwrap(),
        soon(30),
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Auth, "{err}");
    assert!(!err.message.contains("zzzzzzzz"), "{}", err.message);
}

#[tokio::test]
async fn a_detail_naver_does_not_return_is_counted_missing() {
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    let want = expected(&fake, &window);
    let hidden = want.keys().nth(3).unwrap().clone();
    fake.hide_detail(&hidden);
    let (result, orders) = fetch(&source, &window, soon(30)).await;
    let counts = result.unwrap();
    assert_eq!(
        (counts.changed, counts.fetched, counts.missing),
        (want.len() as u64, want.len() as u64 - 1, 1)
    );
    assert!(orders.iter().all(|o| o.product_order_id != hidden));
}

#[tokio::test]
async fn the_client_waits_on_its_limiter_instead_of_collecting_429s() {
    // 5 requests/s per API, burst 10: a multi-day run makes far more calls than the burst.
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 2000,
        rate_per_sec: 5,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (from, to) = fake.shop().span();
    for window in split(from, to, MAX_WINDOW) {
        let (result, orders) = fetch(&source, &window, soon(60)).await;
        result.unwrap();
        assert_eq!(orders.len(), expected(&fake, &window).len());
    }
    let stats = fake.stats();
    assert!(
        stats.feed_calls > 10 && stats.detail_calls > 5,
        "more calls than one burst: {stats:?}"
    );
    assert_eq!(stats.rejected("GW.RATE_LIMIT"), 0, "{stats:?}");
}

#[tokio::test]
async fn an_unknown_account_fails_before_any_call() {
    let fake = FakeNaver::start(FakeNaverConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("naver.json");
    std::fs::write(
        &path,
        serde_json::json!({"ordersync/naver/other": {"client_id": fake.client_id(), "client_secret": fake.client_secret()}}).to_string(),
    )
    .unwrap();
    let credentials = FileCredentials::load(&path).unwrap();
    assert!(
        credentials
            .credentials(&AccountRef {
                secret_id: "ordersync/naver/other".into()
            })
            .await
            .is_ok()
    );
    let cfg = config(&fake);
    let source = NaverSource::new(http_client(&cfg).unwrap(), cfg, credentials);
    let (from, _) = fake.shop().span();
    let err = fetch(
        &source,
        &Window::new(from, from + MAX_WINDOW).unwrap(),
        soon(30),
    )
    .await
    .0
    .unwrap_err();
    assert_eq!(err.name, ErrorName::InvalidInput);
    assert!(
        err.message.contains("names no known NAVER account"),
        "{}",
        err.message
    );
    assert_eq!(fake.stats().token_calls, 0);
}

#[tokio::test]
async fn a_window_in_the_future_is_clamped_to_now() {
    // One pinned clock for the client and the fake: "now" is whatever the test says, at any
    // hour the suite runs (here late on New Year's Eve, KST).
    let clock = ManualClock::at(
        chrono::DateTime::parse_from_rfc3339("2026-12-31T23:59:00+09:00")
            .unwrap()
            .to_utc(),
    );
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::at(shared.clone())
    })
    .await;
    let source = naver(&fake).with_clock(shared);
    let now = clock.now().fixed_offset();
    let window = Window::new(now - TimeDelta::hours(12), now + TimeDelta::hours(12)).unwrap();
    let (result, _) = fetch(&source, &window, soon(30)).await;
    result.unwrap();
    assert_eq!(
        fake.stats().rejected.values().sum::<u64>(),
        0,
        "the fake rejects a future end; we never sent one"
    );
    let sent_to: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.query.clone())
        .filter(|q| q.contains("lastChangedTo"))
        .collect();
    assert!(
        sent_to
            .iter()
            .all(|q| q.contains("lastChangedTo=2026-12-31T23%3A58%3A57.000%2B09%3A00")),
        "the end is the pinned now less the 3 s clock skew: {sent_to:?}"
    );
    let later = Window::new(now + TimeDelta::hours(1), now + TimeDelta::hours(2)).unwrap();
    let calls = fake.stats().feed_calls;
    fetch(&source, &later, soon(30)).await.0.unwrap();
    assert_eq!(
        fake.stats().feed_calls,
        calls,
        "a window wholly in the future needs no call"
    );
    // Time moves on: the same window is now partly past, and its past part is read.
    clock.advance(TimeDelta::hours(1) + TimeDelta::minutes(30));
    fetch(&source, &later, soon(30)).await.0.unwrap();
    assert!(fake.stats().feed_calls > calls);
    assert_eq!(fake.stats().rejected.values().sum::<u64>(), 0);
}

#[tokio::test]
async fn a_token_with_under_30_minutes_left_is_refreshed_before_use() {
    // Twenty-minute tokens: below the 30-minute mark, so the client asks again before each call
    // instead of sending a token that is about to lapse and waiting for a 401.
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    fake.set_token_lifetime(Duration::from_secs(20 * 60));
    let source = naver(&fake);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    fetch(&source, &window, soon(30)).await.0.unwrap();
    let stats = fake.stats();
    assert_eq!(
        stats.token_calls,
        stats.feed_calls + stats.detail_calls,
        "{stats:?}"
    );
    assert_eq!(stats.rejected("GW.AUTHN"), 0, "{stats:?}");

    // Three-hour tokens: one serves the whole window.
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    fetch(&source, &window, soon(30)).await.0.unwrap();
    assert_eq!(fake.stats().token_calls, 1);
}

/// One clock for the fake and the client, pinned to a whole hour plus ten minutes, so the
/// penalty's hourly allowance does not depend on when the suite runs.
fn pinned_hour() -> (ManualClock, Arc<dyn Clock>) {
    let clock = ManualClock::at(
        chrono::DateTime::parse_from_rfc3339("2026-12-15T10:10:00+09:00")
            .unwrap()
            .to_utc(),
    );
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    (clock, shared)
}

#[tokio::test]
async fn the_hourly_quota_penalty_stops_at_once_with_its_own_name_and_what_to_do() {
    let (_clock, shared) = pinned_hour();
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::at(shared.clone())
    })
    .await;
    // NAVER's penalty exactly: the hour's one call is served (here the token), every other is
    // 429 GW.QUOTA_LIMIT with GNCP-GW-Quota-Period HOURS and nothing remaining.
    fake.set_mode(NaverMode::QuotaPenalty { calls_per_hour: 1 });
    let source = naver(&fake).with_clock(shared);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    let (result, orders) = fetch(&source, &window, soon(30)).await;
    let err = result.unwrap_err();
    assert_eq!(err.name, ErrorName::QuotaPenalty, "{err}");
    assert!(!err.name.retryable());
    assert!(orders.is_empty());
    // At once: the token, then one feed call that saw the penalty; no retry.
    let stats = fake.stats();
    assert_eq!(
        (stats.token_calls, stats.feed_calls, stats.detail_calls),
        (1, 1, 0)
    );
    assert_eq!(stats.rejected("GW.QUOTA_LIMIT"), 1);
    for needle in [
        "1 call per hour",
        "HTTP 429, code GW.QUOTA_LIMIT, trace ",
        "GNCP-GW-Quota-Period HOURS",
        "any tool or script that uses the same application",
        "parameters in the query string",
        "an account_id with type=SELF",
        "Check every tool that uses this application",
        "after a day without such a request",
        "redrive",
    ] {
        assert!(err.message.contains(needle), "{needle}: {}", err.message);
    }
    assert!(!err.message.contains(fake.client_secret()));

    // A new run in the same hour stops just the same, after one call: the cached token needs
    // no new one.
    let (result, _) = fetch(&source, &window, soon(30)).await;
    assert_eq!(result.unwrap_err().name, ErrorName::QuotaPenalty);
    assert_eq!(fake.stats().feed_calls, 2);
    assert_eq!(fake.stats().token_calls, 1);

    // Lifted: the same client imports the window.
    fake.set_mode(NaverMode::Normal);
    let (result, orders) = fetch(&source, &window, soon(30)).await;
    result.unwrap();
    assert_eq!(orders.len(), expected(&fake, &window).len());
}

#[tokio::test]
async fn planned_maintenance_stops_at_once_as_upstream_and_a_later_run_completes() {
    let (_clock, shared) = pinned_hour();
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::at(shared.clone())
    })
    .await;
    fake.set_mode(NaverMode::Maintenance);
    let source = naver(&fake).with_clock(shared);
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    let err = fetch(&source, &window, soon(30)).await.0.unwrap_err();
    assert_eq!(err.name, ErrorName::Upstream, "{err}");
    assert!(err.name.retryable(), "the state machine retries it");
    for needle in ["planned maintenance", "GW.BLOCK.02", "redrive"] {
        assert!(err.message.contains(needle), "{needle}: {}", err.message);
    }
    // One call, not a fast retry loop until the deadline.
    assert_eq!(fake.stats().rejected("GW.BLOCK.02"), 1);
    assert_eq!(fake.requests().len(), 1);

    fake.set_mode(NaverMode::Normal);
    let (result, orders) = fetch(&source, &window, soon(30)).await;
    result.unwrap();
    assert_eq!(orders.len(), expected(&fake, &window).len());
}

#[tokio::test]
async fn an_own_store_application_sends_self_and_an_agency_sends_seller_on_partner() {
    let fake = FakeNaver::start(FakeNaverConfig {
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let (from, _) = fake.shop().span();
    let window = Window::new(from, from + MAX_WINDOW).unwrap();
    let want = expected(&fake, &window).len();

    // Own store (the default): `/external`, and nothing NAVER would answer with its penalty
    // (an account_id with type=SELF, or SELLER from an own-store application).
    let (result, orders) = fetch(&naver(&fake), &window, soon(30)).await;
    result.unwrap();
    assert_eq!(orders.len(), want);
    assert_eq!(fake.stats().token_spec_violations, 0);
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.path.starts_with("/external/v1/")),
        "{:?}",
        fake.requests()
    );
    let own = fake.requests().len();

    // Agency mode, asked for by name: type=SELLER with the linked seller, every call on
    // `/partner`, a token of its own (one per resource).
    let cfg = config(&fake);
    let agency = NaverSource::new(
        http_client(&cfg).unwrap(),
        cfg.clone(),
        EnvCredentials::new(Credentials {
            client_id: fake.client_id().into(),
            client_secret: fake.client_secret().into(),
            access: Access::Agency {
                account_id: fake.account_id().into(),
            },
        }),
    );
    let (result, orders) = fetch(&agency, &window, soon(30)).await;
    result.unwrap();
    assert_eq!(orders.len(), want);
    let requests = fake.requests();
    assert!(requests.len() > own + 2);
    assert!(
        requests[own..]
            .iter()
            .all(|r| r.path.starts_with("/partner/v1/")),
        "{:?}",
        &requests[own..]
    );
    assert_eq!(fake.stats().tokens_issued, 2);
    assert_eq!(fake.stats().token_spec_violations, 0);

    // A base URL agency mode cannot turn into `/partner`: refused before any call.
    let odd = NaverConfig {
        base_url: format!("http://{}/v1-proxy", fake.addr()),
        ..cfg
    };
    let agency = NaverSource::new(
        http_client(&odd).unwrap(),
        odd,
        EnvCredentials::new(Credentials {
            client_id: fake.client_id().into(),
            client_secret: fake.client_secret().into(),
            access: Access::Agency {
                account_id: fake.account_id().into(),
            },
        }),
    );
    let err = fetch(&agency, &window, soon(30)).await.0.unwrap_err();
    assert_eq!(err.name, ErrorName::Config, "{err}");
    assert!(err.message.contains("/partner"), "{}", err.message);
    assert_eq!(fake.requests().len(), requests.len());
}

#[tokio::test]
async fn an_empty_or_unasked_for_account_id_in_the_credentials_file_is_refused_on_reading() {
    let fake = FakeNaver::start(FakeNaverConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("naver.json");
    let entry = |extra: serde_json::Value| {
        let mut entry = serde_json::json!({
            "client_id": fake.client_id(),
            "client_secret": fake.client_secret(),
        });
        entry
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::json!({ "shops/a": entry }).to_string()
    };
    for (extra, why) in [
        (serde_json::json!({"account_id": ""}), "account_id is empty"),
        (
            serde_json::json!({"mode": "agency", "account_id": ""}),
            "account_id is empty",
        ),
        (
            serde_json::json!({"account_id": fake.account_id()}),
            "without \"mode\": \"agency\"",
        ),
    ] {
        std::fs::write(&path, entry(extra.clone())).unwrap();
        let Err(err) = FileCredentials::load(&path) else {
            panic!("{extra} was accepted")
        };
        assert_eq!(err.name, ErrorName::Config, "{err}");
        assert!(err.message.contains("entry `shops/a`"), "{}", err.message);
        assert!(err.message.contains(why), "{why}: {}", err.message);
        assert!(!err.message.contains(fake.client_secret()));
    }
    std::fs::write(
        &path,
        entry(serde_json::json!({"mode": "agency", "account_id": fake.account_id()})),
    )
    .unwrap();
    let credentials = FileCredentials::load(&path).unwrap();
    let read = credentials
        .credentials(&AccountRef {
            secret_id: "shops/a".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        read.access,
        Access::Agency {
            account_id: fake.account_id().into()
        }
    );
    assert_eq!(fake.stats().token_calls, 0, "nothing was sent");
}

#[tokio::test]
async fn a_range_by_payment_date_pages_the_conditional_search_with_the_fewest_calls() {
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 2500,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (_, to) = fake.shop().span();
    let window = Window::new(to - MAX_WINDOW, to).unwrap();
    // A page boundary lands inside the window, and NAVER's 2 requests/s are in force.
    fake.inject(Fault::once(Endpoint::Search, FaultKind::HtmlStatus(502)));
    let mut orders = Vec::new();
    let counts = source
        .fetch_range(
            &account(),
            &window,
            ordersync_core::request::RangeBy::Paid,
            soon(60),
            &mut |o| {
                orders.push(o);
                Ok(())
            },
        )
        .await
        .unwrap();
    let want: Vec<String> = fake
        .shop()
        .dated_between(
            "PAYED_DATETIME",
            window.from,
            window.to - TimeDelta::milliseconds(1),
        )
        .unwrap()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert!(want.len() > 600, "{} paid", want.len());
    let got: Vec<String> = orders.iter().map(|o| o.product_order_id.clone()).collect();
    assert_eq!(got, want);
    assert!(
        orders
            .iter()
            .all(|o| o.change.is_none() && o.detail.product_order.is_some())
    );
    let stats = fake.stats();
    let pages = (want.len() as u64).div_ceil(300);
    assert_eq!(
        stats.search_calls,
        pages + 1,
        "every page once, the 502 retried"
    );
    assert_eq!(stats.detail_calls + stats.feed_calls, 0, "details inline");
    assert_eq!(counts.fetched, want.len() as u64);
    assert_eq!(counts.api_calls, 1 + pages + 1);
    assert_eq!(stats.rejected("GW.RATE_LIMIT"), 0);
}

#[tokio::test]
async fn details_are_fetched_while_the_feed_is_still_paged() {
    // NAVER's 2 requests/s per API: the feed and the details endpoint each have their own
    // bucket, so a window's details calls run beside its feed pages instead of after them.
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 2500,
        ..FakeNaverConfig::default()
    })
    .await;
    let source = naver(&fake);
    let (_, to) = fake.shop().span();
    let window = Window::new(to - MAX_WINDOW, to).unwrap();
    let (result, orders) = fetch(&source, &window, soon(120)).await;
    let counts = result.unwrap();
    let want = expected(&fake, &window);
    assert_eq!(orders.len(), want.len());
    let requests = fake.requests();
    let position = |path: &str| -> Vec<usize> {
        requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.path.ends_with(path))
            .map(|(i, _)| i)
            .collect()
    };
    let feed = position("last-changed-statuses");
    let details = position("/query");
    assert!(feed.len() >= 4, "{} feed pages", feed.len());
    assert!(
        details[0] < *feed.last().unwrap(),
        "the first details call ended before the last feed page: {:?}",
        requests.iter().map(|r| r.path.as_str()).collect::<Vec<_>>()
    );
    // Still the fewest calls: one details call per 300 distinct ids.
    assert_eq!(details.len() as u64, (want.len() as u64).div_ceil(300));
    assert_eq!(counts.changed, want.len() as u64);
    assert_eq!(fake.stats().rejected("GW.RATE_LIMIT"), 0);
}

#[tokio::test]
async fn the_rate_share_follows_the_imports_that_run_at_once() {
    let fake = FakeNaver::start(FakeNaverConfig::default()).await;
    // Configured for the Map's default two imports at once.
    let source = source_with(&fake, config(&fake).shared_by(2));
    assert_eq!(source.client(&account()).await.unwrap().rate_share(), 0.5);
    // This execution's Map has one window: its import uses the whole rate, on the warm client.
    source.set_concurrency(1);
    assert_eq!(source.client(&account()).await.unwrap().rate_share(), 1.0);
    source.set_concurrency(4);
    assert_eq!(source.client(&account()).await.unwrap().rate_share(), 0.25);
    source.set_concurrency(0);
    assert_eq!(source.client(&account()).await.unwrap().rate_share(), 1.0);
}

#[tokio::test]
async fn a_window_read_in_parts_goes_on_from_navers_position_and_reads_no_page_twice() {
    // A pinned clock at noon KST, moved between parts, and a window that ends in the future:
    // its end is clamped to "now", and a continuation must ask with the window's first
    // `lastChangedTo`, not a new "now".
    let clock = ManualClock::at(
        chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00+09:00")
            .unwrap()
            .to_utc(),
    );
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 5000,
        rate_per_sec: 1000,
        ..FakeNaverConfig::at(shared.clone())
    })
    .await;
    let source = naver(&fake).with_clock(shared);
    let (_, end) = fake.shop().span();
    let now = clock.now().fixed_offset();
    assert!(end < now, "the shop's days end before now");
    let window = Window::new(now - TimeDelta::hours(20), now + TimeDelta::hours(4)).unwrap();
    let rows = fake
        .shop()
        .changes_between(window.from, window.to - TimeDelta::milliseconds(1))
        .len() as u64;
    assert!(rows > 900, "{rows} rows: several pages");

    let mut orders = Vec::new();
    let mut position: Option<FeedPosition> = None;
    let mut parts = 0u64;
    let mut counts = FetchCounts::default();
    loop {
        let limit = PartLimit {
            max_pages: 1,
            stop_at: soon(60),
        };
        let part = source
            .fetch_feed_part(
                &account(),
                &window,
                position.as_ref(),
                limit,
                soon(60),
                &mut |o| {
                    orders.push(o);
                    Ok(())
                },
            )
            .await
            .unwrap();
        parts += 1;
        counts.add(&part.counts);
        clock.advance(TimeDelta::minutes(7));
        match part.more {
            Some(next) => {
                if let Some(before) = &position {
                    assert_eq!(next.last_changed_to, before.last_changed_to);
                }
                position = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(parts, rows.div_ceil(300), "one page per part");
    assert_eq!(fake.stats().feed_calls, rows.div_ceil(300), "no page twice");
    let ids: BTreeSet<_> = orders.iter().map(|o| o.product_order_id.clone()).collect();
    assert_eq!(ids, expected(&fake, &window).into_keys().collect());
    // Every part details what it listed before it ends: one partial batch per part at most.
    assert!(fake.stats().detail_calls <= parts + (ids.len() as u64).div_ceil(300));
    assert_eq!(counts.fetched, orders.len() as u64);
    let sent_to: BTreeSet<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.query.clone())
        .filter(|q| q.contains("lastChangedTo"))
        .map(|q| {
            q.split('&')
                .find(|kv| kv.starts_with("lastChangedTo="))
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(sent_to.len(), 1, "one question across parts: {sent_to:?}");
    assert_eq!(fake.stats().rejected.values().sum::<u64>(), 0);
}
