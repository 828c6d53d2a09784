//! The commands: each opens the profile, asks the handle, prints, closes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::ProgressBar;
use serde_json::json;
use sotto_core::client::json::{body_json, history_json, status_name};
use sotto_core::client::{CoverTraffic, HistoryFrom, HistoryMessage, SendRoute};
use sotto_core::contacts::{Contact, ContactId};
use sotto_core::content::{Body, Content, MessageId};
use sotto_core::invitation::InvitationLink;
use sotto_core::messenger::{NetworkSettings, OwnedProtection};
use sotto_core::qr::QrCode;
use sotto_core::relay::RelayAddress;
use sotto_core::safety::Comparison;
use sotto_core::store::{Argon2Params, MessageDirection, ProfileDirectory};
use sotto_core::{ClientSettings, DeliveryStatus, Event, Messenger};

use crate::args::{Command, PassphraseSource, RelayAction};
use crate::output::{Class, Failure, Output, terminal_qr};
use crate::profile::{self, Handle};

/// How long `send-file` waits without any progress before it calls the network gone.
const STALL: Duration = Duration::from_secs(120);

/// Runs one command to its end (the messenger closed, every change durable).
pub async fn run(
    command: Command,
    directory: ProfileDirectory,
    passphrase: &PassphraseSource,
    output: Output,
) -> Result<(), Failure> {
    if let Command::Init {
        name,
        relays,
        hops,
        delay_ms,
        cover,
        keychain,
    } = command
    {
        let protection = profile::protection(passphrase, keychain)?;
        let mut settings = ClientSettings::new(parse_relays(&relays)?, name.unwrap_or_default());
        settings.route = route(hops, delay_ms);
        settings.cover = cover.then(CoverTraffic::default);
        let messenger = Messenger::create(directory.clone(), protection, settings).await?;
        let identity = messenger.identity().to_text();
        messenger.shutdown().await?;
        output.result(
            || format!("Made a profile in {}.", directory.root().display()),
            json!({ "profile": directory.root(), "identity": identity }),
        );
        return Ok(());
    }
    let messenger = profile::open(&directory, passphrase).await?;
    let result = dispatch(command, &messenger, output).await;
    messenger.shutdown().await?;
    result
}

