//! The metadata measurement: what an adversary learns about who writes to whom, with no
//! mixing, with mixing, and with mixing and cover traffic (issue "Onion routing, mixing and
//! cover traffic"). The figures and the model's reading are in docs/THREAT_MODEL.md,
//! "Measured: what an adversary learns".
//!
//! A discrete-event simulation in simulated time around the relay's real packet
//! processing. N clients and M relays ([`sotto_relay::mix::Mix`] each, with its own
//! identity, Sphinx keys and replay tags in a temporary folder, addressed by documentation
//! IPs). Every packet is a real 4700-byte Sphinx packet built by `sotto_core::onion` and
//! opened at every hop by `Mix::open_batch` (Sphinx unwrap, replay check); the simulation
//! only schedules what the relay says: forward to the next hop after the delay read from
//! the header, write into a queue, or nothing (a drop packet). Links take 2–8 ms (uniform).
//!
//! Each client has an inbox queue and a loop queue on one random mailbox relay. Messages
//! go from random senders to random other clients as one Poisson process (each client one
//! message per [`Plan::message_interval`] on average); the same requests are replayed in
//! every mode. Modes:
//! - no mixing: 3-hop paths, zero delays, no cover traffic (the latency baseline);
//! - mixing: per forwarding hop an exponential delay of mean `DEFAULT_MEAN_DELAY`, cut at
//!   `MAX_HOP_DELAY` (the client's `SendRoute` default);
//! - mixing + cover: the same, with `CoverTraffic::default()`: payload slots (a waiting
//!   message takes the next one, else a drop packet goes), loop packets into the sender's
//!   own loop queue and drop packets, each a Poisson stream.
//!
//! Paths, delays and cover intervals replicate the client's private sampling
//! (`client/route.rs`, `client/cover.rs`): this is the simulation of the client's timing,
//! not security code.
//!
//! The adversary (several at once, all fed the same run):
//! - it sees a link's packets (time, from, to; never contents) if it is a global observer
//!   or controls either end; it controls k relays (the first k; mailboxes and paths are
//!   random), whose hops it traces exactly;
//! - it keeps, for every packet it saw on a link, a probability distribution over the
//!   packets that left clients (hence over senders): a packet leaving client c is certainly
//!   c's (cover packets included: they look the same); a packet leaving an honest relay is
//!   equally likely to be any packet inside it (exponential delays are memoryless), so it
//!   gets the average of the pool's distributions; a packet whose arrival it did not see
//!   counts in the pool as "unknown", spread evenly over all N clients;
//! - it is granted the number of packets held by each honest relay (not which is which),
//!   and which arrivals at a relay were last hops: both overestimate it;
//! - it learns the time and the queue (hence the owner) of every write into a queue;
//! - it does not use that a path never visits a relay twice, nor (relay coalitions) the
//!   times of sends and writes it did not trace: both underestimate it.
//!
//! Measured, for every message requested in the measurement window:
//! - sender named: the recipient is the target; the adversary knows which write delivered
//!   the message and names its most likely sender, the target excluded (random guess:
//!   1 / (N − 1));
//! - sender entropy: the Shannon entropy of that distribution over senders (at most
//!   log2 (N − 1) bits);
//! - recipient named: the sender is the target and the adversary is told when it asked to
//!   send; it weighs the sender's packets from then on by how likely each carries the
//!   message (the first one without cover traffic; with cover, the j-th with the chance
//!   that it is the first payload slot) and names the owner of the write, within
//!   [`CANDIDATE_WINDOW`], whose distribution gives those packets the most probability.
//!   Ties share the credit;
//! - latency: delivery time minus request time.
//!
//! `SOTTO_BENCH_QUICK=1` runs a small network for smoke tests. Results are reproducible
//! from [`SEED`] (the Sphinx packets' own randomness does not change them).
//! Run with `cargo bench -p sotto-relay --bench metadata`.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::{StdRng, ThreadRng};
use rand::seq::{IndexedRandom as _, SliceRandom as _};
use rand::{Rng, SeedableRng as _};
use sotto_core::client::{CoverTraffic, DEFAULT_MEAN_DELAY, MAX_HOP_DELAY};
use sotto_core::onion::{
    DEFAULT_HOPS, Delivery, Hop, HopAddress, SphinxKeyAnnouncement, build_packet,
};
use sotto_core::padding::PACKET_PAYLOAD_SIZE;
use sotto_core::relay::{Host, QueueKeyPair, RelayAddress, SendCapability, SenderId};
use sotto_relay::config::MixSettings;
use sotto_relay::known_relays::KnownRelays;
use sotto_relay::metrics::Event as Counted;
use sotto_relay::mix::{Mix, Outcome};
use sotto_relay::throttle::{SourceLimits, Throttle};
use sotto_relay::{Metrics, RelayIdentity};

