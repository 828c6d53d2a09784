//! Types generated from `proto/content.proto`. Internal: the public API exposes validated
//! Rust types (`content::Content`, `attachment::AttachmentPointer`) instead.

#![allow(missing_docs, dead_code, clippy::all)]

include!(concat!(env!("OUT_DIR"), "/sotto.content.rs"));