async fn dispatch(command: Command, messenger: &Handle, output: Output) -> Result<(), Failure> {
    match command {
        Command::Relay { action } => relay(messenger, action, None, output).await,
        Command::Invite { qr_png } => invite(messenger, qr_png.as_deref(), output).await,
        Command::Accept { link, name } => accept(messenger, &link, name, output).await,
        Command::Contacts => contacts(messenger, output).await,
        Command::Rename { contact, name } => {
            let contact = resolve(messenger, &contact).await?;
            messenger
                .rename_contact(&contact.id, Some(name.clone()))
                .await?;
            output.result(
                || format!("Renamed {} to {name}.", contact.id.as_str()),
                json!({ "contact": contact.id.as_str(), "name": name }),
            );
            Ok(())
        }
        Command::Send { contact, text } => {
            let contact = resolve(messenger, &contact).await?;
            let mut events = messenger.subscribe();
            let id = messenger.send_text(&contact.id, &text).await?;
            let report = messenger.sync().await?;
            let sent = drain(&mut events)
                .iter()
                .any(|event| is_status(event, &id, DeliveryStatus::Sent));
            sent_or_queued(&contact, id, sent, report.unreachable, output)
        }
        Command::SendFile {
            contact,
            path,
            image,
            voice,
        } => send_file(messenger, &contact, &path, image, voice, output).await,
        Command::Receive {
            follow,
            wait,
            download_dir,
            no_download,
            keep_unread,
        } => {
            let options = Receiving {
                download_dir: (!no_download).then_some(download_dir),
                mark_read: !keep_unread,
                output,
                failed_download: Mutex::new(None),
            };
            if follow {
                receive_follow(messenger, &options).await
            } else {
                receive_once(messenger, &options, wait.map(Duration::from_secs)).await
            }
        }
        Command::Download {
            contact,
            message,
            to,
        } => {
            let contact = resolve(messenger, &contact).await?;
            let id = message_id(&message)?;
            let found = messenger.message(&contact.id, &id).await?;
            let progress = Progress::watch(messenger, output);
            let path = download(messenger, &progress, &contact.id, &found.content, &to).await?;
            output.result(
                || format!("Saved {}.", path.display()),
                json!({ "message_id": message, "path": path }),
            );
            Ok(())
        }
        Command::History {
            contact,
            limit,
            before,
        } => {
            let contact = resolve(messenger, &contact).await?;
            let from = match before {
                Some(id) => HistoryFrom::Before(message_id(&id)?),
                None => HistoryFrom::Newest,
            };
            let mut page = messenger.history(&contact.id, from, limit).await?;
            page.reverse();
            print_messages(&contact, &page, output);
            Ok(())
        }
        Command::Search {
            contact,
            query,
            limit,
        } => {
            let contact = resolve(messenger, &contact).await?;
            let found = messenger.search(&contact.id, &query, limit).await?;
            print_messages(&contact, &found, output);
            Ok(())
        }
        Command::Delete { contact, message } => {
            let contact = resolve(messenger, &contact).await?;
            let id = message_id(&message)?;
            messenger.delete_message(&contact.id, &id).await?;
            output.result(
                || format!("Deleted {id} on this device."),
                json!({ "contact": contact.id.as_str(), "message_id": message, "deleted": true }),
            );
            Ok(())
        }
        Command::Forget { contact } => {
            let contact = resolve(messenger, &contact).await?;
            messenger.forget_contact(&contact.id).await?;
            output.result(
                || {
                    format!(
                        "Forgot {} and everything stored for them.",
                        name_of(&contact)
                    )
                },
                json!({ "contact": contact.id.as_str(), "forgotten": true }),
            );
            Ok(())
        }
        Command::Route {
            hops,
            delay_ms,
            cover,
        } => {
            let mut settings = messenger.network_settings().await?;
            if hops.is_some() || delay_ms.is_some() {
                let current_hops = match settings.route {
                    SendRoute::Direct => 0,
                    SendRoute::Onion { hops, .. } => hops,
                };
                let current_delay = match settings.route {
                    SendRoute::Onion { mean_delay, .. } => Some(mean_delay.as_millis() as u64),
                    SendRoute::Direct => None,
                };
                settings.route = route(hops.unwrap_or(current_hops), delay_ms.or(current_delay));
            }
            if let Some(cover) = cover {
                settings.cover = (cover == "on").then(|| settings.cover.unwrap_or_default());
            }
            relay(messenger, RelayAction::List, Some(settings), output).await
        }
        Command::ChangePassphrase { new_passphrase_env } => {
            let passphrase = profile::new_passphrase(new_passphrase_env.as_deref())?;
            messenger
                .change_protection(OwnedProtection::Passphrase {
                    passphrase,
                    params: Argon2Params::default(),
                })
                .await?;
            output.result(
                || "Changed the passphrase: the next command needs the new one.".to_owned(),
                json!({ "passphrase_changed": true }),
            );
            Ok(())
        }
        Command::Safety { contact, qr_png } => safety(messenger, &contact, qr_png, output).await,
        Command::Verify { contact, code } => verify(messenger, &contact, &code, output).await,
        Command::AcceptKey { contact } => accept_key(messenger, &contact, output).await,
        Command::Init { .. } => unreachable!("made before a profile is opened"),
    }
}