/// The seed of every simulated choice (issue 5).
const SEED: u64 = 5;
/// Simulated Unix time at the start: 2026-01-01 00:00 UTC, the first second of a key epoch.
const START_UNIX: u64 = 1_767_225_600;
/// Shortest and longest one-way link latency, in seconds (uniform in between).
const LINK_LATENCY: (f64, f64) = (0.002, 0.008);
/// How long after a message's request the adversary looks for its delivery.
const CANDIDATE_WINDOW: f64 = 120.0;
/// Probability mass below which the adversary forgets a packet (and renormalises).
const NEGLIGIBLE: f64 = 1e-9;
/// Nanoseconds per second.
const NANOS: f64 = 1e9;

/// Simulated time in nanoseconds since the start.
type Nanos = u64;

fn nanos(seconds: f64) -> Nanos {
    (seconds * NANOS).round() as Nanos
}

fn seconds(time: Nanos) -> f64 {
    time as f64 / NANOS
}

/// The size of the run.
struct Plan {
    clients: usize,
    relays: usize,
    /// Simulated seconds of traffic per mode.
    duration: f64,
    /// Messages requested before this (while pools fill) are not measured.
    warmup: f64,
    /// Messages requested in the last `tail` seconds are not measured (they may still be
    /// waiting for a payload slot when traffic stops).
    tail: f64,
    /// Mean seconds between two messages of one client.
    message_interval: f64,
    /// Relays each relay adversary controls (two sizes).
    compromised: [usize; 2],
}

impl Plan {
    fn get() -> Self {
        let quick = std::env::var("SOTTO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let (clients, relays, duration) = if quick {
            (10, 5, 90.0)
        } else {
            (40, 10, 600.0)
        };
        Plan {
            clients,
            relays,
            duration,
            warmup: if quick { 10.0 } else { 30.0 },
            tail: if quick { 40.0 } else { 90.0 },
            message_interval: 20.0,
            compromised: [(relays / 5).max(1), relays / 2],
        }
    }

    fn measured(&self, requested: Nanos) -> bool {
        (nanos(self.warmup)..nanos(self.duration - self.tail)).contains(&requested)
    }
}

/// How clients send.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    NoMixing,
    Mixing,
    MixingCover,
}

const MODES: [Mode; 3] = [Mode::NoMixing, Mode::Mixing, Mode::MixingCover];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::NoMixing => "no mixing",
            Mode::Mixing => "mixing",
            Mode::MixingCover => "mixing + cover",
        }
    }

    fn mean_delay(self) -> Duration {
        match self {
            Mode::NoMixing => Duration::ZERO,
            Mode::Mixing | Mode::MixingCover => DEFAULT_MEAN_DELAY,
        }
    }

    fn cover(self) -> Option<CoverTraffic> {
        (self == Mode::MixingCover).then(CoverTraffic::default)
    }
}

/// One message a client asks to send.
struct Request {
    at: Nanos,
    sender: usize,
    recipient: usize,
}

/// What every mode replays: where each client's queues are and who writes to whom when.
struct Workload {
    mailbox_of: Vec<usize>,
    requests: Vec<Request>,
}

/// Draws the mailboxes and a Poisson stream of messages, each from a random client to a
/// random other one.
fn workload(plan: &Plan, rng: &mut StdRng) -> Workload {
    let mailbox_of = (0..plan.clients)
        .map(|_| rng.random_range(0..plan.relays))
        .collect();
    let rate = plan.clients as f64 / plan.message_interval;
    let mut requests = Vec::new();
    let mut at = exponential(rng, 1.0 / rate);
    while at < plan.duration {
        let sender = rng.random_range(0..plan.clients);
        let recipient = (sender + rng.random_range(1..plan.clients)) % plan.clients;
        requests.push(Request {
            at: nanos(at),
            sender,
            recipient,
        });
        at += exponential(rng, 1.0 / rate);
    }
    Workload {
        mailbox_of,
        requests,
    }
}

/// An exponential draw of mean `mean` seconds, as the client draws delays and intervals.
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    // 1 − U is in (0, 1], so its logarithm is finite.
    let uniform: f64 = 1.0 - rng.random::<f64>();
    mean * -uniform.ln()
}

/// One relay: its real hop processing and what clients know of it.
struct SimRelay {
    mix: Mix,
    metrics: Arc<Metrics>,
    hop: Hop,
    address: RelayAddress,
}

/// The relays of one mode's run, in temporary folders.
struct Network {
    relays: Vec<SimRelay>,
    index_of: HashMap<HopAddress, usize>,
    _folders: Vec<tempfile::TempDir>,
}

/// Opens `count` relays at 192.0.2.1, 192.0.2.2, … with fresh identities and Sphinx keys.
fn open_network(count: usize) -> Network {
    let mut relays = Vec::with_capacity(count);
    let mut folders = Vec::with_capacity(count);
    for i in 0..count {
        let folder = tempfile::tempdir().expect("temp dir");
        relays.push(open_relay(folder.path(), i));
        folders.push(folder);
    }
    let index_of = relays
        .iter()
        .enumerate()
        .map(|(i, relay)| (relay.hop.address, i))
        .collect();
    Network {
        relays,
        index_of,
        _folders: folders,
    }
}

