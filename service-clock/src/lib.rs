//! Where both services' time and randomness come from, injected into their
//! application layers (astro-api's store outbox and delivery worker too).
//!
//! In production: the wall clock ([`SystemClock`]) and the operating
//! system's randomness ([`OsRandom`]). In tests: a [`ManualClock`] that
//! moves only when told, so a test of claims and retries advances time
//! instead of sleeping, and can wait until every task the advance woke has
//! gone back to sleep ([`ManualClock::settled`]).
//!
//! What the clock drives: records' timestamps, tokens' expiry, the outbox's
//! claims, renewals and retry times, the delivery worker's sleeps; in
//! Harmony, heartbeats' age and rollouts' bakes (a simulated fleet runs
//! hours of them in moments).
//! Deadlines of a request in flight (how long it waits for its delivery or
//! a status, a call to Harmony) stay on the runtime's timer: they bound
//! what a caller waits, whatever the clock says.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// A future that completes once its time has come on its clock.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where "now" comes from, and how a task waits for a later "now".
pub trait Clock: Send + Sync + 'static {
    /// Now, to the microsecond (what both databases keep).
    fn now(&self) -> DateTime<Utc>;

    /// Completes once `by` has passed on this clock.
    fn sleep(&self, by: Duration) -> Sleep;

    /// Now in Unix milliseconds, the outbox's unit.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

/// The wall clock and the runtime's timer.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        sql_store::now()
    }

    fn sleep(&self, by: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(by))
    }
}

/// A clock that moves only when told. Cloning shares it: every replica of
/// a test can run on the same one.
#[derive(Clone)]
pub struct ManualClock {
    state: Arc<Mutex<State>>,
    /// Told of every move and of every sleeper that comes or goes.
    changed: Arc<Notify>,
}

struct State {
    now: DateTime<Utc>,
    /// Each waiting sleep's wake-up time, by a number of its own.
    sleepers: BTreeMap<u64, DateTime<Utc>>,
    next: u64,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock {
            state: Arc::new(Mutex::new(State { now: at, sleepers: BTreeMap::new(), next: 0 })),
            changed: Arc::new(Notify::new()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves the clock forward; every sleep whose time has come completes.
    pub fn advance(&self, by: Duration) {
        self.state().now += by;
        self.changed.notify_waiters();
    }

    /// Sets the clock to `at` (a simulation's own time); every sleep whose
    /// time has come completes.
    pub fn set(&self, at: DateTime<Utc>) {
        self.state().now = at;
        self.changed.notify_waiters();
    }

    /// Waits until `sleepers` sleeps wait for a time still to come: every
    /// task an advance woke has done its work and gone back to sleep.
    pub async fn settled(&self, sleepers: usize) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let state = self.state();
                let waiting = state.sleepers.values().filter(|at| **at > state.now).count();
                let woken = state.sleepers.values().any(|at| *at <= state.now);
                if waiting >= sleepers && !woken {
                    return;
                }
            }
            changed.await;
        }
    }
}

/// Takes a finished or dropped sleep off its clock's list.
struct Sleeper {
    clock: ManualClock,
    id: u64,
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.clock.state().sleepers.remove(&self.id);
        self.clock.changed.notify_waiters();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.state().now
    }

    fn sleep(&self, by: Duration) -> Sleep {
        let (id, until) = {
            let mut state = self.state();
            let until = state.now + by;
            let id = state.next;
            state.next += 1;
            state.sleepers.insert(id, until);
            (id, until)
        };
        self.changed.notify_waiters();
        let sleeper = Sleeper { clock: self.clone(), id };
        Box::pin(async move {
            loop {
                let changed = sleeper.clock.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if sleeper.clock.now() >= until {
                    return;
                }
                changed.await;
            }
        })
    }
}

/// Where randomness comes from (the spread of retry times).
pub trait Random: Send + Sync + 'static {
    /// A number below `n` (which is above 0), uniformly.
    fn below(&self, n: u32) -> u32;
}

/// The operating system's randomness.
pub struct OsRandom;

impl Random for OsRandom {
    fn below(&self, n: u32) -> u32 {
        let mut bytes = [0; 8];
        // Should the OS refuse, every retry waits its base delay: spread
        // less, never wrong.
        match getrandom::getrandom(&mut bytes) {
            Ok(()) => (u64::from_le_bytes(bytes) % u64::from(n)) as u32,
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_sleep_ends_when_the_clock_passes_it_and_settled_sees_it_go() {
        let clock = ManualClock::new(DateTime::UNIX_EPOCH);
        let task = {
            let clock = clock.clone();
            tokio::spawn(async move {
                clock.sleep(Duration::from_secs(10)).await;
                clock.now()
            })
        };
        clock.settled(1).await;
        clock.advance(Duration::from_secs(9));
        clock.settled(1).await;
        assert!(!task.is_finished(), "woke a second early");
        clock.advance(Duration::from_secs(1));
        let woke_at = task.await.unwrap();
        assert_eq!(woke_at, DateTime::UNIX_EPOCH + Duration::from_secs(10));
        clock.settled(0).await;
        assert!(clock.state().sleepers.is_empty(), "a finished sleep stays listed");
    }

    #[tokio::test]
    async fn a_dropped_sleep_leaves_the_list() {
        let clock = ManualClock::new(DateTime::UNIX_EPOCH);
        let sleep = clock.sleep(Duration::from_secs(1));
        assert_eq!(clock.state().sleepers.len(), 1);
        drop(sleep);
        assert!(clock.state().sleepers.is_empty());
    }
}
