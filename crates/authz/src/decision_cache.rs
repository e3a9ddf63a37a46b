//! Decisions remembered for a while, so that an authorizer that costs something to ask (a
//! WASM plugin) is asked once per subject, action and object per `ttl` (as Kubernetes caches
//! its webhook authorizer's answers). Failures are not remembered: a plugin that trapped is
//! asked again next time. The cache is bounded: when full, expired entries go, and if none
//! has expired everything does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::action::Action;
use super::authorizer::{Authorizer, Denied, Request};

/// Most decisions kept at once.
pub const DEFAULT_CAPACITY: usize = 10_000;

type Key = (Option<String>, Action, Option<String>);
/// When a decision was made, and what it was.
type Remembered = (Instant, Result<(), Denied>);

#[derive(Debug)]
pub struct DecisionCache {
    inner: Arc<dyn Authorizer>,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Key, Remembered>>,
}

impl DecisionCache {
    /// Remembers `inner`'s decisions for `ttl` (zero: asks every time).
    pub fn new(inner: Arc<dyn Authorizer>, ttl: Duration) -> DecisionCache {
        DecisionCache::with_capacity(inner, ttl, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(inner: Arc<dyn Authorizer>, ttl: Duration, capacity: usize) -> Self {
        DecisionCache {
            inner,
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The decision for `request` as of `now`: remembered if younger than the ttl, else
    /// asked (outside the cache's lock) and remembered unless it is a failure.
    pub fn authorize_at(&self, request: &Request<'_>, now: Instant) -> Result<(), Denied> {
        if self.ttl.is_zero() {
            return self.inner.authorize(request);
        }
        let key: Key = (
            request.subject.map(str::to_string),
            request.action,
            request.object.map(str::to_string),
        );
        if let Some((at, decision)) = self.lock().get(&key)
            && now.saturating_duration_since(*at) < self.ttl
        {
            return decision.clone();
        }
        let decision = self.inner.authorize(request);
        if !decision.as_ref().is_err_and(|d| d.failure) {
            let mut entries = self.lock();
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < self.ttl);
                if entries.len() >= self.capacity {
                    entries.clear();
                }
            }
            entries.insert(key, (now, decision.clone()));
        }
        decision
    }

    /// How many decisions are remembered (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Remembered>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Authorizer for DecisionCache {
    fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
        self.authorize_at(request, Instant::now())
    }

    fn restricts(&self, action: Action) -> bool {
        self.inner.restricts(action)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Denies `bob`, fails for `flaky`, allows the rest; counts the questions.
    #[derive(Debug, Default)]
    struct Counting {
        asked: AtomicUsize,
    }

    impl Authorizer for Counting {
        fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            match request.subject {
                Some("bob") => Err(Denied::new(request, Some("not bob".into()))),
                Some("flaky") => Err(Denied::failed(request, "trapped".into())),
                _ => Ok(()),
            }
        }
    }

    fn request(subject: &str, object: &str) -> Request<'static> {
        let (subject, object) = (subject.to_string().leak(), object.to_string().leak());
        Request {
            subject: Some(subject),
            action: Action::RunTasks,
            object: Some(object),
        }
    }

    #[test]
    fn a_decision_is_asked_once_per_ttl_and_again_after_it() {
        let counting = Arc::new(Counting::default());
        let cache = DecisionCache::new(counting.clone(), Duration::from_secs(10));
        let start = Instant::now();
        for _ in 0..3 {
            assert!(cache.authorize_at(&request("alice", "root"), start).is_ok());
            let denied = cache.authorize_at(&request("bob", "root"), start);
            assert_eq!(denied.unwrap_err().reason.as_deref(), Some("not bob"));
        }
        assert_eq!(counting.asked.load(Ordering::SeqCst), 2);
        let later = start + Duration::from_secs(10);
        assert!(cache.authorize_at(&request("alice", "root"), later).is_ok());
        assert_eq!(
            counting.asked.load(Ordering::SeqCst),
            3,
            "expired, asked again"
        );
        assert!(
            cache
                .authorize_at(&request("alice", "nobody"), later)
                .is_ok()
        );
        assert_eq!(counting.asked.load(Ordering::SeqCst), 4, "another object");
    }

    #[test]
    fn failures_are_refused_but_not_remembered() {
        let counting = Arc::new(Counting::default());
        let cache = DecisionCache::new(counting.clone(), Duration::from_secs(10));
        let now = Instant::now();
        for _ in 0..2 {
            let denied = cache
                .authorize_at(&request("flaky", "root"), now)
                .unwrap_err();
            assert!(denied.failure);
        }
        assert_eq!(counting.asked.load(Ordering::SeqCst), 2);
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_everything() {
        let counting = Arc::new(Counting::default());
        let cache = DecisionCache::with_capacity(counting.clone(), Duration::from_secs(10), 2);
        let start = Instant::now();
        let _ = cache.authorize_at(&request("a", "x"), start);
        let _ = cache.authorize_at(&request("b", "x"), start + Duration::from_secs(5));
        let _ = cache.authorize_at(&request("c", "x"), start + Duration::from_secs(11));
        assert_eq!(cache.len(), 2, "a expired and went; b and c stay");
        let _ = cache.authorize_at(&request("d", "x"), start + Duration::from_secs(12));
        assert_eq!(cache.len(), 1, "none expired: cleared, then d");
    }

    #[test]
    fn a_zero_ttl_asks_every_time() {
        let counting = Arc::new(Counting::default());
        let cache = DecisionCache::new(counting.clone(), Duration::ZERO);
        let now = Instant::now();
        let _ = cache.authorize_at(&request("alice", "root"), now);
        let _ = cache.authorize_at(&request("alice", "root"), now);
        assert_eq!(counting.asked.load(Ordering::SeqCst), 2);
    }
}
