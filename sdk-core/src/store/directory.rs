//! A profile on disk: one directory holding the encrypted database, the key header that
//! says how to obtain its key, and the encrypted attachment files.
//!
//! ```text
//! <profile directory>/        created with mode 0700
//!   key.json                  the key header (KeyInfo): plaintext, holds no secret
//!   profile.sqlite            the SQLCipher database (+ -wal, -shm while open)
//!   attachments/              attachment files, each encrypted with its own key
//! ```
//!
//! - **Creating** never overwrites: the directory must be absent or empty. The database
//!   key is made first (sealed in the keychain, or derived from the passphrase), then the
//!   database, then the attachments folder, and the key header is written last, atomically
//!   (a temporary file, `fsync`, rename, `fsync` of the directory). A directory holds a
//!   profile exactly when it holds `key.json`. A failure undoes every step (including the
//!   keychain entry); a crash part-way leaves a directory without a header, which opening
//!   reports as not found, and a keychain entry that no header names.
//! - **Opening** reads the header, obtains the key and opens the database. A missing
//!   keychain entry ([`KeyError::KeychainEntryMissing`]), a missing passphrase
//!   ([`KeyError::PassphraseRequired`]), a wrong passphrase ([`KeyError::WrongPassphrase`]),
//!   a wrong key ([`StoreError::WrongKey`]) or a malformed header are typed errors, and no
//!   byte in the directory is written, changed or deleted on any of those paths.
//! - **Changing the protection** (a new passphrase, or from the keychain to a passphrase
//!   and back) makes a new key and writes its header durably beside the old one
//!   (`key.json.next`), re-encrypts the database under it (SQLCipher's `rekey`, one
//!   transaction), renames the new header over `key.json` and only then deletes the old
//!   keychain entry. A crash between two steps leaves both headers: opening tries the new
//!   one's key, then the old one's, against the database (reading only), and finishes or
//!   undoes the change by what the database accepts. Whichever passphrase opens the
//!   database is the right one, so a user who typed the new passphrase just before the
//!   crash and one who types the old one after it are both served.
//! - **One user at a time**: an open store holds an exclusive lock on the directory
//!   itself (`flock` on Unix; the directory, so that no file is added and a renamed key
//!   header keeps it). Opening, creating in, changing or deleting a profile that another
//!   messenger holds open (in another process, or another handle in this one) is
//!   [`StoreError::InUse`], before anything is read or written: two messengers reading the
//!   same queues would race each other's ratchets. The lock goes with the store's last
//!   handle, or with the process.
//! - **Deleting** removes the key first (so a half-done deletion leaves nothing
//!   readable), then only the files named above.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::key_info::{Argon2Params, KeyError, KeyInfo, MAX_KEY_INFO_LEN};
use super::passphrase::create_with_passphrase;
use super::{DatabaseKey, SqlCipherStore, StoreError};
use crate::error::{Error, Result};

#[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
use super::Keychain;

/// File name of the key header inside a profile directory.
pub const KEY_HEADER_FILE: &str = "key.json";
/// File name of the database inside a profile directory.
pub const DATABASE_FILE: &str = "profile.sqlite";
/// Folder of the encrypted attachment files inside a profile directory.
pub const ATTACHMENTS_DIR: &str = "attachments";

/// Temporary name of a key header being written (renamed to [`KEY_HEADER_FILE`]).
const KEY_HEADER_TEMP: &str = "key.json.new";
/// The header of a key change in progress ([`ProfileDirectory::change_protection`]):
/// written before the database is re-encrypted, renamed over [`KEY_HEADER_FILE`] after.
const KEY_HEADER_NEXT: &str = "key.json.next";

/// How a new profile's database key is protected. There is no default: the application
/// chooses, and Sotto never falls back from one to the other.
pub enum Protection<'a> {
    /// A random key sealed in this OS keychain, under service `sotto` and a random profile
    /// id as the account.
    #[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
    Keychain(&'a Keychain),
    /// A key derived from the user's passphrase with Argon2id; the parameters and a random
    /// salt are recorded in the key header.
    Passphrase {
        /// The user's passphrase (not empty).
        passphrase: &'a str,
        /// Argon2id cost; [`Argon2Params::default`] unless the device needs otherwise.
        params: Argon2Params,
    },
}

/// The paths of one profile directory, and the operations on the profile as a whole.
/// Making one touches nothing on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileDirectory {
    root: PathBuf,
}

