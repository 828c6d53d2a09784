//! Gives libsotto.so its soname: `libsotto.so.<ABI major>`, so a host linked against one
//! major version never loads another.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/abi.rs");
    let abi = std::fs::read_to_string("src/abi.rs").expect("ffi/src/abi.rs");
    let major = abi
        .lines()
        .find_map(|line| line.strip_prefix("pub const SOTTO_ABI_VERSION_MAJOR: u32 = "))
        .and_then(|rest| rest.strip_suffix(';'))
        .expect("SOTTO_ABI_VERSION_MAJOR in src/abi.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsotto.so.{major}");
    }
}
