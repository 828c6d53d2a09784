//! Placeholder: this crate will hold Sotto's wasm-bindgen facade and npm package.
//! It exports nothing yet.