impl ProfileDirectory {
    /// The profile directory at `root` (absolute or relative to the working directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The key header file.
    pub fn key_header_path(&self) -> PathBuf {
        self.root.join(KEY_HEADER_FILE)
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    /// The folder of encrypted attachment files.
    pub fn attachments_dir(&self) -> PathBuf {
        self.root.join(ATTACHMENTS_DIR)
    }

    /// Whether the directory holds a profile (its key header exists).
    pub fn exists(&self) -> bool {
        self.key_header_path().is_file()
    }

    /// Reads and checks the key header, e.g. to learn whether opening needs a passphrase
    /// ([`KeyInfo::needs_passphrase`]) before asking the user for one. A directory without
    /// a header is [`StoreError::NotFound`].
    pub fn key_info(&self) -> Result<KeyInfo> {
        read_header(&self.key_header_path())
    }

    fn next_header_path(&self) -> PathBuf {
        self.root.join(KEY_HEADER_NEXT)
    }

    /// Creates a new, empty profile store protected as chosen. The directory must not
    /// exist or be empty ([`StoreError::AlreadyExists`] otherwise; nothing in it is
    /// touched). On any failure every step is undone.
    ///
    /// The store holds no identity yet: pass it to [`Profile::create`](crate::Profile::create).
    pub fn create(&self, protection: Protection<'_>) -> Result<SqlCipherStore> {
        let mut rollback = Rollback::default();
        let made = self.create_steps(protection, &mut rollback);
        if made.is_err() {
            rollback.undo();
        }
        made
    }

    fn create_steps(
        &self,
        protection: Protection<'_>,
        rollback: &mut Rollback,
    ) -> Result<SqlCipherStore> {
        self.claim_root(rollback)?;
        let lock = self.lock()?;
        let (key, info) = make_key(protection)?;
        rollback.key = Some(info.clone());

        let database = self.database_path();
        rollback.database = Some(database.clone());
        let store = SqlCipherStore::create(&database, &key)?;

        let attachments = self.attachments_dir();
        create_private_dir(&attachments)?;
        rollback.attachments = Some(attachments);

        let temp = self.root.join(KEY_HEADER_TEMP);
        rollback.temp_header = Some(temp.clone());
        write_durably(&temp, &info.encode())?;
        fs::rename(&temp, self.key_header_path())
            .map_err(|e| io_error("installing the key header", &e))?;
        sync_dir(&self.root)?;
        Ok(store.holding(lock))
    }

    /// Takes the directory's exclusive lock ([`StoreError::InUse`] when another holds it).
    /// A directory that does not exist is [`StoreError::NotFound`]. Only where folders can
    /// be opened and locked (Unix); elsewhere `None`.
    fn lock(&self) -> Result<Option<fs::File>> {
        if !cfg!(unix) {
            return Ok(None);
        }
        let directory = fs::File::open(&self.root).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::from(StoreError::NotFound {
                path: self.root.clone(),
            }),
            _ => io_error(&format!("opening {}", self.root.display()), &e),
        })?;
        match directory.try_lock() {
            Ok(()) => Ok(Some(directory)),
            Err(fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
                path: self.root.clone(),
            }
            .into()),
            Err(fs::TryLockError::Error(e)) => {
                Err(io_error(&format!("locking {}", self.root.display()), &e))
            }
        }
    }

    /// Makes the root directory (private to its owner), or accepts an existing empty one.
    fn claim_root(&self, rollback: &mut Rollback) -> Result<()> {
        match fs::read_dir(&self.root) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(StoreError::AlreadyExists {
                        path: self.root.clone(),
                    }
                    .into());
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fs::create_dir_all(parent)
                        .map_err(|e| io_error(&format!("creating {}", parent.display()), &e))?;
                }
                create_private_dir(&self.root)?;
                rollback.root = Some(self.root.clone());
                Ok(())
            }
            Err(e) => Err(io_error(&format!("reading {}", self.root.display()), &e)),
        }
    }

    /// Opens the profile's store: reads the key header, obtains the key (from the keychain,
    /// or from `passphrase` in passphrase mode) and opens and migrates the database.
    ///
    /// Every failure before the database accepts the key leaves the directory byte for byte
    /// as it was: [`StoreError::NotFound`] (no header), a [`KeyError`] for a malformed
    /// header, a missing keychain entry, a missing or wrong passphrase, or
    /// [`StoreError::WrongKey`] for a keychain key the database refuses.
    pub fn open(&self, passphrase: Option<&str>) -> Result<SqlCipherStore> {
        let lock = self.lock().map_err(|error| match error {
            Error::Store(StoreError::NotFound { .. }) => StoreError::NotFound {
                path: self.key_header_path(),
            }
            .into(),
            other => other,
        })?;
        let (key, info) = match self.settle_key_change(passphrase)? {
            Some(verified) => verified,
            None => {
                let info = self.key_info()?;
                (info.unseal(passphrase)?, info)
            }
        };
        let store =
            SqlCipherStore::open(self.database_path(), &key).map_err(|e| info.refused(e))?;
        // A profile made by hand or restored from a backup may lack the (empty) folder.
        if !self.attachments_dir().is_dir() {
            create_private_dir(&self.attachments_dir())?;
        }
        Ok(store.holding(lock))
    }

    /// Protects the profile's database with a new key: a new passphrase, or a move from
    /// the keychain to a passphrase or back (see the module documentation for the steps
    /// and what a crash between them leaves). `store` is this directory's open store;
    /// everything in it stays as it was. The old keychain entry, if any, is deleted at the
    /// end.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `store` is not this directory's database; the errors
    /// of making the new key ([`KeyError`]) and of re-encrypting. On an error before the
    /// database took the new key, the old key and header stay in force and the new ones
    /// are removed.
    pub fn change_protection(
        &self,
        store: &SqlCipherStore,
        protection: Protection<'_>,
    ) -> Result<()> {
        let database = std::path::absolute(self.database_path())
            .map_err(|e| io_error("resolving the database path", &e))?;
        if store.path() != database {
            return Err(StoreError::Backend(format!(
                "the store at {} is not the database of this profile directory",
                store.path().display()
            ))
            .into());
        }
        let current = self.key_info()?;
        // What a change that failed before its re-encryption may have left (the open
        // store proves the current key is the one in force).
        self.discard_next_header()?;
        let (key, next) = make_key(protection)?;
        let next_path = self.next_header_path();
        let undo = |error: Error| {
            let _ = fs::remove_file(&next_path);
            let _ = next.delete_key();
            error
        };
        write_durably(&next_path, &next.encode())
            .and_then(|()| sync_dir(&self.root))
            .map_err(undo)?;
        if let Err(error) = store.rekey(&key) {
            // The re-encryption is one transaction: it happened wholly or not at all.
            if !SqlCipherStore::key_opens(&database, &key).unwrap_or(false) {
                return Err(undo(error.into()));
            }
        }
        self.install_next_header(&current)
    }

    /// Finishes or undoes a key change a crash interrupted (a `key.json.next` beside the
    /// header), by which header's key the database accepts. Returns that key with its
    /// header, or `None` when there was nothing to settle, or no key could be tried (the
    /// caller then goes on with `key.json`).
    fn settle_key_change(
        &self,
        passphrase: Option<&str>,
    ) -> Result<Option<(DatabaseKey, KeyInfo)>> {
        let next = match read_header(&self.next_header_path()) {
            Ok(next) => next,
            Err(Error::Store(StoreError::NotFound { .. })) => return Ok(None),
            // Written only in part: the crash came before the re-encryption, which starts
            // after the header is durable.
            Err(Error::Key(_)) => {
                remove_file_if_present(&self.next_header_path())?;
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        let current = self.key_info()?;
        if let Some(key) = self.try_key(&next, passphrase)? {
            self.install_next_header(&current)?;
            return Ok(Some((key, next)));
        }
        if let Some(key) = self.try_key(&current, passphrase)? {
            self.discard_next_header()?;
            return Ok(Some((key, current)));
        }
        if next.needs_passphrase() && passphrase.is_none() {
            // Possibly the key in force: the user must be asked for the passphrase.
            return Err(KeyError::PassphraseRequired.into());
        }
        Ok(None)
    }

    /// The key of `info` if the database accepts it (checked reading only); `None` when
    /// it does not, or when it cannot be had (no passphrase given, no keychain entry).
    fn try_key(&self, info: &KeyInfo, passphrase: Option<&str>) -> Result<Option<DatabaseKey>> {
        let key = match info.unseal(passphrase) {
            Ok(key) => key,
            Err(KeyError::PassphraseRequired | KeyError::KeychainEntryMissing { .. }) => {
                return Ok(None);
            }
            Err(other) => return Err(other.into()),
        };
        Ok(SqlCipherStore::key_opens(self.database_path(), &key)?.then_some(key))
    }

    /// Makes the pending header the profile's header (the database already took its key)
    /// and deletes the key of the header it replaces.
    fn install_next_header(&self, replaced: &KeyInfo) -> Result<()> {
        fs::rename(self.next_header_path(), self.key_header_path())
            .map_err(|e| io_error("installing the new key header", &e))?;
        sync_dir(&self.root)?;
        // Best effort: a keychain entry no header names any more opens nothing.
        let _ = replaced.delete_key();
        Ok(())
    }

    /// Removes a pending header whose key the database never took, with its keychain
    /// entry.
    fn discard_next_header(&self) -> Result<()> {
        let path = self.next_header_path();
        match read_header(&path) {
            Ok(next) => {
                let _ = next.delete_key();
            }
            Err(Error::Store(StoreError::NotFound { .. })) => return Ok(()),
            Err(_) => {}
        }
        remove_file_if_present(&path)?;
        sync_dir(&self.root)
    }

    /// Deletes the profile: its key first (the keychain entry; in passphrase mode there is
    /// none to delete), then the key header, the database with its `-wal` and `-shm`, the
    /// attachment files, and the directory if nothing else is left in it. The store must be
    /// closed (dropped) first. Files Sotto did not make are left in place.
    ///
    /// Without its key the database is unreadable, so an interrupted deletion leaves
    /// nothing anyone can open; a directory whose header is already gone is removed as far
    /// as it goes without error, so deleting can simply be repeated.
    pub fn delete(&self) -> Result<()> {
        // Held until the end: nobody opens the profile while it goes. A directory that is
        // gone already has nothing left to delete.
        let _lock = match self.lock() {
            Ok(lock) => lock,
            Err(Error::Store(StoreError::NotFound { .. })) => None,
            Err(other) => return Err(other),
        };
        match self.key_info() {
            Ok(info) => info.delete_key()?,
            Err(Error::Store(StoreError::NotFound { .. })) => {}
            Err(other) => return Err(other),
        }
        if let Ok(next) = read_header(&self.next_header_path()) {
            next.delete_key()?;
        }
        let database = self.database_path();
        for file in [
            self.key_header_path(),
            self.root.join(KEY_HEADER_TEMP),
            self.next_header_path(),
            sidecar(&database, "-wal"),
            sidecar(&database, "-shm"),
            sidecar(&database, "-journal"),
            database,
        ] {
            remove_file_if_present(&file)?;
        }
        match fs::remove_dir_all(self.attachments_dir()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("deleting the attachment files", &e)),
        }
        // Only an empty directory is removed: anything else in it is not ours.
        let _ = fs::remove_dir(&self.root);
        Ok(())
    }
}

