//! Who is waiting for which data plane's desired state to change, and
//! waking exactly them.
//!
//! An agent's long poll watches its own data plane. The store wakes a plane's
//! watchers once a write that moved its desired revision has committed (in
//! this process), or when another replica announces the change (PostgreSQL
//! `NOTIFY` with the plane's id). So one change costs one read by the one
//! agent it concerns, however many agents are waiting: a broadcast to every
//! waiter would cost a store read per waiting agent per change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The data planes being watched, each with its watchers' wake-up.
#[derive(Default)]
pub struct Wakeups {
    planes: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
}

/// One watcher of one data plane; stops watching when dropped.
pub struct Watch {
    wakeups: Arc<Wakeups>,
    plane: String,
    notify: Arc<Notify>,
}

impl Wakeups {
    /// Starts watching `plane`. Register a wait (`Watch::changed`, enabled)
    /// before reading the plane's state, so a change in between still wakes.
    pub fn watch(self: &Arc<Self>, plane: &str) -> Watch {
        let mut planes = self.planes.lock().unwrap_or_else(|p| p.into_inner());
        let entry = planes.entry(plane.to_owned()).or_insert_with(|| (Arc::default(), 0));
        entry.1 += 1;
        Watch { wakeups: Arc::clone(self), plane: plane.to_owned(), notify: Arc::clone(&entry.0) }
    }

    /// Wakes the watchers of `plane` (none: nothing to do).
    pub fn wake(&self, plane: &str) {
        let notify = {
            let planes = self.planes.lock().unwrap_or_else(|p| p.into_inner());
            planes.get(plane).map(|(n, _)| Arc::clone(n))
        };
        if let Some(notify) = notify {
            notify.notify_waiters();
        }
    }

    /// Wakes every watcher: the process is stopping, or changes may have
    /// been missed (the listening connection was re-established).
    pub fn wake_all(&self) {
        let all: Vec<Arc<Notify>> = {
            let planes = self.planes.lock().unwrap_or_else(|p| p.into_inner());
            planes.values().map(|(n, _)| Arc::clone(n)).collect()
        };
        for notify in all {
            notify.notify_waiters();
        }
    }

    /// Data planes watched now.
    pub fn planes_watched(&self) -> usize {
        self.planes.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Watch {
    /// Completes when the plane is woken after this future was enabled.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut planes = self.wakeups.planes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = planes.get_mut(&self.plane) {
            entry.1 -= 1;
            if entry.1 == 0 {
                planes.remove(&self.plane);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_reaches_its_planes_watchers_only() {
        let wakeups = Arc::new(Wakeups::default());
        let (a, b) = (wakeups.watch("a"), wakeups.watch("b"));
        {
            let (wait_a, wait_b) = (a.changed(), b.changed());
            tokio::pin!(wait_a, wait_b);
            wait_a.as_mut().enable();
            wait_b.as_mut().enable();
            wakeups.wake("a");
            // A woken Notified completes at its first poll; one not woken
            // stays pending (polled once, never waited on by time).
            assert!(futures_poll(wait_a.as_mut()), "a's watcher is woken");
            assert!(!futures_poll(wait_b.as_mut()), "b's watcher slept on");
            wakeups.wake_all();
            assert!(futures_poll(wait_b.as_mut()), "wake_all reaches b");
        }
        assert_eq!(wakeups.planes_watched(), 2);
        drop((a, b));
        assert_eq!(wakeups.planes_watched(), 0, "dropped watches leave nothing behind");
    }

    /// Polls once; whether the future completed.
    fn futures_poll<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        f.poll(&mut std::task::Context::from_waker(waker)).is_ready()
    }
}