/// The messages of a conversation, one per line.
fn print_messages(contact: &Contact, messages: &[HistoryMessage], output: Output) {
    for message in messages {
        output.result(
            || {
                let arrow = match message.direction {
                    MessageDirection::Incoming => "<",
                    MessageDirection::Outgoing => ">",
                };
                format!(
                    "{arrow} {} [{}] {}",
                    message.content.id,
                    status_name(message.shown_status()),
                    describe(&message.content.body)
                )
            },
            json!({ "contact": contact.id.as_str(), "message": history_json(message) }),
        );
    }
}

async fn safety(
    messenger: &Handle,
    contact: &str,
    qr_png: Option<PathBuf>,
    output: Output,
) -> Result<(), Failure> {
    let contact = resolve(messenger, contact).await?;
    let number = messenger.safety_number(&contact.id).await?;
    if let Some(path) = qr_png {
        write_file(&path, &number.qr_png().map_err(sotto_core::Error::from)?)?;
    }
    let qr = QrCode::encode(number.scannable()).map_err(sotto_core::Error::from)?;
    let groups = number.digit_groups();
    output.result(
        || {
            let rows: Vec<String> = groups.chunks(4).map(|row| row.join(" ")).collect();
            format!(
                "Safety number with {}:\n\n{}\n\n{}\nCompare it with theirs (or let them \
                 run `sotto verify`).",
                name_of(&contact),
                rows.join("\n"),
                terminal_qr(&qr)
            )
        },
        json!({
            "contact": contact.id.as_str(),
            "digits": number.digits(),
            "verified": contact.verified,
        }),
    );
    Ok(())
}

async fn verify(
    messenger: &Handle,
    contact: &str,
    code: &str,
    output: Output,
) -> Result<(), Failure> {
    let contact = resolve(messenger, contact).await?;
    let number = messenger.safety_number(&contact.id).await?;
    match number
        .compare_typed(code)
        .map_err(sotto_core::Error::from)?
    {
        Comparison::Match => {
            messenger.mark_verified(&contact.id).await?;
            output.result(
                || format!("Verified {}.", name_of(&contact)),
                json!({ "contact": contact.id.as_str(), "verified": true }),
            );
            Ok(())
        }
        _ => Err(Failure::new(
            Class::Safety,
            format!(
                "the safety numbers differ: {} is not verified (you may be talking to someone \
                 else, or one of you typed a wrong number)",
                name_of(&contact)
            ),
        )),
    }
}

async fn accept_key(messenger: &Handle, contact: &str, output: Output) -> Result<(), Failure> {
    let contact = resolve(messenger, contact).await?;
    messenger.accept_identity_key(&contact.id).await?;
    let report = messenger.sync().await?;
    output.result(
        || {
            format!(
                "Accepted the new key of {}; compare safety numbers again.",
                name_of(&contact)
            )
        },
        json!({ "contact": contact.id.as_str(), "accepted": true, "sent": report.sent }),
    );
    Ok(())
}

/// A message id as the user typed it.
fn message_id(text: &str) -> Result<MessageId, Failure> {
    MessageId::from_hex(text)
        .ok_or_else(|| Failure::new(Class::Invalid, format!("{text} is not a message id")))
}

fn parse_relays(texts: &[String]) -> Result<Vec<RelayAddress>, Failure> {
    texts
        .iter()
        .map(|text| {
            RelayAddress::parse(text).map_err(|e| {
                Failure::new(
                    Class::Invalid,
                    format!("{text} is not a relay address: {e}"),
                )
            })
        })
        .collect()
}

fn route(hops: usize, delay_ms: Option<u64>) -> SendRoute {
    if hops == 0 {
        return SendRoute::Direct;
    }
    let SendRoute::Onion { mean_delay, .. } = SendRoute::default() else {
        return SendRoute::Direct;
    };
    SendRoute::Onion {
        hops,
        mean_delay: delay_ms.map_or(mean_delay, Duration::from_millis),
    }
}

