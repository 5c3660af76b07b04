//! Where secrets come from on the command line, and opening the vault with them.
//!
//! An explicit passphrase (`--passphrase-file`, then `AUDIOVAULT_PASSPHRASE`)
//! wins; without one, the key remembered in the OS keyring; without that, a
//! prompt on the terminal. Secrets are never echoed, logged or printed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use audiovault_engine::{
    LockedVault, OsKeyring, Passphrase, Unattended, Vault, VaultKeys, default_vault_dir,
};

pub fn vault_dir(flag: Option<PathBuf>) -> Result<PathBuf> {
    match flag {
        Some(p) => Ok(p),
        None => default_vault_dir().ok_or_else(|| {
            anyhow!("no home folder found: pass --vault DIR or set AUDIOVAULT_VAULT")
        }),
    }
}

pub struct Secrets {
    passphrase_file: Option<PathBuf>,
}

fn read_passphrase_file(path: &Path) -> Result<Passphrase> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the passphrase file {}", path.display()))?;
    let first = text.lines().next().unwrap_or_default().to_string();
    Ok(Passphrase::from_line(first))
}

fn prompt(label: &str) -> Result<Passphrase> {
    let text =
        rpassword::prompt_password(format!("{label}: ")).context("cannot read the passphrase")?;
    Ok(Passphrase::from_line(text))
}

fn no_terminal() -> anyhow::Error {
    anyhow!(
        "a passphrase is needed: set AUDIOVAULT_PASSPHRASE, pass --passphrase-file FILE, or run in a terminal"
    )
}

impl Secrets {
    pub fn from_env(passphrase_file: Option<PathBuf>) -> Result<Self> {
        Ok(Secrets { passphrase_file })
    }

    fn explicit(&self) -> Result<Option<Passphrase>> {
        if let Some(path) = &self.passphrase_file {
            return Ok(Some(read_passphrase_file(path)?));
        }
        Ok(audiovault_engine::secret::env_passphrase())
    }

    /// A passphrase for a new vault: explicit, or typed twice.
    pub fn new_passphrase(&self, label: &str) -> Result<Passphrase> {
        if let Some(p) = self.explicit()? {
            return Ok(p);
        }
        prompt_twice(label)
    }

    /// The passphrase of a vault not yet on this device (`clone`): explicit, or typed once.
    pub fn existing_passphrase(&self, label: &str) -> Result<Passphrase> {
        if let Some(p) = self.explicit()? {
            return Ok(p);
        }
        if !std::io::stdin().is_terminal() {
            return Err(no_terminal());
        }
        prompt(label)
    }

    /// The new passphrase for `passwd`.
    pub fn replacement_passphrase(&self, file: Option<PathBuf>) -> Result<Passphrase> {
        if let Some(path) = file {
            return read_passphrase_file(&path);
        }
        if let Some(p) = audiovault_engine::secret::env_new_passphrase() {
            return Ok(p);
        }
        prompt_twice("New passphrase")
    }

    pub fn unlock(&self, root: &Path) -> Result<Vault> {
        let vault = self.unlock_keys(root)?.open()?;
        for notice in vault.notices() {
            eprintln!("warning: {}", crate::output::sanitize(&notice.message));
        }
        Ok(vault)
    }

    /// The vault's key without opening its catalog (`doctor`, which must run when
    /// the catalog cannot be opened): the engine's unattended order, then a prompt.
    pub fn unlock_keys(&self, root: &Path) -> Result<VaultKeys> {
        let locked = LockedVault::open(root)?;
        let explicit = match &self.passphrase_file {
            Some(path) => Some(read_passphrase_file(path)?),
            None => None,
        };
        match locked.unlock_keys_unattended(explicit.as_ref(), &OsKeyring)? {
            Unattended::Opened(keys, _) => return Ok(*keys),
            Unattended::NeedsPassphrase(Some(note)) => eprintln!("note: {note}"),
            Unattended::NeedsPassphrase(None) => {}
        }
        if !std::io::stdin().is_terminal() {
            return Err(no_terminal());
        }
        Ok(locked.unlock_keys(&prompt("Passphrase")?)?)
    }
}

fn prompt_twice(label: &str) -> Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        return Err(no_terminal());
    }
    let first = prompt(label)?;
    if first.is_empty() {
        bail!("the passphrase must not be empty");
    }
    let second = prompt("Repeat it")?;
    if first.expose() != second.expose() {
        bail!("the two passphrases differ; nothing was changed");
    }
    Ok(first)
}

/// `--remember`: store the key in the OS keyring, or say why it cannot be.
pub fn remember(vault: &Vault) {
    match vault.remember_key_or_note(&OsKeyring) {
        None => eprintln!("The key is remembered in the OS keyring on this device."),
        Some(note) => eprintln!("note: {note}"),
    }
}
