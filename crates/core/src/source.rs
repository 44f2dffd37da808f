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

/// Receives orders as they arrive, so a window's details never sit in memory all at once.
pub type OrderSink<'a> = dyn FnMut(ImportedOrder) -> Result<(), StepError> + Send + 'a;

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
