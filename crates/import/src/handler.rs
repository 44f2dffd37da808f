//! The import handler: checks everything it can before any API call (execution name, window,
//! account reference), streams the source's orders into the payload writer (so a window's
//! details are never all in memory), and writes the object under the deterministic key. An empty
//! window writes an empty object. A rerun of the same execution writes the same key again.
//!
//! A window is read by the change feed (a sync, or a range `by: changed`) or by NAVER's
//! conditional search (a range by payment or order date, details inline). A change feed too
//! large for one invocation is read in stored parts and goes on from NAVER's `more` position
//! in the next invocation ([`crate::progress`]); it never starts the window again.
//!
//! In a sync, the window its plan names also re-reads the sync's batch of open orders by id
//! (their next step may never reach the feed), into the same object: the ids the feed already
//! listed in this window are skipped, and each re-read order keeps the feed record the cursor
//! remembered for it.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use ordersync_core::cursor::{FeedChange, read_recheck};
use ordersync_core::product_order::ChangeStatus;
use ordersync_core::request::RangeBy;

use ordersync_core::errors::{ErrorName, StepError};
use ordersync_core::events::{ImportEvent, ImportResult};
use ordersync_core::keys::{
    Stage, check_execution, object_key, orders_part_key, orders_progress_key,
};
use ordersync_core::payload::{self, PayloadWriter};
use ordersync_core::product_order::{OrdersMeta, OrdersSchema};
use ordersync_core::request::check_secret_id;
use ordersync_core::source::{FetchCounts, PartLimit, Source};
use ordersync_core::store::{Store, read_object, write_object};

use crate::progress::{self, Progress, Resume};
use tracing::{Instrument, info, info_span};

fn invalid(message: impl Into<String>) -> StepError {
    StepError::new(ErrorName::InvalidInput, message)
}

/// Time kept back from the Lambda deadline to store the object and answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// The instant to stop retrying, from Lambda's deadline (ms since the epoch).
pub fn deadline_from(deadline_ms: u64) -> Instant {
    ordersync_core::budget::deadline_from(deadline_ms, DEADLINE_MARGIN)
}

/// Reads a raw event with `Ordersync.InvalidInput` for anything malformed.
pub fn parse_event(event: serde_json::Value) -> Result<ImportEvent, StepError> {
    ordersync_core::events::parse_event_value(event).map_err(StepError::from)
}

/// The ids to re-read with the feed record each had when last seen, in id order (so the calls
/// are the same on a rerun).
type Remembered = BTreeMap<String, Option<FeedChange>>;

/// How a window's change feed too large for one invocation is read in parts (see
/// [`crate::progress`]).
#[derive(Debug, Clone, Copy)]
pub struct Continuation {
    /// Feed pages per part: a part is stored, with the position after it, every this many pages
    /// (so a crash loses at most one part's calls).
    pub part_pages: u32,
    /// Time kept before the deadline in which no new feed page is started: what is left of
    /// the part is detailed and stored, and the invocation ends with `Ordersync.Continue`.
    pub reserve: Duration,
}

/// Feed pages per part: 30,000 entries, about 50 s of feed calls at NAVER's 2 requests/s (100 s
/// at half the rate), so a part costs at most one partial details call (< 1 % of its calls).
pub const PART_PAGES: u32 = 100;

/// Time kept back for the end of a part: up to two queued pages and a batch still to detail
/// (≈ 4 details calls, a few seconds at 2 requests/s, more behind a 429) and two S3 writes.
pub const CONTINUE_RESERVE: Duration = Duration::from_secs(60);

impl Default for Continuation {
    fn default() -> Self {
        Continuation {
            part_pages: PART_PAGES,
            reserve: CONTINUE_RESERVE,
        }
    }
}

/// Runs the import stage for one window.
pub async fn handle(
    store: &impl Store,
    source: &impl Source,
    event: ImportEvent,
    deadline: Instant,
) -> Result<ImportResult, StepError> {
    handle_with(store, source, event, deadline, Continuation::default()).await
}

