//! Generates the content-frame types from `proto/content.proto` (needs `protoc`, which
//! libsignal requires too).

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=proto/content.proto");
    prost_build::Config::new().compile_protos(&["proto/content.proto"], &["proto"])
}
