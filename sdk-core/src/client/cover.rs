//! Cover traffic (Loopix): when a client sends cannot be told from the outside.
//!
//! With [`CoverTraffic`] set, a client sends packets at three independent Poisson rates,
//! whatever its user does:
//!
//! - **payload slots**: each slot carries the oldest real packet waiting, or a drop packet
//!   when none waits. Real packets never go out between slots, so the number and timing of
//!   the packets a client sends do not depend on how many messages it sends; a message
//!   waits for the next slot (on average `1 / payload_per_second`).
//! - **loop packets**: an onion packet over a random path back into a queue of the client's
//!   own (made on one of its relays when first needed and kept in the store for later runs;
//!   never read for messages), carrying a random tag. A loop that
//!   has not come back within [`CoverTraffic::loop_timeout`] is reported as a
//!   [`ClientEvent::NetworkProblem`]: the network is dropping packets.
//! - **drop packets**: an onion packet over a random path whose last hop discards it.
//!
//! Every one of them is a 4700-byte Sphinx packet like any other; a relay learns that a
//! packet is a drop only as its last hop, and a loop is a write into a queue like any other.
//! The app drives the schedule by calling [`Client::cover_tick`] often (every 50–100 ms):
//! each call sends what has come due and, while loops are out, reads the loop queue
//! at most every [`LOOP_READ_INTERVAL`]. Events missed by more
//! than [`MAX_LATENESS`] (the app stopped ticking) are skipped, never sent in a burst.
//! Cover traffic needs onion routing ([`SendRoute::Onion`]).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use rand::Rng as _;

use super::route::Carried;
use super::{Client, ClientEvent, SendRoute};
use crate::contacts::ContactId;
use crate::error::{Error, Result};
use crate::padding::PACKET_PAYLOAD_SIZE;
use crate::relay::OwnQueue;
use crate::relay::{ErrorKind, SendCapability};
use crate::store::Store;
use crate::transport::TransportError;

/// Length of a loop packet's tag.
const LOOP_TAG_LEN: usize = 16;
/// How often the loop queue is read while loops are out (a read is a request through
/// the proxy relay: reading at every tick would cost more than the loops themselves).
pub const LOOP_READ_INTERVAL: Duration = Duration::from_secs(1);
/// How late an event may fire. Events missed by more (the app did not tick: suspended,
/// busy) are skipped rather than sent in a burst, which would stand out on the wire.
pub const MAX_LATENESS: Duration = Duration::from_secs(1);

/// Cover-traffic rates, in packets per second (0 turns a stream off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverTraffic {
    /// Payload slots per second: real packets take them, drop packets fill the rest.
    pub payload_per_second: f64,
    /// Loop packets per second.
    pub loop_per_second: f64,
    /// Extra drop packets per second.
    pub drop_per_second: f64,
    /// How long a loop packet may take to come back before it counts as lost.
    pub loop_timeout: Duration,
}

impl Default for CoverTraffic {
    /// A desktop default: a payload slot every 5 s on average, a loop and a drop every
    /// 20 s: 0.3 packets of 4700 bytes per second, about 122 MB a day.
    fn default() -> Self {
        Self {
            payload_per_second: 0.2,
            loop_per_second: 0.05,
            drop_per_second: 0.05,
            loop_timeout: Duration::from_secs(60),
        }
    }
}

impl CoverTraffic {
    /// Bytes a client sends per day at these rates (each packet is
    /// [`PACKET_BYTES`](crate::onion::PACKET_BYTES)).
    pub fn bytes_per_day(&self) -> f64 {
        (self.payload_per_second + self.loop_per_second + self.drop_per_second)
            * crate::onion::PACKET_BYTES as f64
            * 86_400.0
    }

