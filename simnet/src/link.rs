//! A shaped link, as a phone on 2G/EDGE in a basement has: a bandwidth each way shared by all
//! the phone's connections, a round-trip time with jitter, segment loss (each lost segment is
//! sent again after a retransmission timeout, costing its wire time twice), and connections
//! dropped in the middle of a transfer at given points of the upstream traffic. `tc netem` is
//! not available on these machines, so the shaping is done in user space, segment by segment.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One segment on the wire (TCP's usual payload on such links).
const SEGMENT: usize = 1400;

/// How the link behaves.
#[derive(Debug, Clone, Copy)]
pub struct LinkSpec {
    pub up_bits_per_s: u64,
    pub down_bits_per_s: u64,
    pub rtt: Duration,
    /// Each segment's one-way delay varies by up to this much (order kept, as TCP keeps it).
    pub jitter: Duration,
    /// The share of segments lost (and sent again after the retransmission timeout).
    pub loss: f64,
}

impl LinkSpec {
    /// The same link `k` times faster (bandwidth × k, delays ÷ k): a bench can run a long
    /// transfer in a fraction of the time and multiply what it measures by `k`.
    pub fn scaled(self, k: f64) -> LinkSpec {
        LinkSpec {
            up_bits_per_s: (self.up_bits_per_s as f64 * k) as u64,
            down_bits_per_s: (self.down_bits_per_s as f64 * k) as u64,
            rtt: self.rtt.div_f64(k),
            jitter: self.jitter.div_f64(k),
            loss: self.loss,
        }
    }

    fn retransmission_timeout(&self) -> Duration {
        (self.rtt * 2).max(self.rtt + Duration::from_millis(1))
    }
}

/// What crossed the link.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Bytes the phone sent, retransmissions included.
    pub up_bytes: AtomicU64,
    pub down_bytes: AtomicU64,
    pub lost_segments: AtomicU64,
    pub drops: AtomicU32,
    pub connections: AtomicU32,
}

/// One direction of the radio: segments take turns on it.
struct Wire {
    bits_per_s: u64,
    free_at: Mutex<Instant>,
}

impl Wire {
    /// When a segment of `len` bytes, ready now, has finished crossing (`extra` more bytes of
    /// wire time for a retransmission).
    fn send(&self, len: usize) -> Instant {
        let tx = Duration::from_secs_f64(len as f64 * 8.0 / self.bits_per_s.max(1) as f64);
        let mut free = self.free_at.lock().unwrap_or_else(|p| p.into_inner());
        let start = (*free).max(Instant::now());
        *free = start + tx;
        *free
    }
}

/// A TCP proxy that shapes the traffic between a phone and HQ like `spec`.
pub struct LinkProxy {
    pub addr: SocketAddr,
    pub stats: Arc<LinkStats>,
    /// Upstream byte counts (since start) at which the connection then carrying data is cut.
    drops_at: Arc<Mutex<VecDeque<u64>>>,
}

struct Shared {
    spec: LinkSpec,
    up: Wire,
    down: Wire,
    stats: Arc<LinkStats>,
    drops_at: Arc<Mutex<VecDeque<u64>>>,
    seed: AtomicU64,
}

impl LinkProxy {
    pub fn start(upstream: SocketAddr, spec: LinkSpec, seed: u64) -> LinkProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind link");
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(LinkStats::default());
        let drops_at = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Arc::new(Shared {
            spec,
            up: Wire { bits_per_s: spec.up_bits_per_s, free_at: Mutex::new(Instant::now()) },
            down: Wire { bits_per_s: spec.down_bits_per_s, free_at: Mutex::new(Instant::now()) },
            stats: stats.clone(),
            drops_at: drops_at.clone(),
            seed: AtomicU64::new(seed | 1),
        });
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let shared = shared.clone();
                thread::spawn(move || connection(client, upstream, &shared));
            }
        });
        LinkProxy { addr, stats, drops_at }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cut the connection carrying upstream data when the phone's total upstream bytes pass
    /// each of these counts (in increasing order).
    pub fn drop_at(&self, upstream_bytes: &[u64]) {
        let mut d = self.drops_at.lock().unwrap_or_else(|p| p.into_inner());
        d.clear();
        d.extend(upstream_bytes.iter().copied());
    }
}