fn open_relay(folder: &std::path::Path, index: usize) -> SimRelay {
    let identity = Arc::new(RelayIdentity::load_or_create(folder).expect("identity"));
    let last_octet = u8::try_from(index + 1).expect("at most 254 relays");
    let host = Host::V4(Ipv4Addr::new(192, 0, 2, last_octet));
    let address = RelayAddress::new(identity.public_key(), host, 443).expect("address");
    let metrics = Arc::new(Metrics::new());
    let mix = Mix::open(
        folder,
        MixSettings::default(),
        identity,
        Arc::clone(&metrics),
        START_UNIX,
        // The harness forwards in simulated time itself: the mix's network side is unused.
        KnownRelays::new(
            None,
            Throttle::new(SourceLimits::unlimited(), Arc::clone(&metrics)),
        ),
        None,
    )
    .expect("mix");
    let key = mix
        .announcements(START_UNIX)
        .iter()
        .map(|wire| SphinxKeyAnnouncement::from_wire(address.key(), wire).expect("signed key"))
        .find(|announced| announced.covers(START_UNIX))
        .expect("a key for now")
        .key;
    let hop = Hop {
        address: HopAddress::of(&address).expect("hop address"),
        key,
    };
    SimRelay {
        mix,
        metrics,
        hop,
        address,
    }
}

/// Each client's inbox (everyone writes to it) and loop queue, and whose a queue is.
struct Queues {
    inbox: Vec<SendCapability>,
    loops: Vec<SendCapability>,
    owner: HashMap<SenderId, usize>,
}

fn make_queues(network: &Network, mailbox_of: &[usize], rng: &mut ThreadRng) -> Queues {
    let mut capability = |client: usize| SendCapability {
        relay: network.relays[mailbox_of[client]].address.clone(),
        sender_id: SenderId::random(rng),
        sender_key: QueueKeyPair::generate(rng),
    };
    let inbox: Vec<SendCapability> = (0..mailbox_of.len()).map(&mut capability).collect();
    let loops: Vec<SendCapability> = (0..mailbox_of.len()).map(&mut capability).collect();
    let owner = inbox
        .iter()
        .enumerate()
        .chain(loops.iter().enumerate())
        .map(|(client, queue)| (queue.sender_id, client))
        .collect();
    Queues {
        inbox,
        loops,
        owner,
    }
}

/// What a packet leaving a client carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Carries {
    /// The message of this request.
    Message(usize),
    /// A loop packet into the sender's own loop queue.
    Loop,
    /// A drop packet.
    Drop,
}

/// A packet as it left its client.
struct Source {
    sender: usize,
    carries: Carries,
}

/// The adversary's probability distribution over the packets that left clients (by their
/// index in the run's list), plus mass it cannot place ("unknown": any client alike).
#[derive(Clone, Default)]
struct Belief {
    known: BTreeMap<u32, f64>,
    unknown: f64,
}

impl Belief {
    fn certain(source: u32) -> Self {
        Self {
            known: BTreeMap::from([(source, 1.0)]),
            unknown: 0.0,
        }
    }

    fn unknown() -> Self {
        Self {
            known: BTreeMap::new(),
            unknown: 1.0,
        }
    }

    /// `self ← (1 − weight) · self + weight · other`, forgetting negligible packets.
    fn blend(&mut self, other: &Belief, weight: f64) {
        for mass in self.known.values_mut() {
            *mass *= 1.0 - weight;
        }
        self.unknown = self.unknown * (1.0 - weight) + other.unknown * weight;
        for (source, mass) in &other.known {
            *self.known.entry(*source).or_default() += mass * weight;
        }
        self.known.retain(|_, mass| *mass >= NEGLIGIBLE);
        let total = self.unknown + self.known.values().sum::<f64>();
        for mass in self.known.values_mut() {
            *mass /= total;
        }
        self.unknown /= total;
    }

    /// The probability that the packet is `source`.
    fn of(&self, source: u32) -> f64 {
        self.known.get(&source).copied().unwrap_or(0.0)
    }

    /// The distribution over senders.
    fn senders(&self, sources: &[Source], clients: usize) -> Vec<f64> {
        let mut by_sender = vec![self.unknown / clients as f64; clients];
        for (source, mass) in &self.known {
            by_sender[sources[*source as usize].sender] += mass;
        }
        by_sender
    }
}

/// The packets inside one honest relay as an outsider sees them: how many, and the mean of
/// their distributions (each is equally likely to be the next to leave).
#[derive(Default)]
struct Pool {
    held: usize,
    mixture: Belief,
}

impl Pool {
    fn enter(&mut self, belief: &Belief) {
        self.held += 1;
        if self.held == 1 {
            self.mixture = belief.clone();
        } else {
            self.mixture.blend(belief, 1.0 / self.held as f64);
        }
    }

    /// The distribution of the packet leaving now; the others keep the same mixture.
    fn leave(&mut self) -> Belief {
        self.held -= 1;
        if self.held == 0 {
            std::mem::take(&mut self.mixture)
        } else {
            self.mixture.clone()
        }
    }
}

/// Where a packet on a link comes from.
#[derive(Clone, Copy)]
enum Node {
    Client,
    Relay(usize),
}