/// Changes the relay list as `action` says, starting from `settings` when given (else the
/// ones in force), saves the result if anything changed and prints what is in force.
async fn relay(
    messenger: &Handle,
    action: RelayAction,
    settings: Option<NetworkSettings>,
    output: Output,
) -> Result<(), Failure> {
    let changed = settings.is_some() || !matches!(action, RelayAction::List);
    let mut settings = match settings {
        Some(settings) => settings,
        None => messenger.network_settings().await?,
    };
    match action {
        RelayAction::Add { address } => {
            let relay = parse_relays(std::slice::from_ref(&address))?.remove(0);
            if !settings.relays.contains(&relay) {
                settings.relays.push(relay);
            }
        }
        RelayAction::Remove { address } => {
            let relay = parse_relays(std::slice::from_ref(&address))?.remove(0);
            let before = settings.relays.len();
            settings.relays.retain(|r| *r != relay);
            if settings.relays.len() == before {
                return Err(Failure::new(
                    Class::NotFound,
                    format!("{address} is not one of this profile's relays"),
                ));
            }
        }
        RelayAction::List => {}
    }
    if changed {
        // Settings that cannot work are the user's input, not the network's fault.
        settings
            .route
            .check(settings.relays.len())
            .map_err(|e| Failure::new(Class::Invalid, e.to_string()))?;
        if let Some(cover) = &settings.cover {
            cover
                .validate()
                .map_err(|e| Failure::new(Class::Invalid, e.to_owned()))?;
        }
        messenger.set_network_settings(settings.clone()).await?;
    }
    let relays: Vec<String> = settings.relays.iter().map(ToString::to_string).collect();
    let route = match settings.route {
        SendRoute::Direct => json!({ "hops": 0 }),
        SendRoute::Onion { hops, mean_delay } => {
            json!({ "hops": hops, "mean_delay_ms": mean_delay.as_millis() as u64 })
        }
    };
    let cover_per_day = settings.cover.map(|cover| cover.bytes_per_day() / 1e6);
    output.result(
        || {
            let mut text = relays.join("\n");
            text.push_str(&format!(
                "\nroute: {}\ncover traffic: {}",
                match settings.route {
                    SendRoute::Direct => "direct (the mailbox relay sees your address)".into(),
                    SendRoute::Onion { hops, mean_delay } => format!(
                        "{hops} hops, {} ms mean delay per hop",
                        mean_delay.as_millis()
                    ),
                },
                cover_per_day.map_or_else(
                    || "off".to_owned(),
                    |mb| format!("on while `receive --follow` runs, about {mb:.0} MB a day")
                )
            ));
            text
        },
        json!({
            "relays": relays,
            "route": route,
            "cover": settings.cover.is_some(),
            "cover_mb_per_day": cover_per_day,
        }),
    );
    Ok(())
}

async fn invite(messenger: &Handle, qr_png: Option<&Path>, output: Output) -> Result<(), Failure> {
    let invitation = messenger.create_invitation().await?;
    // The short link (the full invitation sealed on the relay); `full_link` works without
    // the relay's copy, until it is used.
    let link = invitation.link();
    if let Some(path) = qr_png {
        write_file(
            path,
            &invitation.link_qr_png().map_err(sotto_core::Error::from)?,
        )?;
    }
    let qr = QrCode::encode(link.as_bytes()).map_err(sotto_core::Error::from)?;
    output.result(
        || {
            format!(
                "{}\n{link}\n\nGive the link (or the QR code) to one person; it works once, \
                 within two days. They become your contact when `sotto receive` runs here \
                 after they accept.",
                terminal_qr(&qr)
            )
        },
        json!({
            "link": link,
            "full_link": invitation.to_uri(),
            "qr_version": qr.version(),
            "qr_png": qr_png,
        }),
    );
    Ok(())
}

