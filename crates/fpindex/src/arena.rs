//! The index file: one arena, memory-mapped for search.
//!
//! Layout (all integers little-endian `u64` unless said otherwise):
//!
//! ```text
//! 0     header, 64 bytes: MAGIC (8) | version u32 | words u32 | count | buckets_len | zeros
//! 64    buckets: buckets_len entries, start position of each popcount
//! …     ids: count entries, in fingerprint order
//! …     zero padding to a multiple of 64 bytes
//! …     fingerprints: count × words
//! end   footer, 16 bytes: CRC-32 of everything before it (u32) | zeros (u32) | MAGIC
//! ```
//!
//! Files are written to a temporary name, synced and renamed, so a crash
//! leaves the old index or the new one, never half of one. Opening checks the
//! magic, the version, the sizes, the bucket table and the checksum.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Index;

/// First and last eight bytes of every index file.
pub const MAGIC: &[u8; 8] = b"SOYAKUFP";
/// The file format this build writes; it reads this and every older one.
pub const FORMAT_VERSION: u32 = 1;

const HEADER: usize = 64;
const FOOTER: usize = 16;

/// Why an index file could not be written or opened.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading or writing the file failed.
    #[error("index file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a Soyaku index, or is damaged; rebuild it.
    #[error("index file {path} is damaged or not a Soyaku index ({reason}); rebuild the index")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What check failed.
        reason: String,
    },
    /// The file was written by a newer Soyaku.
    #[error("index file {path} has format version {found}; this build reads up to {FORMAT_VERSION}; upgrade Soyaku or rebuild the index")]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
}

/// Where an index's arrays live.
#[derive(Debug)]
pub(crate) enum Storage {
    Owned { ids: Vec<u64>, fingerprints: Vec<u64>, buckets: Vec<u64> },
    Mapped { map: memmap2::Mmap, layout: Layout },
}

/// Byte offsets of the arrays in a file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    count: usize,
    words: usize,
    buckets_len: usize,
    ids_at: usize,
    fingerprints_at: usize,
    footer_at: usize,
}

impl Layout {
    fn new(count: usize, words: usize, buckets_len: usize) -> Layout {
        let ids_at = HEADER + 8 * buckets_len;
        let fingerprints_at = (ids_at + 8 * count).next_multiple_of(64);
        let footer_at = fingerprints_at + 8 * count * words;
        Layout { count, words, buckets_len, ids_at, fingerprints_at, footer_at }
    }
}

/// Views `len` little-endian `u64`s at `offset` of a mapped file.
fn words_at(map: &memmap2::Mmap, offset: usize, len: usize) -> &[u64] {
    let bytes = &map[offset..offset + 8 * len];
    // SAFETY: the map is page-aligned and every offset is a multiple of 8, so
    // the pointer is aligned for u64; `open` checked the file holds the whole
    // range and that the platform is little-endian, as the format is; any bit
    // pattern is a valid u64.
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u64>(), len) }
}

impl Storage {
    pub(crate) fn ids(&self) -> &[u64] {
        match self {
            Storage::Owned { ids, .. } => ids,
            Storage::Mapped { map, layout } => words_at(map, layout.ids_at, layout.count),
        }
    }

    pub(crate) fn fingerprints(&self) -> &[u64] {
        match self {
            Storage::Owned { fingerprints, .. } => fingerprints,
            Storage::Mapped { map, layout } => {
                words_at(map, layout.fingerprints_at, layout.count * layout.words)
            }
        }
    }

    pub(crate) fn buckets(&self) -> &[u64] {
        match self {
            Storage::Owned { buckets, .. } => buckets,
            Storage::Mapped { map, layout } => words_at(map, HEADER, layout.buckets_len),
        }
    }
}

fn le_bytes(words: &[u64]) -> impl Iterator<Item = [u8; 8]> + '_ {
    words.iter().map(|w| w.to_le_bytes())
}

impl Index {
    /// Writes the index to `path` atomically (temporary file, sync, rename).
    pub fn write(&self, path: &Path) -> Result<(), IndexError> {
        let io = |source| IndexError::Io { path: path.to_owned(), source };
        let layout = Layout::new(self.len(), self.words, self.buckets().len());
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(self.words as u32).to_le_bytes());
        header[16..24].copy_from_slice(&(layout.count as u64).to_le_bytes());
        header[24..32].copy_from_slice(&(layout.buckets_len as u64).to_le_bytes());

        let tmp = path.with_extension("tmp");
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut crc = crc32fast::Hasher::new();
        let mut put = |bytes: &[u8], out: &mut std::io::BufWriter<std::fs::File>| {
            crc.update(bytes);
            out.write_all(bytes)
        };
        put(&header, &mut out).map_err(io)?;
        for w in le_bytes(self.buckets()).chain(le_bytes(self.ids())) {
            put(&w, &mut out).map_err(io)?;
        }
        let padding = layout.fingerprints_at - (layout.ids_at + 8 * layout.count);
        put(&vec![0u8; padding], &mut out).map_err(io)?;
        for w in le_bytes(self.fingerprints()) {
            put(&w, &mut out).map_err(io)?;
        }
        let mut footer = [0u8; FOOTER];
        footer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        footer[8..].copy_from_slice(MAGIC);
        out.write_all(&footer).map_err(io)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// Memory-maps an index file after checking it whole.
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        let corrupt = |reason: String| IndexError::Corrupt { path: path.to_owned(), reason };
        if cfg!(target_endian = "big") {
            return Err(corrupt("index files are little-endian; this platform is not".into()));
        }
        let file = std::fs::File::open(path)
            .map_err(|source| IndexError::Io { path: path.to_owned(), source })?;
        // SAFETY: the file is only replaced by rename, never written in place,
        // so the mapped bytes do not change under us.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|source| IndexError::Io { path: path.to_owned(), source })?;
        if map.len() < HEADER + FOOTER || &map[..8] != MAGIC {
            return Err(corrupt("no Soyaku index header".into()));
        }
        let u32_at = |at: usize| u32::from_le_bytes(map[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(map[at..at + 8].try_into().expect("8 bytes"));
        let version = u32_at(8);
        if version > FORMAT_VERSION {
            return Err(IndexError::NewerVersion { path: path.to_owned(), found: version });
        }
        let words = u32_at(12) as usize;
        let count = usize::try_from(u64_at(16)).map_err(|_| corrupt("count".into()))?;
        let buckets_len = usize::try_from(u64_at(24)).map_err(|_| corrupt("buckets".into()))?;
        if words == 0 || buckets_len != words * 64 + 2 {
            return Err(corrupt(format!("{words} words with {buckets_len} buckets")));
        }
        let layout = Layout::new(count, words, buckets_len);
        if map.len() != layout.footer_at + FOOTER {
            return Err(corrupt(format!(
                "{} bytes where {count} fingerprints need {}",
                map.len(),
                layout.footer_at + FOOTER
            )));
        }
        if &map[map.len() - 8..] != MAGIC {
            return Err(corrupt("no Soyaku index footer".into()));
        }
        let stored = u32_at(layout.footer_at);
        let actual = crc32fast::hash(&map[..layout.footer_at]);
        if stored != actual {
            return Err(corrupt(format!("checksum {actual:08x}, expected {stored:08x}")));
        }
        let storage = Storage::Mapped { map, layout };
        let buckets = storage.buckets();
        if buckets[0] != 0
            || buckets[buckets_len - 1] != count as u64
            || buckets.windows(2).any(|w| w[0] > w[1])
        {
            return Err(corrupt("bucket table out of order".into()));
        }
        Ok(Index::with_blocks(words, storage))
    }
}
