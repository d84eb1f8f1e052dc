//! A UDP relay placed between a child and its parent, which damages the link on
//! purpose.
//!
//! The child's `parent.address` points at the relay ([`Relay::address`]); the relay
//! forwards every datagram to the parent's real address from an upstream socket of
//! its own per client address (so the parent sees one peer per child, as without the
//! relay) and forwards the parent's answers back. On the way it can
//!
//! - **drop** datagrams (probability [`Impairment::loss`]),
//! - **delay** them by [`Impairment::delay`] plus a uniform random jitter in
//!   `[0, jitter]` (independent per datagram, so jitter alone reorders too),
//! - **reorder** them (probability [`Impairment::reorder`]: the datagram is held back
//!   long enough for the ones after it to overtake it),
//! - **duplicate** them (probability [`Impairment::duplicate`]: a second copy with its
//!   own delay),
//! - **partition** the link on command, both ways or one way ([`Relay::partition`],
//!   [`Relay::heal`]).
//!
//! Every random decision comes from a ChaCha generator seeded from the relay's seed,
//! one stream per direction, and every datagram draws the same number of values
//! whatever the settings: the same seed gives the same sequence of decisions over the
//! datagrams of each direction. (Which datagrams a run produces depends on timing, so a
//! replay reproduces the fault pattern, not necessarily every interleaving.)
//!
//! It needs no privileges (plain sockets on loopback) and runs on the current tokio
//! runtime. [`Relay::counters`] tells what it did.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::UdpSocket;
use tokio::task::AbortHandle;

/// Which way of the link a partition cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Child → parent datagrams are dropped; the parent's still arrive.
    Up,
    /// Parent → child datagrams are dropped; the child's still arrive.
    Down,
    /// Nothing crosses.
    Both,
}

/// How the relay damages the datagrams it lets through.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// Probability that a datagram is dropped (0 to 1).
    pub loss: f64,
    /// Fixed delay of every datagram.
    pub delay: Duration,
    /// Largest random delay added to `delay` (uniform in `[0, jitter]`).
    pub jitter: Duration,
    /// Probability that a datagram is held back so that later ones overtake it.
    pub reorder: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
}

impl Impairment {
    /// No damage: the relay forwards everything at once.
    pub fn none() -> Impairment {
        Impairment::default()
    }

    /// A bad link: `loss` dropped, up to `jitter` of random delay, 5 % reordered and
    /// 1 % duplicated.
    pub fn lossy(loss: f64, jitter: Duration) -> Impairment {
        Impairment {
            loss,
            delay: Duration::from_millis(5),
            jitter,
            reorder: 0.05,
            duplicate: 0.01,
        }
    }
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loss {:.0} %, delay {} ms + jitter 0-{} ms, reorder {:.0} %, duplicate {:.0} %",
            self.loss * 100.0,
            self.delay.as_millis(),
            self.jitter.as_millis(),
            self.reorder * 100.0,
            self.duplicate * 100.0
        )
    }
}

/// What the relay did in one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WayCounters {
    /// Datagrams that reached the relay.
    pub received: u64,
    /// Datagrams sent on (duplicates included).
    pub sent: u64,
    /// Bytes sent on.
    pub bytes: u64,
    /// Dropped at random.
    pub lost: u64,
    /// Dropped by a partition.
    pub partitioned: u64,
    /// Sent later than at once (delay, jitter or reordering).
    pub delayed: u64,
    /// Held back for later ones to overtake.
    pub reordered: u64,
    /// Sent twice.
    pub duplicated: u64,
    /// Send errors (the peer's port closed, …).
    pub errors: u64,
}

impl WayCounters {
    fn add(&mut self, o: &WayCounters) {
        self.received += o.received;
        self.sent += o.sent;
        self.bytes += o.bytes;
        self.lost += o.lost;
        self.partitioned += o.partitioned;
        self.delayed += o.delayed;
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.errors += o.errors;
    }
}

impl fmt::Display for WayCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in, {} out ({} bytes), {} lost, {} cut by partition, {} delayed, {} reordered, {} duplicated",
            self.received,
            self.sent,
            self.bytes,
            self.lost,
            self.partitioned,
            self.delayed,
            self.reordered,
            self.duplicated
        )
    }
}

/// What the relay did, per direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Child → parent.
    pub up: WayCounters,
    /// Parent → child.
    pub down: WayCounters,
    /// Client addresses seen (one upstream socket each).
    pub clients: u64,
}

impl Counters {
    /// Both directions added.
    pub fn total(&self) -> WayCounters {
        let mut t = self.up;
        t.add(&self.down);
        t
    }
}

impl fmt::Display for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "up: {}\ndown: {}", self.up, self.down)
    }
}

