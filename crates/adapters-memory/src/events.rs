//! Market events and what is read from them: the activity feed, collection statistics.

use app::ports::reads::*;
use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::ports::EventRepo;
use domain::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{MemoryStore, MemoryUow};

#[async_trait]
impl EventRepo for MemoryUow {
    async fn append(&mut self, events: &[MarketEvent]) -> Result<(), RepoError> {
        for e in events {
            self.state.events.insert(e.id.0, e.clone());
        }
        self.wrote_events = true;
        Ok(())
    }
}

fn money(d: Decimal) -> Money {
    Money::from_decimal(d.round_dp(9)).unwrap_or(Money::ZERO)
}

#[async_trait]
impl ActivityReads for MemoryStore {
    async fn activity(&self, f: &ActivityFilter, page: PageRequest) -> Result<Page<MarketEvent>, RepoError> {
        let s = self.snapshot();
        let upper = page.after.unwrap_or(Uuid::max());
        let items: Vec<MarketEvent> = s
            .events
            .range(..upper)
            .rev()
            .map(|(_, e)| e)
            .filter(|e| e.recipient.is_none())
            .filter(|e| f.collection.as_ref().is_none_or(|c| e.collection.as_ref() == Some(c)))
            .filter(|e| f.nft_id.is_none_or(|n| e.nft_id == Some(n)))
            .filter(|e| f.kind.is_none_or(|k| e.kind == k))
            .take(page.limit as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(items, page.limit, |e| e.id.0))
    }

    async fn events_after(&self, after: Uuid, scope: &StreamScope, limit: u32) -> Result<Vec<MarketEvent>, RepoError> {
        let s = self.snapshot();
        Ok(s.events
            .range(after..)
            .filter(|(id, e)| **id != after && scope.admits(e))
            .take(limit as usize)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn ledger_after(&self, after: Uuid, users: &[UserId], limit: u32) -> Result<Vec<LedgerEntry>, RepoError> {
        let s = self.snapshot();
        Ok(s.ledger
            .range(after..)
            .filter(|(id, e)| **id != after && e.user_id.is_some_and(|u| users.contains(&u)))
            .take(limit as usize)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn collections(&self, after: Option<&str>, limit: u32) -> Result<Vec<String>, RepoError> {
        let s = self.snapshot();
        let after = after.unwrap_or("");
        let mut names: Vec<String> =
            s.nfts.values().filter(|n| n.collection.as_str() > after).map(|n| n.collection.clone()).collect();
        names.sort();
        names.dedup();
        names.truncate(limit as usize);
        Ok(names)
    }

    async fn collection_stats(&self, name: &str, now: DateTime<Utc>) -> Result<Option<CollectionStats>, RepoError> {
        let s = self.snapshot();
        let nfts: Vec<&Nft> = s.nfts.values().filter(|n| n.collection == name).collect();
        let sales: Vec<&MarketEvent> = s
            .events
            .values()
            .filter(|e| e.recipient.is_none() && e.kind.is_sale() && e.price.is_some())
            .filter(|e| e.collection.as_deref() == Some(name))
            .collect();
        if nfts.is_empty() && sales.is_empty() {
            return Ok(None);
        }
        let listed: Vec<Money> =
            nfts.iter().filter(|n| n.status == NftStatus::Available).filter_map(|n| n.price).collect();
        let mut owners: Vec<i64> =
            nfts.iter().filter(|n| n.status != NftStatus::Withdrawn).map(|n| n.owner_id.0).collect();
        owners.sort();
        owners.dedup();
        let window = |d: Duration| {
            let from = now - d;
            let w: Vec<&&MarketEvent> = sales.iter().filter(|e| e.created_at >= from).collect();
            (w.len() as u64, money(w.iter().filter_map(|e| e.price).map(|p| p.as_decimal()).sum()))
        };
        let (sales_24h, volume_24h) = window(Duration::hours(24));
        let (sales_7d, volume_7d) = window(Duration::days(7));
        Ok(Some(CollectionStats {
            name: name.to_string(),
            listed: listed.len() as u64,
            floor: listed.iter().min().copied(),
            owners: owners.len() as u64,
            sales_24h,
            volume_24h,
            sales_7d,
            volume_7d,
            last_sale: sales.last().and_then(|e| e.price.map(|p| (p, e.created_at))),
        }))
    }

    async fn collection_history(
        &self,
        name: &str,
        interval: Interval,
        since: DateTime<Utc>,
    ) -> Result<Vec<PricePoint>, RepoError> {
        let s = self.snapshot();
        let step = match interval {
            Interval::Hour => Duration::hours(1),
            Interval::Day => Duration::days(1),
        };
        let mut points: Vec<(DateTime<Utc>, Vec<Decimal>)> = Vec::new();
        for e in s.events.values() {
            let (true, Some(price), true) =
                (e.recipient.is_none() && e.kind.is_sale(), e.price, e.collection.as_deref() == Some(name))
            else {
                continue;
            };
            if e.created_at < since {
                continue;
            }
            let bucket = e.created_at.duration_trunc(step).unwrap_or(e.created_at);
            match points.last_mut() {
                Some((at, prices)) if *at == bucket => prices.push(price.as_decimal()),
                _ => points.push((bucket, vec![price.as_decimal()])),
            }
        }
        Ok(points
            .into_iter()
            .map(|(at, prices)| {
                let sum: Decimal = prices.iter().sum();
                PricePoint {
                    at,
                    min: money(*prices.iter().min().expect("a sale")),
                    max: money(*prices.iter().max().expect("a sale")),
                    avg: money(sum / Decimal::from(prices.len() as u64)),
                    volume: money(sum),
                    sales: prices.len() as u64,
                }
            })
            .collect())
    }
}
