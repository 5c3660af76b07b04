//! Errors as they cross IPC: `{kind, message}`, so the UI switches on `kind`
//! (the engine's [`audiovault_engine::Error::kind`]) and shows `message`.
//! Engine messages never carry a secret (see the engine's error policy).

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct IpcError {
    pub kind: String,
    pub message: String,
}

impl IpcError {
    pub fn new(kind: &str, message: impl Into<String>) -> Self {
        IpcError {
            kind: kind.to_string(),
            message: message.into(),
        }
    }

    pub fn locked() -> Self {
        IpcError::new("locked", "the vault is locked")
    }
}

impl From<audiovault_engine::Error> for IpcError {
    fn from(e: audiovault_engine::Error) -> Self {
        IpcError::new(e.kind(), e.to_string())
    }
}

impl From<audiovault_engine::catalog::CatalogError> for IpcError {
    fn from(e: audiovault_engine::catalog::CatalogError) -> Self {
        audiovault_engine::Error::from(e).into()
    }
}

impl From<tauri::Error> for IpcError {
    fn from(e: tauri::Error) -> Self {
        IpcError::new("app", e.to_string())
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_their_kind_and_message() {
        let e: IpcError = audiovault_engine::Error::TrackNotFound("abcd".into()).into();
        assert_eq!(e.kind, "track_not_found");
        assert!(e.message.contains("abcd"));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "track_not_found");
        assert!(json["message"].is_string());
    }

    #[test]
    fn a_wrong_passphrase_is_its_own_kind() {
        let e: IpcError =
            audiovault_engine::Error::Key(audiovault_engine::keys::KeyError::WrongPassphrase)
                .into();
        assert_eq!(e.kind, "wrong_passphrase");
    }
}