/// One adversary: which links it sees, which relays it controls, and its view of the
/// honest relays' pools.
struct Adversary {
    name: String,
    global: bool,
    controls: Vec<bool>,
    pools: Vec<Pool>,
}

impl Adversary {
    fn new(name: String, global: bool, relays: usize, compromised: usize) -> Self {
        Self {
            name,
            global,
            controls: (0..relays).map(|i| i < compromised).collect(),
            pools: (0..relays).map(|_| Pool::default()).collect(),
        }
    }

    fn sees_link(&self, from: Node, to: usize) -> bool {
        self.global || self.controls[to] || matches!(from, Node::Relay(r) if self.controls[r])
    }

    /// A packet leaves a client for its first hop.
    fn client_sends(&self, to: usize, source: u32) -> Option<Belief> {
        self.sees_link(Node::Client, to)
            .then(|| Belief::certain(source))
    }

    /// A packet arrives at `relay` to be held and forwarded: an honest relay's pool takes
    /// it (a controlled relay passes the packet's own distribution on).
    fn relay_holds(&mut self, relay: usize, arriving: Option<&Belief>) {
        if !self.controls[relay] {
            let unknown = Belief::unknown();
            self.pools[relay].enter(arriving.unwrap_or(&unknown));
        }
    }

    /// A held packet leaves `relay` for `next`: its distribution on that link, if seen.
    fn relay_sends(&mut self, relay: usize, next: usize, held: Option<Belief>) -> Option<Belief> {
        if self.controls[relay] {
            return held;
        }
        let leaving = self.pools[relay].leave();
        self.sees_link(Node::Relay(relay), next).then_some(leaving)
    }
}

/// The adversaries of a run: a global observer, two sizes of relay coalition, and both.
fn adversaries(plan: &Plan) -> Vec<Adversary> {
    let [few, many] = plan.compromised;
    let m = plan.relays;
    vec![
        Adversary::new("global observer".into(), true, m, 0),
        Adversary::new(format!("{few} of {m} relays"), false, m, few),
        Adversary::new(format!("{many} of {m} relays"), false, m, many),
        Adversary::new(
            format!("global observer + {few} of {m} relays"),
            true,
            m,
            few,
        ),
    ]
}

/// A packet on its way, with each adversary's distribution for it (`None`: not seen).
struct InFlight {
    source: u32,
    bytes: Vec<u8>,
    beliefs: Vec<Option<Belief>>,
}

/// A write into a queue (a message or a loop).
struct Write {
    at: Nanos,
    owner: usize,
    /// Each adversary's distribution over the packets that left clients.
    beliefs: Vec<Belief>,
}

/// A cover-traffic stream.
#[derive(Clone, Copy)]
enum Stream {
    Payload,
    Loop,
    Drop,
}

enum Event {
    Request(usize),
    Cover(usize, Stream),
    Arrive(usize, InFlight),
    Depart {
        relay: usize,
        next: usize,
        packet: InFlight,
    },
}

/// An event at a simulated time; the sequence number keeps equal times in order.
struct Scheduled {
    at: Nanos,
    sequence: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

/// What one mode's run leaves for the analysis.
struct Trace {
    sources: Vec<Source>,
    /// Per client, its packets in the order they left: (time, source index).
    sent_by: Vec<Vec<(Nanos, u32)>>,
    /// Every write, in time order.
    writes: Vec<Write>,
    /// Per request, the index of the write that delivered it.
    delivered_by: Vec<Option<usize>>,
    /// Hops the relays opened (Sphinx unwrap and replay check).
    hops_opened: u64,
    /// Sum over departures of the packets inside the relay just before (the true pool).
    pool_sum: u64,
    departures: u64,
    adversaries: Vec<String>,
}

/// One mode's discrete-event simulation.
struct Simulation<'a> {
    plan: &'a Plan,
    mode: Mode,
    workload: &'a Workload,
    network: Network,
    queues: Queues,
    rng: StdRng,
    crypto: ThreadRng,
    agenda: BinaryHeap<Reverse<Scheduled>>,
    sequence: u64,
    now: Nanos,
    waiting: Vec<VecDeque<usize>>,
    /// Packets each relay holds for forwarding.
    inside: Vec<u64>,
    adversaries: Vec<Adversary>,
    trace: Trace,
    drops_sent: u64,
}

impl<'a> Simulation<'a> {
    fn new(plan: &'a Plan, mode: Mode, workload: &'a Workload, seed: u64) -> Self {
        let network = open_network(plan.relays);
        let mut crypto = rand::rng();
        let queues = make_queues(&network, &workload.mailbox_of, &mut crypto);
        let adversaries = adversaries(plan);
        let trace = Trace {
            sources: Vec::new(),
            sent_by: vec![Vec::new(); plan.clients],
            writes: Vec::new(),
            delivered_by: vec![None; workload.requests.len()],
            hops_opened: 0,
            pool_sum: 0,
            departures: 0,
            adversaries: adversaries.iter().map(|a| a.name.clone()).collect(),
        };
        Self {
            plan,
            mode,
            workload,
            network,
            queues,
            rng: StdRng::seed_from_u64(seed),
            crypto,
            agenda: BinaryHeap::new(),
            sequence: 0,
            now: 0,
            waiting: vec![VecDeque::new(); plan.clients],
            inside: vec![0; plan.relays],
            adversaries,
            trace,
            drops_sent: 0,
        }
    }

