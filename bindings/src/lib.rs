//! Placeholder: this crate will hold Sotto's UniFFI facade for Python, Kotlin and Swift.
//! It exports nothing yet.