async fn accept(
    messenger: &Handle,
    link: &str,
    name: Option<String>,
    output: Output,
) -> Result<(), Failure> {
    let invitation = InvitationLink::parse(link).map_err(sotto_core::Error::from)?;
    let contact = messenger.accept_link(&invitation).await?;
    if let Some(name) = &name {
        messenger
            .rename_contact(&contact, Some(name.clone()))
            .await?;
    }
    output.result(
        || {
            format!(
                "Accepted: contact {}{}. Messages to them wait until they answer.",
                contact.as_str(),
                name.as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )
        },
        json!({ "contact": contact.as_str(), "name": name }),
    );
    Ok(())
}

async fn contacts(messenger: &Handle, output: Output) -> Result<(), Failure> {
    let unread: HashMap<ContactId, usize> = messenger.unread_counts().await?.into_iter().collect();
    for contact in messenger.contacts().await? {
        let count = unread.get(&contact.id).copied().unwrap_or(0);
        output.result(
            || {
                format!(
                    "{}  {}{}{}{}",
                    contact.id.as_str(),
                    name_of(&contact),
                    if contact.verified { "  verified" } else { "" },
                    if contact.pending_identity.is_some() {
                        "  KEY CHANGED (sotto accept-key)"
                    } else {
                        ""
                    },
                    if count > 0 {
                        format!("  {count} unread")
                    } else {
                        String::new()
                    }
                )
            },
            json!({
                "contact": contact.id.as_str(),
                "name": contact.display_name,
                "verified": contact.verified,
                "key_changed": contact.pending_identity.is_some(),
                "unread": count,
            }),
        );
    }
    Ok(())
}

async fn send_file(
    messenger: &Handle,
    contact: &str,
    path: &Path,
    image: bool,
    voice: bool,
    output: Output,
) -> Result<(), Failure> {
    let contact = resolve(messenger, contact).await?;
    let kind = if image {
        sotto_media::image_kind(path)?
    } else if voice {
        sotto_media::voice_kind(path)?
    } else {
        sotto_media::file_kind(path)?
    };
    let size = std::fs::metadata(path)
        .map_err(|e| Failure::new(Class::NotFound, format!("{}: {e}", path.display())))?
        .len();
    let mut events = messenger.subscribe();
    let id = messenger.send_attachment(&contact.id, path, kind).await?;
    let label = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = output.progress(size, &label);
    // The upload runs on the messenger's thread; its progress and outcome come as events.
    let outcome = loop {
        let event = tokio::time::timeout(STALL, events.next())
            .await
            .map_err(|_| {
                Failure::new(
                    Class::Network,
                    "the upload made no progress for two minutes: the relays are not answering",
                )
            })?;
        match event {
            Some(Event::TransferProgress {
                message_id, done, ..
            }) if message_id == id => bar.set_position(done),
            Some(ref e) if is_status(e, &id, DeliveryStatus::Sent) => break true,
            Some(ref e) if is_status(e, &id, DeliveryStatus::Failed) => break false,
            Some(_) => {}
            None => break false,
        }
    };
    bar.finish_and_clear();
    if !outcome {
        return Err(Failure::new(
            Class::Network,
            format!("{} could not be uploaded; nothing was sent", path.display()),
        ));
    }
    sent_or_queued(&contact, id, true, 0, output)
}

/// Reports a message stored and, if `sent`, handed to the network.
fn sent_or_queued(
    contact: &Contact,
    id: MessageId,
    sent: bool,
    unreachable: usize,
    output: Output,
) -> Result<(), Failure> {
    if !sent && unreachable > 0 {
        return Err(Failure::new(
            Class::Network,
            format!(
                "message {id} is stored but no relay could be reached; it goes out at the next \
                 `sotto send` or `sotto receive`"
            ),
        ));
    }
    let status = if sent { "sent" } else { "queued" };
    output.result(
        || {
            if sent {
                format!("Sent {id} to {}.", name_of(contact))
            } else {
                format!(
                    "Queued {id}: it goes to {} once they answer your acceptance or accept \
                     your key.",
                    name_of(contact)
                )
            }
        },
        json!({ "contact": contact.id.as_str(), "message_id": id.to_string(), "status": status }),
    );
    Ok(())
}