    fn schedule(&mut self, at: Nanos, event: Event) {
        self.sequence += 1;
        self.agenda.push(Reverse(Scheduled {
            at,
            sequence: self.sequence,
            event,
        }));
    }

    /// Runs until every packet has reached its end, then checks the relays' counters.
    fn run(mut self) -> Trace {
        for (i, request) in self.workload.requests.iter().enumerate() {
            self.schedule(request.at, Event::Request(i));
        }
        if let Some(cover) = self.mode.cover() {
            for client in 0..self.plan.clients {
                for stream in [Stream::Payload, Stream::Loop, Stream::Drop] {
                    self.schedule_cover(&cover, client, stream);
                }
            }
        }
        while let Some(Reverse(next)) = self.agenda.pop() {
            self.now = next.at;
            match next.event {
                Event::Request(i) => self.on_request(i),
                Event::Cover(client, stream) => self.on_cover(client, stream),
                Event::Arrive(relay, packet) => self.on_arrive(relay, packet),
                Event::Depart {
                    relay,
                    next,
                    packet,
                } => self.on_depart(relay, next, packet),
            }
        }
        self.check_relay_counters();
        self.trace
    }

    /// The relays refused and replayed nothing, and every drop packet reached its end.
    fn check_relay_counters(&self) {
        let total = |event| -> u64 {
            let relays = &self.network.relays;
            relays.iter().map(|r| r.metrics.count(event)).sum()
        };
        assert_eq!(total(Counted::PacketRefused), 0, "refused packets");
        assert_eq!(total(Counted::PacketReplayed), 0, "replayed packets");
        assert_eq!(
            total(Counted::DropReceived),
            self.drops_sent,
            "drop packets"
        );
    }

    /// Schedules the next event of a cover stream, while traffic lasts.
    fn schedule_cover(&mut self, cover: &CoverTraffic, client: usize, stream: Stream) {
        let rate = match stream {
            Stream::Payload => cover.payload_per_second,
            Stream::Loop => cover.loop_per_second,
            Stream::Drop => cover.drop_per_second,
        };
        if rate <= 0.0 {
            return;
        }
        let at = self.now + nanos(exponential(&mut self.rng, 1.0 / rate));
        if at < nanos(self.plan.duration) {
            self.schedule(at, Event::Cover(client, stream));
        }
    }

    fn on_request(&mut self, request: usize) {
        if self.mode.cover().is_some() {
            let sender = self.workload.requests[request].sender;
            self.waiting[sender].push_back(request);
        } else {
            self.send_message(request);
        }
    }

    fn on_cover(&mut self, client: usize, stream: Stream) {
        let cover = self.mode.cover().expect("cover traffic on");
        self.schedule_cover(&cover, client, stream);
        match stream {
            Stream::Payload => match self.waiting[client].pop_front() {
                Some(request) => self.send_message(request),
                None => self.send_drop(client),
            },
            Stream::Loop => self.send_loop(client),
            Stream::Drop => self.send_drop(client),
        }
    }

    fn send_message(&mut self, request: usize) {
        let Request {
            sender, recipient, ..
        } = self.workload.requests[request];
        let destination = self.queues.inbox[recipient].clone();
        let path = self.write_path(self.workload.mailbox_of[recipient]);
        self.send_write(sender, Carries::Message(request), &destination, &path);
    }

    fn send_loop(&mut self, client: usize) {
        let destination = self.queues.loops[client].clone();
        let path = self.write_path(self.workload.mailbox_of[client]);
        self.send_write(client, Carries::Loop, &destination, &path);
    }

    fn send_drop(&mut self, client: usize) {
        let path = self.drop_path();
        self.drops_sent += 1;
        self.launch(client, Carries::Drop, &path, &Delivery::Drop);
    }

    /// A signed write of a packet-sized body whose first bytes name the source packet (so
    /// that the delivery can be checked against what was sent).
    fn send_write(
        &mut self,
        sender: usize,
        carries: Carries,
        destination: &SendCapability,
        path: &[usize],
    ) {
        let mut body = vec![0u8; PACKET_PAYLOAD_SIZE];
        self.crypto.fill(&mut body[..]);
        let source = u32::try_from(self.trace.sources.len()).expect("packet count");
        body[..4].copy_from_slice(&source.to_le_bytes());
        let delivery = Delivery::signed_write(destination, body, self.unix(), &mut self.crypto)
            .expect("signed write");
        self.launch(sender, carries, path, &delivery);
    }

    /// Like the client: `hops − 1` distinct relays in random order, none the mailbox
    /// relay, then the mailbox relay.
    fn write_path(&mut self, mailbox: usize) -> Vec<usize> {
        let others: Vec<usize> = (0..self.plan.relays).filter(|r| *r != mailbox).collect();
        let mut path: Vec<usize> = others
            .choose_multiple(&mut self.rng, DEFAULT_HOPS - 1)
            .copied()
            .collect();
        path.shuffle(&mut self.rng);
        path.push(mailbox);
        path
    }