/// [`handle`] with the part size and end-of-invocation reserve given.
pub async fn handle_with(
    store: &impl Store,
    source: &impl Source,
    event: ImportEvent,
    deadline: Instant,
    continuation: Continuation,
) -> Result<ImportResult, StepError> {
    let span =
        info_span!("import", run = %event.execution, stage = "import", window = %event.window.id());
    run(store, source, event, deadline, continuation)
        .instrument(span)
        .await
}

async fn run(
    store: &impl Store,
    source: &impl Source,
    event: ImportEvent,
    deadline: Instant,
    continuation: Continuation,
) -> Result<ImportResult, StepError> {
    check_execution(&event.execution)?;
    event.window.check().map_err(|e| invalid(e.to_string()))?;
    let mut problems = Vec::new();
    check_secret_id(&event.account.secret_id, &mut problems);
    if !problems.is_empty() {
        return Err(invalid(problems.join("; ")));
    }
    let key = object_key(&event.execution, Stage::Orders, &event.window)?;
    if let Some(instances) = event.instances {
        source.set_concurrency(instances);
    }

    let recheck = match event.sync.as_ref().and_then(|s| s.recheck.as_ref()) {
        Some(recheck) if recheck.window == event.window => Some(
            read_recheck(store, recheck)
                .await?
                .into_iter()
                .map(|r| (r.id, r.changed))
                .collect::<Remembered>(),
        ),
        _ => None,
    };
    let mut listed = HashSet::new();
    let by = event.by.unwrap_or(RangeBy::Changed);
    let Feed {
        mut writer,
        mut counts,
        parts,
    } = match by {
        RangeBy::Changed => {
            let tracked = recheck.is_some().then_some(&mut listed);
            read_feed(store, source, &event, deadline, continuation, tracked).await?
        }
        RangeBy::Paid | RangeBy::Ordered => {
            let mut writer = PayloadWriter::<OrdersSchema>::new(&OrdersMeta {
                window: event.window,
            })?;
            let counts = source
                .fetch_range(&event.account, &event.window, by, deadline, &mut |order| {
                    writer.push(&order).map_err(StepError::from)
                })
                .await?;
            Feed {
                writer,
                counts,
                parts: 0,
            }
        }
    };
    if let Some(mut remembered) = recheck {
        remembered.retain(|id, _| !listed.contains(id));
        let ids: Vec<String> = remembered.keys().cloned().collect();
        let again = source
            .fetch_ids(&event.account, &ids, deadline, &mut |mut order| {
                order.rechecked = true;
                order.change = remembered
                    .get(&order.product_order_id)
                    .cloned()
                    .flatten()
                    .map(|c| ChangeStatus {
                        product_order_id: Some(order.product_order_id.clone()),
                        last_changed_date: Some(c.date),
                        last_changed_type: c.kind,
                        ..ChangeStatus::default()
                    });
                writer.push(&order).map_err(StepError::from)
            })
            .await?;
        counts.rechecked = again.fetched + again.missing;
        counts.fetched += again.fetched;
        counts.missing += again.missing;
        counts.api_calls += again.api_calls;
    }
    let encoded = writer.finish()?;
    let orders = write_object::<OrdersSchema>(store, &key, encoded).await?;
    if parts > 0 {
        // After the object: a crash before this line joins the same parts again.
        let progress_key = orders_progress_key(&event.execution, &event.window)?;
        let written = Progress::Written {
            window: event.window,
        };
        progress::write(store, &progress_key, &written).await?;
    }
    info!(
        rechecked = counts.rechecked,
        changed = counts.changed,
        fetched = counts.fetched,
        missing = counts.missing,
        api_calls = counts.api_calls,
        bytes = orders.bytes,
        "orders written"
    );
    Ok(ImportResult {
        window: event.window,
        orders,
        counts,
    })
}