    /// Whether these settings can run: every rate finite and not negative, and a loop
    /// timeout above zero when loops are sent. The shells check an app's input with it and
    /// answer with their own invalid-argument error; the client refuses the same settings.
    ///
    /// # Errors
    /// Why the settings cannot run.
    pub fn validate(&self) -> std::result::Result<(), &'static str> {
        let rates = [
            self.payload_per_second,
            self.loop_per_second,
            self.drop_per_second,
        ];
        if rates.iter().any(|rate| !rate.is_finite() || *rate < 0.0) {
            return Err("cover-traffic rates are finite and not negative");
        }
        if self.loop_per_second > 0.0 && self.loop_timeout.is_zero() {
            return Err("loop packets need a loop timeout above zero");
        }
        Ok(())
    }

    fn check(&self, route: SendRoute) -> std::result::Result<(), TransportError> {
        self.validate()
            .map_err(|why| TransportError::NoOnionPath(why.into()))?;
        if matches!(route, SendRoute::Direct) {
            return Err(TransportError::NoOnionPath(
                "cover traffic needs onion routing".into(),
            ));
        }
        Ok(())
    }
}

/// What one [`Client::cover_tick`] sent and saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoverReport {
    /// Packets handed to a first hop (real, drop and loop).
    pub sent: usize,
    /// Of those, real packets (in payload slots).
    pub real: usize,
    /// Loop packets that came back.
    pub loops_returned: usize,
    /// Loop packets given up on (each reported as a network problem).
    pub loops_lost: usize,
}

/// The schedule and the packets waiting for payload slots.
pub(super) struct CoverState {
    settings: CoverTraffic,
    next: Option<[SystemTime; 3]>,
    waiting: VecDeque<(ContactId, SendCapability, Vec<u8>)>,
    loop_queue: Option<OwnQueue>,
    loops: HashMap<[u8; LOOP_TAG_LEN], SystemTime>,
    /// When the loop queue was last read.
    loops_read: Option<SystemTime>,
}

impl CoverState {
    pub(super) fn new(settings: CoverTraffic, route: SendRoute) -> Result<Self> {
        settings.check(route)?;
        Ok(Self {
            settings,
            next: None,
            waiting: VecDeque::new(),
            loop_queue: None,
            loops: HashMap::new(),
            loops_read: None,
        })
    }

    /// Keeps a real packet for the next payload slot.
    pub(super) fn enqueue(
        &mut self,
        contact: &ContactId,
        destination: &SendCapability,
        packet: &[u8],
    ) {
        self.waiting
            .push_back((contact.clone(), destination.clone(), packet.to_vec()));
    }

    /// Drops the packets waiting for a forgotten contact.
    pub(super) fn forget(&mut self, contact: &ContactId) {
        self.waiting.retain(|(to, _, _)| to != contact);
    }

    /// Real packets waiting for a slot.
    pub(super) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The real packets still waiting for a slot (cover traffic is being replaced).
    pub(super) fn into_waiting(self) -> Vec<(ContactId, SendCapability, Vec<u8>)> {
        self.waiting.into_iter().collect()
    }

    /// The earliest scheduled event of the three streams (`None` before the first tick).
    pub(super) fn next_due(&self) -> Option<SystemTime> {
        self.next.and_then(|next| next.into_iter().min())
    }
}

/// The three streams, in the order of [`CoverState::next`].
#[derive(Clone, Copy)]
enum Stream {
    Payload,
    Loop,
    Drop,
}

const STREAMS: [Stream; 3] = [Stream::Payload, Stream::Loop, Stream::Drop];

impl<S: Store> Client<S> {
    /// Sends the cover traffic that has come due (payload slots with the real packets
    /// waiting, loops, drops) and collects returned loop packets; reports loops that did
    /// not come back in time. Does nothing without [`CoverTraffic`] in the settings.
    ///
    /// # Errors
    /// None today beyond the profile's own; network failures are events.
    ///
    /// Dropping the call part-way does not turn cover traffic off: the next tick starts a
    /// fresh schedule (the real packets that were waiting for a slot are then re-sent by
    /// the outbox at their retry time).
    pub async fn cover_tick(&mut self) -> Result<CoverReport> {
        let cover = match (self.cover.take(), self.settings.cover) {
            (Some(cover), _) => Some(cover),
            // A tick was dropped while it held the state.
            (None, Some(rates)) => Some(CoverState::new(rates, self.settings.route)?),
            (None, None) => None,
        };
        let Some(mut cover) = cover else {
            return Ok(CoverReport::default());
        };
        let result = self.run_cover(&mut cover).await;
        self.cover = Some(cover);
        result
    }

