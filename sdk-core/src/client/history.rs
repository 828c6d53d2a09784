//! Paging a conversation's history: typed messages, exactly `limit` of what the user sees
//! (receipts, contact-accept frames and early arrivals not counted), anchored at a message.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Client, is_user_content};
use crate::contacts::ContactId;
use crate::content::{Content, MessageId};
use crate::error::{Error, Result};
use crate::store::{
    ConversationPlace, MessageDirection, MessageRecord, MessageStatus, Store, Towards,
};

/// The most messages an app asks for in one history page or search. The shells refuse
/// larger requests (one page must fit in a reply across their boundary without surprise).
pub const MAX_HISTORY_PAGE: usize = 1000;

/// Records read from the store per step while a page fills.
const STEP: usize = 200;

/// One message of a conversation, as the app shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryMessage {
    /// Which way it went.
    pub direction: MessageDirection,
    /// Where it stands (for ours: queued, delivered, read; theirs: shown).
    pub status: MessageStatus,
    /// When it was stored on this device (sent or received).
    pub at: SystemTime,
    /// The message.
    pub content: Content,
}

/// Where a message of the history stands, as an app shows it: the store's
/// [`MessageStatus`] folded into what a person tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryStatus {
    /// Ours, not acknowledged by the contact yet (in the outbox, or held until the user
    /// decides on the contact's new key).
    Sending,
    /// Ours, sent once with no acknowledgement expected.
    Sent,
    /// Ours, delivered to the contact's device.
    Delivered,
    /// Ours, read by the contact; or theirs, read by the user.
    Read,
    /// Theirs, not read yet.
    Received,
}

impl HistoryMessage {
    /// Where the message stands, as an app shows it.
    pub fn shown_status(&self) -> HistoryStatus {
        match self.status {
            MessageStatus::Queued | MessageStatus::Held => HistoryStatus::Sending,
            MessageStatus::Sent => HistoryStatus::Sent,
            MessageStatus::Delivered => HistoryStatus::Delivered,
            MessageStatus::Read => HistoryStatus::Read,
            MessageStatus::Early | MessageStatus::Shown => HistoryStatus::Received,
        }
    }
}

/// Where a page of history starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryFrom {
    /// The newest messages, newest first.
    Newest,
    /// The oldest messages, oldest first.
    Oldest,
    /// The messages before this one, newest first (scrolling back).
    Before(MessageId),
    /// The messages after this one, oldest first.
    After(MessageId),
}

impl<S: Store> Client<S> {
    /// How many of each contact's messages the user has not read yet (incoming, shown, not
    /// marked read with [`Client::mark_read`]); contacts with none are left out.
    ///
    /// # Errors
    /// Store errors.
    pub async fn unread_counts(&self) -> Result<Vec<(ContactId, usize)>> {
        let mut counts = Vec::new();
        for contact in self.profile.store().contacts().await? {
            let mut unread = 0;
            for record in self
                .profile
                .store()
                .messages_with_status(
                    &contact.id,
                    MessageDirection::Incoming,
                    MessageStatus::Shown,
                )
                .await?
            {
                unread += usize::from(shown(record)?.is_some());
            }
            if unread > 0 {
                counts.push((ContactId::new(contact.id.clone()), unread));
            }
        }
        Ok(counts)
    }

    /// Searches one conversation, newest first, for messages whose text (or file name, or
    /// MIME type of an attachment) contains `query`, ignoring case; at most `limit`.
    ///
    /// # Errors
    /// Store errors.
    pub async fn search(
        &self,
        contact: &ContactId,
        query: &str,
        limit: usize,
    ) -> Result<Vec<HistoryMessage>> {
        let needle = query.to_lowercase();
        if needle.is_empty() {
            return Ok(Vec::new());
        }
        self.scan(contact, None, Towards::Older, limit, |message| {
            searchable_text(&message.content)
                .to_lowercase()
                .contains(&needle)
        })
        .await
    }