    /// Like the client: `hops` distinct random relays.
    fn drop_path(&mut self) -> Vec<usize> {
        let all: Vec<usize> = (0..self.plan.relays).collect();
        let mut path: Vec<usize> = all
            .choose_multiple(&mut self.rng, DEFAULT_HOPS)
            .copied()
            .collect();
        path.shuffle(&mut self.rng);
        path
    }

    /// Like the client: an exponential delay per forwarding hop, cut at `MAX_HOP_DELAY`;
    /// none at the last hop.
    fn delays(&mut self, hops: usize) -> Vec<Duration> {
        let mean = self.mode.mean_delay().as_secs_f64();
        (0..hops)
            .map(|hop| {
                if hop + 1 == hops || mean == 0.0 {
                    return Duration::ZERO;
                }
                let delay = exponential(&mut self.rng, mean).min(MAX_HOP_DELAY.as_secs_f64());
                Duration::from_secs_f64(delay)
            })
            .collect()
    }

    /// Builds the Sphinx packet and hands it to the first hop.
    fn launch(&mut self, sender: usize, carries: Carries, path: &[usize], delivery: &Delivery) {
        let hops: Vec<Hop> = path.iter().map(|r| self.network.relays[*r].hop).collect();
        let delays = self.delays(path.len());
        let bytes = build_packet(&hops, delivery, &delays, &mut self.crypto).expect("packet");
        let source = u32::try_from(self.trace.sources.len()).expect("packet count");
        self.trace.sources.push(Source { sender, carries });
        self.trace.sent_by[sender].push((self.now, source));
        let beliefs = self
            .adversaries
            .iter()
            .map(|adversary| adversary.client_sends(path[0], source))
            .collect();
        let packet = InFlight {
            source,
            bytes,
            beliefs,
        };
        let at = self.now + self.link_latency();
        self.schedule(at, Event::Arrive(path[0], packet));
    }

    fn link_latency(&mut self) -> Nanos {
        nanos(self.rng.random_range(LINK_LATENCY.0..LINK_LATENCY.1))
    }

    fn unix(&self) -> u64 {
        START_UNIX + self.now / 1_000_000_000
    }

    /// The relay opens the packet for real and the simulation does what it says.
    fn on_arrive(&mut self, relay: usize, packet: InFlight) {
        let mut outcomes = self.network.relays[relay]
            .mix
            .open_batch(&packet.bytes, self.unix())
            .expect("one whole packet");
        self.trace.hops_opened += 1;
        match outcomes.pop() {
            None => {
                let carries = self.trace.sources[packet.source as usize].carries;
                assert!(carries == Carries::Drop, "only drop packets end silently");
            }
            Some(Outcome::Forward {
                next,
                delay,
                packet: onward,
            }) => {
                let next = self.network.index_of[&next];
                self.inside[relay] += 1;
                for (adversary, belief) in self.adversaries.iter_mut().zip(&packet.beliefs) {
                    adversary.relay_holds(relay, belief.as_ref());
                }
                let at = self.now + u64::try_from(delay.as_nanos()).expect("delay");
                let packet = InFlight {
                    bytes: onward,
                    ..packet
                };
                self.schedule(
                    at,
                    Event::Depart {
                        relay,
                        next,
                        packet,
                    },
                );
            }
            Some(Outcome::Deliver {
                sender_id, body, ..
            }) => self.record_write(sender_id, &body, packet),
        }
        assert!(outcomes.is_empty(), "one packet, one outcome");
    }

    fn on_depart(&mut self, relay: usize, next: usize, packet: InFlight) {
        self.trace.pool_sum += self.inside[relay];
        self.trace.departures += 1;
        self.inside[relay] -= 1;
        let beliefs = self
            .adversaries
            .iter_mut()
            .zip(packet.beliefs)
            .map(|(adversary, held)| adversary.relay_sends(relay, next, held))
            .collect();
        let packet = InFlight { beliefs, ..packet };
        let at = self.now + self.link_latency();
        self.schedule(at, Event::Arrive(next, packet));
    }

    /// A write into a queue: its owner, and what each adversary attributes it to.
    fn record_write(&mut self, sender_id: SenderId, body: &[u8], packet: InFlight) {
        let owner = self.queues.owner[&sender_id];
        let named = u32::from_le_bytes(body[..4].try_into().expect("4 bytes"));
        assert_eq!(named, packet.source, "the body sent is the body delivered");
        let source = &self.trace.sources[packet.source as usize];
        match source.carries {
            Carries::Message(request) => {
                assert_eq!(owner, self.workload.requests[request].recipient);
                self.trace.delivered_by[request] = Some(self.trace.writes.len());
            }
            Carries::Loop => assert_eq!(owner, source.sender),
            Carries::Drop => panic!("a drop packet was written into a queue"),
        }
        let beliefs = packet
            .beliefs
            .into_iter()
            .map(|belief| belief.unwrap_or_else(Belief::unknown))
            .collect();
        self.trace.writes.push(Write {
            at: self.now,
            owner,
            beliefs,
        });
    }
}

