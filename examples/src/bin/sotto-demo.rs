//! The core demo: two parties in one process (filled in below).
fn main() {}
