//! Errors as they cross IPC: `{kind, message}`, so the UI switches on `kind`
//! (the engine's [`audiovault_engine::Error::kind`]) and shows `message`.
//! Engine messages never carry a secret (see the engine's error policy).

use audiovault_engine::ErrorKind;
use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, TS)]
pub struct IpcError {
    pub kind: ErrorKind,
    pub message: String,
}

impl IpcError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        IpcError {
            kind,
            message: message.into(),
        }
    }

    pub fn locked() -> Self {
        IpcError::new(ErrorKind::Locked, "the vault is locked")
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
        IpcError::new(ErrorKind::App, e.to_string())
    }
}

pub type IpcResult<T> = Result<T, IpcError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_their_kind_and_message() {
        let e: IpcError = audiovault_engine::Error::TrackNotFound("abcd".into()).into();
        assert_eq!(e.kind, ErrorKind::TrackNotFound);
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
        assert_eq!(e.kind, ErrorKind::WrongPassphrase);
    }
}
