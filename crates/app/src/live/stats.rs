//! Collection statistics, kept for a moment per instance: a busy market page asks for them far
//! more often than they change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::ports::Clock;
use domain::RepoError;

use crate::ports::reads::{ActivityReads, CollectionStats};

/// Most collections kept; beyond, the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// When a collection's statistics were read, and what they were.
type Entry = (DateTime<Utc>, Option<CollectionStats>);

pub struct StatsCache {
    ttl: Duration,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl StatsCache {
    /// Keeps each collection's statistics for `ttl` of `clock`'s time (zero: never).
    pub fn new(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self { ttl, clock, entries: Mutex::default() }
    }

    /// The statistics of the collection `name` (`None`: no such collection), read from `reads`
    /// unless read less than the TTL ago.
    pub async fn get<R>(&self, reads: &R, name: &str) -> Result<Option<CollectionStats>, RepoError>
    where
        R: ActivityReads + ?Sized,
    {
        let now = self.clock.now();
        if let Some((at, stats)) = self.entries.lock().expect("poisoned").get(name) {
            if (now - *at).to_std().is_ok_and(|age| age < self.ttl) {
                return Ok(stats.clone());
            }
        }
        let stats = reads.collection_stats(name, now).await?;
        if !self.ttl.is_zero() {
            let mut entries = self.entries.lock().expect("poisoned");
            if entries.len() > MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(name.to_string(), (self.clock.now(), stats.clone()));
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::super::testing::*;
    use super::*;

    fn sales(stats: Option<CollectionStats>) -> u64 {
        stats.expect("a collection").sales_24h
    }

    #[tokio::test]
    async fn a_value_is_served_from_the_cache_within_its_ttl_and_read_again_after() {
        let (reads, clock) = (FakeReads::default(), ManualClock::new(start()));
        let cache = StatsCache::new(Duration::from_secs(1), clock.clone());

        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 1);
        assert_eq!(*reads.stats_at.lock().unwrap(), Some(start()), "read as of the clock's now");
        clock.advance(Duration::from_millis(999));
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 1, "cached");
        assert_eq!(reads.stats_reads.load(Ordering::SeqCst), 1, "one read");

        clock.advance(Duration::from_millis(1));
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 2, "read again once the TTL passed");
        assert_eq!(*reads.stats_at.lock().unwrap(), Some(start() + chrono::Duration::seconds(1)));
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 2, "and kept from then on");
        assert_eq!(reads.stats_reads.load(Ordering::SeqCst), 2);

        // Each collection has its own entry; "no such collection" is kept as well.
        assert_eq!(sales(cache.get(&reads, "frog").await.unwrap()), 3);
        assert_eq!(cache.get(&reads, "none").await.unwrap(), None);
        assert_eq!(cache.get(&reads, "none").await.unwrap(), None);
        assert_eq!(reads.stats_reads.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_zero_ttl_reads_every_time() {
        let (reads, clock) = (FakeReads::default(), ManualClock::new(start()));
        let cache = StatsCache::new(Duration::ZERO, clock);
        for n in 1..=3 {
            assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), n);
        }
    }

    #[tokio::test]
    async fn a_clock_that_went_back_reads_again() {
        let (reads, clock) = (FakeReads::default(), ManualClock::new(start()));
        let cache = StatsCache::new(Duration::from_secs(60), clock.clone());
        cache.get(&reads, "pepe").await.unwrap();
        *clock.now.lock().unwrap() = start() - chrono::Duration::seconds(5);
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 2);
    }

    #[tokio::test]
    async fn each_collection_is_cached_apart_from_the_others() {
        let (reads, clock) = (FakeReads::default(), ManualClock::new(start()));
        let cache = StatsCache::new(Duration::from_secs(60), clock);
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 1);
        assert_eq!(sales(cache.get(&reads, "frog").await.unwrap()), 2);
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 1, "still cached after another was read");
        assert_eq!(reads.stats_reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn beyond_its_most_entries_the_cache_starts_over() {
        let (reads, clock) = (FakeReads::default(), ManualClock::new(start()));
        let cache = StatsCache::new(Duration::from_secs(60), clock);
        cache.entries.lock().unwrap().extend((0..MAX_ENTRIES).map(|n| (format!("c{n}"), (start(), None))));
        cache.get(&reads, "pepe").await.unwrap();
        assert_eq!(cache.get(&reads, "c0").await.unwrap(), None, "10 000 are kept");
        assert_eq!(reads.stats_reads.load(Ordering::SeqCst), 1);
        cache.get(&reads, "frog").await.unwrap();
        assert_eq!(cache.entries.lock().unwrap().len(), 1, "one more: it started over");
        assert_eq!(sales(cache.get(&reads, "pepe").await.unwrap()), 3, "read again");
    }
}
