//! `uniffi-bindgen`, pinned by the workspace's lock file (the one on PyPI lags behind):
//! `cargo run -p uniffi-bindgen -- generate <libsotto_uniffi.so> --language python
//! --out-dir DIR`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
