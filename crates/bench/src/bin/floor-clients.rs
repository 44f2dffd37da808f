//! Benchmark floor: a Lambda that only builds, at cold start, the clients one ordersync function
//! builds — chosen by `ORDERSYNC_FLOOR_CLIENTS`: `import` (store, NAVER HTTP client and
//! credentials), `transform` (store), `insert` (store, Google service-account key and Sheets
//! client) — with logging, then echoes events. Each function's init is judged against the floor
//! of its own clients: what it adds beyond them is its own start-up work.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use ordersync_aws::AnyStore;
use ordersync_aws::store::StoreConfig;
use ordersync_core::config::{Env as _, ProcessEnv};
use ordersync_core::logging;
use ordersync_import::config::ImportConfig;
use ordersync_import::credentials::AnyCredentials;
use ordersync_insert::config::InsertConfig;
use ordersync_naver::config::http_client;
use ordersync_sheets::SheetsClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let env = ProcessEnv;
    logging::init(&env);
    let which = env.var("ORDERSYNC_FLOOR_CLIENTS").unwrap_or_default();
    let store = AnyStore::open(&StoreConfig::from_env(&env)?).await?;
    let naver = match which.as_str() {
        "import" => {
            let settings = ImportConfig::from_env(&env)?.settings;
            Some((
                http_client(&settings.naver)?,
                AnyCredentials::open(settings.credentials).await?,
            ))
        }
        _ => None,
    };
    let sheets = match which.as_str() {
        "insert" => {
            let settings = InsertConfig::from_env(&env)?.settings;
            let key = settings.key.load().await?;
            Some(SheetsClient::new(&key, settings.sheets).await?)
        }
        _ => None,
    };
    if !matches!(which.as_str(), "import" | "transform" | "insert") {
        return Err(format!(
            "ORDERSYNC_FLOOR_CLIENTS must be import, transform or insert, not {which:?}"
        )
        .into());
    }
    let clients = (&store, &naver, &sheets);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let _ = clients;
            Ok::<_, Error>(event.payload)
        },
    ))
    .await
}
