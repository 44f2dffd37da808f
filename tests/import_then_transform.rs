//! Import and transform in process, over the fake NAVER shop's hostile data (formula-looking
//! names, emoji, newlines, a 60,000-character memo, an unknown status, missing blocks): every
//! changed product order becomes exactly one row, text stays literal, cells fit the limit.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use ordersync_core::columns::MAX_CELL_CHARS;
use ordersync_core::events::{ImportEvent, TransformEvent};
use ordersync_core::payload;
use ordersync_core::request::AccountRef;
use ordersync_core::rows::{Cell, RowsSchema};
use ordersync_core::store::{DirStore, read_object};
use ordersync_core::window::{MAX_WINDOW, split};
use ordersync_naver::config::http_client;
use ordersync_naver::source::EnvCredentials;
use ordersync_naver::{Access, Credentials, NaverConfig, NaverSource};
use ordersync_testkit::naver::{FakeNaver, FakeNaverConfig};

#[tokio::test]
async fn hostile_shop_data_becomes_one_literal_row_per_product_order() {
    let fake = FakeNaver::start(FakeNaverConfig {
        orders: 600,
        rate_per_sec: 1000,
        ..FakeNaverConfig::default()
    })
    .await;
    let config = NaverConfig {
        base_url: fake.base_url(),
        ..NaverConfig::default()
    };
    let source = NaverSource::new(
        http_client(&config).unwrap(),
        config,
        EnvCredentials::new(Credentials {
            client_id: fake.client_id().into(),
            client_secret: fake.client_secret().into(),
            access: Access::OwnStore,
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path()).unwrap();
    let (from, to) = fake.shop().span();
    let mut all_rows = Vec::new();
    let mut columns = Vec::new();
    for window in split(from, to, MAX_WINDOW) {
        let imported = ordersync_import::handle(
            &store,
            &source,
            ImportEvent {
                by: None,
                sync: None,
                instances: None,
                execution: "hostile".into(),
                account: AccountRef {
                    secret_id: "shop".into(),
                },
                window,
            },
            // A Lambda's deadline: well past the 60 s an import keeps for ending a part, so a
            // window of several feed pages is read in one invocation.
            Instant::now() + Duration::from_secs(600),
        )
        .await
        .unwrap();
        let rows = ordersync_transform::handle(
            &store,
            TransformEvent {
                execution: "hostile".into(),
                window,
                orders: imported.orders,
                columns: Some(serde_json::from_value(serde_json::json!({"list": [
                    {"field": "product_name"}, {"field": "shipping_memo"}, {"field": "product_order_status"},
                    {"field": "orderer_name"}, {"field": "last_changed_date"}]})).unwrap()),
            },
        )
        .await
        .unwrap();
        assert_eq!(rows.counts.rows_out, imported.counts.fetched);
        let expected = fake
            .shop()
            .changes_between(window.from, window.to - TimeDelta::milliseconds(1));
        let distinct: std::collections::BTreeSet<_> = expected
            .iter()
            .map(|e| e.product_order_id.clone())
            .collect();
        assert_eq!(rows.counts.rows_out, distinct.len() as u64);
        let bytes = read_object(&store, &rows.rows).await.unwrap();
        let reader = payload::open::<RowsSchema>(&bytes, &rows.rows).unwrap();
        columns = reader.meta().columns.clone();
        all_rows.extend(reader.map(Result::unwrap));
    }
    let cell = |row: &ordersync_core::rows::SheetRow, i: usize| match &row.cells[i] {
        Cell::Text(t) => t.clone(),
        Cell::Number(n) => n.to_string(),
        Cell::Keep(_) => String::new(),
    };
    let texts: Vec<String> = all_rows
        .iter()
        .flat_map(|r| (0..columns.len()).map(|i| cell(r, i)).collect::<Vec<_>>())
        .collect();
    assert!(
        texts.iter().all(|t| t.chars().count() <= MAX_CELL_CHARS),
        "every cell fits"
    );
    assert!(
        texts.iter().any(|t| t.ends_with("…[truncated]")),
        "the 60,000-character memo was cut visibly"
    );
    assert!(
        texts.iter().any(|t| t.starts_with('=')),
        "formula-looking text is kept as text"
    );
    assert!(texts.iter().any(|t| t.contains('\n')), "newlines survive");
    assert!(
        texts.iter().any(|t| t == "DISPOSED_BY_ROBOTS"),
        "an unknown status passes through verbatim"
    );
    assert!(
        all_rows
            .iter()
            .all(|r| !r.key.is_empty() && cell(r, 0) == r.key)
    );
}