/// A window's change feed, read: the writer holding every order the feed gave (to which the
/// re-read adds), its counts, and how many stored parts it was joined from (0: read whole).
struct Feed {
    writer: PayloadWriter<OrdersSchema>,
    counts: FetchCounts,
    parts: usize,
}

/// Reads the window's change feed in parts, going on from where an earlier invocation of this
/// execution stopped. A window that fits in one part is read straight into the writer and
/// stores nothing else. Otherwise each part is stored with the progress after it; when the
/// invocation reaches its reserve before the feed ends, it stops with `Ordersync.Continue`
/// (the state machine's retry invokes it again); once the feed ends, the parts are joined.
/// `listed` collects the ids the feed gave, when the caller needs them.
async fn read_feed(
    store: &impl Store,
    source: &impl Source,
    event: &ImportEvent,
    deadline: Instant,
    continuation: Continuation,
    mut listed: Option<&mut HashSet<String>>,
) -> Result<Feed, StepError> {
    let meta = OrdersMeta {
        window: event.window,
    };
    let progress_key = orders_progress_key(&event.execution, &event.window)?;
    let Resume {
        mut parts,
        mut next,
        mut counts,
    } = progress::read(store, &progress_key, &event.window)
        .await?
        .unwrap_or_default();
    // An invocation that starts inside its reserve still reads one page (every part advances).
    let stop_at = deadline
        .checked_sub(continuation.reserve)
        .unwrap_or_else(Instant::now);
    let limit = PartLimit {
        max_pages: continuation.part_pages.max(1),
        stop_at,
    };
    // A fresh window (no part yet) reads; stored parts go on while the feed has a position. A
    // resumed progress whose feed already ended (a crash before the join) only joins.
    while parts.is_empty() || next.is_some() {
        let mut part = PayloadWriter::<OrdersSchema>::new(&meta)?;
        let read = source
            .fetch_feed_part(
                &event.account,
                &event.window,
                next.as_ref(),
                limit,
                deadline,
                &mut |order| {
                    if let Some(listed) = listed.as_deref_mut() {
                        listed.insert(order.product_order_id.clone());
                    }
                    part.push(&order).map_err(StepError::from)
                },
            )
            .await?;
        counts.add(&read.counts);
        if read.more.is_none() && parts.is_empty() {
            return Ok(Feed {
                writer: part,
                counts,
                parts: 0,
            });
        }
        let key = orders_part_key(&event.execution, &event.window, parts.len() + 1)?;
        parts.push(write_object::<OrdersSchema>(store, &key, part.finish()?).await?);
        next = read.more;
        let progress = Progress::Reading {
            window: event.window,
            parts: parts.clone(),
            next: next.clone(),
            counts,
        };
        progress::write(store, &progress_key, &progress).await?;
        if let Some(position) = next.as_ref().filter(|_| Instant::now() >= stop_at) {
            info!(
                parts = parts.len(),
                fetched = counts.fetched,
                more_from = %position.more_from,
                "window continues in the next invocation"
            );
            return Err(StepError::new(
                ErrorName::Continue,
                format!(
                    "window {} is read up to NAVER's position {} in {} stored parts ({} product orders so far); the state machine's retry goes on from there",
                    event.window.id(),
                    position.more_from,
                    parts.len(),
                    counts.fetched
                ),
            ));
        }
    }
    // The feed has ended: the window's object is its parts, in order.
    let mut writer = PayloadWriter::<OrdersSchema>::new(&meta)?;
    for reference in &parts {
        let bytes = read_object(store, reference)
            .await
            .map_err(StepError::from)?;
        for order in payload::open::<OrdersSchema>(&bytes, reference)? {
            let order = order?;
            if let Some(listed) = listed.as_deref_mut() {
                listed.insert(order.product_order_id.clone());
            }
            writer.push(&order)?;
        }
    }
    info!(parts = parts.len(), "window joined from its parts");
    Ok(Feed {
        writer,
        counts,
        parts: parts.len(),
    })
}
