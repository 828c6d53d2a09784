//! Prekeys: what a peer needs to start a PQXDH session with us while we are offline.
//!
//! A bundle holds our identity key, the current signed EC prekey, the current signed
//! Kyber1024 prekey (which makes every session post-quantum) and a one-time EC prekey made
//! for that bundle alone. Signed and Kyber prekeys are rotated on a schedule; old ones stay
//! for a grace period so that first messages still in flight can be opened.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libsignal_protocol::{
    GenericSignedPreKey, KeyPair, KyberPreKeyId, KyberPreKeyRecord, PreKeyBundle, PreKeyId,
    PreKeyRecord, SignedPreKeyId, SignedPreKeyRecord, Timestamp, kem,
};
use rand::{CryptoRng, Rng};

use crate::error::{Error, Result};
use crate::identity::{Identity, device_id};
use crate::store::{ChangeSet, Store};

/// When signed and Kyber prekeys are replaced, and how long replaced ones are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// A signed or Kyber prekey older than this is replaced by a new one.
    pub rotate_after: Duration,
    /// A replaced prekey is deleted once it is older than this.
    pub keep_for: Duration,
}

impl Default for RotationPolicy {
    /// Weekly rotation (as Signal does); replaced keys live 30 days, longer than the relays'
    /// 21-day message expiry, so no first message still queued becomes unreadable.
    fn default() -> Self {
        Self {
            rotate_after: Duration::from_secs(7 * 24 * 3600),
            keep_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RotationOutcome {
    /// A new signed EC prekey was made.
    pub new_signed_pre_key: bool,
    /// A new Kyber prekey was made.
    pub new_kyber_pre_key: bool,
    /// Replaced prekeys deleted.
    pub deleted: usize,
}

pub(crate) fn timestamp(now: SystemTime) -> Timestamp {
    let millis = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Timestamp::from_epoch_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Store(crate::store::StoreError::Corrupt(format!("{what}: {e}")))
}

/// A fresh id not in `taken`, from a 24-bit space (libsignal keeps ids below 2^24 as Signal
/// does).
fn fresh_id<R: Rng>(taken: &[u32], rng: &mut R) -> u32 {
    loop {
        let id = rng.random_range(1..0x00FF_FFFF);
        if !taken.contains(&id) {
            return id;
        }
    }
}

fn new_signed_pre_key<R: Rng + CryptoRng>(
    identity: &Identity,
    id: u32,
    now: SystemTime,
    rng: &mut R,
) -> Result<SignedPreKeyRecord> {
    let key_pair = KeyPair::generate(rng);
    let signature = identity
        .key_pair()
        .private_key()
        .calculate_signature(&key_pair.public_key.serialize(), rng)
        .map_err(|e| Error::Protocol(e.to_string()))?;
    Ok(SignedPreKeyRecord::new(
        SignedPreKeyId::from(id),
        timestamp(now),
        &key_pair,
        &signature,
    ))
}

/// Built with `KyberPreKeyRecord::new` rather than `generate`, which reads the system clock
/// (unavailable on wasm32).
fn new_kyber_pre_key<R: Rng + CryptoRng>(
    identity: &Identity,
    id: u32,
    now: SystemTime,
    rng: &mut R,
) -> Result<KyberPreKeyRecord> {
    let key_pair = kem::KeyPair::generate(kem::KeyType::Kyber1024, rng);
    let signature = identity
        .key_pair()
        .private_key()
        .calculate_signature(&key_pair.public_key.serialize(), rng)
        .map_err(|e| Error::Protocol(e.to_string()))?;
    Ok(KyberPreKeyRecord::new(
        KyberPreKeyId::from(id),
        timestamp(now),
        &key_pair,
        &signature,
    ))
}

/// The stored signed or Kyber prekeys with their timestamps, oldest first.
async fn sorted_by_age<T: GenericSignedPreKey, S: Store + ?Sized>(
    store: &S,
    ids: &[u32],
    load: impl AsyncFn(&S, u32) -> Result<Option<Vec<u8>>>,
    what: &str,
) -> Result<Vec<(u32, Timestamp, T)>> {
    let mut records = Vec::with_capacity(ids.len());
    for &id in ids {
        let Some(bytes) = load(store, id).await? else {
            continue;
        };
        let record = T::deserialize(&bytes).map_err(|e| corrupt(what, e))?;
        let ts = record.timestamp().map_err(|e| corrupt(what, e))?;
        records.push((id, ts, record));
    }
    records.sort_by_key(|(_, ts, _)| *ts);
    Ok(records)
}

fn stamps<T>(records: &[(u32, Timestamp, T)]) -> Vec<(u32, Timestamp)> {
    records.iter().map(|(id, ts, _)| (*id, *ts)).collect()
}

/// Rotates one kind of prekey (signed or Kyber) given its stored `(id, timestamp)` pairs,
/// oldest first: stages a new key from `make` when the newest is older than `rotate_ms`,
/// and deletions of replaced keys past their grace period. Returns whether a key was made
/// and how many were deleted.
fn rotate_kind<R: Rng + CryptoRng>(
    keys: &[(u32, Timestamp)],
    now: Timestamp,
    rotate_ms: u64,
    keep_ms: u64,
    rng: &mut R,
    make: impl FnOnce(u32, &mut R) -> Result<Vec<u8>>,
    staged: &mut std::collections::BTreeMap<u32, Option<Vec<u8>>>,
) -> Result<(bool, usize)> {
    let due = keys
        .last()
        .is_none_or(|(_, ts)| ts.add_millis(rotate_ms) < now);
    if due {
        let taken: Vec<u32> = keys.iter().map(|(id, _)| *id).collect();
        let id = fresh_id(&taken, rng);
        staged.insert(id, Some(make(id, rng)?));
    }
    let expired = past_grace(keys, due, now, keep_ms);
    for id in &expired {
        staged.insert(*id, None);
    }
    Ok((due, expired.len()))
}

/// Ids of replaced keys whose grace period is over. `keys` is sorted oldest first; a key
/// was replaced when the next one was made, and the newest one only if `newest_replaced`
/// (a replacement made `now`). The grace period runs from the replacement, not from the
/// key's creation: after a long pause without rotation, the key that was current until
/// `now` still gets its full `keep_ms`.
fn past_grace(
    keys: &[(u32, Timestamp)],
    newest_replaced: bool,
    now: Timestamp,
    keep_ms: u64,
) -> Vec<u32> {
    keys.iter()
        .enumerate()
        .filter_map(|(i, (id, _))| {
            let replaced_at = match keys.get(i + 1) {
                Some((_, next)) => *next,
                None if newest_replaced => now,
                None => return None,
            };
            (replaced_at.add_millis(keep_ms) < now).then_some(*id)
        })
        .collect()
}

/// Makes the first signed and Kyber prekeys of a new profile.
pub(crate) fn initial<R: Rng + CryptoRng>(
    identity: &Identity,
    now: SystemTime,
    rng: &mut R,
) -> Result<ChangeSet> {
    let mut changes = ChangeSet::default();
    let signed_id = fresh_id(&[], rng);
    let kyber_id = fresh_id(&[], rng);
    changes.signed_pre_keys.insert(
        signed_id,
        Some(new_signed_pre_key(identity, signed_id, now, rng)?.serialize()?),
    );
    changes.kyber_pre_keys.insert(
        kyber_id,
        Some(new_kyber_pre_key(identity, kyber_id, now, rng)?.serialize()?),
    );
    Ok(changes)
}

/// Replaces signed and Kyber prekeys older than the policy allows and deletes replaced
/// ones past their grace period. The newest key of each kind is never deleted.
pub(crate) async fn rotate<S: Store + ?Sized, R: Rng + CryptoRng>(
    store: &S,
    identity: &Identity,
    policy: RotationPolicy,
    now: SystemTime,
    rng: &mut R,
) -> Result<(ChangeSet, RotationOutcome)> {
    let now_ts = timestamp(now);
    let rotate_ms = u64::try_from(policy.rotate_after.as_millis()).unwrap_or(u64::MAX);
    let keep_ms = u64::try_from(policy.keep_for.as_millis()).unwrap_or(u64::MAX);
    let mut changes = ChangeSet::default();
    let mut outcome = RotationOutcome::default();

    let signed: Vec<(u32, Timestamp, SignedPreKeyRecord)> = sorted_by_age(
        store,
        &store.signed_pre_key_ids().await?,
        async |s, id| Ok(s.load_signed_pre_key(id).await?),
        "signed prekey",
    )
    .await?;
    (outcome.new_signed_pre_key, outcome.deleted) = rotate_kind(
        &stamps(&signed),
        now_ts,
        rotate_ms,
        keep_ms,
        rng,
        |id, rng| Ok(new_signed_pre_key(identity, id, now, rng)?.serialize()?),
        &mut changes.signed_pre_keys,
    )?;

    let kyber: Vec<(u32, Timestamp, KyberPreKeyRecord)> = sorted_by_age(
        store,
        &store.kyber_pre_key_ids().await?,
        async |s, id| Ok(s.load_kyber_pre_key(id).await?),
        "kyber prekey",
    )
    .await?;
    let deleted;
    (outcome.new_kyber_pre_key, deleted) = rotate_kind(
        &stamps(&kyber),
        now_ts,
        rotate_ms,
        keep_ms,
        rng,
        |id, rng| Ok(new_kyber_pre_key(identity, id, now, rng)?.serialize()?),
        &mut changes.kyber_pre_keys,
    )?;
    outcome.deleted += deleted;
    Ok((changes, outcome))
}

/// A bundle for one peer: the newest signed and Kyber prekeys and a new one-time prekey,
/// returned with the change that stores that one-time prekey.
pub(crate) async fn bundle<S: Store + ?Sized, R: Rng + CryptoRng>(
    store: &S,
    identity: &Identity,
    rng: &mut R,
) -> Result<(PreKeyBundle, ChangeSet)> {
    let signed_ids = store.signed_pre_key_ids().await?;
    let signed: Vec<(u32, Timestamp, SignedPreKeyRecord)> = sorted_by_age(
        store,
        &signed_ids,
        async |s, id| Ok(s.load_signed_pre_key(id).await?),
        "signed prekey",
    )
    .await?;
    let kyber_ids = store.kyber_pre_key_ids().await?;
    let kyber: Vec<(u32, Timestamp, KyberPreKeyRecord)> = sorted_by_age(
        store,
        &kyber_ids,
        async |s, id| Ok(s.load_kyber_pre_key(id).await?),
        "kyber prekey",
    )
    .await?;
    let (Some((signed_id, _, signed)), Some((kyber_id, _, kyber))) = (signed.last(), kyber.last())
    else {
        return Err(Error::Store(crate::store::StoreError::Corrupt(
            "profile has no signed or Kyber prekey".into(),
        )));
    };

    let one_time_id = fresh_id(&store.pre_key_ids().await?, rng);
    let one_time = KeyPair::generate(rng);
    let mut changes = ChangeSet::default();
    changes.pre_keys.insert(
        one_time_id,
        Some(PreKeyRecord::new(PreKeyId::from(one_time_id), &one_time).serialize()?),
    );

    let bundle = PreKeyBundle::new(
        identity.registration_id(),
        device_id(),
        Some((PreKeyId::from(one_time_id), one_time.public_key)),
        SignedPreKeyId::from(*signed_id),
        signed.public_key()?,
        signed.signature()?,
        KyberPreKeyId::from(*kyber_id),
        kyber.public_key()?,
        kyber.signature()?,
        *identity.key_pair().identity_key(),
    )?;
    Ok((bundle, changes))
}
