//! `insert`: the Sheets upsert against the fake Google server at a realistic latency.
//!
//! Three runs of `rows` rows into one tab: into a tab that does not exist yet, an unchanged
//! rerun, and a rerun with 10% of the rows changed. For each: reads and writes made, the largest
//! request body the server saw, and wall time. Targets: after tab creation ≤ 3 calls; unchanged
//! = 1 read + 0 writes; 10% changed = 1 read + 1 write.

use std::time::{Duration, Instant};

use ordersync_core::columns::ColumnChoice;
use ordersync_core::rows::Cell;
use ordersync_sheets::{SheetsClient, SheetsConfig, Target, Unguarded, upsert};
use ordersync_testkit::google::{FakeGoogle, FakeGoogleConfig, Method};
use ordersync_testkit::orders::{Rng, order};

pub fn run(rows: u64, latency_ms: u64) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fake = FakeGoogle::start(FakeGoogleConfig { latency: Duration::from_millis(latency_ms), ..FakeGoogleConfig::default() }).await;
        fake.create_spreadsheet("bench");
        let client = SheetsClient::new(&fake.service_account_key_json(), SheetsConfig { base_url: fake.base_url(), ..SheetsConfig::default() })
            .await
            .expect("client");
        let columns = ColumnChoice::default().resolve().expect("standard columns");
        let headers: Vec<String> = columns.iter().map(|c| c.header.clone()).collect();
        let mut rng = Rng::new(3);
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-01T09:00:00+09:00").expect("time");
        let mut sheet_rows: Vec<_> = (0..rows).map(|i| ordersync_transform::mapping::row(&order(i, at, &mut rng), &columns, &[])).collect();
        let target = Target { spreadsheet: "bench", tab: "주문", headers: &headers, key_index: 0 };
        let status = columns.iter().position(|c| c.header == "주문상태").expect("status column");

        println!("| run | rows | appended | updated | unchanged | reads | writes (structure + values) | wall |");
        println!("|---|---|---|---|---|---|---|---|");
        for run in ["into a new tab", "unchanged rerun", "10% changed"] {
            if run == "10% changed" {
                for r in sheet_rows.iter_mut().step_by(10) {
                    r.cells[status] = Cell::Text("배송완료".into());
                }
            }
            let before = fake.stats();
            let start = Instant::now();
            let s = upsert(&client, &target, &sheet_rows, Instant::now() + Duration::from_secs(600), &mut Unguarded)
                .await
                .expect("upsert against the fake");
            let wall = start.elapsed().as_secs_f64();
            let after = fake.stats();
            let count = |m: Method| after.per_method.get(&m).copied().unwrap_or(0) - before.per_method.get(&m).copied().unwrap_or(0);
            println!(
                "| {run} | {rows} | {} | {} | {} | {} | {} + {} | {wall:.2} s |",
                s.appended,
                s.updated,
                s.unchanged,
                s.reads,
                count(Method::SpreadsheetsBatchUpdate),
                count(Method::ValuesBatchUpdate),
            );
        }
        println!("\nLargest request body the server received: {:.2} MB.", fake.stats().max_request_bytes as f64 / 1e6);
        assert_eq!(fake.stats().user_entered_writes, 0);
    });
}