impl Shared {
    fn random(&self) -> f64 {
        // xorshift: reproducible for a seed, no dependency.
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// When a segment sent on `wire` now reaches the other end: its wire time, the one-way
    /// delay with jitter, and for a lost one the timeout and its second crossing.
    fn deliver_at(&self, wire: &Wire, len: usize) -> Instant {
        let mut done = wire.send(len);
        if self.random() < self.spec.loss {
            self.stats.lost_segments.fetch_add(1, Ordering::Relaxed);
            thread::sleep(done.saturating_duration_since(Instant::now()));
            thread::sleep(self.spec.retransmission_timeout());
            done = wire.send(len);
        }
        let jitter = self.spec.jitter.mul_f64(self.random());
        done + self.spec.rtt / 2 + jitter
    }
}

/// Hand segments to a writer that delivers each at its time, in order.
fn shaped(mut from: TcpStream, to: TcpStream, shared: &Arc<Shared>, up: bool, cut: &Arc<AtomicBool>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = {
        let mut to = to.try_clone().unwrap();
        let cut = cut.clone();
        thread::spawn(move || {
            let mut last = Instant::now();
            for (at, bytes) in rx {
                let at = at.max(last);
                thread::sleep(at.saturating_duration_since(Instant::now()));
                last = at;
                if cut.load(Ordering::SeqCst) || to.write_all(&bytes).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        })
    };
    let mut buf = vec![0u8; SEGMENT];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if cut.load(Ordering::SeqCst) {
            break;
        }
        let (wire, counter) =
            if up { (&shared.up, &shared.stats.up_bytes) } else { (&shared.down, &shared.stats.down_bytes) };
        let total = counter.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let at = shared.deliver_at(wire, n);
        if up {
            let mut drops = shared.drops_at.lock().unwrap_or_else(|p| p.into_inner());
            if drops.front().is_some_and(|d| total >= *d) {
                drops.pop_front();
                shared.stats.drops.fetch_add(1, Ordering::Relaxed);
                cut.store(true, Ordering::SeqCst);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
                break;
            }
        }
        if tx.send((at, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.join();
}

fn connection(client: TcpStream, upstream: SocketAddr, shared: &Arc<Shared>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    shared.stats.connections.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let cut = Arc::new(AtomicBool::new(false));
    let (c2, s2, sh, cut2) = (client.try_clone().unwrap(), server.try_clone().unwrap(), shared.clone(), cut.clone());
    let up = thread::spawn(move || shaped(c2, s2, &sh, true, &cut2));
    shaped(server.try_clone().unwrap(), client.try_clone().unwrap(), shared, false, &cut);
    if cut.load(Ordering::SeqCst) {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
    }
    let _ = up.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server behind the link: bytes take bandwidth time plus the round trip, and a
    /// drop cuts the connection once the upstream count passes it.
    #[test]
    fn bandwidth_delay_and_drops() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let echo_addr = echo.local_addr().unwrap();
        thread::spawn(move || {
            for s in echo.incoming().flatten() {
                thread::spawn(move || {
                    let mut s = s;
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let spec = LinkSpec {
            up_bits_per_s: 800_000,
            down_bits_per_s: 8_000_000,
            rtt: Duration::from_millis(40),
            jitter: Duration::ZERO,
            loss: 0.0,
        };
        let link = LinkProxy::start(echo_addr, spec, 7);
        let mut c = TcpStream::connect(link.addr).unwrap();
        let payload = vec![7u8; 20_000]; // 0.2 s up at 800 kbit/s
        let t = Instant::now();
        c.write_all(&payload).unwrap();
        let mut back = vec![0u8; payload.len()];
        c.read_exact(&mut back).unwrap();
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(200 + 40), "{took:?}");
        assert!(took < Duration::from_millis(1200), "{took:?}");
        assert_eq!(link.stats.up_bytes.load(Ordering::Relaxed), 20_000);

        link.drop_at(&[30_000]);
        let mut c = TcpStream::connect(link.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = c.write_all(&payload);
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        assert!(got.len() < payload.len(), "the connection was cut mid-transfer");
        assert_eq!(link.stats.drops.load(Ordering::Relaxed), 1);
    }
}
