//! The frame every Soyaku binary file (fingerprint index, structure store,
//! atom kinds) shares, so that a reader either gets a whole file of the kind
//! it expects, with its version, or a clear error:
//!
//! ```text
//! 0    magic (8 bytes) | version (u32) | the format's own header and tables…
//! end  footer, 16 bytes: CRC-32 of everything before it (u32) | zeros (u32) | magic
//! ```
//!
//! Numbers are little-endian. A file is written to a temporary file beside
//! it, synced and renamed over it, never changed in place: a crash leaves
//! the old file or the new one, and a memory map of the old one stays valid.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Bytes of the magic and version every file starts with.
pub const PREAMBLE: usize = 12;

/// Bytes of the footer.
pub const FOOTER: usize = 16;

/// Writes one file: the preamble when created, every [`Writer::put`] into
/// the checksum, and the footer, sync and rename on [`Writer::finish`].
/// Dropped unfinished, it leaves the target untouched.
#[derive(Debug)]
pub struct Writer {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    crc: crc32fast::Hasher,
    magic: [u8; 8],
}

impl Writer {
    /// Starts the file that will replace `path`.
    pub fn create(path: &Path, magic: &[u8; 8], version: u32) -> io::Result<Writer> {
        let tmp = path.with_extension("tmp");
        let out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        let crc = crc32fast::Hasher::new();
        let mut writer = Writer { path: path.to_owned(), tmp, out, crc, magic: *magic };
        writer.put(magic)?;
        writer.put(&version.to_le_bytes())?;
        Ok(writer)
    }

    /// Appends `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc.update(bytes);
        self.out.write_all(bytes)
    }

    /// Writes the footer, syncs the file and renames it over the target.
    pub fn finish(self) -> io::Result<()> {
        let Writer { path, tmp, mut out, crc, magic } = self;
        let mut footer = [0u8; FOOTER];
        footer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        footer[8..].copy_from_slice(&magic);
        out.write_all(&footer)?;
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    }
}

/// Why bytes are not a whole file of the expected kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unchecked {
    /// Too short, or the magic is missing at either end: another kind of
    /// file, or one cut short.
    #[error("not a file of this kind, or cut short")]
    NotThisKind,
    /// The checksum does not match, or the footer's zeros are not zero:
    /// the file is damaged.
    #[error("checksum mismatch: the file is damaged")]
    Damaged,
}

/// A file that checked: its version and its bytes before the footer
/// (preamble included, so that offsets count from the file's start).
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a> {
    /// The version the file was written with.
    pub version: u32,
    /// Everything before the footer.
    pub body: &'a [u8],
}

/// Checks `bytes` as a whole file of the kind `magic` names.
pub fn check<'a>(bytes: &'a [u8], magic: &[u8; 8]) -> Result<Checked<'a>, Unchecked> {
    if bytes.len() < PREAMBLE + FOOTER || &bytes[..8] != magic || &bytes[bytes.len() - 8..] != magic
    {
        return Err(Unchecked::NotThisKind);
    }
    let footer_at = bytes.len() - FOOTER;
    if le_u32(bytes, footer_at) != crc32fast::hash(&bytes[..footer_at])
        || le_u32(bytes, footer_at + 4) != 0
    {
        return Err(Unchecked::Damaged);
    }
    Ok(Checked { version: le_u32(bytes, 8), body: &bytes[..footer_at] })
}

/// The little-endian `u32` at byte `at`.
///
/// # Panics
/// If `bytes` ends before `at + 4`.
pub fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The little-endian `u64` at byte `at`.
///
/// # Panics
/// If `bytes` ends before `at + 8`.
pub fn le_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"SOYAKUTT";

    fn written(dir: &Path, version: u32, parts: &[&[u8]]) -> Vec<u8> {
        let path = dir.join("f.bin");
        let mut writer = Writer::create(&path, MAGIC, version).unwrap();
        for part in parts {
            writer.put(part).unwrap();
        }
        writer.finish().unwrap();
        assert!(!path.with_extension("tmp").exists(), "the temporary file is renamed");
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_written_file_checks_with_its_version_and_body() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = written(dir.path(), 7, &[b"abc", &42u64.to_le_bytes()]);
        assert_eq!(bytes.len(), PREAMBLE + 3 + 8 + FOOTER);
        let checked = check(&bytes, MAGIC).unwrap();
        assert_eq!(checked.version, 7);
        assert_eq!(&checked.body[PREAMBLE..PREAMBLE + 3], b"abc");
        assert_eq!(le_u64(checked.body, PREAMBLE + 3), 42);
        assert_eq!(checked.body.len(), bytes.len() - FOOTER);
    }

    #[test]
    fn every_damaged_byte_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = written(dir.path(), 1, &[b"some body bytes"]);
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let expected = if at < 8 || at >= bytes.len() - 8 {
                Unchecked::NotThisKind
            } else {
                Unchecked::Damaged
            };
            assert_eq!(check(&damaged, MAGIC).unwrap_err(), expected, "byte {at}");
        }
    }

    #[test]
    fn other_kinds_and_short_files_are_not_this_kind() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = written(dir.path(), 1, &[b"x"]);
        assert_eq!(check(&bytes, b"SOYAKUXX").unwrap_err(), Unchecked::NotThisKind);
        assert_eq!(check(&bytes[..bytes.len() - 1], MAGIC).unwrap_err(), Unchecked::NotThisKind);
        assert_eq!(check(b"", MAGIC).unwrap_err(), Unchecked::NotThisKind);
    }

    #[test]
    fn an_unfinished_writer_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let old = written(dir.path(), 1, &[b"old"]);
        let mut writer = Writer::create(&dir.path().join("f.bin"), MAGIC, 2).unwrap();
        writer.put(b"new").unwrap();
        drop(writer);
        assert_eq!(std::fs::read(dir.path().join("f.bin")).unwrap(), old);
    }
}
