//! The few parts of POSIX ustar that export bundles need (sans-IO): a header for a
//! regular file, the padding after its data, the end-of-archive marker, and reading
//! the member list back. Any `tar` program lists and extracts a bundle.

/// A tar block.
pub const BLOCK: u64 = 512;

/// A member of an archive: its name and where its data lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub offset: u64,
    pub size: u64,
}

/// An archive that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TarError {
    #[error("header at byte {0} is damaged (its checksum does not match)")]
    BadChecksum(u64),
    #[error("header at byte {0} is not a ustar header")]
    NotUstar(u64),
    #[error("member {name:?} at byte {offset} runs past the end of the file")]
    Truncated { name: String, offset: u64 },
    #[error("member {0:?} is not a regular file")]
    NotAFile(String),
    #[error("the archive has no end marker")]
    NoEnd,
    #[error("member name {0:?} is longer than 100 bytes")]
    NameTooLong(String),
}

fn octal(field: &mut [u8], v: u64) {
    let n = field.len() - 1;
    let s = format!("{v:0n$o}");
    if s.len() > n {
        // Too big for octal (a file of 8 GiB or more): GNU's base-256 form, which GNU
        // tar, bsdtar and Python's tarfile read.
        field.fill(0);
        let l = field.len();
        field[l - 8..].copy_from_slice(&v.to_be_bytes());
        field[0] = 0x80;
        return;
    }
    field[..n].copy_from_slice(s.as_bytes());
    field[n] = 0;
}

fn checksum(h: &[u8; 512]) -> u64 {
    h.iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum()
}

/// The header block of a regular file of `size` bytes, mode 0644, modified at
/// `mtime` (Unix seconds).
pub fn header(name: &str, size: u64, mtime: u64) -> Result<[u8; 512], TarError> {
    if name.len() > 100 {
        return Err(TarError::NameTooLong(name.into()));
    }
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum = checksum(&h);
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

/// Whether a header block is exactly the one [`header`] writes for its name, size and
/// modification time (nothing carried in the other fields).
pub fn is_canonical(h: &[u8; 512]) -> bool {
    let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
    let (Ok(name), Some(size), Some(mtime)) = (
        std::str::from_utf8(&h[..name_end]),
        parse_octal(&h[124..136]),
        parse_octal(&h[136..148]),
    ) else {
        return false;
    };
    header(name, size, mtime).is_ok_and(|c| c == *h)
}

/// Zero bytes to write after `size` bytes of data to reach a block boundary.
pub fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}

/// The end-of-archive marker (two zero blocks).
pub const END: [u8; 1024] = [0; 1024];

