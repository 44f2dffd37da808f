//! The upsert against the test kit's strict fake Google server (OAuth with an RS256-signed JWT,
//! Sheets v4 with grid limits, quotas and faults), through the real google-sheets4 client.

use std::time::{Duration, Instant};

use ordersync_core::errors::ErrorName;
use ordersync_core::rows::{Cell, SheetRow};
use ordersync_sheets::{SheetsClient, SheetsConfig, Target, Unguarded, upsert};
use ordersync_testkit::google::{
    BookKind, FakeGoogle, FakeGoogleConfig, GoogleFault, MalformedBody, Method, PersonEdit,
};

const SID: &str = "sheet-1";

fn headers() -> Vec<String> {
    ["상품주문번호", "주문상태", "상품명", "수량"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn row(key: u64, status: &str, name: &str, qty: i64) -> SheetRow {
    let key = format!("20261125{key:011}");
    SheetRow {
        sync: None,
        key: key.clone(),
        cells: vec![
            Cell::Text(key),
            Cell::Text(status.into()),
            Cell::Text(name.into()),
            Cell::Number(qty),
        ],
    }
}

async fn setup(config: FakeGoogleConfig) -> (FakeGoogle, SheetsClient) {
    let max_cells = config.max_cells as usize;
    let fake = FakeGoogle::start(config).await;
    fake.create_spreadsheet(SID);
    let client = SheetsClient::new(
        &fake.service_account_key_json(),
        SheetsConfig {
            base_url: fake.base_url(),
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(300),
            max_cells,
            ..SheetsConfig::default()
        },
    )
    .await
    .unwrap();
    (fake, client)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn target<'a>(tab: &'a str, headers: &'a [String]) -> Target<'a> {
    Target {
        spreadsheet: SID,
        tab,
        headers,
        key_index: 0,
    }
}

#[tokio::test]
async fn first_run_rerun_and_status_change() {
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let rows: Vec<_> = (0..50).map(|i| row(i, "결제완료", "텀블러", 1)).collect();

    // First run into a tab that does not exist yet: read, get + addSheet, the key check and
    // one write.
    let s = upsert(&client, &target("주문", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!((s.appended, s.updated, s.unchanged), (50, 0, 0));
    assert_eq!((s.reads, s.writes), (3, 2), "{s:?}");
    let grid = fake.values(SID, "주문");
    assert_eq!(grid[0], h);
    assert_eq!(grid.len(), 51);
    let props = fake.tab_properties(SID, "주문").unwrap();
    assert_eq!(props.frozen_row_count, 1, "header frozen");

    // Unchanged rerun: one read, zero writes.
    let s = upsert(&client, &target("주문", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!((s.unchanged, s.reads, s.writes), (50, 1, 0), "{s:?}");

    // 10% change status: one read, the key check, one write, rows updated in place.
    let mut changed = rows.clone();
    for r in changed.iter_mut().step_by(10) {
        r.cells[1] = Cell::Text("배송중".into());
    }
    let s = upsert(
        &client,
        &target("주문", &h),
        &changed,
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap();
    assert_eq!(
        (s.updated, s.unchanged, s.reads, s.writes),
        (5, 45, 2, 1),
        "{s:?}"
    );
    let grid = fake.values(SID, "주문");
    assert_eq!(grid.len(), 51, "no row added");
    assert_eq!(grid[1][1], "배송중");
    assert_eq!(grid[2][1], "결제완료");
    assert_eq!(fake.stats().user_entered_writes, 0);
}

#[tokio::test]
async fn seller_columns_sorting_and_blank_rows_survive() {
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let rows: Vec<_> = (0..20)
        .map(|i| row(i, "결제완료", "텀블러", (i % 3) as i64 + 1))
        .collect();
    upsert(&client, &target("주문", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();

    // The seller adds a column between ours, fills it, sorts by quantity, inserts a blank row.
    fake.person_add_column(SID, "주문", "포장메모", 2);
    let mut grid = fake.values(SID, "주문");
    for (i, r) in grid.iter_mut().enumerate().skip(1) {
        r.resize(5, String::new());
        r[2] = format!("박스 {i}");
    }
    fake.set_values(SID, "주문", grid);
    fake.person_sort_rows_by(SID, "주문", 4, true);
    fake.person_insert_blank_row(SID, "주문", 5);
    let memos_before: Vec<(String, String)> = fake
        .values(SID, "주문")
        .iter()
        .skip(1)
        .filter(|r| !r.is_empty())
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();

    // A new run: two statuses change, three new orders arrive.
    let mut next = rows.clone();
    next[3].cells[1] = Cell::Text("배송완료".into());
    next[7].cells[1] = Cell::Text("취소".into());
    next.extend((20..23).map(|i| row(i, "결제완료", "=SUM(A1:A2)", 1)));
    let s = upsert(&client, &target("주문", &h), &next, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!((s.updated, s.appended, s.unchanged), (2, 3, 18), "{s:?}");

    let grid = fake.values(SID, "주문");
    assert_eq!(
        grid[0],
        ["상품주문번호", "주문상태", "포장메모", "상품명", "수량"]
    );
    let memos_after: Vec<(String, String)> = grid
        .iter()
        .skip(1)
        .filter(|r| !r.is_empty() && r.len() > 2 && !r[2].is_empty())
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    assert_eq!(
        memos_after, memos_before,
        "the seller's column is untouched and rows kept their memo"
    );
    let keys: Vec<&String> = grid
        .iter()
        .skip(1)
        .filter(|r| !r.is_empty())
        .map(|r| &r[0])
        .collect();
    let distinct: std::collections::HashSet<_> = keys.iter().collect();
    assert_eq!(keys.len(), 23);
    assert_eq!(distinct.len(), 23, "no duplicate keys");
    let row3 = grid
        .iter()
        .find(|r| r.first() == Some(&next[3].key))
        .unwrap();
    assert_eq!(row3[1], "배송완료");
    // RAW: the formula-looking name stays literal text.
    let formula_rows = grid
        .iter()
        .filter(|r| r.get(3).is_some_and(|c| c == "=SUM(A1:A2)"))
        .count();
    assert_eq!(formula_rows, 3);
    assert_eq!(fake.stats().user_entered_writes, 0);

    // And a second identical run writes nothing.
    let s = upsert(&client, &target("주문", &h), &next, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.writes, 0, "{s:?}");
}

#[tokio::test]
async fn tab_names_with_special_characters() {
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    for tab in ["It's #1?", "주문 목록 / 2026", "a!b:c", "100%"] {
        let rows = vec![row(1, "결제완료", "x", 1)];
        upsert(&client, &target(tab, &h), &rows, soon(), &mut Unguarded)
            .await
            .unwrap();
        let s = upsert(&client, &target(tab, &h), &rows, soon(), &mut Unguarded)
            .await
            .unwrap();
        assert_eq!((s.unchanged, s.writes), (1, 0), "{tab}: {s:?}");
        assert_eq!(fake.values(SID, tab).len(), 2, "{tab}");
    }
}

#[tokio::test]
async fn quota_storms_are_waited_out_and_applied_then_503_converges() {
    let (fake, client) = setup(FakeGoogleConfig {
        writes_per_minute: 2,
        quota_window: Duration::from_millis(500),
        ..FakeGoogleConfig::default()
    })
    .await;
    let h = headers();
    let rows: Vec<_> = (0..30).map(|i| row(i, "결제완료", "x", 1)).collect();
    fake.inject(GoogleFault::Status {
        method: Method::ValuesBatchUpdate,
        status: 429,
        times: 3,
    });
    upsert(&client, &target("t", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert!(fake.stats().rejected_429 + fake.stats().faults_fired >= 3);

    // The write lands, then the answer is a 503: the retry rewrites the same ranges.
    let mut next = rows.clone();
    next.extend((30..40).map(|i| row(i, "결제완료", "y", 2)));
    fake.inject(GoogleFault::AppliedThen503 {
        method: Method::ValuesBatchUpdate,
        times: 1,
    });
    let s = upsert(&client, &target("t", &h), &next, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.appended, 10);
    let grid = fake.values(SID, "t");
    assert_eq!(grid.len(), 41, "no duplicated rows after applied-then-503");

    // Past the deadline, a quota that never frees up is a retryable RateLimited — also when
    // the last backoff sleep overshoots the deadline on a loaded machine (the client then
    // reports the last 429, not a zero-length call's timeout), and whichever call (the read
    // or the write) the storm catches.
    for method in [Method::ValuesGet, Method::ValuesBatchUpdate] {
        fake.inject(GoogleFault::Status {
            method,
            status: 429,
            times: 1000,
        });
    }
    next.push(row(99, "결제완료", "z", 1));
    let err = upsert(
        &client,
        &target("t", &h),
        &next,
        Instant::now() + Duration::from_millis(700),
        &mut Unguarded,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, ErrorName::RateLimited, "{err}");
}

#[tokio::test]
async fn the_cell_limit_is_checked_before_anything_is_written() {
    let (fake, client) = setup(FakeGoogleConfig {
        max_cells: 30_000,
        ..FakeGoogleConfig::default()
    })
    .await;
    let h = headers();
    let rows: Vec<_> = (0..5_000).map(|i| row(i, "결제완료", "x", 1)).collect();
    let err = upsert(&client, &target("big", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Sheet);
    assert!(err.to_string().contains("over Google's limit"), "{err}");
    assert_eq!(fake.stats().applied_writes, 0, "nothing half-written");
    assert!(fake.tab_titles(SID).iter().all(|t| t != "big"));
}

#[tokio::test]
async fn a_duplicated_header_is_a_sheet_error_and_duplicate_keys_are_reported() {
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    upsert(
        &client,
        &target("d", &h),
        &[row(1, "a", "x", 1)],
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap();
    let mut grid = fake.values(SID, "d");
    grid.push(grid[1].clone());
    fake.set_values(SID, "d", grid.clone());
    let s = upsert(
        &client,
        &target("d", &h),
        &[row(1, "b", "x", 1)],
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap();
    assert_eq!((s.duplicate_keys_in_sheet, s.updated), (1, 1));
    let after = fake.values(SID, "d");
    assert_eq!(
        (after[1][1].as_str(), after[2][1].as_str()),
        ("b", "a"),
        "first row updated, second reported"
    );

    grid[0][3] = "주문상태".into();
    fake.set_values(SID, "d", grid);
    let err = upsert(
        &client,
        &target("d", &h),
        &[row(1, "c", "x", 1)],
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Sheet);
    assert!(err.to_string().contains("appears more than once"), "{err}");
}

#[tokio::test]
async fn hostile_strings_stay_literal_text() {
    use ordersync_testkit::google::CellValue;
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let hostile = [
        "=SUM(A1:A9)",
        "+82 10-1234-5678",
        "0012",
        "@mention",
        "-5",
        "TRUE",
        "1,000",
        "줄\n바꿈",
    ];
    let rows: Vec<_> = hostile
        .iter()
        .enumerate()
        .map(|(i, name)| row(i as u64, "결제완료", name, 1))
        .collect();
    upsert(&client, &target("h", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    for (i, name) in hostile.iter().enumerate() {
        assert_eq!(
            fake.cell(SID, "h", i + 1, 2),
            Some(CellValue::Text(name.to_string())),
            "{name}"
        );
        // The key stays text too: 19-digit ids are beyond a double's precision.
        assert!(matches!(
            fake.cell(SID, "h", i + 1, 0),
            Some(CellValue::Text(_))
        ));
    }
    assert_eq!(
        fake.cell(SID, "h", 1, 3),
        Some(CellValue::Number(1.0)),
        "quantities are numbers"
    );
    assert_eq!(fake.stats().user_entered_writes, 0);
    let s = upsert(&client, &target("h", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.writes, 0, "reads back equal: {s:?}");
}

#[tokio::test]
async fn an_add_sheet_applied_with_its_answer_lost_is_not_a_sheet_error() {
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let rows: Vec<_> = (0..5).map(|i| row(i, "결제완료", "x", 1)).collect();
    // The tab is added, the answer is a 503; the retry's addSheet is refused ("already exists").
    fake.inject(GoogleFault::AppliedThen503 {
        method: Method::SpreadsheetsBatchUpdate,
        times: 1,
    });
    let s = upsert(&client, &target("new", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.appended, 5);
    assert_eq!(fake.values(SID, "new").len(), 6);
    assert_eq!(fake.tab_properties(SID, "new").unwrap().frozen_row_count, 1);
    assert_eq!(
        fake.tab_titles(SID).iter().filter(|t| *t == "new").count(),
        1
    );
}

#[tokio::test]
async fn an_error_body_that_is_not_googles_is_classified_by_its_http_status() {
    use ordersync_testkit::google::MalformedBody;
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let rows = vec![row(1, "결제완료", "x", 1)];
    for (status, name) in [
        (503, ErrorName::Upstream),
        (429, ErrorName::RateLimited),
        (403, ErrorName::Auth),
        (400, ErrorName::Sheet),
    ] {
        fake.inject(GoogleFault::Malformed {
            method: Method::ValuesGet,
            status,
            body: MalformedBody::NotEnvelope,
            times: u32::MAX,
        });
        let err = upsert(
            &client,
            &target("Sheet1", &h),
            &rows,
            Instant::now() + Duration::from_millis(300),
            &mut Unguarded,
        )
        .await
        .unwrap_err();
        assert_eq!(err.name, name, "HTTP {status}: {err}");
        fake.clear_faults();
    }
    assert_eq!(fake.stats().applied_writes, 0);
}

#[tokio::test]
async fn a_first_empty_window_creates_a_tab_google_accepts() {
    // A new seller's first window has no orders: the tab is still created (header frozen), with
    // a row under the header — a tab whose every row is frozen is refused by Google, which
    // failed such a run forever as Ordersync.Sheet.
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let s = upsert(&client, &target("빈 탭", &h), &[], soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!((s.appended, s.updated, s.unchanged), (0, 0, 0));
    let props = fake.tab_properties(SID, "빈 탭").expect("the tab exists");
    assert_eq!(props.frozen_row_count, 1, "header frozen");
    assert!(props.row_count >= 2, "{props:?}");
    assert_eq!(fake.values(SID, "빈 탭"), vec![h.clone()]);

    // The next window's orders go right under the header.
    let rows: Vec<_> = (0..3).map(|i| row(i, "결제완료", "x", 1)).collect();
    let s = upsert(&client, &target("빈 탭", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.appended, 3);
    assert_eq!(fake.values(SID, "빈 탭").len(), 4);
}

#[tokio::test]
async fn growing_the_grid_is_idempotent_when_the_answer_is_lost() {
    // The grid grows by an absolute size (updateSheetProperties), so the client's own retry of
    // a structure write that landed and was answered 503 sets the same size again instead of
    // adding the rows a second time (appendDimension is relative).
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let first: Vec<_> = (0..10).map(|i| row(i, "결제완료", "x", 1)).collect();
    upsert(&client, &target("grow", &h), &first, soon(), &mut Unguarded)
        .await
        .unwrap();
    let before = fake.tab_properties(SID, "grow").unwrap();
    let more: Vec<_> = (0..(before.row_count as u64 + 40))
        .map(|i| row(i, "결제완료", "x", 1))
        .collect();
    fake.inject(GoogleFault::AppliedThen503 {
        method: Method::SpreadsheetsBatchUpdate,
        times: 1,
    });
    let s = upsert(&client, &target("grow", &h), &more, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.appended as usize, more.len() - first.len());
    let after = fake.tab_properties(SID, "grow").unwrap();
    assert_eq!(
        after.row_count as usize,
        more.len() + 1,
        "the header and one row per order, grown once: {after:?}"
    );
    assert_eq!(after.column_count, before.column_count);
    assert_eq!(
        after.frozen_row_count, 1,
        "the narrow mask keeps the header frozen"
    );
    assert!(fake.stats().faults_fired >= 1);
    assert_eq!(fake.values(SID, "grow").len(), more.len() + 1);
}

#[tokio::test]
async fn a_token_endpoint_hiccup_is_retried_and_only_a_refusal_is_auth() {
    // 503s and an HTML page from the token endpoint: retried, the upsert succeeds.
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let rows: Vec<_> = (0..3).map(|i| row(i, "결제완료", "x", 1)).collect();
    fake.inject(GoogleFault::Status {
        method: Method::Token,
        status: 503,
        times: 2,
    });
    fake.inject(GoogleFault::Malformed {
        method: Method::Token,
        status: 200,
        body: MalformedBody::Html,
        times: 1,
    });
    let s = upsert(&client, &target("t", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.appended, 3);
    assert!(fake.stats().faults_fired >= 3, "{:?}", fake.stats());

    // A token endpoint that never recovers: retryable Upstream at the deadline, not Auth.
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    fake.inject(GoogleFault::Status {
        method: Method::Token,
        status: 503,
        times: 1000,
    });
    let err = upsert(
        &client,
        &target("t", &h),
        &rows,
        Instant::now() + Duration::from_millis(800),
        &mut Unguarded,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Upstream, "{err}");

    // Google refuses the key (a signature that does not verify: invalid_grant): Auth at once.
    let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
    fake.create_spreadsheet(SID);
    let key: serde_json::Value = serde_json::from_str(&fake.service_account_key_json()).unwrap();
    let mut other = key.clone();
    other["client_email"] = "someone-else@ordersync-test.iam.gserviceaccount.com".into();
    let client = SheetsClient::new(
        &other.to_string(),
        SheetsConfig {
            base_url: fake.base_url(),
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(300),
            ..SheetsConfig::default()
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    let err = upsert(&client, &target("t", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Auth, "{err}");
    assert!(err.message.contains("invalid_grant"), "{err}");
    assert_eq!(fake.stats().applied_writes, 0);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "not retried until the deadline"
    );
}

#[tokio::test]
async fn a_stalled_call_is_abandoned_and_retried_like_a_503() {
    // The fake sits on one value write for 3 s; the client gives up after its request timeout
    // (here 300 ms), retries the same explicit range and the upsert completes well before the
    // stalled request would have answered. When the abandoned write lands late, it writes the
    // same cells.
    let fake = FakeGoogle::start(FakeGoogleConfig::default()).await;
    fake.create_spreadsheet(SID);
    let client = SheetsClient::new(
        &fake.service_account_key_json(),
        SheetsConfig {
            base_url: fake.base_url(),
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(100),
            request_timeout: Duration::from_millis(300),
            ..SheetsConfig::default()
        },
    )
    .await
    .unwrap();
    let h = headers();
    let rows: Vec<_> = (0..5).map(|i| row(i, "결제완료", "x", 1)).collect();
    upsert(&client, &target("t", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    let mut next = rows.clone();
    next.extend((5..8).map(|i| row(i, "결제완료", "y", 2)));
    fake.inject(GoogleFault::Delay {
        method: Method::ValuesBatchUpdate,
        duration: Duration::from_secs(3),
    });
    let s = upsert(&client, &target("t", &h), &next, soon(), &mut Unguarded)
        .await
        .unwrap();
    assert_eq!(s.appended, 3);
    assert!(s.writes >= 2, "the stalled write and its retry: {s:?}");
    assert_eq!(fake.values(SID, "t").len(), 9);

    // A call that never answers ends at the deadline as a retryable Upstream, naming why.
    for _ in 0..50 {
        fake.inject(GoogleFault::Delay {
            method: Method::ValuesGet,
            duration: Duration::from_secs(3),
        });
    }
    let err = upsert(
        &client,
        &target("t", &h),
        &next,
        Instant::now() + Duration::from_millis(900),
        &mut Unguarded,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Upstream, "{err}");
    assert!(err.message.contains("no answer within"), "{err}");
    // The abandoned write has landed by now, changing nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.values(SID, "t").len(), 9);
}

#[tokio::test]
async fn refusals_say_what_the_seller_should_do() {
    let h = headers();
    let rows: Vec<_> = (0..2).map(|i| row(i, "결제완료", "x", 1)).collect();
    let run = async |client: &SheetsClient, spreadsheet: &str| {
        let target = Target {
            spreadsheet,
            tab: "t",
            headers: &h,
            key_index: 0,
        };
        upsert(client, &target, &rows, soon(), &mut Unguarded)
            .await
            .unwrap_err()
    };

    // The Sheets API is off in the key's project: configuration, and not "share it".
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    fake.set_api_disabled(true);
    let err = run(&client, SID).await;
    assert_eq!(err.name, ErrorName::Config, "{err}");
    assert!(err.message.contains("not enabled"), "{err}");
    assert!(err.message.contains("not a sharing problem"), "{err}");
    fake.set_api_disabled(false);

    // Not shared with the service account: share it.
    fake.create_file("private", BookKind::NotShared);
    let err = run(&client, "private").await;
    assert_eq!(err.name, ErrorName::Auth, "{err}");
    assert!(err.message.contains("Share the spreadsheet"), "{err}");

    // An .xlsx in Drive: save it as a Google Sheet.
    fake.create_file("excel", BookKind::OfficeFile);
    let err = run(&client, "excel").await;
    assert_eq!(err.name, ErrorName::Sheet, "{err}");
    assert!(err.message.contains("Save as Google Sheets"), "{err}");

    // A protected range over the managed columns: nothing written, and say so.
    upsert(&client, &target("t", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    fake.protect_tab(SID, "t");
    let mut more = rows.clone();
    more.push(row(7, "결제완료", "x", 1));
    let err = upsert(&client, &target("t", &h), &more, soon(), &mut Unguarded)
        .await
        .unwrap_err();
    assert_eq!(err.name, ErrorName::Sheet, "{err}");
    assert!(err.message.contains("protected range"), "{err}");
    assert_eq!(fake.values(SID, "t").len(), 3);
}

#[tokio::test]
async fn a_tab_that_exists_but_cannot_be_read_by_its_title_is_never_started_over() {
    // "Unable to parse range" for a title that `spreadsheets.get` lists (here it differs only in
    // case; Google's titles are unique without regard to case) must not read as "no such tab":
    // that would add our header and append every order again, or fail as "already exists".
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    let rows: Vec<_> = (0..4).map(|i| row(i, "결제완료", "x", 1)).collect();
    upsert(
        &client,
        &target("orders", &h),
        &rows,
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap();
    let writes = fake.stats().applied_writes;
    let err = upsert(
        &client,
        &target("Orders", &h),
        &rows,
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, ErrorName::Sheet, "{err}");
    assert!(err.message.contains("the tab is named `orders`"), "{err}");
    assert_eq!(fake.stats().applied_writes, writes, "nothing written");
    assert_eq!(fake.values(SID, "orders").len(), 5);
    assert_eq!(
        fake.tab_titles(SID).len(),
        2,
        "no second tab: {:?}",
        fake.tab_titles(SID)
    );
}

#[tokio::test]
async fn a_person_moving_rows_between_our_read_and_our_write_never_redirects_a_write() {
    let h = headers();
    let rows: Vec<_> = (0..20)
        .map(|i| row(i, "결제완료", "텀블러", (i % 4) as i64 + 1))
        .collect();
    let mut next = rows.clone();
    next[3].cells[1] = Cell::Text("배송완료".into());
    next[11].cells[1] = Cell::Text("취소".into());
    next.extend((20..23).map(|i| row(i, "결제완료", "머그", 9)));
    let edits = [
        // A filter sort by quantity: every row moves.
        PersonEdit::SortRowsBy {
            column: 3,
            descending: true,
        },
        // A blank row inserted among the data: the rows below it shift down one.
        PersonEdit::InsertBlankRow { at: 2 },
        // The seller's own column before ours: our columns shift right.
        PersonEdit::AddColumn {
            header: "포장메모".into(),
            at: 1,
        },
    ];
    for edit in edits {
        let (fake, client) = setup(FakeGoogleConfig::default()).await;
        upsert(&client, &target("주문", &h), &rows, soon(), &mut Unguarded)
            .await
            .unwrap();
        // Right after our next read of the tab is answered, before we write.
        fake.person_edits_after(Method::ValuesGet, SID, "주문", edit.clone());
        let s = upsert(&client, &target("주문", &h), &next, soon(), &mut Unguarded)
            .await
            .unwrap();
        assert_eq!(fake.stats().person_edits, 1, "{edit:?}");
        assert_eq!(
            (s.updated, s.appended, s.unchanged),
            (2, 3, 18),
            "{edit:?}: {s:?}"
        );
        // The whole tab twice (before and after the edit), the key check twice (the first
        // saw the move), and the grid grown for the new rows (get + resize) before the one
        // value write; the inserted row takes one more grid row, so the second plan grows it
        // again.
        let grows = if matches!(edit, PersonEdit::InsertBlankRow { .. }) {
            2
        } else {
            1
        };
        assert_eq!(
            (s.reads, s.writes),
            (4 + grows, 1 + grows),
            "{edit:?}: {s:?}"
        );

        let grid = fake.values(SID, "주문");
        let col = |name: &str| grid[0].iter().position(|c| c == name).unwrap();
        let (key, status, qty) = (col("상품주문번호"), col("주문상태"), col("수량"));
        let mut seen = std::collections::HashMap::new();
        for r in grid
            .iter()
            .skip(1)
            .filter(|r| r.iter().any(|c| !c.is_empty()))
        {
            assert!(
                seen.insert(r[key].clone(), (r[status].clone(), r[qty].clone()))
                    .is_none(),
                "{edit:?}: key {} twice",
                r[key]
            );
        }
        assert_eq!(seen.len(), next.len(), "{edit:?}: one row per order");
        for want in &next {
            let Cell::Text(want_status) = &want.cells[1] else {
                unreachable!()
            };
            let Cell::Number(want_qty) = want.cells[3] else {
                unreachable!()
            };
            assert_eq!(
                seen[&want.key],
                (want_status.clone(), want_qty.to_string()),
                "{edit:?}: row of {}",
                want.key
            );
        }
        if let PersonEdit::AddColumn { header, .. } = &edit {
            let seller = col(header);
            assert!(
                grid.iter()
                    .skip(1)
                    .all(|r| r.get(seller).is_none_or(String::is_empty)),
                "the seller's new column stays empty"
            );
        }
    }
}

#[tokio::test]
async fn a_large_tab_is_read_compressed_and_kept_only_as_the_plan_needs() {
    let (fake, client) = setup(FakeGoogleConfig::default()).await;
    let h = headers();
    // 5,000 orders and a seller's memo column; then a run that touches three of them.
    let rows: Vec<_> = (0..5000)
        .map(|i| row(i, "결제완료", "텀블러 세트", 1))
        .collect();
    upsert(&client, &target("big", &h), &rows, soon(), &mut Unguarded)
        .await
        .unwrap();
    let mut grid = fake.values(SID, "big");
    grid[0].push("내 메모".into());
    grid[2].resize(4, String::new());
    grid[2].push("  ".into()); // blank to a person, but not an unticked checkbox
    fake.set_values(SID, "big", grid);

    let touched = vec![
        row(1, "배송중", "텀블러 세트", 1),
        row(2, "결제완료", "텀블러 세트", 1),
        row(7777, "결제완료", "새 상품", 2),
    ];
    let needs = ordersync_sheets::scan::PlanNeeds::new(&h, 0, &touched);
    let before = fake.stats();
    let bytes_before = client.bytes_read();
    let read = client
        .read_tab(SID, "big", &needs, soon())
        .await
        .unwrap()
        .unwrap();
    let after = fake.stats();
    assert_eq!(
        after.gzip_answers - before.gzip_answers,
        1,
        "asked for gzip"
    );
    let wire = after.answer_bytes - before.answer_bytes;
    assert_eq!(
        wire,
        client.bytes_read() - bytes_before,
        "counted alike at both ends"
    );
    let plain = serde_json::to_vec(&serde_json::json!({"values": fake.values(SID, "big")}))
        .unwrap()
        .len() as u64;
    assert!(
        wire * 4 < plain,
        "{wire} bytes on the wire for {plain} of JSON"
    );

    // Every row counted, only our keys kept (two found, one new), the last filled row found.
    let index = &read.index;
    assert_eq!(index.rows, 5000);
    assert_eq!(index.last_filled, Some(4999));
    let mut found: Vec<&str> = index.found.keys().map(|k| &**k).collect();
    found.sort();
    assert_eq!(found, [touched[0].key.as_str(), touched[1].key.as_str()]);
    assert_eq!(index.found[touched[0].key.as_str()].row, 1);

    // And the upsert decides from that: one update, one unchanged, one append.
    let s = upsert(
        &client,
        &target("big", &h),
        &touched,
        soon(),
        &mut Unguarded,
    )
    .await
    .unwrap();
    assert_eq!((s.appended, s.updated, s.unchanged), (1, 1, 1), "{s:?}");
    let grid = fake.values(SID, "big");
    assert_eq!(grid.len(), 5002);
    assert_eq!(grid[2][1], "배송중");
    assert_eq!(grid[2][4], "  ", "the seller's cell is theirs");
    assert_eq!(grid[5001][0], touched[2].key);
}