/// What one adversary achieved against one mode.
struct Anonymity {
    adversary: String,
    recipient_named: f64,
    sender_named: f64,
    entropy_mean: f64,
    entropy_median: f64,
}

/// Delivery times of the measured messages, in seconds.
struct Latency {
    mean: f64,
    p50: f64,
    p99: f64,
}

/// One mode's results.
struct ModeResult {
    mode: Mode,
    anonymity: Vec<Anonymity>,
    latency: Latency,
    messages: usize,
    packets: usize,
    hops_opened: u64,
    mean_pool: f64,
    wall: Duration,
}

/// The measured requests that were delivered (all of them, checked).
fn measured_requests(plan: &Plan, workload: &Workload, trace: &Trace) -> Vec<usize> {
    let measured: Vec<usize> = (0..workload.requests.len())
        .filter(|i| plan.measured(workload.requests[*i].at))
        .collect();
    let lost = measured
        .iter()
        .filter(|i| trace.delivered_by[**i].is_none())
        .count();
    assert_eq!(lost, 0, "measured messages that were never delivered");
    measured
}

fn latency(workload: &Workload, trace: &Trace, measured: &[usize]) -> Latency {
    let mut times: Vec<f64> = measured
        .iter()
        .map(|i| {
            let write = &trace.writes[trace.delivered_by[*i].expect("delivered")];
            seconds(write.at - workload.requests[*i].at)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    Latency {
        mean: times.iter().sum::<f64>() / times.len() as f64,
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Shannon entropy in bits (rounding may leave a certain distribution a hair below zero).
fn entropy_bits(distribution: &[f64]) -> f64 {
    let bits: f64 = distribution
        .iter()
        .filter(|p| **p > 0.0)
        .map(|p| -p * p.log2())
        .sum();
    if bits > 0.0 { bits } else { 0.0 }
}

/// The share of the credit for naming `truth` when the adversary picks uniformly among the
/// candidates with the highest score.
fn credit(scored: impl Iterator<Item = (f64, bool)>) -> f64 {
    let mut best = f64::NEG_INFINITY;
    let (mut tied, mut right) = (0usize, 0usize);
    for (score, is_truth) in scored {
        if score > best + 1e-12 {
            best = score;
            (tied, right) = (0, 0);
        }
        if (score - best).abs() <= 1e-12 {
            tied += 1;
            right += usize::from(is_truth);
        }
    }
    if tied == 0 {
        0.0
    } else {
        right as f64 / tied as f64
    }
}

/// The chance that each of the sender's packets from the request on carries the message:
/// the first one without cover traffic; with cover traffic the j-th with probability
/// q(1 − q)^j, q the share of payload slots among the client's packets.
fn carrier_weights(mode: Mode, count: usize) -> Vec<f64> {
    let Some(cover) = mode.cover() else {
        return vec![1.0; count.min(1)];
    };
    let total = cover.payload_per_second + cover.loop_per_second + cover.drop_per_second;
    let q = cover.payload_per_second / total;
    (0..count)
        .map(|j| q * (1.0 - q).powi(j as i32))
        .take_while(|weight| *weight > 1e-6)
        .collect()
}

/// How well the adversary `a` names the recipient of message `request`: writes into other
/// clients' queues within the candidate window, scored by the probability their
/// distribution gives the sender's likely carriers (unknown mass counts as 1/N of the
/// sender).
fn recipient_credit(
    mode: Mode,
    workload: &Workload,
    trace: &Trace,
    a: usize,
    request: usize,
) -> f64 {
    let Request {
        at,
        sender,
        recipient,
    } = workload.requests[request];
    let clients = trace.sent_by.len() as f64;
    let sent = &trace.sent_by[sender];
    let first = sent.partition_point(|(time, _)| *time < at);
    let carriers: Vec<(u32, f64)> = sent[first..]
        .iter()
        .zip(carrier_weights(mode, sent.len() - first))
        .map(|((_, source), weight)| (*source, weight))
        .collect();
    let from = trace.writes.partition_point(|write| write.at < at);
    let until = at + nanos(CANDIDATE_WINDOW);
    let candidates = trace.writes[from..]
        .iter()
        .take_while(|write| write.at <= until)
        .filter(|write| write.owner != sender);
    credit(candidates.map(|write| {
        let belief = &write.beliefs[a];
        let traced: f64 = carriers.iter().map(|(s, w)| w * belief.of(*s)).sum();
        (traced + belief.unknown / clients, write.owner == recipient)
    }))
}

/// Sender naming and entropy for the write that delivered `request`. The adversary knows
/// the write is a message into the target's inbox, so the target did not send it.
fn sender_view(workload: &Workload, trace: &Trace, a: usize, request: usize) -> (f64, f64) {
    let write = &trace.writes[trace.delivered_by[request].expect("delivered")];
    let clients = trace.sent_by.len();
    let mut senders = write.beliefs[a].senders(&trace.sources, clients);
    senders[write.owner] = 0.0;
    let total: f64 = senders.iter().sum();
    for p in &mut senders {
        *p = if total > 0.0 {
            *p / total
        } else {
            1.0 / (clients - 1) as f64
        };
    }
    senders[write.owner] = 0.0;
    let truth = workload.requests[request].sender;
    let named = credit(senders.iter().enumerate().map(|(c, p)| (*p, c == truth)));
    (named, entropy_bits(&senders))
}

fn anonymity(
    mode: Mode,
    workload: &Workload,
    trace: &Trace,
    measured: &[usize],
    a: usize,
) -> Anonymity {
    let mut recipient = 0.0;
    let mut sender = 0.0;
    let mut entropies = Vec::with_capacity(measured.len());
    for request in measured {
        recipient += recipient_credit(mode, workload, trace, a, *request);
        let (named, entropy) = sender_view(workload, trace, a, *request);
        sender += named;
        entropies.push(entropy);
    }
    entropies.sort_by(f64::total_cmp);
    let count = measured.len() as f64;
    Anonymity {
        adversary: trace.adversaries[a].clone(),
        recipient_named: recipient / count,
        sender_named: sender / count,
        entropy_mean: entropies.iter().sum::<f64>() / count,
        entropy_median: percentile(&entropies, 0.5),
    }
}

fn run_mode(plan: &Plan, workload: &Workload, mode: Mode, seed: u64) -> ModeResult {
    let started = Instant::now();
    let trace = Simulation::new(plan, mode, workload, seed).run();
    let wall = started.elapsed();
    let measured = measured_requests(plan, workload, &trace);
    let anonymity = (0..trace.adversaries.len())
        .map(|a| anonymity(mode, workload, &trace, &measured, a))
        .collect();
    ModeResult {
        mode,
        anonymity,
        latency: latency(workload, &trace, &measured),
        messages: measured.len(),
        packets: trace.sources.len(),
        hops_opened: trace.hops_opened,
        mean_pool: trace.pool_sum as f64 / trace.departures.max(1) as f64,
        wall,
    }
}

fn percent(fraction: f64) -> String {
    format!("{:.1}%", 100.0 * fraction)
}

fn print_anonymity(plan: &Plan, results: &[ModeResult]) {
    let guess = percent(1.0 / (plan.clients - 1) as f64);
    let max = ((plan.clients - 1) as f64).log2();
    println!();
    println!(
        "| mode | adversary | recipient named (guess {guess}) | sender named (guess {guess}) \
         | sender entropy, mean (max {max:.2} bits) | median |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for result in results {
        for row in &result.anonymity {
            println!(
                "| {} | {} | {} | {} | {:.2} bits | {:.2} bits |",
                result.mode.name(),
                row.adversary,
                percent(row.recipient_named),
                percent(row.sender_named),
                row.entropy_mean,
                row.entropy_median,
            );
        }
    }
}

fn print_latency(results: &[ModeResult]) {
    let base = &results[0].latency;
    println!();
    println!("| mode | mean | p50 | p99 | mean / no mixing | p99 / no mixing | added (mean) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for result in results {
        let l = &result.latency;
        println!(
            "| {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2}x | {:.2}x | {:.1} ms |",
            result.mode.name(),
            l.mean * 1e3,
            l.p50 * 1e3,
            l.p99 * 1e3,
            l.mean / base.mean,
            l.p99 / base.p99,
            (l.mean - base.mean) * 1e3,
        );
    }
}

fn main() {
    let plan = Plan::get();
    assert!(
        plan.duration + 2.0 * MAX_HOP_DELAY.as_secs_f64()
            < MixSettings::default().epoch_seconds as f64,
        "the run stays within one key epoch"
    );
    let mut rng = StdRng::seed_from_u64(SEED);
    let workload = workload(&plan, &mut rng);
    let cover = CoverTraffic::default();
    println!(
        "metadata: {} clients, {} relays, {DEFAULT_HOPS}-hop paths, {} s simulated per mode, \
         seed {SEED}; a message per client every {} s on average (Poisson, {} requests); \
         measured: messages requested from {} s to {} s; links {}–{} ms; mixing: mean {} ms \
         per forwarding hop; cover: payload {}/s, loop {}/s, drop {}/s per client",
        plan.clients,
        plan.relays,
        plan.duration,
        plan.message_interval,
        workload.requests.len(),
        plan.warmup,
        plan.duration - plan.tail,
        LINK_LATENCY.0 * 1e3,
        LINK_LATENCY.1 * 1e3,
        DEFAULT_MEAN_DELAY.as_millis(),
        cover.payload_per_second,
        cover.loop_per_second,
        cover.drop_per_second,
    );
    let results: Vec<ModeResult> = MODES
        .iter()
        .enumerate()
        .map(|(i, mode)| {
            let result = run_mode(&plan, &workload, *mode, SEED + 1 + i as u64);
            println!(
                "{}: {} measured messages, {} packets sent, {} hops opened by the relays, \
                 {:.2} packets inside a relay when one leaves (mean), {:.1} s",
                mode.name(),
                result.messages,
                result.packets,
                result.hops_opened,
                result.mean_pool,
                result.wall.as_secs_f64(),
            );
            result
        })
        .collect();
    print_anonymity(&plan, &results);
    print_latency(&results);
}
