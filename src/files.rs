//! Atomic file writes: a file is either complete or absent, whatever kills the process. Every
//! file weightlab writes (logs, status, figures, decoded images, PNGs) goes through [`atomic_write`].

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Suffix of the temporary files that [`atomic_write`] renames into place.
pub const TMP_SUFFIX: &str = ".wl-tmp";

/// Write `path` atomically: the bytes go to a temporary file in the same folder, which is
/// flushed to disk and renamed over `path`; the folder is then synced so the rename survives
/// a power cut. A reader sees the old file or the new one, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}{TMP_SUFFIX}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, "cannot write file", e)
    })
}

/// Remove temporary files left in `dir` (one level deep and its subfolders) by a killed
/// process. Returns how many were removed.
pub fn remove_temporaries(dir: &Path) -> usize {
    let mut removed = 0;
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            removed += remove_temporaries(&p);
        } else if p.to_string_lossy().ends_with(TMP_SUFFIX) && fs::remove_file(&p).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        atomic_write(&p, b"first").unwrap();
        atomic_write(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        fs::write(dir.path().join(format!(".x.1{TMP_SUFFIX}")), b"junk").unwrap();
        assert_eq!(remove_temporaries(dir.path()), 1);
    }
}
