//! vault.json authentication and ordering.
//!
//! vault.json travels through the remote, which may be hostile: it must not be
//! able to weaken the KDF, change the chunker, or bring back a wrapped key from
//! before a passphrase change. So every field is covered by an HMAC-SHA256 under
//! a key derived from the master key (checked once the passphrase, or the
//! keyring, has produced the key), and each passphrase change raises an `epoch`.
//! Two copies of the file are ordered by (epoch, epoch_device, mac): the device
//! that changed the passphrase breaks ties between concurrent changes, so every
//! device settles on the same copy without consulting a clock.

use std::cmp::Ordering;

use ring::hmac;

use super::VaultConfig;
use crate::keys::MasterKey;
use crate::store::hex;

/// What checking a vault.json against a key found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticity {
    /// Its MAC verifies under this key.
    Verified,
    /// Written by a version before MACs (format 1): nothing to verify. Upgraded
    /// on the first unlock, and always ordered below a verified copy.
    Legacy,
    /// It carries a MAC that does not verify: altered, or another vault's.
    Forged,
}

const MAC_PURPOSE: &str = "audiovault vault.json mac v1";

fn mac_key(master: &MasterKey, vault_id: &str) -> hmac::Key {
    hmac::Key::new(
        hmac::HMAC_SHA256,
        master.derive(vault_id, MAC_PURPOSE).expose(),
    )
}

/// The bytes the MAC covers: every field but the MAC, as JSON with sorted keys
/// (independent of the order a writer used).
fn mac_input(config: &VaultConfig) -> Vec<u8> {
    let mut value = serde_json::to_value(config).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("mac");
    }
    let mut out = Vec::new();
    write_canonical(&value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(
                    serde_json::Value::String((*k).clone())
                        .to_string()
                        .as_bytes(),
                );
                out.push(b':');
                write_canonical(&map[*k], out);
            }
            out.push(b'}');
        }
        serde_json::Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

pub(crate) fn compute_mac(config: &VaultConfig, master: &MasterKey) -> String {
    hex(hmac::sign(&mac_key(master, &config.vault_id), &mac_input(config)).as_ref())
}

pub fn authenticate(config: &VaultConfig, master: &MasterKey) -> Authenticity {
    match &config.mac {
        None if config.format_version < 2 => Authenticity::Legacy,
        None => Authenticity::Forged,
        Some(mac) => {
            let Some(tag) = crate::store::unhex(mac) else {
                return Authenticity::Forged;
            };
            match hmac::verify(&mac_key(master, &config.vault_id), &mac_input(config), &tag) {
                Ok(()) => Authenticity::Verified,
                Err(_) => Authenticity::Forged,
            }
        }
    }
}

/// Orders two authenticated copies of one vault's vault.json: the later
/// passphrase change is the greater.
pub fn order(a: &VaultConfig, b: &VaultConfig) -> Ordering {
    (a.epoch, &a.epoch_device, &a.mac).cmp(&(b.epoch, &b.epoch_device, &b.mac))
}

/// Whether `theirs` may replace `ours`: the same vault, the same chunker and
/// ciphers (which no passphrase change alters), and only the key wrapping and
/// its epoch different.
pub fn compatible(ours: &VaultConfig, theirs: &VaultConfig) -> bool {
    ours.vault_id == theirs.vault_id
        && ours.chunker == theirs.chunker
        && ours.cipher == theirs.cipher
        && ours.chunk_id == theirs.chunk_id
        && ours.key_check == theirs.key_check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KdfParams;
    use crate::secret::Passphrase;
    use crate::store::chunker::ChunkerParams;

    fn config(master: &MasterKey) -> VaultConfig {
        let kdf = KdfParams::generate(1024, 1).unwrap();
        let mut c = VaultConfig {
            format: "audiovault-vault".into(),
            format_version: super::super::FORMAT_VERSION,
            vault_id: "v1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            epoch: 3,
            epoch_device: "aa".into(),
            wrapped_master_key: master.wrap(&Passphrase::new("pw"), &kdf, "v1").unwrap(),
            kdf,
            key_check: "kc".into(),
            cipher: "aes-256-gcm".into(),
            chunk_id: "blake3-keyed".into(),
            chunker: ChunkerParams::default(),
            mac: None,
        };
        c.mac = Some(compute_mac(&c, master));
        c
    }

    #[test]
    fn every_field_is_covered_and_the_key_matters() {
        let master = MasterKey::generate().unwrap();
        let good = config(&master);
        assert_eq!(authenticate(&good, &master), Authenticity::Verified);
        let other = MasterKey::generate().unwrap();
        assert_eq!(authenticate(&good, &other), Authenticity::Forged);

        let mut weaker = good.clone();
        weaker.kdf.memory_kib = 8;
        assert_eq!(authenticate(&weaker, &master), Authenticity::Forged);
        let mut rolled_back = good.clone();
        rolled_back.epoch = 2;
        assert_eq!(authenticate(&rolled_back, &master), Authenticity::Forged);
        let mut chunker = good.clone();
        chunker.chunker.avg_size *= 2;
        assert_eq!(authenticate(&chunker, &master), Authenticity::Forged);
        let mut stripped = good.clone();
        stripped.mac = None;
        assert_eq!(authenticate(&stripped, &master), Authenticity::Forged);
        stripped.format_version = 1;
        assert_eq!(authenticate(&stripped, &master), Authenticity::Legacy);
    }

    #[test]
    fn the_mac_survives_a_round_trip_through_the_file_format() {
        let master = MasterKey::generate().unwrap();
        let good = config(&master);
        let text = serde_json::to_string_pretty(&good).unwrap();
        let back: VaultConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(authenticate(&back, &master), Authenticity::Verified);
    }

    #[test]
    fn later_epochs_order_higher_and_ties_break_by_device() {
        let master = MasterKey::generate().unwrap();
        let a = config(&master);
        let mut b = a.clone();
        b.epoch = 4;
        assert_eq!(order(&a, &b), Ordering::Less);
        let mut c = a.clone();
        c.epoch_device = "bb".into();
        assert_eq!(order(&a, &c), Ordering::Less);
        assert_eq!(order(&c, &a), Ordering::Greater);
    }
}
