//! Placeholder: this crate will hold Sotto's stable C ABI (opaque handles, status codes,
//! `include/sotto.h` from cbindgen). It exports nothing yet.
