//! front-door: what stands at a listener's address, in front of the
//! dropshot server that serves it, so that no client holds a connection, or
//! the process's file descriptors, for nothing (issue 34: a connection that
//! sent nothing stayed open for ever, and 1,100 of them to the agent API, at
//! the default limit of 1,024 files, took the main API, `/livez` and the
//! agent API down together with `accept error: Too many open files`).
//!
//! **Why a relay.** Dropshot binds and accepts its own sockets and exposes
//! neither its acceptor nor a per-connection hook; hyper's header timeout
//! starts only once a first byte arrives (the protocol sniffing in front of
//! it waits with no deadline), and a TLS handshake has no deadline at all.
//! So each listener's address is bound here; dropshot listens on a loopback
//! port only this process uses; and each accepted connection is relayed to
//! it byte for byte (TLS included: dropshot still terminates it), which
//! lets this crate:
//! - **close an idle connection**: one on which no byte moved either way
//!   for [`Limits::idle_timeout`] is closed (set the timeout above the
//!   longest answer a server holds back on purpose, the agents' long poll);
//! - **cap the connections** a listener holds: past [`Limits::max_connections`]
//!   a newcomer takes the place of the oldest connection that has not sent
//!   a byte yet (a silent socket is all such a connection can be: every
//!   client speaks first), and when every connection has spoken it waits
//!   for one to close, with whoever comes after it in the kernel's backlog,
//!   costing this process no descriptor. Every listener has its own cap,
//!   so the admin listener's `/livez` keeps its room whatever the others
//!   hold. A connection that sends a little and then stalls is hyper's to
//!   close (30 s for headers) or the body deadline's (`body_deadline`).
//!
//! The cost: a loopback hop and two more descriptors per connection (three
//! in all), which [`fit_to_file_limit`] accounts for after raising the
//! process's soft file limit to its hard one. Dropshot's logs show the
//! relay's loopback address as a request's `remote_addr`; the door logs
//! each connection's peer at debug level instead.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Connections the kernel holds for a listener that has not taken them yet
/// (the system's `somaxconn` may lower it).
const BACKLOG: u32 = 4096;

/// What one listener allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A connection on which no byte moved, either way, for this long is
    /// closed.
    pub idle_timeout: Duration,
    /// Connections held at once; more wait in the kernel's backlog.
    pub max_connections: usize,
}

/// A listener's front door: accepting on its address and relaying to the
/// server behind it until [`FrontDoor::close`] (or drop).
pub struct FrontDoor {
    local_addr: SocketAddr,
    open: Arc<AtomicUsize>,
    accepting: tokio::task::JoinHandle<()>,
}

impl FrontDoor {
    /// Binds `bind` and relays every connection accepted there to `inner`
    /// under `limits`. Call inside a tokio runtime.
    pub fn open(
        bind: SocketAddr,
        inner: SocketAddr,
        limits: Limits,
        log: slog::Logger,
    ) -> io::Result<FrontDoor> {
        let socket = match bind {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        socket.bind(bind)?;
        // A long queue: past the cap, connections wait there at no cost.
        let listener = socket.listen(BACKLOG)?;
        let local_addr = listener.local_addr()?;
        let open = Arc::new(AtomicUsize::new(0));
        let accepting =
            tokio::spawn(accept(listener, inner, limits, open.clone(), log.new(slog::o!())));
        Ok(FrontDoor { local_addr, open, accepting })
    }

    /// The address clients reach.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections relayed now.
    pub fn connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Stops accepting (the address is released); connections already
    /// relayed run on until either end closes them.
    pub fn close(&self) {
        self.accepting.abort();
    }
}

impl Drop for FrontDoor {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Connections accepted that have not sent a byte yet, oldest first: the
/// first to go when the listener is full and someone new knocks.
#[derive(Default)]
struct Quiet {
    next: u64,
    waiting: std::collections::BTreeMap<u64, Arc<tokio::sync::Notify>>,
}

type Shared = Arc<std::sync::Mutex<Quiet>>;

fn quiet(shared: &Shared) -> std::sync::MutexGuard<'_, Quiet> {
    // A panic elsewhere cannot leave the map half-changed: every change
    // is one call on it.
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept(
    listener: TcpListener,
    inner: SocketAddr,
    limits: Limits,
    open: Arc<AtomicUsize>,
    log: slog::Logger,
) {
    let room = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let silent: Shared = Arc::default();
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors or a connection reset before it was
                // taken: wait a moment rather than spin.
                slog::warn!(log, "accept failed"; "error" => %e);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let permit = match room.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Full: the oldest connection that has said nothing yet
                // makes way. With none, the newcomer waits for a place
                // (and the kernel holds whoever comes after it).
                let evicted = quiet(&silent).waiting.pop_first();
                if let Some((_, close)) = evicted {
                    close.notify_one();
                }
                let Ok(permit) = room.clone().acquire_owned().await else { return };
                permit
            }
        };
        slog::debug!(log, "connection"; "peer" => %peer);
        let close = Arc::new(tokio::sync::Notify::new());
        let id = {
            let mut q = quiet(&silent);
            q.next += 1;
            let id = q.next;
            q.waiting.insert(id, close.clone());
            id
        };
        let (open, silent) = (open.clone(), silent.clone());
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let spoke = {
                let silent = silent.clone();
                move || {
                    quiet(&silent).waiting.remove(&id);
                }
            };
            relay(client, inner, limits.idle_timeout, close, spoke).await;
            quiet(&silent).waiting.remove(&id);
            open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
}

