//! The C ABI as a C program uses it: `ffi/tests/c/*.c` are compiled with the system's C
//! compiler against `include/sotto.h` and `libsotto.so`, then run against real relay
//! processes. A C++ translation unit includes the header too.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "common/people.rs"]
mod people;
#[path = "common/process.rs"]
mod process;
use people::Relay;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// `libsotto.so` as Cargo built it: beside the test binary (`target/<profile>/deps`), the
/// cdylib of the `sotto-ffi` dev-dependency.
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let library = exe.parent().expect("its folder").join("libsotto.so");
    assert!(library.is_file(), "no {}", library.display());
    library
}

/// A `lib/` folder laid out as an installation would be: the library under its soname
/// (`libsotto.so.0`, what programs load) and the development name (`libsotto.so`, what the
/// linker finds).
fn installed_library(root: &Path) -> PathBuf {
    let lib = root.join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let built = built_library();
    for name in ["libsotto.so.0", "libsotto.so"] {
        let link = lib.join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(&built, &link).unwrap();
        }
    }
    lib
}

/// Compiles `source` (in `ffi/tests/c/`) into `output` with warnings as errors.
fn compile(compiler: &str, source: &str, output: &Path, extra: &[&str]) {
    let libs = installed_library(output.parent().expect("a folder"));
    let status = Command::new(compiler)
        .args(extra)
        .args(["-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(workspace().join("include"))
        .arg(workspace().join("ffi/tests/c").join(source))
        .arg("-o")
        .arg(output)
        .arg("-L")
        .arg(&libs)
        .arg(format!("-Wl,-rpath,{}", libs.display()))
        .args(["-lsotto", "-lpthread"])
        .status()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(status.success(), "{compiler} failed on {source}");
}

#[test]
fn two_profiles_meet_and_talk_through_the_c_abi_and_every_error_has_its_code() {
    let root = people::tempdir("sotto-c-abi-");
    let relays: Vec<Relay> = (1..=5)
        .map(|n| {
            Relay::start_with(
                root.path(),
                &format!("relay-{n}"),
                &["--allow-private-hops"],
            )
        })
        .collect();
    let program = root.path().join("conversation");
    compile("cc", "conversation.c", &program, &["-std=c11"]);
    let scratch = root.path().join("people");
    std::fs::create_dir(&scratch).unwrap();
    let output = Command::new(&program)
        .arg(&scratch)
        .args(relays.iter().map(|relay| relay.address.to_string()))
        .output()
        .expect("run the C program");
    assert!(
        output.status.success(),
        "the C program failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "conversation: ok\n"
    );
}

#[test]
fn the_library_carries_the_soname_of_its_abi_major_version() {
    let output = Command::new("readelf")
        .arg("-d")
        .arg(built_library())
        .output()
        .expect("run readelf");
    let dynamic = String::from_utf8_lossy(&output.stdout);
    assert!(
        dynamic.contains("Library soname: [libsotto.so.0]"),
        "readelf -d:\n{dynamic}"
    );
}

#[test]
fn the_header_compiles_as_c_plus_plus_too() {
    let root = people::tempdir("sotto-c-abi-");
    let object = root.path().join("header.o");
    let status = Command::new("c++")
        .args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-c"])
        .arg("-I")
        .arg(workspace().join("include"))
        .arg(workspace().join("ffi/tests/c/header.cpp"))
        .arg("-o")
        .arg(&object)
        .status()
        .expect("run c++");
    assert!(status.success(), "c++ failed on the header");
}
