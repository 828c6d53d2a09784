//! The open conversation: the pages of history loaded so far, oldest first, with the
//! height each message takes on screen, so that only the messages in view are laid out
//! (a conversation of 100,000 messages costs what its visible part costs).

use std::collections::HashSet;

use sotto_core::client::{HistoryMessage, HistoryStatus};
use sotto_core::contacts::ContactId;
use sotto_core::content::MessageId;
use sotto_core::store::MessageDirection;

/// A height for a message not laid out yet.
const ESTIMATED_HEIGHT: f32 = 56.0;

/// The loaded part of one conversation.
#[derive(Debug)]
pub struct Timeline {
    /// Whose conversation.
    pub contact: ContactId,
    /// Messages, oldest first.
    pub messages: Vec<HistoryMessage>,
    /// Each message's height on screen (estimated until it is laid out).
    pub heights: Vec<f32>,
    /// Whether the oldest message is loaded.
    pub complete: bool,
    /// Whether an older page is being loaded.
    pub loading_older: bool,
    /// How far the view must move down to keep its place after a page was put on top.
    pub scroll_shift: f32,
    /// A place to show next (points from the top), once.
    pub scroll_to: Option<f32>,
    /// Messages of the contact already reported read.
    read: HashSet<MessageId>,
}

impl Timeline {
    /// A conversation showing its newest page (`page`, oldest first).
    pub fn new(contact: ContactId, page: Vec<HistoryMessage>) -> Self {
        let complete = page.len() < crate::session::PAGE;
        Self {
            contact,
            heights: vec![ESTIMATED_HEIGHT; page.len()],
            messages: page,
            complete,
            loading_older: false,
            scroll_shift: 0.0,
            scroll_to: None,
            read: HashSet::new(),
        }
    }

    /// The oldest message loaded.
    pub fn oldest_id(&self) -> Option<MessageId> {
        self.messages.first().map(|m| m.content.id)
    }

    /// Puts an older page (oldest first) on top; `asked` is how many were asked for.
    pub fn prepend(&mut self, page: Vec<HistoryMessage>, asked: usize) {
        self.complete = page.len() < asked;
        self.scroll_shift += ESTIMATED_HEIGHT * page.len() as f32;
        self.heights
            .splice(0..0, std::iter::repeat_n(ESTIMATED_HEIGHT, page.len()));
        self.messages.splice(0..0, page);
    }

    /// Adds a message that just arrived or was sent (once, whatever the events' order).
    pub fn push_newest(&mut self, message: HistoryMessage) {
        if let Some(at) = self
            .messages
            .iter()
            .rposition(|m| m.content.id == message.content.id)
        {
            self.messages[at] = message;
            return;
        }
        self.messages.push(message);
        self.heights.push(ESTIMATED_HEIGHT);
    }

    /// The contact's messages shown but not reported read yet; they count as reported now.
    pub fn take_unread(&mut self) -> Vec<MessageId> {
        let mut unread = Vec::new();
        for message in &mut self.messages {
            if message.direction == MessageDirection::Incoming
                && message.shown_status() == HistoryStatus::Received
                && self.read.insert(message.content.id)
            {
                unread.push(message.content.id);
            }
        }
        unread
    }

    /// The total height of the loaded messages.
    pub fn total_height(&self) -> f32 {
        self.heights.iter().sum()
    }
}
