//! A native Rust profile for the npm package's interoperability test
//! (`wasm/tests/node/native.test.mjs`): the core's `Messenger` in a profile directory,
//! driven line by line on standard input, every answer and event one JSON line on standard
//! output. The same relays as the JavaScript side, reached natively (TLS pinned, CONNECT
//! through a proxy relay, 3-hop onion paths).
//!
//! `sotto-test-peer <profile folder> <relay address>...`, then commands:
//! `invite` · `accept <link>` · `text <contact> <text>` ·
//! `attach <contact> image|file|voiceClip <path>` · `download <contact> <id> <path>` ·
//! `quit`. Answers: `{"invitation":…}`, `{"contact":…}`, `{"sent":…}`, `{"downloaded":…}`,
//! `{"error":{"code":…,"message":…}}`; events: `{"event":"messageReceived",…}` and so on.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_executor::block_on;
use serde_json::{Value, json};
use sotto_core::client::{AttachmentKind, ClientSettings};
use sotto_core::contacts::ContactId;
use sotto_core::content::{Body, MessageId};
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::OwnedProtection;
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, SqlCipherStore};
use sotto_core::{DeliveryStatus, Event, Messenger};

/// Standard output, shared by the answers and the event thread (one line at a time).
type Out = Arc<Mutex<std::io::Stdout>>;

fn say(out: &Out, value: Value) {
    let mut out = out
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn status(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Sending => "sending",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Read => "read",
        DeliveryStatus::Failed => "failed",
    }
}

/// An event as the test reads it (the kinds it waits for; others by name only).
fn event(event: &Event) -> Value {
    match event {
        Event::MessageReceived { contact, content } => {
            let (kind, detail) = match &content.body {
                Body::Text(text) => ("text", json!(text)),
                Body::Image(image) => (
                    "image",
                    json!({ "mime": image.mime, "width": image.width, "height": image.height }),
                ),
                Body::File(file) => (
                    "file",
                    json!({ "name": file.name, "mime": file.mime, "size": file.size }),
                ),
                Body::VoiceClip(clip) => (
                    "voiceClip",
                    json!({ "durationMs": clip.duration_ms, "codec": clip.codec }),
                ),
                other => {
                    let kind = other.kind().to_string();
                    return json!({ "event": "messageReceived", "contact": contact.to_string(),
                                   "messageId": content.id.to_string(), "kind": kind });
                }
            };
            json!({ "event": "messageReceived", "contact": contact.to_string(),
                    "messageId": content.id.to_string(), "kind": kind, "detail": detail })
        }
        Event::StatusChanged {
            contact,
            message_ids,
            status: new,
        } => json!({
            "event": "statusChanged", "contact": contact.to_string(),
            "messageIds": message_ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "status": status(*new),
        }),
        Event::ContactAdded { contact, .. } => {
            json!({ "event": "contactAdded", "contact": contact.to_string() })
        }
        Event::ContactReady { contact } => {
            json!({ "event": "contactReady", "contact": contact.to_string() })
        }
        other => {
            json!({ "event": format!("{other:?}").split([' ', '{', '(']).next().unwrap_or("other") })
        }
    }
}

fn contact(text: &str) -> Result<ContactId, String> {
    ContactId::parse(text).ok_or_else(|| format!("not a contact id: {text}"))
}

fn kind(name: &str, path: &std::path::Path) -> Result<AttachmentKind, String> {
    Ok(match name {
        "image" => AttachmentKind::Image {
            mime: "image/png".into(),
            width: 32,
            height: 16,
            thumbnail: Vec::new(),
        },
        "file" => AttachmentKind::File {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            mime: "application/pdf".into(),
        },
        "voiceClip" => AttachmentKind::VoiceClip {
            duration_ms: 1_500,
            codec: "opus".into(),
            waveform: vec![1, 2, 3],
        },
        other => return Err(format!("not an attachment kind: {other}")),
    })
}

/// Runs one command; its answer.
fn run(messenger: &Messenger<SqlCipherStore>, line: &str) -> Result<Value, sotto_core::Error> {
    let words: Vec<&str> = line.splitn(4, ' ').collect();
    let invalid = |why: String| sotto_core::Error::Internal(why);
    Ok(match words.as_slice() {
        ["invite"] => json!({ "invitation": block_on(messenger.create_invitation())?.link() }),
        ["accept", link] => {
            let invitation = InvitationLink::parse(link)?;
            json!({ "contact": block_on(messenger.accept_link(&invitation))?.to_string() })
        }
        ["text", to, text @ ..] => {
            let id =
                block_on(messenger.send_text(&contact(to).map_err(invalid)?, &text.join(" ")))?;
            json!({ "sent": id.to_string() })
        }
        ["attach", to, what, path] => {
            let path = PathBuf::from(path);
            let kind = kind(what, &path).map_err(invalid)?;
            let id =
                block_on(messenger.send_attachment(&contact(to).map_err(invalid)?, path, kind))?;
            json!({ "sent": id.to_string() })
        }
        ["download", from, id, path] => {
            let id = MessageId::from_hex(id)
                .ok_or_else(|| invalid(format!("not a message id: {id}")))?;
            let size = block_on(messenger.download_attachment(
                &contact(from).map_err(invalid)?,
                &id,
                std::path::Path::new(path),
            ))?;
            json!({ "downloaded": size })
        }
        _ => return Err(invalid(format!("unknown command: {line}"))),
    })
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let folder = args
        .next()
        .ok_or("usage: sotto-test-peer <profile folder> <relay>...")?;
    let relays = args
        .map(|a| RelayAddress::parse(&a).map_err(|e| format!("{a}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = ClientSettings::new(relays, "native");
    let protection = OwnedProtection::Passphrase {
        passphrase: "native peer".to_owned().into(),
        params: Argon2Params::new(8 * 1024, 1, 1).map_err(|e| e.to_string())?,
    };
    let messenger = block_on(Messenger::create(
        ProfileDirectory::new(folder),
        protection,
        settings,
    ))
    .map_err(|e| e.to_string())?;
    let out: Out = Arc::new(Mutex::new(std::io::stdout()));
    let mut events = messenger.subscribe();
    let printer = {
        let out = Arc::clone(&out);
        std::thread::spawn(move || {
            while let Some(e) = block_on(events.next()) {
                say(&out, event(&e));
            }
        })
    };
    block_on(messenger.start()).map_err(|e| e.to_string())?;
    say(&out, json!({ "ready": true }));
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line == "quit" {
            break;
        }
        match run(&messenger, &line) {
            Ok(answer) => say(&out, answer),
            Err(e) => say(
                &out,
                json!({ "error": { "code": e.code() as u32, "message": e.to_string() } }),
            ),
        }
    }
    block_on(messenger.shutdown()).map_err(|e| e.to_string())?;
    let _ = printer.join();
    Ok(())
}