/// Copies bytes both ways between `client` and a new connection to
/// `inner` until either closes, no byte has moved for `idle`, or `close`
/// is notified; `spoke` runs once, when the client's first byte arrives.
async fn relay(
    client: TcpStream,
    inner: SocketAddr,
    idle: Duration,
    close: Arc<tokio::sync::Notify>,
    spoke: impl FnOnce() + Send + 'static,
) {
    let Ok(mut upstream) = TcpStream::connect(inner).await else { return };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut client =
        Watched { inner: client, start, last: last.clone(), spoke: Some(Box::new(spoke)) };
    let copy = tokio::io::copy_bidirectional(&mut client, &mut upstream);
    tokio::pin!(copy);
    loop {
        let quiet_since = start + Duration::from_millis(last.load(Ordering::Relaxed));
        tokio::select! {
            _ = &mut copy => return,
            () = close.notified() => return,
            () = tokio::time::sleep_until(quiet_since + idle) => {
                let moved = start + Duration::from_millis(last.load(Ordering::Relaxed));
                if moved + idle <= Instant::now() {
                    // Both sockets close as they drop.
                    return;
                }
            }
        }
    }
}

/// The client's side of a relay, noting when a byte last moved either way.
struct Watched {
    inner: TcpStream,
    start: Instant,
    last: Arc<AtomicU64>,
    /// Run at the first byte read from the client.
    spoke: Option<Box<dyn FnOnce() + Send>>,
}

