//! [`SweepLock`]: one live sweep per folder. The lock file holds the owner's pid; a lock whose
//! process is gone is stale and taken over.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held while a sweep runs in a folder; removed on drop.
#[derive(Debug)]
pub struct SweepLock {
    path: PathBuf,
}

fn alive(pid: u32) -> bool {
    // /proc exists on Linux; elsewhere assume alive and let the user remove the file.
    if Path::new("/proc/self").exists() {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

impl SweepLock {
    /// Take the lock at `path`, or fail with a message naming the owner.
    pub fn acquire(path: &Path) -> Result<Self> {
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    let _ = f.sync_all();
                    return Ok(Self {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match owner {
                        Some(pid) if pid != std::process::id() && alive(pid) => {
                            return Err(Error::Locked(format!(
                                "{}: another sweep (pid {pid}) is running in this folder; wait for it, or stop it first",
                                path.parent().unwrap_or(path).display()
                            )))
                        }
                        _ => {
                            tracing::warn!(lock = %path.display(), "taking over a stale lock");
                            let _ = fs::remove_file(path);
                        }
                    }
                }
                Err(e) => return Err(Error::io(path, "cannot create lock file", e)),
            }
        }
        Err(Error::Locked(format!(
            "{}: cannot take the lock",
            path.display()
        )))
    }
}

impl Drop for SweepLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_lock_refused_stale_lock_taken() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".lock");
        // pid 1 is alive on any Linux.
        fs::write(&p, "1\n").unwrap();
        assert!(matches!(SweepLock::acquire(&p), Err(Error::Locked(_))));
        fs::write(&p, "4000000000\n").unwrap();
        let lock = SweepLock::acquire(&p).unwrap();
        assert!(p.exists());
        drop(lock);
        assert!(!p.exists());
    }
}
