//! libsignal's store traits over one [`Store`], with writes staged in a [`ChangeSet`].
//!
//! libsignal asks for separate `&mut dyn SessionStore`, `&mut dyn IdentityKeyStore`, ...
//! arguments in one call. [`SignalStore`] is a cheap clonable view: every clone reads the
//! same backend and stages into the same change set, so one logical step (say, decrypting
//! a message) collects all its writes and the caller applies them with one
//! [`Store::apply`], or drops them when the step fails.

use std::cell::RefCell;
use std::rc::Rc;

use async_trait::async_trait;
use libsignal_protocol::{
    Direction, GenericSignedPreKey, IdentityChange, IdentityKey, IdentityKeyPair, IdentityKeyStore,
    KyberPreKeyId, KyberPreKeyRecord, KyberPreKeyStore, PreKeyId, PreKeyRecord, PreKeyStore,
    ProtocolAddress, PublicKey, SessionRecord, SessionStore, SignalProtocolError, SignedPreKeyId,
    SignedPreKeyRecord, SignedPreKeyStore,
};

use super::{ChangeSet, KyberBaseKeyUse, Store, StoreError};

type SignalResult<T> = Result<T, SignalProtocolError>;

fn callback_error(method: &'static str, error: StoreError) -> SignalProtocolError {
    SignalProtocolError::ApplicationCallbackError(method, Box::new(error))
}

/// A view of a [`Store`] that libsignal can use, staging its writes.
pub struct SignalStore<'a, S: Store + ?Sized> {
    store: &'a S,
    identity: IdentityKeyPair,
    registration_id: u32,
    staged: Rc<RefCell<ChangeSet>>,
}

impl<S: Store + ?Sized> Clone for SignalStore<'_, S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store,
            identity: self.identity,
            registration_id: self.registration_id,
            staged: Rc::clone(&self.staged),
        }
    }
}

impl<'a, S: Store + ?Sized> SignalStore<'a, S> {
    /// A view over `store` for the local `identity`, with nothing staged.
    pub fn new(store: &'a S, identity: IdentityKeyPair, registration_id: u32) -> Self {
        Self {
            store,
            identity,
            registration_id,
            staged: Rc::default(),
        }
    }

    /// Takes the writes staged so far (by this view and all its clones).
    pub fn take_changes(&self) -> ChangeSet {
        self.staged.take()
    }

    /// Adds writes of the caller's own to the staged set (for example new prekeys).
    pub fn stage(&self, f: impl FnOnce(&mut ChangeSet)) {
        f(&mut self.staged.borrow_mut());
    }

    async fn staged_or_stored(
        &self,
        method: &'static str,
        staged: impl FnOnce(&ChangeSet) -> Option<Option<Vec<u8>>>,
        stored: impl AsyncFnOnce(&S) -> Result<Option<Vec<u8>>, StoreError>,
    ) -> SignalResult<Option<Vec<u8>>> {
        let overlay = staged(&self.staged.borrow());
        match overlay {
            Some(record) => Ok(record),
            None => stored(self.store)
                .await
                .map_err(|e| callback_error(method, e)),
        }
    }
}

fn corrupt(what: &'static str) -> impl FnOnce(SignalProtocolError) -> SignalProtocolError {
    move |e| callback_error(what, StoreError::Corrupt(format!("{what}: {e}")))
}

#[async_trait(?Send)]
impl<S: Store + ?Sized> IdentityKeyStore for SignalStore<'_, S> {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(self.identity)
    }

    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.registration_id)
    }

    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> SignalResult<IdentityChange> {
        let previous = self.get_identity(address).await?;
        self.staged
            .borrow_mut()
            .remote_identities
            .insert(address.to_string(), identity.serialize().to_vec());
        Ok(IdentityChange::from_changed(
            previous.is_some_and(|p| &p != identity),
        ))
    }

    async fn is_trusted_identity(
        &self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
        _direction: Direction,
    ) -> SignalResult<bool> {
        // Trust on first use; afterwards only the same key. Sotto names addresses by the
        // identity key itself, so a mismatch means corrupted state or an attack.
        Ok(self
            .get_identity(address)
            .await?
            .is_none_or(|known| &known == identity))
    }

    async fn get_identity(&self, address: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        let name = address.to_string();
        let bytes = self
            .staged_or_stored(
                "get_identity",
                |c| c.remote_identities.get(&name).cloned().map(Some),
                async |s| s.load_remote_identity(&name).await,
            )
            .await?;
        bytes
            .map(|b| IdentityKey::decode(&b).map_err(corrupt("remote identity")))
            .transpose()
    }
}

