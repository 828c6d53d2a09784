//! Types generated from `proto/*.proto`. Internal: the public API exposes validated Rust
//! types (`content::Content`, `attachment::AttachmentPointer`, `invitation::Invitation`)
//! instead.

#![allow(missing_docs, dead_code, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/sotto.content.rs"));

/// The invitation schema (`proto/invitation.proto`).
pub mod invitation {
    #![allow(missing_docs, dead_code, clippy::all)]
    include!(concat!(env!("OUT_DIR"), "/sotto.invitation.rs"));
}
