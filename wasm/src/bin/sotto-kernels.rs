//! The native side of the Chromium-against-native benchmarks (`wasm/bench/kernels.bench.mjs`
//! runs it): times the kernels of `sotto_wasm::kernels` and prints the best time of each as
//! one JSON line.
//!
//! `sotto-kernels <messages> <attachment bytes> <stored messages> <rounds> <folder>`

use std::time::Instant;

use futures_executor::block_on;
use sotto_wasm::kernels::{SendPath, StorePath, attachment_round_trip};

fn best_ms(rounds: u32, mut run: impl FnMut(u32) -> Result<(), String>) -> Result<f64, String> {
    let mut best = f64::MAX;
    for round in 0..rounds {
        let start = Instant::now();
        run(round)?;
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(best)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> Result<u32, String> {
        args.get(i).and_then(|a| a.parse().ok()).ok_or_else(|| {
            "usage: sotto-kernels <messages> <attachment bytes> <stored> <rounds> <folder>"
                .to_owned()
        })
    };
    let (messages, bytes, stored, rounds) = (number(0)?, number(1)?, number(2)?, number(3)?);
    let folder = args.get(4).ok_or("a folder for the stores")?;
    let mut send = block_on(SendPath::prepare())?;
    let send_ms = best_ms(rounds, |_| block_on(send.exchange(messages)))?;
    let plaintext: Vec<u8> = (0..bytes).map(|i| (i % 251) as u8).collect();
    let attachment_ms = best_ms(rounds, |_| attachment_round_trip(&plaintext))?;
    let mut stores = Vec::new();
    for round in 0..rounds {
        stores.push(block_on(StorePath::prepare(&format!(
            "{folder}/store-{round}.sqlite"
        )))?);
    }
    let store_ms = best_ms(rounds, |round| {
        block_on(stores[round as usize].receive(stored))
    })?;
    println!(
        "{{\"sendPathMs\":{send_ms:.3},\"attachmentMs\":{attachment_ms:.3},\"storeMs\":{store_ms:.3}}}"
    );
    Ok(())
}
