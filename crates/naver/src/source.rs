//! NAVER as an order [`Source`]: credentials looked up per account, one cached client per
//! application (so tokens and rate-limit state survive warm invocations), the change feed
//! deduplicated by product order, details fetched 300 at a time and handed on one by one.
//!
//! Also the local credential stores: `NAVER_CLIENT_ID`/`NAVER_CLIENT_SECRET` for one account,
//! or a JSON file mapping secret ids to credentials for several. The Secrets Manager store lives
//! in the import Lambda (this crate has no AWS dependency).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ordersync_core::clock::Clock;
use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::product_order::{ChangeStatus, ImportedOrder};
use ordersync_core::request::{AccountRef, RangeBy};
use ordersync_core::source::{FeedPart, FeedPosition, FetchCounts, OrderSink, PartLimit, Source};
use ordersync_core::window::Window;
use tracing::{info, warn};

use crate::client::{MAX_DETAIL_IDS, MAX_SEARCH_PAGES, NaverClient};
use crate::config::{Access, Credentials, NaverConfig, RawCredentials};

/// Where an account's credentials come from.
pub trait CredentialStore: Send + Sync {
    /// The credentials for `account`; an unknown account is `Ordersync.InvalidInput`.
    fn credentials(
        &self,
        account: &AccountRef,
    ) -> impl Future<Output = Result<Credentials, StepError>> + Send;
}

/// One application for every account: `NAVER_CLIENT_ID` / `NAVER_CLIENT_SECRET` (local runs),
/// an own-store application unless `NAVER_AGENCY_ACCOUNT_ID` asks for agency mode.
#[derive(Clone)]
pub struct EnvCredentials(Credentials);

impl EnvCredentials {
    /// `None` when the variables are not set (an empty value counts as unset).
    pub fn from_env(env: &dyn ordersync_core::config::Env) -> Option<Self> {
        // All three are asked for, so a config test sees every variable this source reads.
        let client_id = env.var("NAVER_CLIENT_ID");
        let client_secret = env.var("NAVER_CLIENT_SECRET");
        // The variable's name is the explicit agency choice: an own-store seller has no
        // reason to set an "agency account id", unlike a bare "account id" they might fill
        // with their own seller id and so earn the hourly penalty.
        let access = match env.var("NAVER_AGENCY_ACCOUNT_ID") {
            Some(account_id) => Access::Agency { account_id },
            None => Access::OwnStore,
        };
        Some(EnvCredentials(Credentials {
            client_id: client_id?,
            client_secret: client_secret?,
            access,
        }))
    }

    pub fn new(credentials: Credentials) -> Self {
        EnvCredentials(credentials)
    }
}

impl CredentialStore for EnvCredentials {
    async fn credentials(&self, _account: &AccountRef) -> Result<Credentials, StepError> {
        Ok(self.0.clone())
    }
}

/// Several accounts from a JSON file `{ "<secret_id>": {"client_id", "client_secret"}, … }`
/// (`NAVER_CREDENTIALS_FILE`, local runs); an agency entry adds `"mode": "agency"` and
/// `"account_id"`. Every entry is checked when the file is read, so a bad one (an empty
/// `account_id`, say) is refused before any call, never sent.
pub struct FileCredentials(HashMap<String, Credentials>);

impl FileCredentials {
    pub fn load(path: &std::path::Path) -> Result<Self, StepError> {
        let text = std::fs::read(path).map_err(|e| {
            StepError::new(
                ErrorName::Config,
                format!("cannot read NAVER_CREDENTIALS_FILE {}: {e}", path.display()),
            )
        })?;
        // The parse error may quote file contents (secrets): say only where it failed.
        let raw: HashMap<String, RawCredentials> = serde_json::from_slice(&text).map_err(|e| {
            StepError::new(
                ErrorName::Config,
                format!("NAVER_CREDENTIALS_FILE {} is not a JSON map of credentials (line {}, column {})", path.display(), e.line(), e.column()),
            )
        })?;
        let map = raw
            .into_iter()
            .map(|(secret_id, raw)| match Credentials::try_from(raw) {
                Ok(credentials) => Ok((secret_id, credentials)),
                Err(e) => Err(StepError::new(
                    ErrorName::Config,
                    format!(
                        "NAVER_CREDENTIALS_FILE {}: entry `{secret_id}`: {e}",
                        path.display()
                    ),
                )),
            })
            .collect::<Result<_, _>>()?;
        Ok(FileCredentials(map))
    }
}

impl CredentialStore for FileCredentials {
    async fn credentials(&self, account: &AccountRef) -> Result<Credentials, StepError> {
        self.0
            .get(&account.secret_id)
            .cloned()
            .ok_or_else(|| unknown_account(account))
    }
}

/// The error for an account no credentials exist for.
pub fn unknown_account(account: &AccountRef) -> StepError {
    StepError::new(
        ErrorName::InvalidInput,
        format!(
            "account.secret_id `{}` names no known NAVER account",
            account.secret_id
        ),
    )
}