    /// Up to `limit` messages of a conversation from `from`: exactly `limit` when the
    /// conversation has that many user-visible messages that way (none for a contact that
    /// does not exist, or no longer: forgetting a contact deletes its history).
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when the anchor is not a message of this conversation;
    /// store errors.
    pub async fn history_page(
        &self,
        contact: &ContactId,
        from: HistoryFrom,
        limit: usize,
    ) -> Result<Vec<HistoryMessage>> {
        let (place, towards) = match from {
            HistoryFrom::Newest => (None, Towards::Older),
            HistoryFrom::Oldest => (None, Towards::Newer),
            HistoryFrom::Before(id) => (Some(self.place_of(contact, &id).await?), Towards::Older),
            HistoryFrom::After(id) => (Some(self.place_of(contact, &id).await?), Towards::Newer),
        };
        self.scan(contact, place, towards, limit, |_| true).await
    }

    /// Up to `limit` shown messages beyond `place` that `keep` accepts, read from the
    /// store [`STEP`] records at a time: what history pages and searches both walk.
    async fn scan(
        &self,
        contact: &ContactId,
        mut place: Option<ConversationPlace>,
        towards: Towards,
        limit: usize,
        keep: impl Fn(&HistoryMessage) -> bool,
    ) -> Result<Vec<HistoryMessage>> {
        let mut found = Vec::new();
        while found.len() < limit {
            let records = self
                .profile
                .store()
                .messages_page(contact.as_str(), place, towards, STEP)
                .await?;
            let exhausted = records.len() < STEP;
            place = records.last().map(MessageRecord::place);
            for record in records {
                if let Some(message) = shown(record)?
                    && keep(&message)
                {
                    found.push(message);
                    if found.len() == limit {
                        break;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(found)
    }

    /// One message of a conversation (ours or theirs), as history shows it: for an app
    /// that holds an id (a notification, a command line) and needs the message.
    ///
    /// # Errors
    /// [`Error::UnknownMessage`] when it is not a shown message of this conversation
    /// (deleted, a receipt, another contact's); store errors.
    pub async fn message(&self, contact: &ContactId, id: &MessageId) -> Result<HistoryMessage> {
        for direction in [MessageDirection::Incoming, MessageDirection::Outgoing] {
            if let Some(record) = self
                .profile
                .store()
                .load_message(contact.as_str(), direction, &id.to_bytes())
                .await?
                && let Some(message) = shown(record)?
            {
                return Ok(message);
            }
        }
        Err(Error::UnknownMessage(id.to_string()))
    }

    /// The place of a message of this conversation (ours or theirs).
    async fn place_of(&self, contact: &ContactId, id: &MessageId) -> Result<ConversationPlace> {
        for direction in [MessageDirection::Incoming, MessageDirection::Outgoing] {
            if let Some(message) = self
                .profile
                .store()
                .load_message(contact.as_str(), direction, &id.to_bytes())
                .await?
            {
                return Ok(message.place());
            }
        }
        Err(Error::UnknownMessage(id.to_string()))
    }
}

/// The words of a message a search looks at.
fn searchable_text(content: &Content) -> String {
    use crate::content::Body;
    match &content.body {
        Body::Text(text) => text.clone(),
        Body::File(file) => format!("{} {}", file.name, file.mime),
        Body::Image(image) => image.mime.clone(),
        Body::VoiceClip(clip) => clip.codec.clone(),
        Body::Receipt(_) | Body::ContactAccept(_) => String::new(),
    }
}

/// The message as shown, or `None` for what the user does not see.
fn shown(record: MessageRecord) -> Result<Option<HistoryMessage>> {
    if record.status == MessageStatus::Early || record.deleted {
        return Ok(None);
    }
    let content = Content::decode(&record.frame)?;
    if !is_user_content(&content.body) {
        return Ok(None);
    }
    Ok(Some(HistoryMessage {
        direction: record.direction,
        status: record.status,
        at: UNIX_EPOCH + Duration::from_millis(record.at_ms),
        content,
    }))
}
