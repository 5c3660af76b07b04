//! Types that hold secrets. They zero their memory on drop, print as
//! `<redacted>`, and implement neither `Display` nor `Serialize`, so a secret
//! cannot reach a log line, an error message or a JSON document by accident.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// A user's passphrase.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(text.into()))
    }

    /// The passphrase as typed, with one trailing newline (from a file or a pipe) removed.
    pub fn from_line(mut text: String) -> Self {
        while text.ends_with('\n') || text.ends_with('\r') {
            text.pop();
        }
        Passphrase::new(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// 32 bytes of key material, kept in memory locked against swapping (`mlock`,
/// where the OS allows it: failing that, the key works all the same) and left
/// out of core dumps (`MADV_DONTDUMP`); zeroed when dropped.
pub struct KeyBytes(std::ptr::NonNull<[u8; 32]>);

// SAFETY: a KeyBytes owns its slot alone (no other KeyBytes points to it) and
// hands out only shared references to it, so it can move between and be shared
// by threads as a `Box<[u8; 32]>` could.
unsafe impl Send for KeyBytes {}
unsafe impl Sync for KeyBytes {}

impl KeyBytes {
    pub fn new(mut bytes: [u8; 32]) -> Self {
        let slot = locked::alloc();
        // SAFETY: the slot is valid, aligned and exclusively ours.
        unsafe { slot.as_ptr().write(bytes) };
        bytes.zeroize();
        KeyBytes(slot)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut array: [u8; 32] = bytes.try_into().ok()?;
        let key = KeyBytes::new(array);
        array.zeroize();
        Some(key)
    }

    pub fn expose(&self) -> &[u8; 32] {
        // SAFETY: the slot lives as long as self and is only written when made
        // and when freed (in drop).
        unsafe { self.0.as_ref() }
    }
}

impl Clone for KeyBytes {
    fn clone(&self) -> Self {
        let slot = locked::alloc();
        // SAFETY: two distinct valid slots; the copy never lands on the stack.
        unsafe { std::ptr::copy_nonoverlapping(self.0.as_ptr(), slot.as_ptr(), 1) };
        KeyBytes(slot)
    }
}

impl Drop for KeyBytes {
    fn drop(&mut self) {
        locked::free(self.0);
    }
}

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(<redacted>)")
    }
}

/// Pages of 32-byte key slots, each page locked in memory and left out of core
/// dumps when it is made. Slots are reused, never returned to the allocator (a
/// process holds a handful of keys); a freed slot is zeroed first.
mod locked {
    use std::ptr::NonNull;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use zeroize::Zeroize;

    const SLOT: usize = 32;

    /// Free slots, by address.
    static FREE: Mutex<Vec<usize>> = Mutex::new(Vec::new());
    /// Whether every page made so far could be locked.
    static ALL_LOCKED: AtomicBool = AtomicBool::new(true);

    fn page_size() -> usize {
        // SAFETY: sysconf only reads a system value.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n >= SLOT as libc::c_long {
            n as usize
        } else {
            4096
        }
    }

    pub(super) fn alloc() -> NonNull<[u8; 32]> {
        let mut free = FREE.lock().unwrap_or_else(|p| p.into_inner());
        if free.is_empty() {
            let size = page_size();
            let layout = match std::alloc::Layout::from_size_align(size, size) {
                Ok(l) => l,
                Err(_) => unreachable!("a page size is a power of two"),
            };
            // SAFETY: the layout has a non-zero size.
            let page = unsafe { std::alloc::alloc_zeroed(layout) };
            if page.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            // SAFETY: page..page+size is this allocation. Failures (RLIMIT_MEMLOCK,
            // an OS without MADV_DONTDUMP) leave an ordinary page: not fatal.
            unsafe {
                if libc::mlock(page.cast(), size) != 0 {
                    ALL_LOCKED.store(false, Ordering::Relaxed);
                }
                #[cfg(target_os = "linux")]
                libc::madvise(page.cast(), size, libc::MADV_DONTDUMP);
            }
            free.extend((0..size / SLOT).rev().map(|i| page as usize + i * SLOT));
        }
        let addr = free
            .pop()
            .unwrap_or_else(|| unreachable!("a fresh page has slots"));
        match NonNull::new(addr as *mut [u8; 32]) {
            Some(p) => p,
            None => unreachable!("a slot of an allocation is not null"),
        }
    }

    pub(super) fn free(slot: NonNull<[u8; 32]>) {
        // SAFETY: the slot is valid and its owner is giving it up.
        unsafe { (*slot.as_ptr()).zeroize() };
        FREE.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(slot.as_ptr() as usize);
    }

    /// Whether the key pages made so far are all locked in memory.
    pub(crate) fn all_locked() -> bool {
        ALL_LOCKED.load(Ordering::Relaxed)
    }
}

/// Whether the memory of every key made so far is locked against swapping (the
/// OS may refuse: `RLIMIT_MEMLOCK`; keys work all the same).
pub fn keys_locked_in_memory() -> bool {
    locked::all_locked()
}

