//! Token-bucket rate limits (SPEC §7): per Telegram user for `tma` requests, per client address for
//! everything else; staff are exempt. Limits are per instance. Over the limit: 429 `rate_limited`
//! with `Retry-After`.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::auth::Caller;

/// `per_second` tokens a second, up to `burst` at once; `per_second == 0` turns limiting off.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitSettings {
    pub per_second: u32,
    pub burst: u32,
}

pub struct RateLimits {
    users: Option<DefaultKeyedRateLimiter<i64>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

/// Why a request may not go on now.
#[derive(Debug)]
pub struct Limited {
    pub retry_after: Duration,
    pub by: &'static str,
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        let quota = NonZeroU32::new(settings.per_second)
            .map(|rate| Quota::per_second(rate).allow_burst(NonZeroU32::new(settings.burst).unwrap_or(rate)));
        Self {
            users: quota.map(RateLimiter::keyed),
            addresses: quota.map(RateLimiter::keyed),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one token for this request, or says how long to wait.
    pub fn check(&self, caller: &Caller, address: Option<IpAddr>) -> Result<(), Limited> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            // Forget buckets that are full again, so the tables do not grow without bound.
            self.users.iter().for_each(|l| l.retain_recent());
            self.addresses.iter().for_each(|l| l.retain_recent());
        }
        let outcome = match caller {
            Caller::Staff { .. } => return Ok(()),
            Caller::User(user) => self.users.as_ref().map(|l| (l.check_key(&user.id.0), "user")),
            _ => {
                let address = address.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                self.addresses.as_ref().map(|l| (l.check_key(&address), "address"))
            }
        };
        match outcome {
            Some((Err(not_until), by)) => {
                metrics::counter!("rate_limited_total", "by" => by).increment(1);
                Err(Limited { retry_after: not_until.wait_time_from(DefaultClock::default().now()), by })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TelegramUser;
    use domain::UserId;

    fn user(id: i64) -> Caller {
        Caller::User(TelegramUser { id: UserId(id), username: None })
    }

    #[test]
    fn a_user_over_the_burst_waits_while_others_go_on() {
        let limits = RateLimits::new(RateLimitSettings { per_second: 1, burst: 3 });
        for _ in 0..3 {
            assert!(limits.check(&user(1), None).is_ok());
        }
        let Err(limited) = limits.check(&user(1), None) else { panic!("the fourth is over the burst") };
        assert!(limited.retry_after > Duration::ZERO && limited.retry_after <= Duration::from_secs(1));
        assert!(limits.check(&user(2), None).is_ok(), "another user has a bucket of its own");
        assert!(limits.check(&Caller::Staff { actor: "s".into() }, None).is_ok(), "staff are exempt");
    }

    #[test]
    fn addresses_are_limited_apart_and_zero_turns_limiting_off() {
        let limits = RateLimits::new(RateLimitSettings { per_second: 1, burst: 1 });
        let a = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(limits.check(&Caller::Anonymous, a).is_ok());
        assert!(limits.check(&Caller::Invalid("x"), a).is_err());
        assert!(limits.check(&Caller::Anonymous, Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)))).is_ok());
        let off = RateLimits::new(RateLimitSettings { per_second: 0, burst: 0 });
        for _ in 0..100 {
            assert!(off.check(&user(1), a).is_ok());
        }
    }
}