/// NAVER Smart Store as a [`Source`].
pub struct NaverSource<C> {
    http: reqwest::Client,
    config: NaverConfig,
    credentials: C,
    clients: Mutex<HashMap<(String, String), Arc<NaverClient>>>,
    clock: Arc<dyn Clock>,
    /// The rate share of the current execution's imports ([`Source::set_concurrency`]); the
    /// config's until an event says otherwise. `f64` bits.
    rate_share: std::sync::atomic::AtomicU64,
}

impl<C: CredentialStore> NaverSource<C> {
    pub fn new(http: reqwest::Client, config: NaverConfig, credentials: C) -> Self {
        NaverSource {
            http,
            credentials,
            rate_share: std::sync::atomic::AtomicU64::new(config.rate_share.to_bits()),
            clients: Mutex::new(HashMap::new()),
            clock: ordersync_core::clock::system(),
            config,
        }
    }

    /// The same source whose clients read "now" from `clock` (tests pin it).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The cached client for an account (keyed by secret and client id, so a rotated
    /// application gets a fresh client and token).
    pub async fn client(&self, account: &AccountRef) -> Result<Arc<NaverClient>, StepError> {
        let credentials = self.credentials.credentials(account).await?;
        let key = (account.secret_id.clone(), credentials.client_id.clone());
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let client = clients
            .entry(key)
            .or_insert_with(|| {
                Arc::new(
                    NaverClient::new(self.http.clone(), self.config.clone(), credentials)
                        .with_clock(self.clock.clone()),
                )
            })
            .clone();
        // A warm instance's client keeps its token and buckets; its share is this execution's.
        client.set_rate_share(f64::from_bits(
            self.rate_share.load(std::sync::atomic::Ordering::Relaxed),
        ));
        Ok(client)
    }
}

/// Feed entries waiting for their details: the latest entry per product order, in first-seen
/// (feed) order, handed out 300 at a time so the details calls stay at ⌈distinct ids / 300⌉.
#[derive(Default)]
struct Batch {
    waiting: Vec<String>,
    changes: HashMap<String, ChangeStatus>,
    /// Ids already handed out (a product order that changes again while the feed is paged can
    /// come back on a later page: it is read again, with its later entry).
    handed: std::collections::HashSet<String>,
    entries: usize,
    distinct: u64,
    without_id: u64,
}

impl Batch {
    fn add(&mut self, page: Vec<ChangeStatus>) {
        self.entries += page.len();
        for entry in page {
            let Some(id) = entry.product_order_id.clone().filter(|id| !id.is_empty()) else {
                self.without_id += 1;
                continue;
            };
            match self.changes.get_mut(&id) {
                Some(kept) => {
                    if entry.last_changed_date >= kept.last_changed_date {
                        *kept = entry;
                    }
                }
                None => {
                    if !self.handed.contains(&id) {
                        self.distinct += 1;
                    }
                    self.waiting.push(id.clone());
                    self.changes.insert(id, entry);
                }
            }
        }
    }

    fn ready(&self) -> bool {
        self.waiting.len() >= MAX_DETAIL_IDS
    }

    fn take(&mut self, n: usize) -> Vec<String> {
        let n = n.min(self.waiting.len());
        let ids: Vec<String> = self.waiting.drain(..n).collect();
        self.handed.extend(ids.iter().cloned());
        ids
    }
}

impl<C: CredentialStore> Source for NaverSource<C> {
    /// The application's rate is shared by the imports that run at once: each takes `1/n`.
    fn set_concurrency(&self, instances: u32) {
        let share = 1.0 / f64::from(instances.max(1));
        self.rate_share
            .store(share.to_bits(), std::sync::atomic::Ordering::Relaxed);
    }

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
        account: &AccountRef,
        window: &Window,
        from: Option<&FeedPosition>,
        limit: PartLimit,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FeedPart, StepError> {
        let client = self.client(account).await?;
        let calls_before = client.api_calls();
        // The feed and the details endpoint have a rate limit each: read the next feed page
        // while the last one's details are fetched, so a window costs about the slower of the
        // two call sequences, not their sum.
        let (pages_in, mut pages) = tokio::sync::mpsc::channel(2);
        let feed_done = AtomicBool::new(false);
        let feed = async {
            let result = client
                .changed_pages(window, from, limit, deadline, pages_in)
                .await;
            feed_done.store(result.is_ok(), Ordering::SeqCst);
            result
        };
        let details = async {
            let mut batch = Batch::default();
            let mut counts = FetchCounts::default();
            while let Some(page) = pages.recv().await {
                batch.add(page);
                while batch.ready() {
                    let ids = batch.take(MAX_DETAIL_IDS);
                    details_into(
                        &client,
                        &ids,
                        &mut batch.changes,
                        deadline,
                        sink,
                        &mut counts,
                    )
                    .await?;
                }
            }
            // The tail only after a complete feed (or part of it): a failed part is redone
            // anyway, and a part's position is only safe once all it listed is detailed.
            if feed_done.load(Ordering::SeqCst) {
                let ids = batch.take(usize::MAX);
                details_into(
                    &client,
                    &ids,
                    &mut batch.changes,
                    deadline,
                    sink,
                    &mut counts,
                )
                .await?;
            }
            Ok::<_, StepError>((counts, batch))
        };
        let (fed, detailed) = tokio::join!(feed, details);
        let more = fed?;
        let (mut counts, batch) = detailed?;
        if batch.without_id > 0 {
            warn!(
                entries = batch.without_id,
                "change-feed entries without productOrderId ignored"
            );
        }
        counts.changed = batch.distinct;
        counts.api_calls = client.api_calls() - calls_before;
        info!(
            feed_entries = batch.entries,
            changed = counts.changed,
            fetched = counts.fetched,
            missing = counts.missing,
            api_calls = counts.api_calls,
            continued = from.is_some(),
            more = more.is_some(),
            "window fetched"
        );
        Ok(FeedPart { counts, more })
    }

