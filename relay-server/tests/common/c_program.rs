//! Building C programs against the C ABI (`include/sotto.h`, the `libsotto.so` Cargo built
//! for the `sotto-ffi` dev-dependency): for the C tests and the C ABI's benchmark.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// `libsotto.so` as Cargo built it: beside the test binary (`target/<profile>/deps`), the
/// cdylib of the `sotto-ffi` dev-dependency.
pub fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let library = exe.parent().expect("its folder").join("libsotto.so");
    assert!(library.is_file(), "no {}", library.display());
    library
}

/// A `lib/` folder laid out as an installation would be: the library under its soname
/// (`libsotto.so.0`, what programs load) and the development name (`libsotto.so`, what the
/// linker finds).
pub fn installed_library(root: &Path) -> PathBuf {
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
pub fn compile(compiler: &str, source: &str, output: &Path, extra: &[&str]) {
    compile_file(
        compiler,
        &workspace().join("ffi/tests/c").join(source),
        output,
        extra,
    );
}

/// Compiles the C file at `source` into `output` against `include/sotto.h` and the built
/// `libsotto.so` (found at run time through an rpath), with warnings as errors.
pub fn compile_file(compiler: &str, source: &Path, output: &Path, extra: &[&str]) {
    let libs = installed_library(output.parent().expect("a folder"));
    let status = Command::new(compiler)
        .args(extra)
        .args(["-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(workspace().join("include"))
        .arg(source)
        .arg("-o")
        .arg(output)
        .arg("-L")
        .arg(&libs)
        .arg(format!("-Wl,-rpath,{}", libs.display()))
        .args(["-lsotto", "-lpthread"])
        .status()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(
        status.success(),
        "{compiler} failed on {}",
        source.display()
    );
}