impl Watched {
    fn moved(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last.store(now, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.moved();
            if let Some(spoke) = self.spoke.take() {
                spoke();
            }
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Where a process's servers listen behind their doors: a loopback port
/// the system picks, which only the doors reach.
pub const BEHIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Longest a listener's connection is held with no byte moving, by
/// default: twice the agents' longest long poll (30 s), which is the
/// longest a server holds an answer back on purpose.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections the admin listener holds at once (probes and scrapes).
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// One listener to open a door for: its name (in logs), the address
/// clients reach, where its server listens (behind [`BEHIND`]) and its cap.
pub struct Listener {
    pub name: &'static str,
    pub bind: SocketAddr,
    pub server: SocketAddr,
    pub max_connections: usize,
}

impl Listener {
    /// The admin listener (`admin`, its own cap): `--admin-bind` in front of
    /// `service_admin`'s server.
    pub fn admin(bind: SocketAddr, server: SocketAddr) -> Listener {
        Listener { name: "admin", bind, server, max_connections: ADMIN_MAX_CONNECTIONS }
    }
}

/// The doors of a process's listeners, by name.
pub struct Doors(Vec<(&'static str, FrontDoor)>);

impl Doors {
    /// Raises the file limit, fits the listeners' caps in it (saying so in
    /// the log when they had to shrink) and opens a door for each.
    pub fn open(
        listeners: Vec<Listener>,
        idle_timeout: Duration,
        log: &slog::Logger,
    ) -> io::Result<Doors> {
        let wanted: Vec<usize> = listeners.iter().map(|l| l.max_connections).collect();
        let (caps, shrunk) = fit_to_file_limit(&wanted);
        if let Some(why) = shrunk {
            slog::warn!(log, "connection caps lowered to fit the open-file limit"; "why" => why);
        }
        let mut doors = Vec::new();
        for (listener, max_connections) in listeners.into_iter().zip(caps) {
            let limits = Limits { idle_timeout, max_connections };
            let door_log = log.new(slog::o!("door" => listener.name));
            let door =
                FrontDoor::open(listener.bind, listener.server, limits, door_log).map_err(|e| {
                    io::Error::new(e.kind(), format!("{} on {}: {e}", listener.name, listener.bind))
                })?;
            doors.push((listener.name, door));
        }
        Ok(Doors(doors))
    }

    /// The address clients reach `name` at.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, d)| d.local_addr())
    }

    /// Stops every door accepting (a stopping process takes no new
    /// connections; those open finish).
    pub fn close(&self) {
        for (_, door) in &self.0 {
            door.close();
        }
    }
}

/// Descriptors one relayed connection holds in this process: the client's
/// socket, the relay's to the server, and the server's side of that.
pub const FILES_PER_CONNECTION: u64 = 3;

/// The fewest connections a listener is fitted down to.
const MIN_CAP: usize = 16;

/// Descriptors kept for everything but connections: database connections,
/// files, the runtime, the listeners themselves.
pub const FILES_KEPT: u64 = 256;

/// Raises this process's soft limit on open files to its hard limit, and
/// returns the caps that fit in it: `wanted` as asked when they do, or each
/// scaled down alike (at least one) when they do not, with a sentence
/// saying so.
pub fn fit_to_file_limit(wanted: &[usize]) -> (Vec<usize>, Option<String>) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    fit(wanted, limit)
}

fn fit(wanted: &[usize], limit: u64) -> (Vec<usize>, Option<String>) {
    let total: u64 = wanted.iter().map(|w| *w as u64).sum();
    let room = limit.saturating_sub(FILES_KEPT) / FILES_PER_CONNECTION;
    if total <= room {
        return (wanted.to_vec(), None);
    }
    // Alike, but none below a small floor (the admin listener's probes
    // must still get in), which the files kept aside have room for.
    let fitted: Vec<usize> = wanted
        .iter()
        .map(|w| ((*w as u64 * room / total.max(1)) as usize).max((*w).min(MIN_CAP)))
        .collect();
    let why = format!(
        "the open-file limit is {limit}: connection caps {wanted:?} need {} files \
         ({FILES_PER_CONNECTION} a connection, {FILES_KEPT} kept), so they are {fitted:?}; \
         raise the hard limit (ulimit -Hn, LimitNOFILE) to keep them",
        total * FILES_PER_CONNECTION + FILES_KEPT
    );
    (fitted, Some(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_fit_the_file_limit() {
        assert_eq!(fit(&[1024, 64], 1_000_000), (vec![1024, 64], None));
        let (fitted, why) = fit(&[1024, 8192, 64], 1024);
        let total: usize = fitted.iter().sum();
        // The floor may take a little of the files kept aside, never more.
        assert!(total as u64 * FILES_PER_CONNECTION <= 1024 - FILES_KEPT / 2, "{fitted:?}");
        assert_eq!(fitted[2], MIN_CAP, "{fitted:?}");
        assert!(why.unwrap().contains("1024"));
    }

    /// Past the cap, a newcomer takes the place of the oldest connection
    /// that never spoke; when all have spoken it waits until one closes;
    /// a connection quiet for the idle timeout is closed, one that keeps
    /// talking is not.
    /// Sends `b` on `s` and reads it back from the echo behind the door.
    async fn echoes(s: &mut TcpStream, b: u8) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(&[b]).await.unwrap();
        let mut got = [0u8; 1];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut got))
            .await
            .expect("echoed in time")
            .unwrap();
        assert_eq!(got, [b]);
    }

    #[tokio::test]
    async fn silent_ones_make_way_and_idle_ones_close() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let inner = echo.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = echo.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let limits = Limits { idle_timeout: Duration::from_millis(400), max_connections: 2 };
        let log = slog::Logger::root(slog::Discard, slog::o!());
        let door = FrontDoor::open("127.0.0.1:0".parse().unwrap(), inner, limits, log).unwrap();
        let addr = door.local_addr();
        let mut byte = [0u8; 1];
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut talking = TcpStream::connect(addr).await.unwrap();
        echoes(&mut talking, b'a').await;
        // Full: the newcomer is served, the silent one made way for it.
        let mut newcomer = TcpStream::connect(addr).await.unwrap();
        echoes(&mut newcomer, b'b').await;
        let ended = tokio::time::timeout(Duration::from_millis(300), silent.read(&mut byte)).await;
        assert!(matches!(ended, Ok(Ok(0)) | Ok(Err(_))), "the silent one was kept: {ended:?}");
        assert_eq!(door.connections(), 2);
        // Both places hold connections that spoke: the next one waits...
        let mut waiting = TcpStream::connect(addr).await.unwrap();
        waiting.write_all(b"c").await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(200), waiting.read(&mut byte)).await;
        assert!(early.is_err(), "served past the cap: {early:?}");
        // ... until one of them has been quiet for the idle timeout (the
        // other keeps talking and stays).
        for _ in 0..8 {
            echoes(&mut talking, b'd').await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::timeout(Duration::from_secs(2), waiting.read_exact(&mut byte))
            .await
            .expect("served once a place was free")
            .unwrap();
        assert_eq!(&byte, b"c");
        let closed = tokio::time::timeout(Duration::from_secs(2), newcomer.read(&mut byte)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "the idle one was kept: {closed:?}");
        echoes(&mut talking, b'e').await;
    }
}
