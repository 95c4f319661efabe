//! Segment files on local disk.
//!
//! Layout under the data directory:
//!
//! ```text
//! index.db                         the SQLite index
//! lock                             held (flock) by the running recorder
//! segments/<camera id>/<YYYYMMDD>/<start unix ms>.mp4
//! quarantine/                      files recovery could not read (kept, never deleted)
//! ```
//!
//! Durability rules (the order matters): a new file is fsynced, then its directory,
//! then its parent when that was created too — only then may the index name the file.
//! A directory fsync that fails is an error, never ignored.

use crate::{Result, StoreError};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use vidimus_core::camera::CameraId;
use vidimus_core::time::Wall90k;
use vidimus_media::scan::ReadAt;

/// The segment files of one data directory.
#[derive(Clone, Debug)]
pub struct SegmentFiles {
    root: PathBuf,
}

/// A file created for a new segment, not yet durable.
#[derive(Debug)]
pub struct NewFile {
    /// Path relative to `segments/`.
    pub rel: String,
    pub file: File,
    /// Directories created for it, deepest first: each must be fsynced with its parent.
    pub new_dirs: Vec<PathBuf>,
}

impl SegmentFiles {
    /// Opens (creating if needed) `segments/` under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("segments");
        fs::create_dir_all(&root)
            .map_err(StoreError::io(format!("creating {}", root.display())))?;
        Ok(SegmentFiles { root })
    }

    /// The filesystem holding the segments: (free bytes available to us, total bytes).
    pub fn space(&self) -> Result<(u64, u64)> {
        let s = rustix::fs::statvfs(&self.root).map_err(|e| {
            StoreError::io(format!("measuring free space on {}", self.root.display()))(e.into())
        })?;
        Ok((s.f_bavail * s.f_frsize, s.f_blocks * s.f_frsize))
    }

    /// The absolute path of a segment.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The `segments/` directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates a new, empty segment file for `camera` starting at `start`.
    pub fn create(&self, camera: CameraId, start: Wall90k) -> Result<NewFile> {
        let cam_dir = self.root.join(camera.to_string());
        let day_dir = cam_dir.join(start.utc_day());
        let mut new_dirs = Vec::new();
        for d in [&cam_dir, &day_dir] {
            match fs::create_dir(d) {
                Ok(()) => new_dirs.push(d.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io(format!("creating {}", d.display()))(e)),
            }
        }
        new_dirs.reverse();
        let ms = start.unix_millis();
        for n in 0.. {
            let name = if n == 0 {
                format!("{ms}.mp4")
            } else {
                format!("{ms}-{n}.mp4")
            };
            let rel = format!("{camera}/{}/{name}", start.utc_day());
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.root.join(&rel))
            {
                Ok(file) => {
                    return Ok(NewFile {
                        rel,
                        file,
                        new_dirs,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io(format!("creating segment {rel}"))(e)),
            }
        }
        unreachable!("some file name is free")
    }

    /// Makes a new file's directory entries durable: fsyncs the file's directory, and
    /// the parent of each directory created for it.
    pub fn sync_new_dirs(&self, nf_rel: &str, new_dirs: &[PathBuf]) -> Result<()> {
        let file_dir = self
            .path(nf_rel)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        sync_dir(&file_dir)?;
        for d in new_dirs {
            if let Some(parent) = d.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(())
    }

    /// Opens a segment for reading.
    pub fn open_read(&self, rel: &str) -> Result<SegmentReader> {
        let path = self.path(rel);
        let file = File::open(&path).map_err(StoreError::io(format!("opening segment {rel}")))?;
        let len = file
            .metadata()
            .map_err(StoreError::io(format!("reading size of segment {rel}")))?
            .len();
        Ok(SegmentReader { file, len })
    }

    /// Truncates a segment to `len` bytes and makes that durable.
    pub fn truncate(&self, rel: &str, len: u64) -> Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .open(self.path(rel))
            .map_err(StoreError::io(format!("opening segment {rel} to truncate")))?;
        f.set_len(len)
            .map_err(StoreError::io(format!("truncating segment {rel}")))?;
        f.sync_all()
            .map_err(StoreError::io(format!("syncing segment {rel}")))
    }

    /// Removes a segment file that holds no video (only an init segment).
    pub fn remove_empty(&self, rel: &str) -> Result<()> {
        let p = self.path(rel);
        fs::remove_file(&p).map_err(StoreError::io(format!("removing empty segment {rel}")))?;
        if let Some(d) = p.parent() {
            sync_dir(d)?;
        }
        Ok(())
    }

    /// Moves an unreadable file to `quarantine/` (never deletes it). Returns the new path.
    pub fn quarantine(&self, rel: &str) -> Result<PathBuf> {
        let q = self.root.parent().unwrap_or(&self.root).join("quarantine");
        fs::create_dir_all(&q).map_err(StoreError::io("creating quarantine directory"))?;
        let dest = q.join(rel.replace('/', "_"));
        fs::rename(self.path(rel), &dest)
            .map_err(StoreError::io(format!("moving {rel} to quarantine")))?;
        sync_dir(&q)?;
        Ok(dest)
    }

    /// Every `.mp4` under `segments/`, as relative paths, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let rd = fs::read_dir(dir).map_err(StoreError::io(format!("listing {}", dir.display())))?;
    for entry in rd {
        let entry = entry.map_err(StoreError::io(format!("listing {}", dir.display())))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(StoreError::io(format!("reading {}", path.display())))?;
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_file()
            && path.extension().is_some_and(|e| e == "mp4")
            && let Ok(rel) = path.strip_prefix(root)
        {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Fsyncs a directory; failure is an error (a lost directory entry loses a file).
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(format!(
            "syncing directory {}",
            dir.display()
        )))
}

/// A segment file opened for reading, usable by the media scanner.
#[derive(Debug)]
pub struct SegmentReader {
    file: File,
    len: u64,
}

impl SegmentReader {
    /// Reads `len` bytes at `offset`.
    pub fn read_range(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }
}

impl ReadAt for SegmentReader {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if offset + buf.len() as u64 > self.len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.file.read_exact_at(buf, offset)
    }
}

/// The exclusive lock on a data directory, held by the recorder (and by fsck when it
/// repairs). Released when dropped or when the process dies, however it dies.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock, failing at once if another process holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(StoreError::io(format!("opening {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => {
                Err(StoreError::Locked(data_dir.display().to_string()))
            }
            Err(fs::TryLockError::Error(e)) => {
                Err(StoreError::io(format!("locking {}", path.display()))(e))
            }
        }
    }

    /// Whether some process holds the lock now.
    pub fn is_held(data_dir: &Path) -> bool {
        matches!(Self::acquire(data_dir), Err(StoreError::Locked(_)))
    }
}