    /// Real packets waiting for a payload slot (0 without cover traffic).
    pub fn packets_waiting_for_cover(&self) -> usize {
        self.cover.as_ref().map_or(0, CoverState::waiting)
    }

    async fn run_cover(&mut self, cover: &mut CoverState) -> Result<CoverReport> {
        let SendRoute::Onion { hops, mean_delay } = self.settings.route else {
            return Ok(CoverReport::default());
        };
        let mut report = CoverReport::default();
        self.collect_loops(cover, &mut report).await;
        let now = self.now();
        let mut next = match cover.next {
            Some(next) => next,
            None => STREAMS.map(|stream| now + self.interval(&cover.settings, stream)),
        };
        for (i, stream) in STREAMS.into_iter().enumerate() {
            if next[i] + MAX_LATENESS < now {
                next[i] = now + self.interval(&cover.settings, stream);
            }
            while next[i] <= now {
                next[i] += self.interval(&cover.settings, stream);
                let sent = match stream {
                    Stream::Payload => match cover.waiting.pop_front() {
                        Some((contact, destination, packet)) => {
                            let sent = self
                                .write_onion(&destination, &packet, hops, mean_delay)
                                .await;
                            if sent.is_ok() {
                                report.real += 1;
                            } else {
                                // The slot is used (as seen from outside); the packet takes the next.
                                cover.waiting.push_front((contact, destination, packet));
                            }
                            sent
                        }
                        None => self.send_onion(Carried::Drop, hops, mean_delay).await,
                    },
                    Stream::Loop => self.send_loop(cover, hops, mean_delay).await,
                    Stream::Drop => self.send_onion(Carried::Drop, hops, mean_delay).await,
                };
                report.sent += usize::from(sent.is_ok());
            }
        }
        cover.next = Some(next);
        Ok(report)
    }

    /// Time to the next event of `stream`: exponential with the stream's rate (a stream
    /// at rate 0 waits a year, i.e. never within a session).
    fn interval(&mut self, settings: &CoverTraffic, stream: Stream) -> Duration {
        let rate = match stream {
            Stream::Payload => settings.payload_per_second,
            Stream::Loop => settings.loop_per_second,
            Stream::Drop => settings.drop_per_second,
        };
        if rate <= 0.0 {
            return Duration::from_secs(365 * 86_400);
        }
        // 1 − U is in (0, 1], so its logarithm is finite.
        let uniform: f64 = 1.0 - self.rng.random::<f64>();
        Duration::from_secs_f64((-uniform.ln() / rate).min(365.0 * 86_400.0))
    }

    /// Sends one loop packet into the client's loop queue.
    async fn send_loop(
        &mut self,
        cover: &mut CoverState,
        hops: usize,
        mean_delay: Duration,
    ) -> std::result::Result<(), TransportError> {
        if cover.loop_queue.is_none() {
            match self.loop_queue().await {
                Ok(queue) => cover.loop_queue = Some(queue),
                Err(Error::Transport(error)) => return Err(error),
                Err(other) => return Err(TransportError::Unreachable(other.to_string())),
            }
        }
        let Some(queue) = &cover.loop_queue else {
            return Err(TransportError::Unreachable("no loop queue".into()));
        };
        let destination = queue.capability();
        // As long as a sealed packet, and as random-looking: a tag, then random bytes.
        let mut body = vec![0u8; PACKET_PAYLOAD_SIZE];
        self.rng.fill(&mut body[..]);
        let mut tag = [0u8; LOOP_TAG_LEN];
        tag.copy_from_slice(&body[..LOOP_TAG_LEN]);
        let sent = self
            .write_onion(&destination, &body, hops, mean_delay)
            .await;
        if sent.is_ok() {
            cover
                .loops
                .insert(tag, self.now() + cover.settings.loop_timeout);
        }
        sent
    }

