//! "The latest row per product order": the one place that keeps a single item per key.
//!
//! Three stages need it. Transform keeps one row per `productOrderId` out of a window's change
//! feed; insert keeps one row per key out of several windows' rows objects; the upsert plan keeps
//! one wanted row per key before matching them with the sheet. [`LatestPerKey`] holds the kept
//! items in the order their keys were first seen, so a key that comes again keeps its first
//! place (the sheet row it will land in does not move), and memory is bounded by the distinct
//! keys, not by how often each changed.
//!
//! What "latest" means is the caller's, and differs on purpose:
//! - [`LatestPerKey::offer_later_wins`]: a later offer replaces the kept one. Insert and the
//!   plan use it: their input is in change order (a later window is a later change) and rows
//!   carry no change time to compare.
//! - [`LatestPerKey::offer`] with a rule: transform keeps the record with the latest
//!   `lastChangedDate` and, on a tie, the greater serialised row, so its output never depends on
//!   the order of the feed.
//!
//! This module does not sort (transform orders its rows by key afterwards) and does not look at
//! the sheet: a key found twice *in the sheet* is the plan's concern (the first row is updated
//! and the duplicate reported).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// One item per key, in first-seen order of the keys.
#[derive(Debug, Clone)]
pub struct LatestPerKey<K, T> {
    position: HashMap<K, usize>,
    kept: Vec<T>,
}

impl<K: Hash + Eq, T> Default for LatestPerKey<K, T> {
    fn default() -> Self {
        LatestPerKey {
            position: HashMap::new(),
            kept: Vec::new(),
        }
    }
}

impl<K: Hash + Eq, T> LatestPerKey<K, T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room for `keys` distinct keys.
    pub fn with_capacity(keys: usize) -> Self {
        LatestPerKey {
            position: HashMap::with_capacity(keys),
            kept: Vec::with_capacity(keys),
        }
    }

    /// Keeps `item` for `key` when the key is new, or when `replaces(kept, &item)` says it
    /// replaces the item kept so far; the key keeps its first place either way. The key is
    /// copied only when it is new (at 100,000 orders a copy per record adds up).
    pub fn offer<'q, Q>(&mut self, key: &'q Q, item: T, replaces: impl FnOnce(&T, &T) -> bool)
    where
        K: Borrow<Q> + From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.position.get(key) {
            Some(&at) => {
                if replaces(&self.kept[at], &item) {
                    self.kept[at] = item;
                }
            }
            None => {
                self.position.insert(K::from(key), self.kept.len());
                self.kept.push(item);
            }
        }
    }

    /// Keeps `item` for `key`, replacing what was kept: for input already in change order.
    pub fn offer_later_wins<'q, Q>(&mut self, key: &'q Q, item: T)
    where
        K: Borrow<Q> + From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.offer(key, item, |_, _| true);
    }

    /// [`LatestPerKey::offer_later_wins`] for an item that carries its own key (`key_of`), so
    /// the caller need not copy the key to hand it over beside the item.
    pub fn offer_later_wins_keyed<Q>(&mut self, item: T, key_of: impl Fn(&T) -> &Q)
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.offer_keyed(item, key_of, |_, _| true);
    }

    /// [`LatestPerKey::offer`] for an item that carries its own key (`key_of`).
    pub fn offer_keyed<Q>(
        &mut self,
        item: T,
        key_of: impl Fn(&T) -> &Q,
        replaces: impl FnOnce(&T, &T) -> bool,
    ) where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.position.get(key_of(&item)) {
            Some(&at) => {
                if replaces(&self.kept[at], &item) {
                    self.kept[at] = item;
                }
            }
            None => {
                self.position
                    .insert(K::from(key_of(&item)), self.kept.len());
                self.kept.push(item);
            }
        }
    }

    /// Distinct keys so far.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The kept items, in first-seen order of their keys.
    pub fn into_items(self) -> Vec<T> {
        self.kept
    }

    /// The keys with their kept items, in first-seen order of the keys.
    pub fn into_keyed(self) -> Vec<(K, T)> {
        let mut keys: Vec<Option<K>> = std::iter::repeat_with(|| None)
            .take(self.kept.len())
            .collect();
        for (key, at) in self.position {
            keys[at] = Some(key);
        }
        keys.into_iter()
            .zip(self.kept)
            .filter_map(|(key, item)| Some((key?, item)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_offers_win_in_the_place_of_the_first() {
        let mut latest: LatestPerKey<String, (&str, u32)> = LatestPerKey::new();
        for (key, version) in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)] {
            latest.offer_later_wins(key, (key, version));
        }
        assert_eq!(latest.len(), 3);
        assert_eq!(latest.into_items(), [("a", 3), ("b", 2), ("c", 1)]);
    }

    #[test]
    fn items_that_carry_their_key_are_kept_the_same_way() {
        let mut latest: LatestPerKey<String, (String, u32)> = LatestPerKey::new();
        for (key, version) in [("a", 1), ("b", 1), ("a", 2)] {
            latest.offer_later_wins_keyed((key.to_owned(), version), |item| item.0.as_str());
        }
        assert_eq!(
            latest.into_items(),
            [("a".to_owned(), 2), ("b".to_owned(), 1)]
        );
    }

    #[test]
    fn a_rule_decides_which_offer_replaces_the_kept_one() {
        // The greatest value wins, whatever the order it came in.
        let mut latest: LatestPerKey<Box<str>, u32> = LatestPerKey::new();
        for (key, value) in [("x", 5), ("y", 1), ("x", 9), ("x", 7), ("y", 0)] {
            latest.offer(key, value, |kept, new| new > kept);
        }
        assert_eq!(
            latest.into_keyed(),
            [(Box::from("x"), 9), (Box::from("y"), 1)]
        );
    }

    #[test]
    fn borrowed_keys_cost_nothing_to_keep() {
        let rows = [("k1", 'a'), ("k2", 'b'), ("k1", 'c')];
        let mut latest: LatestPerKey<&str, &(&str, char)> = LatestPerKey::with_capacity(2);
        for row in &rows {
            latest.offer_later_wins(row.0, row);
        }
        assert_eq!(latest.into_items(), [&("k1", 'c'), &("k2", 'b')]);
    }
}
