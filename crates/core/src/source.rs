//! Where orders come from: the small trait the import stage talks to.
//!
//! NAVER Smart Store is the one adapter (`ordersync-naver`). The trait is not platform-neutral:
//! it yields NAVER's product-order model ([`crate::product_order::ImportedOrder`]), which the
//! transform maps to sheet rows. Another platform would map its orders into that model (or the
//! model would become a neutral one first); the import stage itself would not change.

use std::future::Future;
use std::time::Instant;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::errors::StepError;
use crate::product_order::ImportedOrder;
use crate::request::{AccountRef, RangeBy};
use crate::window::Window;

/// What fetching one window did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchCounts {
    /// Distinct product orders the change feed listed for the window.
    pub changed: u64,
    /// Product orders whose details came back (and were written).
    pub fetched: u64,
    /// Listed by the feed but not returned by the details call (logged with trace ids).
    pub missing: u64,
    /// HTTP requests made, including token requests and retries.
    pub api_calls: u64,
    /// Open product orders re-read by id (sync only; part of `fetched`/`missing` too).
    #[serde(default)]
    pub rechecked: u64,
}

impl FetchCounts {
    /// Adds another stretch's counts to these (a window read in several parts).
    pub fn add(&mut self, other: &FetchCounts) {
        self.changed += other.changed;
        self.fetched += other.fetched;
        self.missing += other.missing;
        self.api_calls += other.api_calls;
        self.rechecked += other.rechecked;
    }
}

/// Receives orders as they arrive, so a window's details never sit in memory all at once.
pub type OrderSink<'a> = dyn FnMut(ImportedOrder) -> Result<(), StepError> + Send + 'a;

/// Where a window's change feed goes on: the platform's own continuation (NAVER's `moreFrom`
/// and `moreSequence`, passed back exactly as received) and the inclusive end every page of
/// this window was asked with, so a continuation asks the same question as the first page did
/// even when "now" (which clamps the end) has moved. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedPosition {
    pub more_from: String,
    pub more_sequence: String,
    pub last_changed_to: String,
}

/// When a part of the change feed ends early: at a page boundary, once `max_pages` pages were
/// read in this part or once `stop_at` has passed. At least one page is always read, so every
/// part moves the position on.
#[derive(Debug, Clone, Copy)]
pub struct PartLimit {
    pub max_pages: u32,
    pub stop_at: Instant,
}

impl PartLimit {
    /// No early end: the whole window in one part (bounded by the deadline only).
    pub fn whole(deadline: Instant) -> Self {
        PartLimit {
            max_pages: u32::MAX,
            stop_at: deadline,
        }
    }

    /// Whether a part that has read `pages` pages stops before asking for another.
    pub fn reached(&self, pages: u32) -> bool {
        pages >= 1 && (pages >= self.max_pages || Instant::now() >= self.stop_at)
    }
}

/// [`Source::fetch_window`] of a source that reads the feed in parts: the whole window as one
/// part, bounded by the deadline only.
pub async fn whole_window<S: Source + ?Sized>(
    source: &S,
    account: &AccountRef,
    window: &Window,
    deadline: Instant,
    sink: &mut OrderSink<'_>,
) -> Result<FetchCounts, StepError> {
    let whole = PartLimit::whole(deadline);
    let part = source
        .fetch_feed_part(account, window, None, whole, deadline, sink)
        .await?;
    Ok(part.counts)
}

/// What one part of the change feed did, and where the feed goes on (`None`: the window is
/// complete). Every entry the part listed has been detailed and handed to the sink.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedPart {
    pub counts: FetchCounts,
    pub more: Option<FeedPosition>,
}

/// A store platform's orders.
pub trait Source: Send + Sync {
    /// How many imports of the same application run at once with this one, for the calls that
    /// follow (a source with a shared rate limit keeps to its part of it). Nothing by default.
    fn set_concurrency(&self, _instances: u32) {}

    /// Every product order that changed in `window` (half-open), with its current detail, handed
    /// to `sink` one by one. Gives up with a retryable error before `deadline`.
    fn fetch_window(
        &self,
        account: &AccountRef,
        window: &Window,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> impl Future<Output = Result<FetchCounts, StepError>> + Send;

    /// One part of [`Source::fetch_window`]: the change feed from `from` (the window's start
    /// when `None`) until it ends or `limit` stops it at a page boundary, each listed product
    /// order detailed and handed to `sink` before this returns, so the answer's position is a
    /// safe place to continue from in another invocation. A product order the feed lists again
    /// in a later part is handed on again (with its later entry).
    ///
    /// A source that cannot continue reads the whole window as one part (it never returns a
    /// position, so it is never asked to continue from one).
    fn fetch_feed_part(
        &self,
        account: &AccountRef,
        window: &Window,
        from: Option<&FeedPosition>,
        limit: PartLimit,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> impl Future<Output = Result<FeedPart, StepError>> + Send {
        let _ = limit;
        async move {
            if from.is_some() {
                return Err(StepError::new(
                    crate::errors::ErrorName::Internal,
                    "this order source cannot continue a window from a feed position",
                ));
            }
            let counts = self.fetch_window(account, window, deadline, sink).await?;
            Ok(FeedPart { counts, more: None })
        }
    }

    /// Every product order paid (or ordered, by `by`) in `window` (half-open), with its current
    /// detail, handed to `sink` one by one; there is no feed entry. `by` is never
    /// [`RangeBy::Changed`] here: that is [`Source::fetch_window`].
    fn fetch_range(
        &self,
        account: &AccountRef,
        window: &Window,
        by: RangeBy,
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> impl Future<Output = Result<FetchCounts, StepError>> + Send;

    /// The current detail of each of `ids` (no feed entry), handed to `sink` one by one: the
    /// sync's re-read of open orders, whose next step may never reach the change feed. Ids the
    /// platform does not return are counted as missing.
    fn fetch_ids(
        &self,
        account: &AccountRef,
        ids: &[String],
        deadline: Instant,
        sink: &mut OrderSink<'_>,
    ) -> impl Future<Output = Result<FetchCounts, StepError>> + Send;
}