fn parse_octal(f: &[u8]) -> Option<u64> {
    if f.first() == Some(&0x80) {
        return f[1..]
            .iter()
            .try_fold(0u64, |a, &b| a.checked_mul(256)?.checked_add(u64::from(b)));
    }
    let s = std::str::from_utf8(f).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Lists the members of an archive of `len` bytes, reading 512-byte blocks with
/// `read_block(offset)`.
pub fn members(
    len: u64,
    read_block: impl FnMut(u64) -> std::io::Result<[u8; 512]>,
) -> Result<Vec<Member>, TarError> {
    scan(len, read_block).map(|(m, _)| m)
}

/// Like [`members`], also returning where the end-of-archive marker (the first zero
/// block) begins.
pub fn scan(
    len: u64,
    mut read_block: impl FnMut(u64) -> std::io::Result<[u8; 512]>,
) -> Result<(Vec<Member>, u64), TarError> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos.checked_add(BLOCK).is_some_and(|e| e <= len) {
        let h = read_block(pos).map_err(|_| TarError::NotUstar(pos))?;
        if h.iter().all(|&b| b == 0) {
            return Ok((out, pos));
        }
        if &h[257..262] != b"ustar" {
            return Err(TarError::NotUstar(pos));
        }
        if parse_octal(&h[148..156]) != Some(checksum(&h)) {
            return Err(TarError::BadChecksum(pos));
        }
        let name_end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let prefix_end = 345 + h[345..500].iter().position(|&b| b == 0).unwrap_or(155);
        let mut name = String::from_utf8_lossy(&h[..name_end]).into_owned();
        if prefix_end > 345 {
            name = format!("{}/{name}", String::from_utf8_lossy(&h[345..prefix_end]));
        }
        let size = parse_octal(&h[124..136]).ok_or(TarError::NotUstar(pos))?;
        if !matches!(h[156], b'0' | 0) {
            return Err(TarError::NotAFile(name));
        }
        let offset = pos + BLOCK;
        // (A base-256 size can be near 2^64: compared without adding.)
        if size > len - offset {
            return Err(TarError::Truncated { name, offset });
        }
        out.push(Member { name, offset, size });
        pos = offset + size + padding(size) as u64;
    }
    Err(TarError::NoEnd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (n, d) in files {
            v.extend_from_slice(&header(n, d.len() as u64, 1_700_000_000).unwrap());
            v.extend_from_slice(d);
            v.extend(std::iter::repeat_n(0, padding(d.len() as u64)));
        }
        v.extend_from_slice(&END);
        v
    }

    fn list(v: &[u8]) -> Result<Vec<Member>, TarError> {
        members(v.len() as u64, |o| {
            Ok(v[o as usize..o as usize + 512].try_into().unwrap())
        })
    }

    #[test]
    fn round_trip() {
        let v = archive(&[("a.json", b"{}"), ("b.bin", &[7; 1024]), ("empty", b"")]);
        let m = list(&v).unwrap();
        assert_eq!(
            m.iter()
                .map(|m| (m.name.as_str(), m.size))
                .collect::<Vec<_>>(),
            [("a.json", 2), ("b.bin", 1024), ("empty", 0)]
        );
        assert_eq!(&v[m[0].offset as usize..][..2], b"{}");
        assert_eq!(m[1].offset, 1536);
        // Sizes of 8 GiB and more take the base-256 form.
        let h = header("big.mp4", 20 << 30, 0).unwrap();
        assert_eq!(h[124], 0x80);
        assert_eq!(parse_octal(&h[124..136]), Some(20 << 30));
        assert_eq!(parse_octal(&header("s", 8, 0).unwrap()[124..136]), Some(8));
    }

    #[test]
    fn damage_is_named() {
        let mut v = archive(&[("a.json", b"{}")]);
        v[3] ^= 1;
        assert_eq!(list(&v), Err(TarError::BadChecksum(0)));
        let v = archive(&[("a.json", b"{}")]);
        assert!(matches!(
            list(&v[..600]),
            Err(TarError::Truncated { .. } | TarError::NoEnd)
        ));
        assert!(matches!(
            header(&"x".repeat(101), 0, 0),
            Err(TarError::NameTooLong(_))
        ));
    }

    #[test]
    fn a_hostile_size_is_refused_not_looped_on() {
        // A base-256 size near 2^64: once added to the offset it would wrap.
        let mut h = header("x", 0, 0).unwrap();
        h[124] = 0x80;
        h[125..128].fill(0);
        h[128..136].fill(0xff); // 2^64 - 1
        h[148..156].fill(b' ');
        let sum = checksum(&h);
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut v = h.to_vec();
        v.extend_from_slice(&END);
        assert!(matches!(list(&v), Err(TarError::Truncated { .. })));
        // What we write is canonical; a header with anything else in it is not.
        let mut h = header("manifest.json", 10, 5).unwrap();
        assert!(is_canonical(&h));
        h[265] = b'a'; // uname
        assert!(!is_canonical(&h));
    }

    #[test]
    fn the_system_tar_reads_it() {
        // A third party's tar (GNU tar, on every Debian machine) extracts it.
        let v = archive(&[("manifest.json", b"{\"a\":1}")]);
        let dir = std::env::temp_dir().join(format!("vidimus-tar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.tar");
        std::fs::write(&f, &v).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-xOf")
            .arg(&f)
            .arg("manifest.json")
            .output()
            .expect("tar runs");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, b"{\"a\":1}");
    }
}
