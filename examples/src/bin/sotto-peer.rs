//! The Rust peer of the bindings' interoperability test (`bindings/tests/interop`): one
//! profile on the `Messenger` handle, driven by lines on standard input and answering on
//! standard output, in the protocol `bindings/tests/interop/peer.py` describes (the peers in
//! Python, C and Kotlin speak it too).
//!
//! usage: sotto-peer <profile folder> <relay>...

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sotto_core::client::AttachmentKind;
use sotto_core::contacts::ContactId;
use sotto_core::content::{Body, Content};
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::{Event, OwnedProtection};
use sotto_core::relay::RelayAddress;
use sotto_core::store::{Argon2Params, ProfileDirectory, SqlCipherStore};
use sotto_core::{ClientSettings, Messenger};
use tokio::sync::{Notify, mpsc};

/// What the event loop saw, for the commands that wait for it.
#[derive(Default)]
struct Seen {
    inbox: Vec<(ContactId, Content)>,
    added: VecDeque<ContactId>,
    ready: Vec<ContactId>,
}

type Shared = Arc<(Mutex<Seen>, Notify)>;

/// Waits until `find` finds something in what was seen.
async fn until<T>(shared: &Shared, mut find: impl FnMut(&mut Seen) -> Option<T>) -> T {
    loop {
        let notified = shared.1.notified();
        if let Some(found) = find(&mut shared.0.lock().expect("lock")) {
            return found;
        }
        notified.await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (folder, relays) = args
        .split_first()
        .ok_or("usage: sotto-peer <folder> <relay>...")?;
    let relays = relays
        .iter()
        .map(|r| RelayAddress::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let messenger: Messenger<SqlCipherStore> = Messenger::create(
        ProfileDirectory::new(PathBuf::from(folder)),
        OwnedProtection::Passphrase {
            passphrase: "interop".to_owned().into(),
            params: Argon2Params::new(8 * 1024, 1, 1)?,
        },
        ClientSettings::new(relays, "rust"),
    )
    .await?;
    let shared: Shared = Arc::default();
    let mut events = messenger.subscribe();
    let pump = Arc::clone(&shared);
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            {
                let mut seen = pump.0.lock().expect("lock");
                match event {
                    Event::MessageReceived { contact, content } => {
                        seen.inbox.push((contact, content))
                    }
                    Event::ContactAdded { contact, .. } => seen.added.push_back(contact),
                    Event::ContactReady { contact } => seen.ready.push(contact),
                    _ => {}
                }
            }
            pump.1.notify_waiters();
        }
    });
    messenger.start().await?;
    println!("ready {}", messenger.identity().to_text());

    // Standard input on a thread of its own (blocking reads), line by line.
    let (send_line, mut lines) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if send_line.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((command, args)) = words.split_first() else {
            continue;
        };
        match (*command, args) {
            ("invite", []) => println!("link {}", messenger.create_invitation().await?.link()),
            ("accept", [link]) => {
                let contact = messenger.accept_link(&InvitationLink::parse(link)?).await?;
                until(&shared, |seen| seen.ready.contains(&contact).then_some(())).await;
                println!("contact {}", contact.as_str());
            }
            ("await-contact", []) => {
                let contact = until(&shared, |seen| seen.added.pop_front()).await;
                println!("contact {}", contact.as_str());
            }
            ("send", [contact, text]) => {
                let id = messenger.send_text(&ContactId::new(*contact), text).await?;
                println!("sent {id}");
            }
            ("send-file", [contact, path, name]) => {
                let kind = AttachmentKind::File {
                    name: (*name).to_owned(),
                    mime: "application/octet-stream".to_owned(),
                };
                let id = messenger
                    .send_attachment(&ContactId::new(*contact), Path::new(path), kind)
                    .await?;
                println!("sent {id}");
            }
            ("expect", [contact, text]) => {
                until(&shared, |seen| {
                    seen.inbox
                        .iter()
                        .any(|(c, m)| {
                            c.as_str() == *contact && m.body == Body::Text((*text).to_owned())
                        })
                        .then_some(())
                })
                .await;
                println!("got");
            }
            ("expect-file", [contact, name, destination]) => {
                let id = until(&shared, |seen| {
                    seen.inbox.iter().find_map(|(c, m)| match &m.body {
                        Body::File(file) if c.as_str() == *contact && file.name == *name => {
                            Some(m.id)
                        }
                        _ => None,
                    })
                })
                .await;
                let size = messenger
                    .download_attachment(&ContactId::new(*contact), &id, Path::new(destination))
                    .await?;
                println!("got {size}");
            }
            ("quit", []) => {
                messenger.shutdown().await?;
                println!("bye");
                return Ok(());
            }
            _ => println!("error unknown command {line}"),
        }
    }
    Ok(())
}
