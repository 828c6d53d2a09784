//! A profile: one local identity bound to its store. It issues prekey bundles, starts
//! sessions and turns content into fixed-size sealed packets and back.
//!
//! Send path: frame (protobuf) → encrypt (Double Ratchet) → seal (sealed sender) → pad
//! (fixed packet size). Receive path: unpad → unseal and check the sender → decrypt →
//! unframe. Each step's state changes are staged and applied to the store in one atomic
//! [`Store::apply`] only when the whole step succeeded, so a failure changes nothing.
//!
//! Every method of [`Profile`] is in this folder, by concern:
//!
//! | file | methods |
//! | --- | --- |
//! | `mod.rs` | create, load, identity, prekey bundles and rotation, sessions, seal and open |
//! | `conversation.rs` | contacts, verification, send, the outbox, receive, history, delete |
//! | `invitations.rs` | create, accept and answer invitations, queues of contacts |

use std::time::SystemTime;

use libsignal_protocol::PreKeyBundle;
use rand::{CryptoRng, Rng};

use crate::content::Content;
use crate::error::Result;
use crate::identity::{Identity, PublicIdentity};
use crate::padding;
use crate::prekeys::{self, RotationOutcome, RotationPolicy};
use crate::sealed::{self, SelfCertificate, VerifiedCertificates};
use crate::session;
use crate::store::{SignalStore, Store};

mod conversation;
mod invitations;

/// One local identity and its store.
pub struct Profile<S: Store> {
    store: S,
    identity: Identity,
    certificate: Option<SelfCertificate>,
    verified: VerifiedCertificates,
}

impl<S: Store> Profile<S> {
    /// Creates a profile in an empty store: a new identity and its first signed and Kyber
    /// prekeys.
    pub async fn create<R: Rng + CryptoRng>(
        store: S,
        display_name: Option<String>,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Self> {
        let identity = Identity::generate(display_name, rng)?;
        identity.save_new(&store).await?;
        store.apply(prekeys::initial(&identity, now, rng)?).await?;
        Ok(Self {
            store,
            identity,
            certificate: None,
            verified: VerifiedCertificates::default(),
        })
    }

    /// Opens the profile a store already holds.
    pub async fn load(store: S) -> Result<Self> {
        let identity = Identity::load(&store).await?;
        Ok(Self {
            store,
            identity,
            certificate: None,
            verified: VerifiedCertificates::default(),
        })
    }

    /// The local identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The store behind this profile.
    pub fn store(&self) -> &S {
        &self.store
    }

    pub(crate) fn view(&self) -> SignalStore<'_, S> {
        SignalStore::new(
            &self.store,
            *self.identity.key_pair(),
            self.identity.registration_id(),
        )
    }

    /// A prekey bundle for one peer, with a one-time prekey made for it alone.
    pub async fn prekey_bundle<R: Rng + CryptoRng>(&self, rng: &mut R) -> Result<PreKeyBundle> {
        let (bundle, changes) = prekeys::bundle(&self.store, &self.identity, rng).await?;
        self.store.apply(changes).await?;
        Ok(bundle)
    }

    /// Replaces signed and Kyber prekeys that are due and deletes expired ones.
    pub async fn rotate_prekeys<R: Rng + CryptoRng>(
        &self,
        policy: RotationPolicy,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<RotationOutcome> {
        let (changes, outcome) =
            prekeys::rotate(&self.store, &self.identity, policy, now, rng).await?;
        self.store.apply(changes).await?;
        Ok(outcome)
    }

    /// Starts a PQXDH session with the owner of `bundle`; returns who that is.
    pub async fn start_session<R: Rng + CryptoRng>(
        &self,
        bundle: &PreKeyBundle,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<PublicIdentity> {
        let view = self.view();
        let peer = session::start(&view, bundle, now, rng).await?;
        self.store.apply(view.take_changes()).await?;
        Ok(peer)
    }

    /// Whether a post-quantum session (PQXDH + SPQR) with `peer` exists.
    pub async fn is_post_quantum(&self, peer: &PublicIdentity, now: SystemTime) -> Result<bool> {
        session::is_post_quantum(&self.view(), peer, now).await
    }

    /// The sender certificate to use at `now`, issuing a new one when it is due.
    pub(crate) fn certificate_for<R: Rng + CryptoRng>(
        &mut self,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<SelfCertificate> {
        match &self.certificate {
            Some(current) if !current.needs_renewal(now) => Ok(current.clone()),
            _ => {
                let fresh = SelfCertificate::issue(&self.identity, now, rng)?;
                self.certificate = Some(fresh.clone());
                Ok(fresh)
            }
        }
    }

    /// Turns `content` for `peer` into one packet of exactly
    /// [`padding::PACKET_PAYLOAD_SIZE`] bytes. Content is validated first: content too large
    /// for a packet is a [`ContentError`](crate::content::ContentError) that says to send it
    /// as an attachment, and consumes no ratchet step.
    pub async fn seal<R: Rng + CryptoRng>(
        &mut self,
        peer: &PublicIdentity,
        content: &Content,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let certificate = self.certificate_for(now, rng)?;
        let view = self.view();
        let packet = self
            .seal_staged(&view, &certificate, peer, content, now, rng)
            .await?;
        self.store.apply(view.take_changes()).await?;
        Ok(packet)
    }

    /// [`Profile::seal`] with its state changes left staged in `view`, so a caller can
    /// apply them together with changes of its own.
    pub(crate) async fn seal_staged<R: Rng + CryptoRng>(
        &self,
        view: &SignalStore<'_, S>,
        certificate: &SelfCertificate,
        peer: &PublicIdentity,
        content: &Content,
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Vec<u8>> {
        let frame = content.encode_valid()?;
        let ciphertext = session::encrypt(view, peer, &frame, now, rng).await?;
        let sealed = sealed::seal(view, peer, certificate, &ciphertext, rng).await?;
        Ok(padding::pad(&sealed)?)
    }

    /// Opens a packet that arrived on the queue of contact `peer`: only `peer` can have
    /// sent it. Any failure (malformed packet, tampering, replay, another sender) is a
    /// typed error and leaves the store unchanged.
    pub async fn open<R: Rng + CryptoRng>(
        &self,
        peer: &PublicIdentity,
        packet: &[u8],
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Content> {
        let view = self.view();
        let content = self.open_staged(&view, peer, packet, now, rng).await?;
        self.store.apply(view.take_changes()).await?;
        Ok(content)
    }

    /// [`Profile::open`] with its state changes left staged in `view`.
    pub(crate) async fn open_staged<R: Rng + CryptoRng>(
        &self,
        view: &SignalStore<'_, S>,
        peer: &PublicIdentity,
        packet: &[u8],
        now: SystemTime,
        rng: &mut R,
    ) -> Result<Content> {
        let sealed = padding::unpad(packet)?;
        let usmc = sealed::unseal(view, sealed, peer, &self.verified, now).await?;
        let plaintext = session::decrypt(view, peer, &usmc, rng).await?;
        Ok(Content::decode(&plaintext)?)
    }
}