/// The variable a script gives the vault's passphrase in.
pub const PASSPHRASE_VAR: &str = "AUDIOVAULT_PASSPHRASE";
/// The variable a script gives a new passphrase in (`passwd`).
pub const NEW_PASSPHRASE_VAR: &str = "AUDIOVAULT_NEW_PASSPHRASE";

/// The passphrases taken from the environment (see [`take_env_passphrases`]).
static ENV_SECRETS: std::sync::Mutex<[Option<Zeroizing<String>>; 2]> =
    std::sync::Mutex::new([None, None]);

fn env_secrets() -> std::sync::MutexGuard<'static, [Option<Zeroizing<String>>; 2]> {
    ENV_SECRETS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads `AUDIOVAULT_PASSPHRASE` and `AUDIOVAULT_NEW_PASSPHRASE` and removes them
/// from the process: their bytes are overwritten where they lie (so
/// `/proc/<pid>/environ` no longer shows them) and the variables unset (so no
/// child process inherits them: WebKit's, GStreamer's, a hook's). Both front
/// ends call it (through [`protect_process`]) first thing in `main`, before any
/// thread starts: the environment is not thread-safe to change. A later call
/// takes only what was set since (a test's `set_var`). The values are then had
/// from [`env_passphrase`] and [`env_new_passphrase`], until
/// [`forget_env_passphrases`].
pub fn take_env_passphrases() {
    let taken = [take_var(PASSPHRASE_VAR), take_var(NEW_PASSPHRASE_VAR)];
    let mut stored = env_secrets();
    for (slot, value) in stored.iter_mut().zip(taken) {
        if value.is_some() {
            *slot = value;
        }
    }
}

/// `AUDIOVAULT_PASSPHRASE` as the environment gave it (see
/// [`take_env_passphrases`], which this runs first).
pub fn env_passphrase() -> Option<Passphrase> {
    take_env_passphrases();
    env_secrets()[0]
        .as_ref()
        .map(|s| Passphrase::from_line(String::clone(s)))
}

/// `AUDIOVAULT_NEW_PASSPHRASE` as the environment gave it.
pub fn env_new_passphrase() -> Option<Passphrase> {
    take_env_passphrases();
    env_secrets()[1]
        .as_ref()
        .map(|s| Passphrase::from_line(String::clone(s)))
}

/// Drops (zeroes) the passphrases taken from the environment: the app does once
/// a vault is open, so after a lock only a typed passphrase or the keyring opens
/// it again.
pub fn forget_env_passphrases() {
    *env_secrets() = [None, None];
}

fn take_var(name: &str) -> Option<Zeroizing<String>> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: called before other threads start (documented above); getenv's
    // pointer is valid until the environment changes, which only this function
    // does, after it is done with the pointer.
    unsafe {
        let ptr = libc::getenv(cname.as_ptr());
        if ptr.is_null() {
            return None;
        }
        let bytes = std::ffi::CStr::from_ptr(ptr).to_bytes();
        let value = Zeroizing::new(String::from_utf8_lossy(bytes).into_owned());
        std::ptr::write_bytes(ptr, 0, bytes.len());
        std::env::remove_var(name);
        Some(value)
    }
}

/// Makes this process harder to read secrets from: no core dumps (a crash must
/// not write the keys to disk) and no ptrace attach by other processes of the
/// same user (`PR_SET_DUMPABLE` 0, which also makes `/proc/<pid>/mem` and
/// `environ` root's), and takes the passphrases out of the environment (see
/// [`take_env_passphrases`]). Both front ends call it first thing in `main`.
pub fn protect_process() {
    take_env_passphrases();
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &none);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let pass = Passphrase::new("hunter2-correct-horse");
        let key = KeyBytes::new([0x41; 32]);
        let printed = format!("{pass:?} {key:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("AAAA") && !printed.contains("65, 65"));
        assert!(printed.contains("redacted"));
    }

    #[test]
    fn keys_live_in_locked_memory_and_are_zeroed_when_dropped() {
        let key = KeyBytes::new([0x5a; 32]);
        let copy = key.clone();
        assert_eq!(copy.expose(), &[0x5a; 32]);
        assert_ne!(copy.0, key.0, "a clone has its own slot");
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let locked_kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmLck:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        if keys_locked_in_memory() {
            assert!(locked_kb >= 4, "VmLck {locked_kb} kB");
        }
        let slot = key.0;
        drop(key);
        // The freed slot is zeroed (another test's key may have taken it since,
        // but never keeps this one's bytes). Slots are never returned to the
        // allocator, so it is still there to be read.
        // SAFETY: see above.
        let after: [u8; 32] = unsafe { *slot.as_ptr() };
        assert_ne!(after, [0x5a; 32]);
        assert_eq!(copy.expose(), &[0x5a; 32], "the clone is untouched");
    }

    #[test]
    fn trailing_newlines_are_not_part_of_the_passphrase() {
        assert_eq!(Passphrase::from_line("abc\r\n".into()).expose(), "abc");
        assert_eq!(Passphrase::from_line("a b ".into()).expose(), "a b ");
    }
}