/// Reads and checks a key header; a missing file is [`StoreError::NotFound`].
fn read_header(path: &Path) -> Result<KeyInfo> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StoreError::NotFound {
                path: path.to_path_buf(),
            }
            .into());
        }
        Err(e) => return Err(io_error(&format!("reading {}", path.display()), &e)),
    };
    // One byte more than the limit, so an oversized header is reported as such.
    let mut bytes = Vec::new();
    file.take(MAX_KEY_INFO_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&format!("reading {}", path.display()), &e))?;
    Ok(KeyInfo::decode(&bytes)?)
}

fn make_key(protection: Protection<'_>) -> Result<(DatabaseKey, KeyInfo)> {
    Ok(match protection {
        #[cfg(all(feature = "keychain", not(target_arch = "wasm32")))]
        Protection::Keychain(keychain) => {
            keychain.create(&crate::content::MessageId::random().to_string())?
        }
        Protection::Passphrase { passphrase, params } => {
            create_with_passphrase(passphrase, params)?
        }
    })
}

/// What a failed [`ProfileDirectory::create`] must undo, in reverse order of making.
#[derive(Default)]
struct Rollback {
    root: Option<PathBuf>,
    key: Option<KeyInfo>,
    database: Option<PathBuf>,
    attachments: Option<PathBuf>,
    temp_header: Option<PathBuf>,
}

impl Rollback {
    /// Best effort: the error being returned is the one that matters.
    fn undo(self) {
        if let Some(temp) = self.temp_header {
            let _ = fs::remove_file(temp);
        }
        if let Some(attachments) = self.attachments {
            let _ = fs::remove_dir(attachments);
        }
        if let Some(database) = self.database {
            for suffix in ["-wal", "-shm", "-journal"] {
                let _ = fs::remove_file(sidecar(&database, suffix));
            }
            let _ = fs::remove_file(database);
        }
        if let Some(info) = self.key {
            let _ = info.delete_key();
        }
        if let Some(root) = self.root {
            let _ = fs::remove_dir(root);
        }
    }
}

fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .map_err(|e| io_error(&format!("creating {}", path.display()), &e))
}

/// Writes a new file and flushes it to disk before returning.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let context = || format!("writing {}", path.display());
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| io_error(&context(), &e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&context(), &e))
}

/// Makes a rename inside `dir` durable (POSIX needs the directory itself synced).
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error(&format!("syncing {}", dir.display()), &e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn remove_file_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error(&format!("deleting {}", path.display()), &e)),
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn io_error(context: &str, error: &std::io::Error) -> Error {
    Error::Store(StoreError::Io(format!("{context}: {error}")))
}
