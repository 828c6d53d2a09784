//! Generates the content-frame and invitation types from `proto/*.proto` (needs `protoc`,
//! which libsignal requires too).

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=proto/content.proto");
    println!("cargo:rerun-if-changed=proto/invitation.proto");
    prost_build::Config::new().compile_protos(
        &["proto/content.proto", "proto/invitation.proto"],
        &["proto"],
    )
}
