//! vault.json on the remote. Every copy a device pushes is kept under its own
//! write-once name, `keys/<epoch>-<mac>`, so a device that still holds an older
//! passphrase can never overwrite a newer one; `vault.json` beside them is only a
//! copy of the newest, for a quick look and for clones by older versions.
//!
//! A push or a pull adopts the newest copy that authenticates under the vault's
//! key (the MAC covers the KDF and chunker parameters, so a hostile bucket can
//! neither forge one nor weaken them) and uploads its own when it is the newest.
//! A clone is given a passphrase, not a key: it opens the newest key file that
//! passphrase unwraps, and refuses when an even newer one authenticates under the
//! key it found (the passphrase was changed since) — or, later, when a manifest
//! says the key file it used is older than the library (a rollback).

use std::collections::HashSet;
use std::path::Path;

use super::SyncError;
use super::objects::{self, KEYS, VAULT_JSON};
use super::s3::{Listed, S3Remote};
use crate::error::{Error, Result};
use crate::keys::{KeyError, MasterKey};
use crate::secret::Passphrase;
use crate::vault::{Authenticity, Vault, VaultConfig};

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyOutcome {
    /// Another device's newer vault.json replaced ours.
    pub adopted: bool,
    /// Ours went up as the newest.
    pub uploaded: bool,
}

fn name_of(config: &VaultConfig) -> String {
    objects::key_file_name(config.epoch, config.mac.as_deref().unwrap_or(""))
}

/// Brings vault.json up to date in both directions: adopts a newer copy from the
/// remote, and (when `upload`) puts ours up when the remote lacks it.
pub(crate) fn reconcile(
    vault: &Vault,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    upload: bool,
) -> Result<KeyOutcome> {
    let path = vault.root().join("vault.json");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let ours = VaultConfig::from_bytes(&bytes, &path)?;
    if ours.authenticate(vault.master_key()) != Authenticity::Verified {
        return Err(Error::ConfigForged(path));
    }
    let our_name = name_of(&ours);
    let listed = rt.block_on(remote.list(KEYS))?;
    let mut outcome = KeyOutcome::default();
    if let Some((theirs, their_bytes)) =
        newest_authentic(vault.master_key(), &ours, remote, rt, &listed, &our_name)?
    {
        outcome.adopted = vault.adopt_config(&theirs, &their_bytes)?;
    }
    let present: HashSet<&str> = listed.iter().map(|l| l.name.as_str()).collect();
    if upload && !outcome.adopted && !present.contains(our_name.as_str()) {
        // First push to this prefix, or the first after a passphrase change: make
        // sure the prefix does not hold another vault before writing ours.
        if let Some(existing) = rt.block_on(remote.get(VAULT_JSON))? {
            let remote_id = objects::vault_id_of(&existing).unwrap_or_default();
            if remote_id != ours.vault_id {
                return Err(SyncError::OtherVault {
                    remote: remote_id,
                    local: ours.vault_id.clone(),
                }
                .into());
            }
        }
        rt.block_on(remote.put(&our_name, bytes.clone()))?;
        rt.block_on(remote.put(VAULT_JSON, bytes))?;
        outcome.uploaded = true;
    }
    Ok(outcome)
}

/// The newest key file, at least as new as `ours`, that authenticates under
/// `master` and describes the same vault. Only the highest epoch present is read
/// (usually one small object, and none when ours is the newest).
fn newest_authentic(
    master: &MasterKey,
    ours: &VaultConfig,
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    listed: &[Listed],
    our_name: &str,
) -> Result<Option<(VaultConfig, Vec<u8>)>> {
    let mut candidates: Vec<(u64, &str)> = listed
        .iter()
        .filter(|l| l.name != our_name)
        .filter_map(|l| Some((objects::key_file_epoch(&l.name)?, l.name.as_str())))
        .filter(|(epoch, _)| *epoch >= ours.epoch)
        .collect();
    candidates.sort_by(|a, b| b.cmp(a));
    let mut best: Option<(VaultConfig, Vec<u8>)> = None;
    for (epoch, name) in candidates {
        if best.as_ref().is_some_and(|(b, _)| epoch < b.epoch) {
            break;
        }
        let Some(bytes) = rt.block_on(remote.get(name))? else {
            continue;
        };
        let theirs = match VaultConfig::from_bytes(&bytes, Path::new(name)) {
            Ok(t) => t,
            Err(e @ Error::VaultTooNew { .. }) => return Err(e),
            // Damaged or foreign: not a candidate, whatever it claims.
            Err(_) => continue,
        };
        if theirs.vault_id != ours.vault_id {
            return Err(SyncError::OtherVault {
                remote: theirs.vault_id,
                local: ours.vault_id.clone(),
            }
            .into());
        }
        if theirs.authenticate(master) != Authenticity::Verified || !theirs.same_vault_as(ours) {
            continue;
        }
        if best.as_ref().is_none_or(|(b, _)| theirs.is_newer_than(b)) {
            best = Some((theirs, bytes));
        }
    }
    Ok(best)
}

/// The vault.json a clone opens with `passphrase`: the newest key file the
/// passphrase unwraps (only `vault.json` on remotes pushed before key files), as
/// bytes, with its master key. Refused when a newer key file authenticates under
/// that key: the passphrase was changed, and the old one must not open the copy.
pub(crate) fn for_clone(
    remote: &S3Remote,
    rt: &tokio::runtime::Runtime,
    url: &str,
    passphrase: &Passphrase,
) -> Result<(VaultConfig, Vec<u8>, MasterKey)> {
    let listed = rt.block_on(remote.list(KEYS))?;
    let mut names: Vec<(u64, String)> = listed
        .iter()
        .filter_map(|l| Some((objects::key_file_epoch(&l.name)?, l.name.clone())))
        .collect();
    names.sort_by(|a, b| b.cmp(a));
    let mut files: Vec<(VaultConfig, Vec<u8>)> = Vec::new();
    for (_, name) in &names {
        if let Some(bytes) = rt.block_on(remote.get(name))?
            && let Ok(config) = VaultConfig::from_bytes(&bytes, Path::new(name))
        {
            files.push((config, bytes));
        }
    }
    if files.is_empty() {
        let bytes = rt
            .block_on(remote.get(VAULT_JSON))?
            .ok_or_else(|| SyncError::NoVaultOnRemote(url.to_string()))?;
        let config = VaultConfig::from_bytes(&bytes, Path::new(VAULT_JSON))?;
        files.push((config, bytes));
    }
    // Newest first: the passphrase a user types is almost always the newest one,
    // and each attempt costs a key derivation.
    files.sort_by(|a, b| crate::vault::order_configs(&b.0, &a.0));
    let mut wrong = None;
    for (i, (config, bytes)) in files.iter().enumerate() {
        let master = match MasterKey::unwrap(
            &config.wrapped_master_key,
            passphrase,
            &config.kdf,
            &config.vault_id,
        ) {
            Ok(m) => m,
            Err(e @ KeyError::WrongPassphrase) => {
                wrong = Some(e);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if config.authenticate(&master) == Authenticity::Forged {
            return Err(Error::ConfigForged(
                Path::new(&name_of(config)).to_path_buf(),
            ));
        }
        let replaced = files[..i].iter().any(|(newer, _)| {
            newer.authenticate(&master) == Authenticity::Verified
                && newer.same_vault_as(config)
                && newer.is_newer_than(config)
        });
        if replaced {
            return Err(SyncError::PassphraseReplaced.into());
        }
        return Ok((config.clone(), bytes.clone(), master));
    }
    Err(wrong.unwrap_or(KeyError::WrongPassphrase).into())
}