#[async_trait(?Send)]
impl<S: Store + ?Sized> SessionStore for SignalStore<'_, S> {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        let name = address.to_string();
        let bytes = self
            .staged_or_stored(
                "load_session",
                |c| c.sessions.get(&name).cloned().map(Some),
                async |s| s.load_session(&name).await,
            )
            .await?;
        bytes
            .map(|b| SessionRecord::deserialize(&b).map_err(corrupt("session")))
            .transpose()
    }

    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: &SessionRecord,
    ) -> SignalResult<()> {
        let bytes = record.serialize()?;
        self.staged
            .borrow_mut()
            .sessions
            .insert(address.to_string(), bytes);
        Ok(())
    }
}

#[async_trait(?Send)]
impl<S: Store + ?Sized> PreKeyStore for SignalStore<'_, S> {
    async fn get_pre_key(&self, prekey_id: PreKeyId) -> SignalResult<PreKeyRecord> {
        let id = u32::from(prekey_id);
        let bytes = self
            .staged_or_stored(
                "get_pre_key",
                |c| c.pre_keys.get(&id).cloned(),
                async |s| s.load_pre_key(id).await,
            )
            .await?
            .ok_or(SignalProtocolError::InvalidPreKeyId)?;
        PreKeyRecord::deserialize(&bytes).map_err(corrupt("one-time prekey"))
    }

    async fn save_pre_key(
        &mut self,
        prekey_id: PreKeyId,
        record: &PreKeyRecord,
    ) -> SignalResult<()> {
        let bytes = record.serialize()?;
        self.staged
            .borrow_mut()
            .pre_keys
            .insert(prekey_id.into(), Some(bytes));
        Ok(())
    }

    async fn remove_pre_key(&mut self, prekey_id: PreKeyId) -> SignalResult<()> {
        self.staged
            .borrow_mut()
            .pre_keys
            .insert(prekey_id.into(), None);
        Ok(())
    }
}

#[async_trait(?Send)]
impl<S: Store + ?Sized> SignedPreKeyStore for SignalStore<'_, S> {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> SignalResult<SignedPreKeyRecord> {
        let id = u32::from(id);
        let bytes = self
            .staged_or_stored(
                "get_signed_pre_key",
                |c| c.signed_pre_keys.get(&id).cloned(),
                async |s| s.load_signed_pre_key(id).await,
            )
            .await?
            .ok_or(SignalProtocolError::InvalidSignedPreKeyId)?;
        SignedPreKeyRecord::deserialize(&bytes).map_err(corrupt("signed prekey"))
    }

    async fn save_signed_pre_key(
        &mut self,
        id: SignedPreKeyId,
        record: &SignedPreKeyRecord,
    ) -> SignalResult<()> {
        let bytes = record.serialize()?;
        self.staged
            .borrow_mut()
            .signed_pre_keys
            .insert(id.into(), Some(bytes));
        Ok(())
    }
}

#[async_trait(?Send)]
impl<S: Store + ?Sized> KyberPreKeyStore for SignalStore<'_, S> {
    async fn get_kyber_pre_key(&self, id: KyberPreKeyId) -> SignalResult<KyberPreKeyRecord> {
        let id = u32::from(id);
        let bytes = self
            .staged_or_stored(
                "get_kyber_pre_key",
                |c| c.kyber_pre_keys.get(&id).cloned(),
                async |s| s.load_kyber_pre_key(id).await,
            )
            .await?
            .ok_or(SignalProtocolError::InvalidKyberPreKeyId)?;
        KyberPreKeyRecord::deserialize(&bytes).map_err(corrupt("kyber prekey"))
    }

    async fn save_kyber_pre_key(
        &mut self,
        id: KyberPreKeyId,
        record: &KyberPreKeyRecord,
    ) -> SignalResult<()> {
        let bytes = record.serialize()?;
        self.staged
            .borrow_mut()
            .kyber_pre_keys
            .insert(id.into(), Some(bytes));
        Ok(())
    }

    async fn mark_kyber_pre_key_used(
        &mut self,
        kyber_prekey_id: KyberPreKeyId,
        ec_prekey_id: SignedPreKeyId,
        base_key: &PublicKey,
    ) -> SignalResult<()> {
        // Kyber prekeys are reusable (rotated, not one-time), so a replayed first message is
        // recognised by its base key, as libsignal's reference store does.
        let used = KyberBaseKeyUse {
            kyber_pre_key_id: kyber_prekey_id.into(),
            signed_pre_key_id: ec_prekey_id.into(),
            base_key: base_key.serialize().to_vec(),
        };
        let staged_seen = self.staged.borrow().kyber_base_keys.contains(&used);
        let stored_seen = self
            .store
            .kyber_base_key_seen(&used)
            .await
            .map_err(|e| callback_error("mark_kyber_pre_key_used", e))?;
        if staged_seen || stored_seen {
            return Err(SignalProtocolError::InvalidMessage(
                libsignal_protocol::CiphertextMessageType::PreKey,
                "reused base key",
            ));
        }
        self.staged.borrow_mut().kyber_base_keys.push(used);
        Ok(())
    }
}
