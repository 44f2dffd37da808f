//! End-to-end tests of the fake over real HTTP/1.1 (a tiny raw client, so requests are exactly
//! what we write: a raw `+` stays a raw `+`).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use ordersync_core::product_order::{ChangeStatus, ProductOrderDetail};
use serde_json::{Value, json};

use super::*;

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// One HTTP/1.1 request over a fresh connection, read until the server closes it.
async fn http(
    fake: &FakeNaver,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let addr = fake.addr().to_string();
    let reply =
        crate::raw_http::request(&addr, method, &format!("/external{target}"), headers, body).await;
    Reply {
        status: reply.status,
        headers: reply.headers,
        body: reply.body,
    }
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn token_form(fake: &FakeNaver, timestamp: i64, sign: &str) -> String {
    format!(
        "client_id={}&timestamp={timestamp}&grant_type=client_credentials&client_secret_sign={sign}&type=SELF",
        fake.client_id()
    )
}

async fn token(fake: &FakeNaver) -> String {
    let ts = now_ms();
    let reply = http(
        fake,
        "POST",
        "/v1/oauth2/token",
        &[FORM],
        token_form(fake, ts, &fake.sign(ts)).as_bytes(),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// A query-string date, `+` encoded as it must be.
fn q(t: DateTime<FixedOffset>) -> String {
    naver_time(t).replace('+', "%2B")
}

async fn feed(fake: &FakeNaver, token: &str, query: &str) -> Reply {
    let auth = format!("Bearer {token}");
    http(
        fake,
        "GET",
        &format!("/v1/pay-order/seller/product-orders/last-changed-statuses?{query}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await
}

async fn details(fake: &FakeNaver, token: &str, body: &Value) -> Reply {
    let auth = format!("Bearer {token}");
    http(
        fake,
        "POST",
        "/v1/pay-order/seller/product-orders/query",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
    .await
}

fn unlimited(orders: usize) -> FakeNaverConfig {
    FakeNaverConfig {
        orders,
        rate_per_sec: 0,
        ..FakeNaverConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_are_checked_strictly() {
    let fake = FakeNaver::start(unlimited(5)).await;
    assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    assert!(fake.base_url().ends_with("/external"));
    assert!(fake.client_secret().starts_with("$2a$04$") && fake.client_secret().len() == 29);

    let ts = now_ms();
    let good = token_form(&fake, ts, &fake.sign(ts));
    let reply = http(&fake, "POST", "/v1/oauth2/token", &[FORM], good.as_bytes()).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["expires_in"], 10_800);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["access_token"].as_str().unwrap().len() >= 20);
    assert!(reply.headers.contains_key("gncp-gw-trace-id"));
    assert_eq!(
        fake.stats().token_spec_violations,
        0,
        "a conforming request"
    );

    // The same parameters in the query string: 415, as NAVER now answers.
    let in_query = http(
        &fake,
        "POST",
        &format!("/v1/oauth2/token?{good}"),
        &[FORM],
        b"",
    )
    .await;
    assert_eq!(in_query.status, 415);
    assert!(in_query.json()["traceId"].is_string());
    // A JSON body is not a form.
    let json_body = http(
        &fake,
        "POST",
        "/v1/oauth2/token",
        &[("Content-Type", "application/json")],
        json!({"client_id": fake.client_id()})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(json_body.status, 415);

    // A signature for another timestamp, or HMAC-style garbage: 401.
    let wrong = token_form(&fake, ts, &fake.sign(ts - 1));
    let reply = http(&fake, "POST", "/v1/oauth2/token", &[FORM], wrong.as_bytes()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "Unauthorized");

    // Older than 5 minutes, more than 5 minutes ahead, or seconds instead of milliseconds: 400.
    for stale in [ts - 5 * 60_000 - 1_000, ts + 5 * 60_000 + 1_000, ts / 1000] {
        let form = token_form(&fake, stale, &fake.sign(stale));
        let reply = http(&fake, "POST", "/v1/oauth2/token", &[FORM], form.as_bytes()).await;
        assert_eq!(reply.status, 400, "timestamp {stale}");
        assert_eq!(reply.json()["invalidInputs"][0]["name"], "timestamp");
    }
    // Missing parameters are all named.
    let reply = http(
        &fake,
        "POST",
        "/v1/oauth2/token",
        &[FORM],
        format!("client_id={}", fake.client_id()).as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["invalidInputs"].as_array().unwrap().len(), 4);
    // SELLER needs the linked account_id.
    let seller = good.replace("type=SELF", "type=SELLER");
    let reply = http(
        &fake,
        "POST",
        "/v1/oauth2/token",
        &[FORM],
        seller.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 400);
    let seller = format!("{seller}&account_id={}", fake.account_id());
    let reply = http(
        &fake,
        "POST",
        "/v1/oauth2/token",
        &[FORM],
        seller.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_ne!(reply.json()["access_token"], body["access_token"]);
    // Served, as NAVER serves it, but SELLER on `/external` (an own-store application's path)
    // is what NAVER answers with the hourly penalty; on `/partner` it is how agencies work.
    let violations = fake.stats().token_spec_violations;
    let partner = crate::raw_http::request(
        &fake.addr().to_string(),
        "POST",
        "/partner/v1/oauth2/token",
        &[FORM],
        seller.as_bytes(),
    )
    .await;
    assert_eq!(partner.status, 200);
    assert_eq!(fake.stats().token_spec_violations, violations);
    // SELF with an account_id: a token all the same, and a violation.
    let with_account = format!("{good}&account_id={}", fake.account_id());
    let reply = http(
        &fake,
        "POST",
        "/v1/oauth2/token",
        &[FORM],
        with_account.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(fake.stats().token_spec_violations, violations + 1);

    let stats = fake.stats();
    assert_eq!(stats.token_calls, 12);
    assert_eq!(stats.tokens_issued, 2);
    // The query string, the JSON body, the form without grant_type, SELLER on `/external`,
    // SELF with an account_id.
    assert_eq!(stats.token_spec_violations, 5);
    assert_eq!(stats.rejected("UnsupportedMediaType"), 2);
    assert_eq!(stats.rejected("Unauthorized"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_reused_while_30_minutes_are_left() {
    let fake = FakeNaver::start(unlimited(5)).await;
    let a = token(&fake).await;
    assert_eq!(token(&fake).await, a);

    // Tokens that live 20 minutes always have less than 30 left: each request gets a new one,
    // and the older ones keep working until they expire.
    fake.set_token_lifetime(Duration::from_secs(20 * 60));
    assert_eq!(token(&fake).await, a, "a's 3 hours are not shortened");
    fake.expire_tokens();
    let b = token(&fake).await;
    let c = token(&fake).await;
    assert!(b != a && c != b);
    let window = format!("lastChangedFrom={}", q(fake.shop().span().0));
    assert_eq!(feed(&fake, &b, &window).await.status, 200);
    assert_eq!(feed(&fake, &c, &window).await.status, 200);
    assert_eq!(feed(&fake, &a, &window).await.code(), "GW.AUTHN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_or_missing_tokens_get_gw_authn() {
    let fake = FakeNaver::start(unlimited(5)).await;
    let window = format!("lastChangedFrom={}", q(fake.shop().span().0));
    let anonymous = http(
        &fake,
        "GET",
        &format!("/v1/pay-order/seller/product-orders/last-changed-statuses?{window}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (401, "GW.AUTHN".into())
    );
    assert_eq!(feed(&fake, "made-up", &window).await.status, 401);

    let t = token(&fake).await;
    assert_eq!(feed(&fake, &t, &window).await.status, 200);
    fake.expire_tokens();
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 401);
    let body = reply.json();
    assert_eq!(body["code"], "GW.AUTHN");
    assert!(body["message"].is_string() && body["timestamp"].is_string());
    assert_eq!(
        body["traceId"].as_str(),
        reply.headers.get("gncp-gw-trace-id").map(String::as_str)
    );
    let fresh = token(&fake).await;
    assert_ne!(fresh, t);
    assert_eq!(feed(&fake, &fresh, &window).await.status, 200);
    assert_eq!(fake.stats().rejected("GW.AUTHN"), 3);
}

/// Pages through `[from, to]` with `limit` and returns every row and every `more` seen.
async fn page_all(
    fake: &FakeNaver,
    token: &str,
    from: DateTime<FixedOffset>,
    to: DateTime<FixedOffset>,
    limit: Option<usize>,
) -> (Vec<Value>, Vec<(Value, Value)>) {
    let mut rows = Vec::new();
    let mut mores = Vec::new();
    let mut query = format!("lastChangedFrom={}&lastChangedTo={}", q(from), q(to));
    let limit = limit
        .map(|n| format!("&limitCount={n}"))
        .unwrap_or_default();
    loop {
        let reply = feed(fake, token, &format!("{query}{limit}")).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let body = reply.json();
        let data = &body["data"];
        let page = data["lastChangeStatuses"].as_array().unwrap().clone();
        assert_eq!(data["count"].as_u64(), Some(page.len() as u64));
        let Some(more) = data.get("more") else {
            rows.extend(page);
            return (rows, mores);
        };
        assert!(!page.is_empty());
        mores.push((page.last().cloned().unwrap(), more.clone()));
        rows.extend(page);
        query = format!(
            "lastChangedFrom={}&lastChangedTo={}&moreSequence={}",
            more["moreFrom"].as_str().unwrap().replace('+', "%2B"),
            q(to),
            more["moreSequence"].as_str().unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_change_once_including_ties() {
    let fake = FakeNaver::start(unlimited(900)).await;
    let t = token(&fake).await;
    // The last day, where the snapshot feed holds most records (each order's latest change).
    let to = fake.shop().span().1 - TimeDelta::milliseconds(1);
    let from = to - TimeDelta::hours(24);
    let expected: Vec<Value> = fake
        .shop()
        .changes_between(from, to)
        .iter()
        .map(ChangeEvent::to_json)
        .collect();
    assert!(expected.len() > 600, "only {} changes", expected.len());
    let ties = expected
        .windows(2)
        .filter(|w| w[0]["lastChangedDate"] == w[1]["lastChangedDate"])
        .count();
    assert!(ties > 20, "only {ties} ties");

    let (rows, mores) = page_all(&fake, &t, from, to, None).await;
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows, expected);
    assert!(mores.len() >= 2);
    for row in &rows {
        let parsed: ChangeStatus = serde_json::from_value(row.clone()).unwrap();
        assert!(parsed.last_changed_date.unwrap() >= from);
    }

    // Small pages: some page boundary must fall inside a group of rows with one timestamp.
    let (rows, mores) = page_all(&fake, &t, from, to, Some(7)).await;
    assert_eq!(rows, expected);
    let split_ties = mores
        .iter()
        .filter(|(last, more)| last["lastChangedDate"] == more["moreFrom"])
        .count();
    assert!(split_ties > 0, "no page boundary fell inside a tie");

    // limitCount above 300 means 300.
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}&limitCount=1000",
            q(from),
            q(to)
        ),
    )
    .await;
    assert_eq!(reply.json()["data"]["count"], 300);

    // A moreSequence replayed against another lastChangedFrom is refused.
    let (_, more) = &mores[0];
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}&moreSequence={}",
            q(from),
            q(to),
            more["moreSequence"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!((reply.status, reply.code()), (400, "4000".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_window_and_default_to() {
    let fake = FakeNaver::start(unlimited(50)).await;
    let t = token(&fake).await;
    let before = fake.shop().span().0 - TimeDelta::hours(30);
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}",
            q(before),
            q(before + TimeDelta::hours(2))
        ),
    )
    .await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["data"], json!({"count": 0, "lastChangeStatuses": []}));
    assert!(body["timestamp"].as_str().unwrap().ends_with("+09:00"));

    // Without lastChangedTo the window is lastChangedFrom + 24 h.
    let from = fake.shop().span().0;
    let reply = feed(&fake, &t, &format!("lastChangedFrom={}", q(from))).await;
    let expected = fake
        .shop()
        .changes_between(from, from + TimeDelta::hours(24));
    let count = reply.json()["data"]["count"].as_u64().unwrap() as usize;
    assert_eq!(count, expected.len().min(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_feed_parameters_are_rejected() {
    let fake = FakeNaver::start(unlimited(20)).await;
    let t = token(&fake).await;
    let from = fake.shop().span().0;
    let now = Utc::now().with_timezone(&from.timezone());

    // A raw '+' decodes to a space.
    let raw = format!("lastChangedFrom={}", naver_time(from));
    assert!(raw.contains('+'));
    let reply = feed(&fake, &t, &raw).await;
    assert_eq!(reply.status, 400);
    let body = reply.json();
    assert_eq!(body["code"], "4000");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("lastChangedFrom")
    );
    assert!(
        body["invalidInputs"][0]["message"]
            .as_str()
            .unwrap()
            .contains("%2B")
    );
    // The '+' of lastChangedTo too.
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}",
            q(from),
            naver_time(from)
        ),
    )
    .await;
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("lastChangedTo")
    );

    // 25 hours: 104139.
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}",
            q(from),
            q(from + TimeDelta::hours(25))
        ),
    )
    .await;
    assert_eq!((reply.status, reply.code()), (400, "104139".into()));
    // Exactly 24 hours is fine.
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}",
            q(from),
            q(from + TimeDelta::hours(24))
        ),
    )
    .await;
    assert_eq!(reply.status, 200);

    // lastChangedTo in the future.
    let reply = feed(
        &fake,
        &t,
        &format!(
            "lastChangedFrom={}&lastChangedTo={}",
            q(now - TimeDelta::hours(1)),
            q(now + TimeDelta::minutes(5))
        ),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["invalidInputs"][0]["name"], "lastChangedTo");

    for (query, param) in [
        (String::new(), "lastChangedFrom"),
        (
            "lastChangedFrom=2026-01-01T00:00:00%2B09:00".to_owned(),
            "lastChangedFrom",
        ),
        (
            format!(
                "lastChangedFrom={}&lastChangedTo={}",
                q(from),
                q(from - TimeDelta::hours(1))
            ),
            "lastChangedTo",
        ),
        (
            format!("lastChangedFrom={}&limitCount=0", q(from)),
            "limitCount",
        ),
        (
            format!("lastChangedFrom={}&limitCount=ten", q(from)),
            "limitCount",
        ),
        (
            format!(
                "lastChangedFrom={}&lastChangedType=PAYMENT_WAITING",
                q(from)
            ),
            "lastChangedType",
        ),
        (
            format!("lastChangedFrom={}&moreSequence=abc", q(from)),
            "moreSequence",
        ),
        (
            format!("lastChangedFrom={0}&lastChangedFrom={0}", q(from)),
            "lastChangedFrom",
        ),
    ] {
        let reply = feed(&fake, &t, &query).await;
        assert_eq!(reply.status, 400, "{query}");
        let body = reply.json();
        assert_eq!(body["code"], "4000", "{query}");
        assert_eq!(body["invalidInputs"][0]["name"], param, "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_are_current_strict_and_can_be_hidden() {
    let fake = FakeNaver::start(unlimited(200)).await;
    let t = token(&fake).await;
    let ids = fake.shop().product_order_ids();
    assert!(ids.len() > 301);

    let reply = details(
        &fake,
        &t,
        &json!({"productOrderIds": ids[..301], "quantityClaimCompatibility": true}),
    )
    .await;
    assert_eq!((reply.status, reply.code()), (400, "4000".into()));
    for bad in [
        json!({"productOrderIds": []}),
        json!({"productOrderIds": [12345]}),
        json!({"ids": [ids[0]]}),
        json!({"productOrderIds": [ids[0]], "quantityClaimCompatibility": "yes"}),
    ] {
        let reply = details(&fake, &t, &bad).await;
        assert_eq!((reply.status, reply.code()), (400, "4000".into()), "{bad}");
    }
    let auth = format!("Bearer {t}");
    let not_json = http(
        &fake,
        "POST",
        "/v1/pay-order/seller/product-orders/query",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        b"{}",
    )
    .await;
    assert_eq!(not_json.status, 415);

    fake.hide_detail(&ids[1]);
    let asked = json!({
        "productOrderIds": [ids[0], ids[1], "2026010199999999999", ids[2], ids[0]],
        "quantityClaimCompatibility": true,
    });
    let reply = details(&fake, &t, &asked).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    let data = body["data"].as_array().unwrap();
    let got: Vec<&str> = data
        .iter()
        .map(|d| d["productOrder"]["productOrderId"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[0].as_str(), ids[2].as_str()]);
    for (d, id) in data.iter().zip([&ids[0], &ids[2]]) {
        assert_eq!(Some(d), fake.shop().detail_json(id).as_ref());
        let parsed: ProductOrderDetail = serde_json::from_value(d.clone()).unwrap();
        let status = parsed.product_order.unwrap().product_order_status.unwrap();
        assert_eq!(
            status.code(),
            fake.shop().latest_change(id).unwrap().product_order_status
        );
    }

    // 300 at once parse with our model, awkward content included; the hidden one stays out.
    let reply = details(&fake, &t, &json!({"productOrderIds": ids[..300]})).await;
    let parsed: Vec<ProductOrderDetail> =
        serde_json::from_value(reply.json()["data"].clone()).unwrap();
    assert_eq!(parsed.len(), 299);
    let stats = fake.stats();
    assert_eq!(stats.detail_calls, 8);
    // Unreadable requests (no array, wrong content type) asked for nothing.
    assert_eq!(stats.detail_ids_requested, 301 + 1 + 1 + 5 + 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_headers() {
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 10,
        rate_per_sec: 2,
        ..FakeNaverConfig::default()
    })
    .await;
    let t = token(&fake).await;
    let window = format!("lastChangedFrom={}", q(fake.shop().span().0));
    let mut statuses = Vec::new();
    let mut remaining = Vec::new();
    for _ in 0..6 {
        let reply = feed(&fake, &t, &window).await;
        assert_eq!(reply.headers["gncp-gw-ratelimit-replenish-rate"], "2");
        assert_eq!(reply.headers["gncp-gw-ratelimit-burst-capacity"], "4");
        remaining.push(reply.headers["gncp-gw-ratelimit-remaining"].clone());
        statuses.push(reply.status);
        if reply.status == 429 {
            let body = reply.json();
            assert_eq!(body["code"], "GW.RATE_LIMIT");
            assert_eq!(
                body["message"],
                "요청이 많아 서비스를 일시적으로 사용할 수 없습니다."
            );
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    assert_eq!(remaining[..4], ["3", "2", "1", "0"]);
    // The details endpoint has its own bucket.
    let reply = details(&fake, &t, &json!({"productOrderIds": ["1"]})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["gncp-gw-ratelimit-remaining"], "3");
    // Refilled at the rate.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(feed(&fake, &t, &window).await.status, 200);
    let stats = fake.stats();
    assert_eq!(stats.feed_calls, 7);
    assert_eq!(stats.rejected("GW.RATE_LIMIT"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_penalty_and_maintenance_answer_every_api_until_switched_off() {
    let clock = ordersync_core::clock::ManualClock::at(Utc::now());
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 10,
        rate_per_sec: 0,
        ..FakeNaverConfig::at(std::sync::Arc::new(clock.clone()))
    })
    .await;
    // The token first, while the fake's clock agrees with the timestamp we sign.
    let t = token(&fake).await;
    let window = format!("lastChangedFrom={}", q(fake.shop().span().0));
    let ts = now_ms();
    let form = token_form(&fake, ts, &fake.sign(ts));
    let quota = |reply: &Reply| {
        (
            reply.headers.get("gncp-gw-quota-limit").cloned(),
            reply.headers.get("gncp-gw-quota-period").cloned(),
            reply.headers.get("gncp-gw-quota-remaining").cloned(),
        )
    };
    let hourly = |remaining: &str| {
        (
            Some("1".to_owned()),
            Some("HOURS".to_owned()),
            Some(remaining.to_owned()),
        )
    };
    // Ten minutes into the next whole hour of the fake's clock: hour boundaries are then where
    // the test puts them, whatever the time it runs.
    let hour = (Utc::now().timestamp().div_euclid(3600) + 1) * 3600;
    clock.set(DateTime::from_timestamp(hour + 600, 0).unwrap());

    fake.set_mode(NaverMode::QuotaPenalty { calls_per_hour: 1 });
    let served = feed(&fake, &t, &window).await;
    assert_eq!(served.status, 200, "the hour's one call is served");
    assert_eq!(quota(&served), hourly("0"));
    let refused = feed(&fake, &t, &window).await;
    assert_eq!(
        (refused.status, refused.code()),
        (429, "GW.QUOTA_LIMIT".into())
    );
    assert_eq!(quota(&refused), hourly("0"));
    assert_eq!(
        refused.json()["message"],
        "할당된 시간당 요청량을 초과하였습니다."
    );
    assert!(refused.json()["traceId"].is_string());
    // Every API, the token endpoint and unknown paths included.
    let token_reply = http(&fake, "POST", "/v1/oauth2/token", &[FORM], form.as_bytes()).await;
    assert_eq!(
        (token_reply.status, token_reply.code()),
        (429, "GW.QUOTA_LIMIT".into())
    );
    let reply = details(&fake, &t, &json!({"productOrderIds": ["1"]})).await;
    assert_eq!((reply.status, reply.code()), (429, "GW.QUOTA_LIMIT".into()));
    assert_eq!(
        http(&fake, "GET", "/v1/nothing", &[], b"").await.status,
        429
    );
    // Still the same hour at :59; the next hour lets one more through.
    clock.advance(TimeDelta::minutes(49));
    assert_eq!(feed(&fake, &t, &window).await.status, 429);
    clock.advance(TimeDelta::minutes(1));
    assert_eq!(feed(&fake, &t, &window).await.status, 200);
    assert_eq!(feed(&fake, &t, &window).await.status, 429);
    // None at all.
    clock.advance(TimeDelta::hours(1));
    fake.set_mode(NaverMode::QuotaPenalty { calls_per_hour: 0 });
    assert_eq!(feed(&fake, &t, &window).await.status, 429);

    // Maintenance: 503 GW.BLOCK.02 everywhere; a fault queued meanwhile waits for the gateway
    // to serve again.
    fake.inject(Fault::once(Endpoint::Feed, FaultKind::HtmlOk));
    fake.set_mode(NaverMode::Maintenance);
    let reply = feed(&fake, &t, &window).await;
    assert_eq!((reply.status, reply.code()), (503, "GW.BLOCK.02".into()));
    assert_eq!(reply.json()["message"], "서비스 점검 중입니다.");
    assert_eq!(quota(&reply), (None, None, None));
    let token_reply = http(&fake, "POST", "/v1/oauth2/token", &[FORM], form.as_bytes()).await;
    assert_eq!(
        (token_reply.status, token_reply.code()),
        (503, "GW.BLOCK.02".into())
    );

    fake.set_mode(NaverMode::Normal);
    let reply = feed(&fake, &t, &window).await;
    assert!(
        reply.headers["content-type"].starts_with("text/html"),
        "the queued fault"
    );
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 200);
    assert_eq!(quota(&reply), (None, None, None));

    let stats = fake.stats();
    assert_eq!(stats.rejected("GW.QUOTA_LIMIT"), 7);
    assert_eq!(stats.rejected("GW.BLOCK.02"), 2);
    assert_eq!(stats.rejected("HTML"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_fire_in_order() {
    let fake = FakeNaver::start(unlimited(10)).await;
    let window = format!("lastChangedFrom={}", q(fake.shop().span().0));

    fake.inject(Fault::once(
        Endpoint::Token,
        FaultKind::Status {
            status: 500,
            code: "GW.INTERNAL_SERVER_ERROR",
        },
    ));
    let ts = now_ms();
    let form = token_form(&fake, ts, &fake.sign(ts));
    let reply = http(&fake, "POST", "/v1/oauth2/token", &[FORM], form.as_bytes()).await;
    assert_eq!(
        (reply.status, reply.code()),
        (500, "GW.INTERNAL_SERVER_ERROR".into())
    );
    let t = token(&fake).await;

    let gateway = [
        (503, "GW.BLOCK.01"),
        (504, "GW.TIMEOUT.01"),
        (429, "GW.QUOTA_LIMIT"),
        (403, "GW.IP_NOT_ALLOWED"),
    ];
    for (status, code) in gateway {
        fake.inject(Fault::once(
            Endpoint::Feed,
            FaultKind::Status { status, code },
        ));
    }
    for (status, code) in gateway {
        let reply = feed(&fake, &t, &window).await;
        assert_eq!((reply.status, reply.code()), (status, code.to_owned()));
        let body = reply.json();
        assert!(body["message"].is_string() && body["timestamp"].is_string());
        assert!(body["traceId"].is_string());
    }
    assert_eq!(feed(&fake, &t, &window).await.status, 200);

    fake.inject(Fault {
        endpoint: Endpoint::Details,
        times: 2,
        kind: FaultKind::HtmlOk,
    });
    for _ in 0..2 {
        let reply = details(&fake, &t, &json!({"productOrderIds": ["1"]})).await;
        assert_eq!(reply.status, 200);
        assert!(reply.headers["content-type"].starts_with("text/html"));
        assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
    }

    fake.inject(Fault::once(Endpoint::Any, FaultKind::ErrorCodeInOk));
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["code"], "9999");
    assert!(body.get("data").is_none());

    fake.inject(Fault::once(
        Endpoint::Feed,
        FaultKind::Delay(Duration::from_millis(300)),
    ));
    let started = std::time::Instant::now();
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    fake.set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(feed(&fake, &t, &window).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    fake.set_latency(Duration::ZERO);

    let stats = fake.stats();
    assert_eq!(stats.rejected("HTML"), 2);
    assert_eq!(stats.rejected("9999"), 1);
    assert_eq!(stats.rejected("GW.BLOCK.01"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_are_served_as_injected_and_can_be_cleared() {
    let fake = FakeNaver::start(unlimited(10)).await;
    let t = token(&fake).await;
    let (from, _) = fake.shop().span();
    let window = format!("lastChangedFrom={}", q(from));
    let clean = feed(&fake, &t, &window).await.json();
    let first = clean["data"]["lastChangeStatuses"][0].clone();
    assert!(first["productOrderId"].is_string(), "{clean}");

    fake.inject(Fault::once(Endpoint::Feed, FaultKind::HtmlStatus(502)));
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 502);
    assert!(reply.headers["content-type"].starts_with("text/html"));

    fake.inject(Fault::once(Endpoint::Feed, FaultKind::EmptyOk));
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers["content-type"].starts_with("application/json"));
    assert!(reply.body.is_empty());

    // Truncated: the real answer's first half, so it is a prefix of the clean answer's text.
    fake.inject(Fault::once(Endpoint::Feed, FaultKind::TruncatedOk));
    let reply = feed(&fake, &t, &window).await;
    assert_eq!(reply.status, 200);
    assert!(serde_json::from_slice::<Value>(&reply.body).is_err());
    let text = String::from_utf8(reply.body).unwrap();
    assert!(text.starts_with(r#"{"data":{"count":"#), "{text}");
    assert!(text.len() > 20);

    // Rewrite: one value replaced, or removed; the rest of the answer is the real one.
    fake.inject(Fault::once(
        Endpoint::Feed,
        FaultKind::Rewrite {
            pointer: "/data/lastChangeStatuses/0/productOrderId",
            value: Some(json!(12345)),
        },
    ));
    let body = feed(&fake, &t, &window).await.json();
    assert_eq!(
        body["data"]["lastChangeStatuses"][0]["productOrderId"],
        12345
    );
    assert_eq!(
        body["data"]["lastChangeStatuses"][1],
        clean["data"]["lastChangeStatuses"][1]
    );
    fake.inject(Fault::once(
        Endpoint::Feed,
        FaultKind::Rewrite {
            pointer: "/data/lastChangeStatuses/0/lastChangedDate",
            value: None,
        },
    ));
    let body = feed(&fake, &t, &window).await.json();
    let entry = &body["data"]["lastChangeStatuses"][0];
    assert!(entry.get("lastChangedDate").is_none());
    assert_eq!(entry["productOrderId"], first["productOrderId"]);
    let id = first["productOrderId"].as_str().unwrap();
    fake.inject(Fault::once(
        Endpoint::Details,
        FaultKind::Rewrite {
            pointer: "/data/0",
            value: None,
        },
    ));
    let body = details(&fake, &t, &json!({"productOrderIds": [id]}))
        .await
        .json();
    assert_eq!(body["data"], json!([]), "the array element is removed");
    // An error answer is not tampered with (the fault is used up all the same).
    fake.inject(Fault::once(
        Endpoint::Feed,
        FaultKind::Rewrite {
            pointer: "/code",
            value: Some(json!("X")),
        },
    ));
    let reply = feed(&fake, &t, "lastChangedFrom=yesterday").await;
    assert_eq!((reply.status, reply.code()), (400, "4000".to_owned()));

    // Persistent faults end when cleared.
    fake.inject(Fault {
        endpoint: Endpoint::Feed,
        times: u32::MAX,
        kind: FaultKind::TruncatedOk,
    });
    for _ in 0..3 {
        assert!(serde_json::from_slice::<Value>(&feed(&fake, &t, &window).await.body).is_err());
    }
    fake.clear_faults();
    assert_eq!(feed(&fake, &t, &window).await.json()["data"], clean["data"]);

    let stats = fake.stats();
    assert_eq!(stats.rejected("HTML"), 1);
    assert_eq!(stats.rejected("EMPTY"), 1);
    assert_eq!(stats.rejected("TRUNCATED"), 4);
    assert_eq!(stats.rejected("REWRITTEN"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_has_a_unique_trace_id_and_unknown_paths_are_404() {
    let fake = FakeNaver::start(unlimited(5)).await;
    let mut seen = HashSet::new();
    for (method, target) in [
        ("GET", "/v1/seller/account"),
        ("GET", "/v1/oauth2/token"),
        (
            "POST",
            "/v1/pay-order/seller/product-orders/last-changed-statuses",
        ),
        ("GET", "/v1/pay-order/seller/product-orders/query"),
    ] {
        let reply = http(&fake, method, target, &[], b"").await;
        assert_eq!((reply.status, reply.code()), (404, "GW.NOT_FOUND".into()));
        assert!(seen.insert(reply.headers["gncp-gw-trace-id"].clone()));
    }
    let t = token(&fake).await;
    let reply = feed(
        &fake,
        &t,
        &format!("lastChangedFrom={}", q(fake.shop().span().0)),
    )
    .await;
    assert!(seen.insert(reply.headers["gncp-gw-trace-id"].clone()));
    assert!(
        reply
            .headers
            .contains_key("gncp-gw-httpclient-responsetime")
    );
    assert_eq!(fake.stats().per_path.values().sum::<u64>(), 6);
    assert_eq!(fake.requests().len(), 6);
}

async fn search(fake: &FakeNaver, token: &str, query: &str) -> Reply {
    let auth = format!("Bearer {token}");
    http(
        fake,
        "GET",
        &format!("/v1/pay-order/seller/product-orders?{query}"),
        &[("Authorization", &auth)],
        b"",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conditional_search_pages_by_payment_or_order_date_with_details_inline() {
    let fake = FakeNaver::start(unlimited(500)).await;
    let t = token(&fake).await;
    let shop = fake.shop();
    let to = shop.span().1 - TimeDelta::milliseconds(1);
    let from = to - TimeDelta::hours(24);
    for range_type in ["PAYED_DATETIME", "ORDERED_DATETIME"] {
        let want: Vec<String> = shop
            .dated_between(range_type, from, to)
            .unwrap()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        assert!(
            want.len() > 300,
            "{range_type}: {} product orders",
            want.len()
        );
        let mut got = Vec::new();
        for page in 1.. {
            let reply = search(
                &fake,
                &t,
                &format!(
                    "from={}&to={}&rangeType={range_type}&pageSize=300&page={page}",
                    q(from),
                    q(to)
                ),
            )
            .await;
            assert_eq!(
                reply.status,
                200,
                "{}",
                String::from_utf8_lossy(&reply.body)
            );
            let body = reply.json();
            for item in body["data"]["contents"].as_array().unwrap() {
                let id = item["productOrderId"].as_str().unwrap().to_owned();
                // The current detail, inline: the same object `/query` returns.
                assert_eq!(Some(&item["content"]), shop.detail_json(&id).as_ref());
                serde_json::from_value::<ProductOrderDetail>(item["content"].clone()).unwrap();
                got.push(id);
            }
            assert_eq!(body["data"]["pagination"]["page"], page);
            if !body["data"]["pagination"]["hasNext"].as_bool().unwrap() {
                break;
            }
        }
        assert_eq!(
            got, want,
            "{range_type}: every product order once, in date order"
        );
    }
    // Paid orders only: a product order still waiting for payment has no paymentDate.
    let waiting = shop.product_order_ids().into_iter().find(|id| {
        shop.detail_json(id).unwrap()["productOrder"]["productOrderStatus"] == "PAYMENT_WAITING"
    });
    if let Some(waiting) = waiting {
        let (start, end) = shop.span();
        let paid = shop.dated_between("PAYED_DATETIME", start, end).unwrap();
        assert!(paid.iter().all(|(_, id)| *id != waiting));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_parameters_are_refused() {
    let fake = FakeNaver::start(unlimited(20)).await;
    let t = token(&fake).await;
    let to = fake.shop().span().1;
    let from = to - TimeDelta::hours(24);
    let cases = [
        (String::new(), "from"),
        (
            format!("from={}&to={}", q(from), q(to + TimeDelta::hours(1))),
            "104139",
        ),
        (format!("from={}&to={}", q(to), q(from)), "to"),
        (
            format!("from={}&rangeType=DISPATCHED_DATETIME", q(from)),
            "rangeType",
        ),
        (format!("from={}&pageSize=301", q(from)), "pageSize"),
        (format!("from={}&page=0", q(from)), "page"),
        (
            format!("from={}&productOrderStatus=PAYED", q(from)),
            "productOrderStatus",
        ),
        (
            format!(
                "from={}&to={}",
                q(from),
                q(Utc::now().fixed_offset() + TimeDelta::hours(1))
            ),
            "to",
        ),
    ];
    for (query, needle) in cases {
        let reply = search(&fake, &t, &query).await;
        assert_eq!(reply.status, 400, "{query}");
        let body = String::from_utf8_lossy(&reply.body).into_owned();
        assert!(body.contains(needle), "{query}: {body}");
    }
    assert_eq!(fake.stats().search_calls, 8);
}
