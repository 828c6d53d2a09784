//! A wiretap on loopback: a TCP forwarder in front of a relay that counts the bytes of
//! every connection through it, both ways, by the connecting side's IP address. TLS passes
//! through untouched (the relay's key is the same whichever address it is reached at), so
//! what it counts is what an observer of that link sees: TLS records, not their contents.
//! Included with `#[path]`.

#![allow(dead_code)] // Each test or bench uses its own part.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use sotto_core::onion::HopAddress;
use sotto_core::relay::{Host, RelayAddress};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Bytes seen, by the IP address of the side that opened the connection.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Bytes {
    /// From the connecting side to the relay.
    pub up: u64,
    /// From the relay back.
    pub down: u64,
}

/// The counts of every tap that shares them.
pub type Counts = Arc<Mutex<HashMap<IpAddr, Bytes>>>;

/// Starts a tap on `listen` (port chosen by the system) in front of `relay`, adding to
/// `counts`; returns the tap's address.
pub async fn tap(listen: IpAddr, relay: SocketAddr, counts: Counts) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(listen, 0))
        .await
        .expect("a tap's port");
    let address = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        while let Ok((client, peer)) = listener.accept().await {
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect(relay).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (relay_read, relay_write) = upstream.into_split();
                tokio::join!(
                    copy(client_read, relay_write, &counts, peer.ip(), true),
                    copy(relay_read, client_write, &counts, peer.ip(), false),
                );
            });
        }
    });
    address
}

/// Starts a tap on `listen` in front of `relay` (named by an IP address); returns the
/// relay's address at the tap (the same key), which clients and packets can use instead.
pub async fn tap_relay(listen: Ipv4Addr, relay: &RelayAddress, counts: Counts) -> RelayAddress {
    let socket = HopAddress::of(relay).expect("a relay named by IP").socket;
    let tap = tap(IpAddr::V4(listen), socket, counts).await;
    RelayAddress::new(*relay.key(), Host::V4(listen), tap.port()).expect("the tap's address")
}

/// Copies `from` into `to`, counting for `peer` in the direction `up`.
async fn copy(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    counts: &Counts,
    peer: IpAddr,
    up: bool,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        {
            let mut counts = counts.lock().expect("tap counts");
            let bytes = counts.entry(peer).or_default();
            if up {
                bytes.up += read as u64;
            } else {
                bytes.down += read as u64;
            }
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// A snapshot of `counts`.
pub fn snapshot(counts: &Counts) -> HashMap<IpAddr, Bytes> {
    counts.lock().expect("tap counts").clone()
}
