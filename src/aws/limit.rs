//! Client-side rate limits per account and operation, so a large fleet stays under the AWS
//! quotas instead of relying on being throttled and retried.
//!
//! Each limiter spaces request starts `1/rate` apart (a GCRA / leaky bucket with a burst of
//! one), on tokio's clock: callers wait their turn instead of sleeping a fixed time, and
//! tests under `tokio::time::pause` run instantly.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub use crate::config::Rates;

/// One operation family's limiter.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `per_second` request starts per second; 0 or less means no limit.
    pub fn new(per_second: f64) -> RateLimiter {
        let interval = if per_second > 0.0 {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Wait until this request may start. Turns are handed out in call order.
    pub async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let start = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let start = next.map_or(now, |n| n.max(now));
            *next = Some(start + self.interval);
            start
        };
        tokio::time::sleep_until(start).await;
    }
}

/// The limiters of one account.
#[derive(Debug)]
pub struct AccountLimits {
    /// ListCertificates pages.
    pub acm_list: RateLimiter,
    /// DescribeCertificate.
    pub acm_describe: RateLimiter,
    /// ListTagsForCertificate.
    pub acm_tags: RateLimiter,
    /// Cognito user pool domain reads and updates per second, in each region: Cognito's
    /// quotas are per account *and* per region, so every region gets its own limiter
    /// ([`AccountLimits::cognito_region`]).
    pub cognito_per_region: f64,
}

impl AccountLimits {
    /// Limiters at `rates`.
    pub fn new(rates: Rates) -> AccountLimits {
        AccountLimits {
            acm_list: RateLimiter::new(rates.acm_list),
            acm_describe: RateLimiter::new(rates.acm_describe),
            acm_tags: RateLimiter::new(rates.acm_tags),
            cognito_per_region: rates.cognito,
        }
    }

    /// A new limiter for this account's Cognito calls in one region.
    pub fn cognito_region(&self) -> std::sync::Arc<RateLimiter> {
        std::sync::Arc::new(RateLimiter::new(self.cognito_per_region))
    }

    /// A new limiter for this account's calls to another consumer's service (CloudFront,
    /// API Gateway) in one region, at the Cognito rate (`rate_limits.cognito`).
    pub fn consumer_region(&self) -> std::sync::Arc<RateLimiter> {
        self.cognito_region()
    }

    /// No limits (unit tests of the adapters).
    pub fn unlimited() -> AccountLimits {
        AccountLimits::new(Rates {
            acm_list: 0.0,
            acm_describe: 0.0,
            acm_tags: 0.0,
            cognito: 0.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_rate_and_never_faster() {
        let limiter = Arc::new(RateLimiter::new(8.0));
        let t0 = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..17 {
            let l = limiter.clone();
            tasks.spawn(async move {
                l.acquire().await;
                Instant::now()
            });
        }
        let mut starts = Vec::new();
        while let Some(t) = tasks.join_next().await {
            starts.push(t.unwrap() - t0);
        }
        starts.sort();
        // 17 requests at 8/s: the first at once, the last 16 × 125 ms later.
        assert_eq!(starts[0], Duration::ZERO);
        assert_eq!(starts[16], Duration::from_millis(2000));
        for w in starts.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(125), "{starts:?}");
        }
        // In any one-second window, no more than 8 starts (+1 at the closed edge).
        for (i, s) in starts.iter().enumerate() {
            let within = starts[i..]
                .iter()
                .filter(|t| **t < *s + Duration::from_secs(1));
            assert!(within.count() <= 8, "{starts:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_limiter_lets_the_next_request_through_at_once() {
        let limiter = RateLimiter::new(10.0);
        limiter.acquire().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t0 = Instant::now();
        limiter.acquire().await;
        assert_eq!(Instant::now(), t0);
        limiter.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_means_unlimited() {
        let limits = AccountLimits::unlimited();
        let t0 = Instant::now();
        let cognito = limits.cognito_region();
        for _ in 0..100 {
            limits.acm_list.acquire().await;
            cognito.acquire().await;
        }
        assert_eq!(Instant::now(), t0);
    }
}