/// What `receive` does with each message.
struct Receiving {
    download_dir: Option<PathBuf>,
    mark_read: bool,
    output: Output,
    /// The first download that failed (the others go on; the command ends with it).
    failed_download: Mutex<Option<Failure>>,
}

/// Rounds of reading every queue before `receive` stops, however busy a queue is.
const MAX_SYNC_ROUNDS: usize = 1000;

async fn receive_once(
    messenger: &Handle,
    options: &Receiving,
    wait: Option<Duration>,
) -> Result<(), Failure> {
    let progress = Progress::watch(messenger, options.output);
    let mut events = messenger.subscribe();
    let deadline = tokio::time::Instant::now() + wait.unwrap_or_default();
    let mut unreachable;
    let mut read = false;
    loop {
        // Each sync reads a batch from every queue: go on until the queues are empty.
        let mut rounds = 0;
        loop {
            let report = messenger.sync().await?;
            unreachable = report.unreachable;
            rounds += 1;
            if report.received == 0 || rounds == MAX_SYNC_ROUNDS {
                break;
            }
        }
        let mut shown = false;
        for event in drain(&mut events) {
            shown |= !matches!(
                event,
                Event::TransferProgress { .. } | Event::NetworkChanged { .. }
            );
            read |= handle(messenger, &progress, event, options).await?;
        }
        if shown || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if read {
        // Sends the read receipts.
        messenger.sync().await?;
    }
    if let Some(failure) = options
        .failed_download
        .lock()
        .ok()
        .and_then(|mut f| f.take())
    {
        return Err(failure);
    }
    if unreachable > 0 {
        return Err(Failure::new(
            Class::Network,
            format!("{unreachable} relay(s) could not be reached; what they hold comes later"),
        ));
    }
    Ok(())
}

async fn receive_follow(messenger: &Handle, options: &Receiving) -> Result<(), Failure> {
    let progress = Progress::watch(messenger, options.output);
    let mut events = messenger.subscribe();
    messenger.start().await?;
    let interrupted = shutdown_signal();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(event) => { handle(messenger, &progress, event, options).await?; }
                None => return Ok(()),
            },
            () = &mut interrupted => return Ok(()),
        }
    }
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Prints one event (downloading attachments, marking messages read); returns whether a
/// message was marked read.
async fn handle(
    messenger: &Handle,
    progress: &Progress,
    event: Event,
    options: &Receiving,
) -> Result<bool, Failure> {
    let output = options.output;
    match event {
        Event::MessageReceived { contact, content } => {
            let path = match &options.download_dir {
                Some(folder) if has_attachment(&content.body) => {
                    match download(messenger, progress, &contact, &content, folder).await {
                        Ok(path) => Some(path),
                        Err(failure) => {
                            // The message is stored; its attachment can be fetched later.
                            output.notice(
                                || {
                                    format!(
                                        "{} (fetch it later with `sotto download {} {}`)",
                                        failure.message,
                                        contact.as_str(),
                                        content.id
                                    )
                                },
                                json!({
                                    "event": "download_failed",
                                    "contact": contact.as_str(),
                                    "message_id": content.id.to_string(),
                                    "reason": failure.message,
                                }),
                            );
                            if let Ok(mut first) = options.failed_download.lock() {
                                first.get_or_insert(failure);
                            }
                            None
                        }
                    }
                }
                _ => None,
            };
            let from = messenger
                .contact(&contact)
                .await
                .map(|c| name_of(&c))
                .unwrap_or_else(|_| contact.as_str().to_owned());
            output.result(
                || {
                    let saved = path
                        .as_ref()
                        .map(|p| format!(" (saved as {})", p.display()))
                        .unwrap_or_default();
                    format!("{from}: {}{saved}", describe(&content.body))
                },
                json!({
                    "event": "message",
                    "contact": contact.as_str(),
                    "message_id": content.id.to_string(),
                    "sent_at_ms": content.timestamp_ms,
                    "body": body_json(&content.body),
                    "path": path,
                }),
            );
            if options.mark_read {
                messenger.mark_read(&contact, vec![content.id]).await?;
                return Ok(true);
            }
        }
        Event::StatusChanged {
            contact,
            message_ids,
            status,
        } if matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Read) => {
            let name = match status {
                DeliveryStatus::Read => "read",
                _ => "delivered",
            };
            for id in message_ids {
                output.result(
                    || format!("{} {name} {id}", contact.as_str()),
                    json!({
                        "event": "status",
                        "contact": contact.as_str(),
                        "message_id": id.to_string(),
                        "status": name,
                    }),
                );
            }
        }
        Event::ContactAdded {
            contact,
            display_name,
        } => output.result(
            || {
                format!(
                    "New contact {} (calls themself \"{display_name}\"): compare safety numbers \
                     with `sotto safety {}`.",
                    contact.as_str(),
                    contact.as_str()
                )
            },
            json!({ "event": "contact_added", "contact": contact.as_str(), "display_name": display_name }),
        ),
        Event::ContactReady { contact } => output.result(
            || format!("{} answered: messages flow.", contact.as_str()),
            json!({ "event": "contact_ready", "contact": contact.as_str() }),
        ),
        Event::IdentityKeyChanged { contact, .. } => output.result(
            || {
                format!(
                    "WARNING: {} presented a new identity key. Nothing is sent to them until \
                     you check the new safety number and run `sotto accept-key {}`.",
                    contact.as_str(),
                    contact.as_str()
                )
            },
            json!({ "event": "identity_key_changed", "contact": contact.as_str() }),
        ),
        Event::PacketRejected {
            contact,
            code,
            reason,
        } => output.notice(
            || {
                format!(
                    "a packet{} was refused and removed: {reason}",
                    contact
                        .as_ref()
                        .map(|c| format!(" from {}", c.as_str()))
                        .unwrap_or_default()
                )
            },
            json!({
                "event": "packet_rejected",
                "contact": contact.as_ref().map(ContactId::as_str),
                "code": code as u32,
                "reason": reason,
            }),
        ),
        Event::Missed { count } => output.notice(
            || format!("{count} events were missed while busy; `sotto history` shows everything"),
            json!({ "event": "missed", "count": count }),
        ),
        _ => {}
    }
    Ok(false)
}

