//! Placeholder for `sotto-relay`, the standalone relay (mailbox queues, onion hops, chunk
//! store). It does not serve anything yet and says so.

fn main() {
    eprintln!("sotto-relay: not built yet; the relay arrives with the relay issue");
    std::process::exit(2);
}
