//! `sotto-relay --data-dir DIR`: the relay binary, on the system's clock. Everything lives in
//! the library (`sotto_relay::launch`).

use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    sotto_relay::launch::main(Arc::new(sotto_relay::SystemClock))
}
