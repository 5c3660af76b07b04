//! Keys: a random master key, wrapped under a key that Argon2id derives from the
//! passphrase; sub-keys for each purpose derived from the master key with HKDF;
//! and an optional copy of the master key in the OS keyring.
//!
//! Changing the passphrase rewraps the master key and never touches a chunk.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::{KeyBytes, Passphrase};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("the passphrase must not be empty")]
    EmptyPassphrase,
    #[error("key derivation parameters are invalid: {0}")]
    BadKdfParams(String),
    #[error("the wrapped master key in vault.json is malformed")]
    MalformedWrappedKey,
    #[error("no OS keyring is available ({0})")]
    KeyringUnavailable(String),
    #[error("the OS keyring refused the request ({0})")]
    Keyring(String),
    #[error("the system random number generator failed")]
    Random,
}

/// Argon2id parameters, stored in vault.json so a vault keeps opening after the
/// defaults change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub algorithm: String,
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Base64 of 16 random bytes.
    pub salt: String,
}

impl KdfParams {
    /// OWASP's Argon2id guidance sits at 19–46 MiB; 64 MiB and 3 passes cost about
    /// a quarter of a second here, paid once per unlock.
    pub const DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
    pub const DEFAULT_ITERATIONS: u32 = 3;

    pub fn generate(memory_kib: u32, iterations: u32) -> Result<Self, KeyError> {
        let salt: [u8; 16] = random_array()?;
        let params = KdfParams {
            algorithm: "argon2id".into(),
            memory_kib,
            iterations,
            parallelism: 1,
            salt: B64.encode(salt),
        };
        params.argon2()?;
        Ok(params)
    }

    fn argon2(&self) -> Result<argon2::Argon2<'static>, KeyError> {
        if self.algorithm != "argon2id" {
            return Err(KeyError::BadKdfParams(format!(
                "unknown algorithm {}",
                self.algorithm
            )));
        }
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| KeyError::BadKdfParams(e.to_string()))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }

    fn derive(&self, passphrase: &Passphrase) -> Result<KeyBytes, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        let salt = B64
            .decode(&self.salt)
            .map_err(|_| KeyError::BadKdfParams("salt is not base64".into()))?;
        let mut out = Zeroizing::new([0u8; 32]);
        self.argon2()?
            .hash_password_into(passphrase.expose().as_bytes(), &salt, out.as_mut())
            .map_err(|e| KeyError::BadKdfParams(e.to_string()))?;
        Ok(KeyBytes::new(*out))
    }
}

/// The master key wrapped (encrypted) under the passphrase-derived key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub cipher: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// The vault's master key. Every other key derives from it.
#[derive(Clone, Debug)]
pub struct MasterKey(KeyBytes);

impl MasterKey {
    pub fn generate() -> Result<Self, KeyError> {
        Ok(MasterKey(KeyBytes::new(random_array()?)))
    }

    pub fn wrap(
        &self,
        passphrase: &Passphrase,
        kdf: &KdfParams,
        vault_id: &str,
    ) -> Result<WrappedKey, KeyError> {
        let kek = kdf.derive(passphrase)?;
        let nonce: [u8; NONCE_LEN] = random_array()?;
        let mut buf = self.0.expose().to_vec();
        aead_key(&kek)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(vault_id)),
                &mut buf,
            )
            .map_err(|_| KeyError::Random)?;
        Ok(WrappedKey {
            cipher: "aes-256-gcm".into(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(buf),
        })
    }

    pub fn unwrap(
        wrapped: &WrappedKey,
        passphrase: &Passphrase,
        kdf: &KdfParams,
        vault_id: &str,
    ) -> Result<Self, KeyError> {
        if wrapped.cipher != "aes-256-gcm" {
            return Err(KeyError::MalformedWrappedKey);
        }
        let nonce: [u8; NONCE_LEN] = B64
            .decode(&wrapped.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(KeyError::MalformedWrappedKey)?;
        let mut buf = Zeroizing::new(
            B64.decode(&wrapped.ciphertext)
                .map_err(|_| KeyError::MalformedWrappedKey)?,
        );
        let kek = kdf.derive(passphrase)?;
        let plain = aead_key(&kek)
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(wrap_aad(vault_id)),
                buf.as_mut_slice(),
            )
            .map_err(|_| KeyError::WrongPassphrase)?;
        KeyBytes::from_slice(plain)
            .map(MasterKey)
            .ok_or(KeyError::MalformedWrappedKey)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        KeyBytes::from_slice(bytes).map(MasterKey)
    }

    pub(crate) fn bytes(&self) -> &KeyBytes {
        &self.0
    }

    /// A sub-key for one purpose. `vault_id` salts the derivation so equal master
    /// keys (never expected, but cheap to rule out) still give distinct sub-keys.
    pub(crate) fn derive(&self, vault_id: &str, purpose: &str) -> KeyBytes {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(vault_id.as_bytes()), self.0.expose());
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit: expand cannot fail.
        if hk.expand(purpose.as_bytes(), out.as_mut()).is_err() {
            unreachable!("HKDF output length is fixed and valid");
        }
        KeyBytes::new(*out)
    }
}

