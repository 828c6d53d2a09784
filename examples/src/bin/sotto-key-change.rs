//! A test tool for the identity-key-change warning (`examples/web/tests/cli.test.mjs`): the
//! person of a closed profile comes back under a new identity, as after a reinstall (or as a
//! stranger holding that person's queue would), and writes to one of the profile's contacts.
//!
//! It opens the profile in `<profile folder>` (passphrase from the environment variable
//! named by `<passphrase variable>`) to learn where that person writes to the contact named
//! `<contact name>` (the queue's send capability), and the contact's prekey bundle from a
//! fresh invitation link of the contact (`<link>`, either form). Then a new identity, in
//! memory, starts a session with that bundle, seals `<text>` and writes the packet straight
//! into the queue (TLS to the queue's relay). The contact's app receives it from the queue
//! it reads for that person, sees another identity key than the trusted one and warns.
//!
//! usage: sotto-key-change <profile folder> <passphrase variable> <contact name> <link> <text>
//!
//! Prints `{"written":true}` on success; on an error, the error and exit status 1.

use std::process::ExitCode;
use std::time::SystemTime;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sotto_core::Profile;
use sotto_core::content::Body;
use sotto_core::invitation::InvitationLink;
use sotto_core::store::{MemoryStore, ProfileDirectory};
use sotto_core::transport::RelayClient;
use sotto_core::{Client, ClientSettings};

/// What the command line names.
struct Arguments {
    profile: ProfileDirectory,
    passphrase: String,
    contact_name: String,
    link: InvitationLink,
    text: String,
}

fn arguments() -> Result<Arguments, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [profile, variable, contact_name, link, text] = &args[..] else {
        return Err(
            "usage: sotto-key-change <profile folder> <passphrase variable> <contact name> \
             <link> <text>"
                .into(),
        );
    };
    let passphrase =
        std::env::var(variable).map_err(|_| format!("the variable {variable} is not set"))?;
    let link = InvitationLink::parse(link).map_err(|e| format!("the link: {e}"))?;
    Ok(Arguments {
        profile: ProfileDirectory::new(profile),
        passphrase,
        contact_name: contact_name.clone(),
        link,
        text: text.clone(),
    })
}

async fn run(arguments: Arguments) -> Result<(), String> {
    let mut rng = StdRng::from_os_rng();
    // The old identity's profile: where it writes to the contact, and the contact's bundle.
    let mut old = Client::open(
        &arguments.profile,
        Some(&arguments.passphrase),
        ClientSettings::new(Vec::new(), ""),
    )
    .await
    .map_err(|e| format!("opening the profile: {e}"))?;
    let contacts = old.contacts().await.map_err(|e| e.to_string())?;
    let contact = contacts
        .iter()
        .find(|c| c.display_name.as_deref() == Some(arguments.contact_name.as_str()))
        .ok_or_else(|| format!("no contact is named {}", arguments.contact_name))?;
    let queue = old
        .profile()
        .send_queue(&contact.id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the profile has no queue to write to that contact yet")?;
    let invitation = old
        .resolve_link(&arguments.link)
        .await
        .map_err(|e| format!("the invitation: {e}"))?;
    if invitation.inviter() != &contact.identity {
        return Err(format!(
            "the link is not an invitation of {}",
            arguments.contact_name
        ));
    }
    drop(old);

    // The new identity seals a message to the contact and writes it into the old queue.
    let now = SystemTime::now();
    let mut new = Profile::create(MemoryStore::new(), None, now, &mut rng)
        .await
        .map_err(|e| e.to_string())?;
    new.start_session(invitation.bundle(), now, &mut rng)
        .await
        .map_err(|e| e.to_string())?;
    let contact_at_new = new
        .add_contact(invitation.inviter(), None)
        .await
        .map_err(|e| e.to_string())?;
    let sent = new
        .send(&contact_at_new, Body::Text(arguments.text), now, &mut rng)
        .await
        .map_err(|e| e.to_string())?;
    let packet = sent.packet.ok_or("the new identity sealed no packet")?;
    RelayClient::new(queue.relay.clone())
        .map_err(|e| e.to_string())?
        .send(&queue, &packet, now, &mut rng)
        .await
        .map_err(|e| format!("writing to the queue: {e}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let outcome = arguments().and_then(|arguments| {
        tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())?
            .block_on(run(arguments))
    });
    match outcome {
        Ok(()) => {
            println!("{{\"written\":true}}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sotto-key-change: {error}");
            ExitCode::FAILURE
        }
    }
}
