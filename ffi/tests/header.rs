//! The checked-in `include/sotto.h` is exactly what cbindgen makes from `ffi/src` now.
//! After changing the ABI, write it anew with
//! `SOTTO_WRITE_HEADER=1 cargo test -p sotto-ffi --test header`.

use std::path::Path;

#[test]
fn the_checked_in_header_is_what_cbindgen_makes_now() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = crate_dir.join("../include/sotto.h");
    if std::env::var_os("SOTTO_WRITE_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/sotto.h");
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/sotto.h differs from what cbindgen makes from ffi/src: write it anew with \
         `SOTTO_WRITE_HEADER=1 cargo test -p sotto-ffi --test header` and review the diff"
    );
}
