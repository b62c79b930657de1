//! Simulated networks around real traffic: a fault-injecting TCP proxy between a phone and a
//! real HQ (offline, a response lost after HQ committed), a shaped 2G link (`link`), and a
//! round-robin balancer in front of several HQ instances (`Balancer`). Used by `gridpatrol
//! demo`, the end-to-end tests and the benchmarks; nothing but the network is faked.

pub mod link;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// What the proxy does with the next connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// Forward everything.
    Pass = 0,
    /// Close every connection at once: the phone is offline (in a basement).
    Offline = 1,
    /// Forward requests, but throw away HQ's responses and cut the connection as soon as HQ
    /// starts answering (so HQ has committed) — `lose_responses` times, then pass again.
    LoseResponses = 2,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: Arc<AtomicU8>,
    to_lose: Arc<AtomicU32>,
    /// Responses thrown away so far.
    pub lost: Arc<AtomicU32>,
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let fault = Arc::new(AtomicU8::new(Fault::Pass as u8));
        let to_lose = Arc::new(AtomicU32::new(0));
        let lost = Arc::new(AtomicU32::new(0));
        let (f, t, l) = (fault.clone(), to_lose.clone(), lost.clone());
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let (f, t, l) = (f.clone(), t.clone(), l.clone());
                thread::spawn(move || handle(client, upstream, &f, &t, &l));
            }
        });
        FaultProxy { addr, fault, to_lose, lost }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
    }

    /// Lose the next `n` responses (after HQ has started answering), then pass.
    pub fn lose_next_responses(&self, n: u32) {
        self.to_lose.store(n, Ordering::SeqCst);
        self.set(Fault::LoseResponses);
    }
}

fn handle(client: TcpStream, upstream: SocketAddr, fault: &AtomicU8, to_lose: &AtomicU32, lost: &AtomicU32) {
    if fault.load(Ordering::SeqCst) == Fault::Offline as u8 {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    // client -> server
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = s_write.shutdown(Shutdown::Write);
    });
    // server -> client, where responses may be lost
    let (mut s_read, mut c_write) = (server, client);
    let _ = s_read.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let losing = fault.load(Ordering::SeqCst) == Fault::LoseResponses as u8
                    && to_lose.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok();
                if losing {
                    lost.fetch_add(1, Ordering::SeqCst);
                    if to_lose.load(Ordering::SeqCst) == 0 {
                        fault.store(Fault::Pass as u8, Ordering::SeqCst);
                    }
                    // HQ answered (so it committed); the phone never hears it.
                    let _ = c_write.shutdown(Shutdown::Both);
                    let _ = s_read.shutdown(Shutdown::Both);
                    break;
                }
                if c_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = c_write.shutdown(Shutdown::Both);
    let _ = up.join();
}

/// A round-robin TCP balancer in front of several HQ instances (what a load balancer does):
/// each connection goes to the next instance that accepts it, so a dead instance is skipped.
pub struct Balancer {
    pub addr: SocketAddr,
}

impl Balancer {
    pub fn start(upstreams: Vec<SocketAddr>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind balancer");
        let addr = listener.local_addr().unwrap();
        let next = Arc::new(AtomicU32::new(0));
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let start = next.fetch_add(1, Ordering::SeqCst) as usize;
                let ups = upstreams.clone();
                thread::spawn(move || {
                    let server = (0..ups.len()).find_map(|k| TcpStream::connect(ups[(start + k) % ups.len()]).ok());
                    match server {
                        Some(server) => pipe(client, server),
                        None => {
                            let _ = client.shutdown(Shutdown::Both);
                        }
                    }
                });
            }
        });
        Balancer { addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Copy both ways until either side closes.
fn pipe(client: TcpStream, server: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    };
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = thread::spawn(move || copy(c2, s2));
    copy(server, client);
    let _ = up.join();
}