    /// The loop queue kept from before when it is on one of the configured relays; else a
    /// new one, kept in its place (the old one is deleted on its relay).
    async fn loop_queue(&mut self) -> Result<OwnQueue> {
        let kept = self.profile.cover_loop_queue().await?;
        if let Some(queue) = &kept
            && self.settings.relays.contains(&queue.relay)
        {
            return Ok(queue.clone());
        }
        let queue = self.create_queue().await?;
        self.profile
            .keep_cover_loop_queue(&queue, kept.as_ref().map(|old| &old.recipient_id))
            .await?;
        if let Some(old) = kept {
            self.delete_queue_quietly(&old).await;
        }
        Ok(queue)
    }

    /// Reads the loop queue (while loops are out, at most every [`LOOP_READ_INTERVAL`]):
    /// every loop that came back is crossed off; those overdue are reported once each.
    async fn collect_loops(&mut self, cover: &mut CoverState, report: &mut CoverReport) {
        let now = self.now();
        let due = cover
            .loops_read
            .is_none_or(|read| read + LOOP_READ_INTERVAL <= now);
        if !due || cover.loops.is_empty() {
            // Overdue loops are counted only right after a read, so that one that came
            // back since the last read is not taken for lost.
            return;
        }
        cover.loops_read = Some(now);
        if let Some(queue) = cover.loop_queue.clone()
            && !self.down.contains(&queue.relay)
            && let Ok(relay) = self.relay(&queue.relay)
        {
            loop {
                let now = self.now();
                let message = match relay.next(&queue, now, &mut self.rng).await {
                    Ok(Some(message)) => message,
                    Ok(None) => break,
                    Err(TransportError::Relay(api)) if api.kind == ErrorKind::UnknownQueue => {
                        // The relay no longer has it (it expired while cover was off): the
                        // next loop goes to a new one. The loops out now count as lost.
                        cover.loop_queue = None;
                        let _ = self.profile.forget_queue(&queue.recipient_id).await;
                        break;
                    }
                    Err(error) => {
                        self.report_network(queue.relay.clone(), &error);
                        break;
                    }
                };
                if let Some(tag) = message.packet.get(..LOOP_TAG_LEN)
                    && let Ok(tag) = <[u8; LOOP_TAG_LEN]>::try_from(tag)
                    && cover.loops.remove(&tag).is_some()
                {
                    report.loops_returned += 1;
                }
                if let Err(error) = relay.ack(&queue, &message.id, now, &mut self.rng).await {
                    self.report_network(queue.relay.clone(), &error);
                    break;
                }
            }
        }
        let now = self.now();
        let overdue: Vec<[u8; LOOP_TAG_LEN]> = cover
            .loops
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(tag, _)| *tag)
            .collect();
        for tag in overdue {
            cover.loops.remove(&tag);
            report.loops_lost += 1;
            if let Some(queue) = &cover.loop_queue {
                let error = Error::Transport(TransportError::Unreachable(format!(
                    "a loop packet did not come back within {} s: the network drops packets",
                    cover.settings.loop_timeout.as_secs()
                )));
                self.events.push_back(ClientEvent::NetworkProblem {
                    relay: queue.relay.clone(),
                    code: error.code(),
                    reason: error.to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rates_cost_about_122_mb_a_day() {
        let bytes = CoverTraffic::default().bytes_per_day();
        assert!((bytes - 0.3 * 4700.0 * 86_400.0).abs() < 1.0, "{bytes}");
    }

    #[test]
    fn rates_must_be_finite_and_not_negative_and_the_route_onion() {
        let onion = SendRoute::default();
        assert!(CoverTraffic::default().check(onion).is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let cover = CoverTraffic {
                loop_per_second: bad,
                ..CoverTraffic::default()
            };
            assert!(cover.check(onion).is_err(), "{bad}");
        }
        assert!(CoverTraffic::default().check(SendRoute::Direct).is_err());
    }

    #[test]
    fn loops_need_a_timeout_above_zero() {
        let instant = CoverTraffic {
            loop_timeout: Duration::ZERO,
            ..CoverTraffic::default()
        };
        assert!(instant.validate().is_err());
        assert!(instant.check(SendRoute::default()).is_err());
        let no_loops = CoverTraffic {
            loop_per_second: 0.0,
            ..instant
        };
        assert_eq!(no_loops.validate(), Ok(()));
    }
}