#[derive(Default)]
struct AtomicWay {
    received: AtomicU64,
    sent: AtomicU64,
    bytes: AtomicU64,
    lost: AtomicU64,
    partitioned: AtomicU64,
    delayed: AtomicU64,
    reordered: AtomicU64,
    duplicated: AtomicU64,
    errors: AtomicU64,
}

impl AtomicWay {
    fn snapshot(&self) -> WayCounters {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WayCounters {
            received: g(&self.received),
            sent: g(&self.sent),
            bytes: g(&self.bytes),
            lost: g(&self.lost),
            partitioned: g(&self.partitioned),
            delayed: g(&self.delayed),
            reordered: g(&self.reordered),
            duplicated: g(&self.duplicated),
            errors: g(&self.errors),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// One direction's state: its cut, its generator and its counters.
struct Way {
    cut: AtomicBool,
    rng: Mutex<ChaCha8Rng>,
    counters: AtomicWay,
}

impl Way {
    fn new(seed: u64, stream: u64) -> Way {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Way {
            cut: AtomicBool::new(false),
            rng: Mutex::new(rng),
            counters: AtomicWay::default(),
        }
    }
}

struct Shared {
    impairment: Mutex<Impairment>,
    up: Way,
    down: Way,
    clients: AtomicU64,
    tasks: Mutex<Vec<AbortHandle>>,
}

/// The fate of one datagram: when to send each copy (none: dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fate {
    /// Dropped at random.
    pub lost: bool,
    /// Held back for later datagrams to overtake.
    pub reordered: bool,
    /// The delays of the copies sent (empty when lost).
    pub sends: Vec<Duration>,
}

/// Decides one datagram's fate. Draws exactly six values from `rng` whatever the
/// settings, so that a seed gives the same decisions for the same datagram sequence.
pub fn decide(rng: &mut impl Rng, imp: &Impairment) -> Fate {
    let u_loss: f64 = rng.gen();
    let u_jitter: f64 = rng.gen();
    let u_reorder: f64 = rng.gen();
    let u_hold: f64 = rng.gen();
    let u_dup: f64 = rng.gen();
    let u_dup_jitter: f64 = rng.gen();
    if u_loss < imp.loss {
        return Fate {
            lost: true,
            reordered: false,
            sends: Vec::new(),
        };
    }
    let delay = |u: f64| imp.delay + imp.jitter.mul_f64(u);
    let mut first = delay(u_jitter);
    let reordered = u_reorder < imp.reorder;
    if reordered {
        // Long enough for everything sent after it within the jitter to pass it.
        first += imp.jitter + Duration::from_millis(5) + Duration::from_millis(20).mul_f64(u_hold);
    }
    let mut sends = vec![first];
    if u_dup < imp.duplicate {
        sends.push(delay(u_dup_jitter));
    }
    Fate {
        lost: false,
        reordered,
        sends,
    }
}

/// A running relay; stops when dropped.
pub struct Relay {
    shared: Arc<Shared>,
    address: SocketAddr,
    upstream: SocketAddr,
    seed: u64,
}

impl Relay {
    /// Starts a relay on a free loopback port, forwarding to `upstream`, damaging the
    /// link as `impairment` says, its random decisions seeded by `seed`. Must be called
    /// inside a tokio runtime.
    pub async fn start(
        upstream: SocketAddr,
        impairment: Impairment,
        seed: u64,
    ) -> std::io::Result<Relay> {
        let front = Arc::new(bind(([127, 0, 0, 1], 0).into())?);
        let address = front.local_addr()?;
        let shared = Arc::new(Shared {
            impairment: Mutex::new(impairment),
            up: Way::new(seed, 1),
            down: Way::new(seed, 2),
            clients: AtomicU64::new(0),
            tasks: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(front_loop(front, upstream, shared.clone()));
        lock(&shared.tasks).push(task.abort_handle());
        Ok(Relay {
            shared,
            address,
            upstream,
            seed,
        })
    }

    /// The address children connect to (their `parent.address`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The parent's real address.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The seed of the relay's random decisions.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The current damage settings.
    pub fn impairment(&self) -> Impairment {
        *lock(&self.shared.impairment)
    }

    /// Replaces every damage setting.
    pub fn set(&self, impairment: Impairment) {
        *lock(&self.shared.impairment) = impairment;
    }

    /// Sets the probability of dropping a datagram.
    pub fn set_loss(&self, loss: f64) {
        lock(&self.shared.impairment).loss = loss.clamp(0.0, 1.0);
    }

    /// Sets the fixed delay and the largest random delay added to it.
    pub fn set_delay(&self, delay: Duration, jitter: Duration) {
        let mut i = lock(&self.shared.impairment);
        i.delay = delay;
        i.jitter = jitter;
    }

    /// Sets the probability of holding a datagram back for later ones to overtake.
    pub fn set_reorder(&self, reorder: f64) {
        lock(&self.shared.impairment).reorder = reorder.clamp(0.0, 1.0);
    }

    /// Sets the probability of sending a datagram twice.
    pub fn set_duplicate(&self, duplicate: f64) {
        lock(&self.shared.impairment).duplicate = duplicate.clamp(0.0, 1.0);
    }

    /// Cuts the link in `direction` (and opens the other direction, if cut).
    pub fn partition(&self, direction: Direction) {
        let (up, down) = match direction {
            Direction::Up => (true, false),
            Direction::Down => (false, true),
            Direction::Both => (true, true),
        };
        self.shared.up.cut.store(up, Ordering::SeqCst);
        self.shared.down.cut.store(down, Ordering::SeqCst);
    }

    /// Ends any partition.
    pub fn heal(&self) {
        self.shared.up.cut.store(false, Ordering::SeqCst);
        self.shared.down.cut.store(false, Ordering::SeqCst);
    }

    /// What the relay did so far.
    pub fn counters(&self) -> Counters {
        Counters {
            up: self.shared.up.counters.snapshot(),
            down: self.shared.down.counters.snapshot(),
            clients: self.shared.clients.load(Ordering::Relaxed),
        }
    }

    /// Stops forwarding (also done on drop).
    pub fn stop(&self) {
        for t in lock(&self.shared.tasks).drain(..) {
            t.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where a datagram goes: to the parent on a client's upstream socket, or back to a
/// client from the front socket.
#[derive(Clone)]
enum Target {
    Up(Arc<UdpSocket>),
    Down(Arc<UdpSocket>, SocketAddr),
}

impl Target {
    async fn send(&self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Target::Up(s) => s.send(data).await,
            Target::Down(s, to) => s.send_to(data, to).await,
        }
    }
}

/// Applies the damage to one datagram and sends what survives.
async fn pass(shared: &Arc<Shared>, up: bool, data: &[u8], target: &Target) {
    let way = if up { &shared.up } else { &shared.down };
    let c = &way.counters;
    bump(&c.received);
    if way.cut.load(Ordering::SeqCst) {
        bump(&c.partitioned);
        return;
    }
    let imp = *lock(&shared.impairment);
    let fate = decide(&mut *lock(&way.rng), &imp);
    if fate.lost {
        bump(&c.lost);
        return;
    }
    if fate.reordered {
        bump(&c.reordered);
    }
    if fate.sends.len() > 1 {
        bump(&c.duplicated);
    }
    for delay in fate.sends {
        if delay.is_zero() {
            send_counted(shared, up, data, target).await;
        } else {
            bump(&c.delayed);
            let (shared, target, data) = (shared.clone(), target.clone(), data.to_vec());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                send_counted(&shared, up, &data, &target).await;
            });
        }
    }
}

async fn send_counted(shared: &Shared, up: bool, data: &[u8], target: &Target) {
    let c = if up {
        &shared.up.counters
    } else {
        &shared.down.counters
    };
    match target.send(data).await {
        Ok(n) => {
            bump(&c.sent);
            c.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        Err(_) => bump(&c.errors),
    }
}

/// The relay's socket buffers: large enough that a burst is never dropped by the
/// relay's host before the relay sees it, so that what the counters report is all the
/// damage done (Linux grants at most `net.core.rmem_max`).
const SOCKET_BUFFER: usize = 4 << 20;

/// A UDP socket bound to `addr` with [`SOCKET_BUFFER`] each way (as much of it as the
/// kernel grants).
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

/// Receives from clients and forwards up; starts one upstream socket (and its down
/// loop) per client address.
async fn front_loop(front: Arc<UdpSocket>, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = match front.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(_) => {
                // ICMP errors and the like: nothing to do but go on.
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
        };
        let up = match clients.get(&from) {
            Some(s) => s.clone(),
            None => {
                let bind: SocketAddr = if upstream.is_ipv4() {
                    ([127, 0, 0, 1], 0).into()
                } else {
                    (std::net::Ipv6Addr::LOCALHOST, 0).into()
                };
                let socket = match self::bind(bind) {
                    Ok(s) => s,
                    Err(_) => continue,
                };
                if socket.connect(upstream).await.is_err() {
                    continue;
                }
                let socket = Arc::new(socket);
                shared.clients.fetch_add(1, Ordering::Relaxed);
                let task = tokio::spawn(down_loop(
                    socket.clone(),
                    front.clone(),
                    from,
                    shared.clone(),
                ));
                lock(&shared.tasks).push(task.abort_handle());
                clients.insert(from, socket.clone());
                socket
            }
        };
        pass(&shared, true, &buf[..n], &Target::Up(up)).await;
    }
}

/// Receives the parent's datagrams for one client and forwards them back.
async fn down_loop(
    upstream: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    client: SocketAddr,
    shared: Arc<Shared>,
) {
    let mut buf = vec![0u8; 65_536];
    let target = Target::Down(front, client);
    loop {
        match upstream.recv(&mut buf).await {
            Ok(n) => pass(&shared, false, &buf[..n], &target).await,
            // A connected UDP socket reports the parent's closed port (while it is
            // down) as an error on the next receive: keep listening.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let s = UdpSocket::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = s.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                let _ = s.send_to(&buf[..n], from).await;
            }
        });
        (addr, task)
    }

    /// Sends `n` numbered datagrams through the relay and collects the echoes that
    /// come back within `wait`.
    async fn exchange(relay: &Relay, n: u32, wait: Duration) -> Vec<u32> {
        let client = UdpSocket::bind(("127.0.0.1", 0)).await.expect("bind");
        for i in 0..n {
            client
                .send_to(&i.to_be_bytes(), relay.address())
                .await
                .expect("send");
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        while let Ok(Ok((len, _))) = tokio::time::timeout(wait, client.recv_from(&mut buf)).await {
            if len == 4 {
                got.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
            }
        }
        got
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        let imp = Impairment {
            loss: 0.2,
            delay: Duration::from_millis(1),
            jitter: Duration::from_millis(100),
            reorder: 0.1,
            duplicate: 0.05,
        };
        let run = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..2000)
                .map(|_| decide(&mut rng, &imp))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        let fates = run(7);
        let lost = fates.iter().filter(|f| f.lost).count();
        assert!((300..500).contains(&lost), "about 20 % lost: {lost}");
        assert!(fates.iter().any(|f| f.sends.len() == 2));
        assert!(fates.iter().any(|f| f.reordered));
        assert!(fates
            .iter()
            .flat_map(|f| &f.sends)
            .all(|d| *d <= Duration::from_millis(1 + 100 + 100 + 5 + 20)));
    }

    #[test]
    fn no_damage_forwards_everything_in_order_both_ways() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (server, _t) = echo_server().await;
            let relay = Relay::start(server, Impairment::none(), 1)
                .await
                .expect("relay");
            let got = exchange(&relay, 200, Duration::from_millis(500)).await;
            assert_eq!(got, (0..200).collect::<Vec<_>>());
            let c = relay.counters();
            assert_eq!((c.up.received, c.up.sent, c.down.sent), (200, 200, 200));
            assert_eq!(c.clients, 1);
        });
    }

    #[test]
    fn loss_duplicates_and_partitions_are_applied_and_counted() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (server, _t) = echo_server().await;
            let relay = Relay::start(server, Impairment::none(), 3)
                .await
                .expect("relay");
            relay.set_loss(0.5);
            let got = exchange(&relay, 400, Duration::from_millis(500)).await;
            // Each datagram crosses twice (there and back), each time lost with p 0.5.
            assert!((40..170).contains(&got.len()), "{} came back", got.len());
            let c = relay.counters();
            assert!(c.total().lost > 150, "{c}");

            relay.set_loss(0.0);
            relay.set_duplicate(1.0);
            let got = exchange(&relay, 50, Duration::from_millis(500)).await;
            // Duplicated up and down: each number comes back four times.
            assert_eq!(got.len(), 200);

            relay.set_duplicate(0.0);
            relay.partition(Direction::Both);
            assert!(exchange(&relay, 20, Duration::from_millis(300))
                .await
                .is_empty());
            relay.partition(Direction::Down);
            let before = relay.counters();
            assert!(exchange(&relay, 20, Duration::from_millis(300))
                .await
                .is_empty());
            let after = relay.counters();
            assert_eq!(after.up.sent - before.up.sent, 20, "up still open");
            assert_eq!(after.down.partitioned - before.down.partitioned, 20);
            relay.heal();
            assert_eq!(
                exchange(&relay, 20, Duration::from_millis(300)).await.len(),
                20
            );
        });
    }

    #[test]
    fn jitter_and_reordering_change_the_order_but_lose_nothing() {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async {
            let (server, _t) = echo_server().await;
            let imp = Impairment {
                jitter: Duration::from_millis(30),
                reorder: 0.2,
                ..Impairment::none()
            };
            let relay = Relay::start(server, imp, 5).await.expect("relay");
            let mut got = exchange(&relay, 100, Duration::from_millis(800)).await;
            assert_ne!(got, (0..100).collect::<Vec<_>>(), "some overtook others");
            got.sort_unstable();
            assert_eq!(got, (0..100).collect::<Vec<_>>());
            let c = relay.counters();
            assert!(c.total().reordered > 10 && c.total().delayed >= 200, "{c}");
        });
    }
}