fn has_attachment(body: &Body) -> bool {
    matches!(body, Body::Image(_) | Body::File(_) | Body::VoiceClip(_))
}

/// Downloads a message's attachment into `to` (a folder: under a free name made from the
/// file's own; else the path itself).
async fn download(
    messenger: &Handle,
    progress: &Progress,
    contact: &ContactId,
    content: &Content,
    to: &Path,
) -> Result<PathBuf, Failure> {
    let (name, size) = match &content.body {
        Body::File(file) => (safe_name(&file.name), file.size),
        Body::Image(image) => (
            format!("image-{}.{}", content.id, extension(&image.mime)),
            image.attachment.plaintext_size(),
        ),
        Body::VoiceClip(clip) => (
            format!("voice-{}.ogg", content.id),
            clip.attachment.plaintext_size(),
        ),
        _ => {
            return Err(Failure::new(
                Class::Invalid,
                format!("message {} has no attachment", content.id),
            ));
        }
    };
    let path = if to.is_dir() {
        free_path(to, &name)
    } else {
        to.to_owned()
    };
    let bar = progress.track(content.id, size, &name);
    let result = messenger
        .download_attachment(contact, &content.id, &path)
        .await;
    progress.untrack(&content.id);
    bar.finish_and_clear();
    result?;
    Ok(path)
}