    async fn fetch_range(
        &self,
        account: &AccountRef,
        window: &Window,
        by: RangeBy,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        let range_type = match by {
            RangeBy::Paid => "PAYED_DATETIME",
            RangeBy::Ordered => "ORDERED_DATETIME",
            RangeBy::Changed => return self.fetch_window(account, window, deadline, sink).await,
        };
        let client = self.client(account).await?;
        let calls_before = client.api_calls();
        let mut counts = FetchCounts::default();
        // A product order paid at a page boundary while we page could show on two pages; the
        // first copy is kept.
        let mut seen = std::collections::HashSet::new();
        let mut page = 1;
        loop {
            let found = client
                .search_page(window, range_type, page, deadline)
                .await?;
            counts.missing += found.unusable;
            for (id, detail) in found.orders {
                if !seen.insert(id.clone()) {
                    continue;
                }
                counts.changed += 1;
                counts.fetched += 1;
                sink(ImportedOrder {
                    product_order_id: id,
                    change: None,
                    detail,
                    rechecked: false,
                })?;
            }
            if !found.has_next {
                break;
            }
            if page == MAX_SEARCH_PAGES {
                return Err(StepError::new(
                    ErrorName::Upstream,
                    format!("the conditional search did not end after {MAX_SEARCH_PAGES} pages"),
                ));
            }
            page += 1;
        }
        counts.api_calls = client.api_calls() - calls_before;
        info!(
            range_type,
            found = counts.fetched,
            unusable = counts.missing,
            api_calls = counts.api_calls,
            "window searched"
        );
        Ok(counts)
    }

    async fn fetch_ids(
        &self,
        account: &AccountRef,
        ids: &[String],
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> Result<FetchCounts, StepError> {
        let client = self.client(account).await?;
        let calls_before = client.api_calls();
        let mut counts = FetchCounts::default();
        details_into(
            &client,
            ids,
            &mut HashMap::new(),
            deadline,
            sink,
            &mut counts,
        )
        .await?;
        counts.api_calls = client.api_calls() - calls_before;
        info!(
            asked = ids.len(),
            fetched = counts.fetched,
            missing = counts.missing,
            api_calls = counts.api_calls,
            "open orders re-read"
        );
        Ok(counts)
    }
}

/// Fetches the details of `ids` 300 at a time and hands each to `sink` (with its feed entry,
/// when there is one); ids NAVER does not return are counted as missing and logged.
async fn details_into(
    client: &NaverClient,
    ids: &[String],
    changes: &mut HashMap<String, ChangeStatus>,
    deadline: Instant,
    sink: &mut OrderSink<'_>,
    counts: &mut FetchCounts,
) -> Result<(), StepError> {
    for chunk in ids.chunks(MAX_DETAIL_IDS) {
        let (details, trace_id) = client.details(chunk, deadline).await?;
        let mut by_id: HashMap<String, _> = details
            .into_iter()
            .filter_map(|d| {
                let id = d.product_order.as_ref()?.product_order_id.clone()?;
                Some((id, d))
            })
            .collect();
        for id in chunk {
            match by_id.remove(id) {
                Some(detail) => {
                    sink(ImportedOrder {
                        rechecked: false,
                        product_order_id: id.clone(),
                        change: changes.remove(id),
                        detail,
                    })?;
                    counts.fetched += 1;
                }
                None => {
                    counts.missing += 1;
                    warn!(product_order_id = %id, trace_id = trace_id.as_deref(), "NAVER returned no detail for a product order it was asked for");
                }
            }
        }
        if !by_id.is_empty() {
            warn!(
                extra = by_id.len(),
                trace_id = trace_id.as_deref(),
                "NAVER returned details that were not asked for; ignored"
            );
        }
    }
    Ok(())
}