fn wrap_aad(vault_id: &str) -> Vec<u8> {
    let mut aad = b"audiovault master key v1\0".to_vec();
    aad.extend_from_slice(vault_id.as_bytes());
    aad
}

pub(crate) fn aead_key(key: &KeyBytes) -> LessSafeKey {
    // AES-256 takes exactly 32 bytes, which KeyBytes always holds.
    match UnboundKey::new(&AES_256_GCM, key.expose()) {
        Ok(k) => LessSafeKey::new(k),
        Err(_) => unreachable!("AES-256-GCM accepts any 32-byte key"),
    }
}

pub(crate) fn random_array<const N: usize>() -> Result<[u8; N], KeyError> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| KeyError::Random)?;
    Ok(out)
}

/// Where a master key may be remembered so the vault opens without a passphrase.
/// A trait so the engine can be driven by the real OS keyring, or by nothing.
pub trait KeyStore: Send + Sync {
    /// `Ok(None)` when nothing is stored for this vault.
    fn load(&self, vault_id: &str) -> Result<Option<MasterKey>, KeyError>;
    fn store(&self, vault_id: &str, key: &MasterKey) -> Result<(), KeyError>;
    /// `Ok(true)` when a key was removed.
    fn forget(&self, vault_id: &str) -> Result<bool, KeyError>;
}

/// The platform keyring: Secret Service on Linux (GNOME Keyring, KWallet),
/// Keychain on macOS, Credential Manager on Windows.
pub struct OsKeyring;

impl OsKeyring {
    const SERVICE: &'static str = "audiovault";

    fn entry(vault_id: &str) -> Result<keyring::Entry, KeyError> {
        keyring::Entry::new(Self::SERVICE, &format!("vault-{vault_id}")).map_err(keyring_error)
    }
}

/// Keyring errors are reduced to their kind: platform messages are not secrets,
/// but nothing here should echo a credential back either.
pub(crate) fn keyring_error(e: keyring::Error) -> KeyError {
    match e {
        keyring::Error::PlatformFailure(inner) => {
            KeyError::KeyringUnavailable(first_line(&inner.to_string()))
        }
        keyring::Error::NoStorageAccess(inner) => {
            KeyError::KeyringUnavailable(first_line(&inner.to_string()))
        }
        other => KeyError::Keyring(first_line(&other.to_string())),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

impl KeyStore for OsKeyring {
    fn load(&self, vault_id: &str) -> Result<Option<MasterKey>, KeyError> {
        match Self::entry(vault_id)?.get_secret() {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                Ok(Some(MasterKey::from_bytes(&bytes).ok_or_else(|| {
                    KeyError::Keyring("the stored key has the wrong length".into())
                })?))
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn store(&self, vault_id: &str, key: &MasterKey) -> Result<(), KeyError> {
        Self::entry(vault_id)?
            .set_secret(key.bytes().expose())
            .map_err(keyring_error)
    }

    fn forget(&self, vault_id: &str) -> Result<bool, KeyError> {
        match Self::entry(vault_id)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_kdf() -> KdfParams {
        KdfParams::generate(1024, 1).unwrap()
    }

    #[test]
    fn wrap_then_unwrap_gives_the_same_key() {
        let kdf = fast_kdf();
        let key = MasterKey::generate().unwrap();
        let wrapped = key.wrap(&Passphrase::new("pw"), &kdf, "v1").unwrap();
        let back = MasterKey::unwrap(&wrapped, &Passphrase::new("pw"), &kdf, "v1").unwrap();
        assert_eq!(back.bytes().expose(), key.bytes().expose());
    }

    #[test]
    fn wrong_passphrase_or_other_vault_is_refused() {
        let kdf = fast_kdf();
        let key = MasterKey::generate().unwrap();
        let wrapped = key.wrap(&Passphrase::new("pw"), &kdf, "v1").unwrap();
        assert!(matches!(
            MasterKey::unwrap(&wrapped, &Passphrase::new("pW"), &kdf, "v1"),
            Err(KeyError::WrongPassphrase)
        ));
        assert!(matches!(
            MasterKey::unwrap(&wrapped, &Passphrase::new("pw"), &kdf, "v2"),
            Err(KeyError::WrongPassphrase)
        ));
    }

    #[test]
    fn sub_keys_differ_by_purpose_and_are_stable() {
        let key = MasterKey::generate().unwrap();
        let a = key.derive("v", "chunk-encryption");
        let b = key.derive("v", "chunk-id");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose(), key.derive("v", "chunk-encryption").expose());
    }

    #[test]
    fn empty_passphrase_is_refused() {
        let key = MasterKey::generate().unwrap();
        assert!(matches!(
            key.wrap(&Passphrase::new(""), &fast_kdf(), "v"),
            Err(KeyError::EmptyPassphrase)
        ));
    }
}