/// A received file name reduced to one harmless component: no folders, no leading dot.
fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim();
    if cleaned.is_empty() {
        "file".to_owned()
    } else {
        cleaned.to_owned()
    }
}

/// `folder/name`, or `folder/name (2)` … when that exists already.
fn free_path(folder: &Path, name: &str) -> PathBuf {
    let candidate = folder.join(name);
    if !candidate.exists() {
        return candidate;
    }
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem, format!(".{extension}")),
        _ => (name, String::new()),
    };
    (2..)
        .map(|n| folder.join(format!("{stem} ({n}){extension}")))
        .find(|path| !path.exists())
        .unwrap_or(candidate)
}

fn extension(mime: &str) -> &str {
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "img",
    }
}

/// Progress bars of the transfers in flight, fed by the messenger's events.
#[derive(Clone)]
struct Progress {
    bars: Arc<Mutex<HashMap<MessageId, ProgressBar>>>,
    output: Output,
}

impl Progress {
    /// Follows `messenger`'s transfer events for as long as it runs.
    fn watch(messenger: &Handle, output: Output) -> Self {
        let progress = Self {
            bars: Arc::default(),
            output,
        };
        let bars = Arc::clone(&progress.bars);
        let mut events = messenger.subscribe();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let Event::TransferProgress {
                    message_id, done, ..
                } = event
                    && let Some(bar) = bars.lock().ok().and_then(|b| b.get(&message_id).cloned())
                {
                    bar.set_position(done);
                }
            }
        });
        progress
    }

    fn track(&self, id: MessageId, total: u64, what: &str) -> ProgressBar {
        let bar = self.output.progress(total, what);
        if let Ok(mut bars) = self.bars.lock() {
            bars.insert(id, bar.clone());
        }
        bar
    }

    fn untrack(&self, id: &MessageId) {
        if let Ok(mut bars) = self.bars.lock() {
            bars.remove(id);
        }
    }
}

/// The events already pushed to `events`.
fn drain(events: &mut sotto_core::Subscription) -> Vec<Event> {
    std::iter::from_fn(|| events.try_next()).collect()
}

fn is_status(event: &Event, id: &MessageId, wanted: DeliveryStatus) -> bool {
    matches!(event, Event::StatusChanged { message_ids, status, .. }
        if *status == wanted && message_ids.contains(id))
}

/// The contact named `name` (the user's name for it) or with id `name`.
async fn resolve(messenger: &Handle, name: &str) -> Result<Contact, Failure> {
    let contacts = messenger.contacts().await?;
    if let Some(contact) = contacts.iter().find(|c| c.id.as_str() == name) {
        return Ok(contact.clone());
    }
    let named: Vec<&Contact> = contacts
        .iter()
        .filter(|c| c.display_name.as_deref() == Some(name))
        .collect();
    match named.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::new(
            Class::NotFound,
            format!("no contact is named {name} (see `sotto contacts`)"),
        )),
        several => Err(Failure::new(
            Class::Invalid,
            format!(
                "{} contacts are named {name}: use an id ({})",
                several.len(),
                several
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn name_of(contact: &Contact) -> String {
    contact
        .display_name
        .clone()
        .unwrap_or_else(|| contact.id.as_str().to_owned())
}

/// A message's body in one line.
fn describe(body: &Body) -> String {
    match body {
        Body::Text(text) => text.clone(),
        Body::Image(image) => format!(
            "[image {}x{}, {} bytes]",
            image.width,
            image.height,
            image.attachment.plaintext_size()
        ),
        Body::File(file) => format!("[file {}, {} bytes]", file.name, file.size),
        Body::VoiceClip(clip) => format!(
            "[voice clip {}:{:02}]",
            clip.duration_ms / 60_000,
            clip.duration_ms / 1000 % 60
        ),
        _ => "[other]".to_owned(),
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes)
        .map_err(|e| Failure::new(Class::Other, format!("writing {}: {e}", path.display())))
}
