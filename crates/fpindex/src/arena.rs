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
//! The magic, version and footer are [`checkfile`]'s frame, so a crash
//! leaves the old index or the new one, never half of one. Opening checks the
//! frame, the version, the sizes and the bucket table.

use std::path::{Path, PathBuf};

use checkfile::{le_u32, le_u64, FOOTER, PREAMBLE};

use crate::Index;

/// First and last eight bytes of every index file.
pub const MAGIC: &[u8; 8] = b"SOYAKUFP";
/// The file format this build writes; it reads this and every older one.
pub const FORMAT_VERSION: u32 = 1;

const HEADER: usize = 64;

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
        let mut header = [0u8; HEADER - PREAMBLE];
        header[..4].copy_from_slice(&(self.words as u32).to_le_bytes());
        header[4..12].copy_from_slice(&(layout.count as u64).to_le_bytes());
        header[12..20].copy_from_slice(&(layout.buckets_len as u64).to_le_bytes());
        let mut out = checkfile::Writer::create(path, MAGIC, FORMAT_VERSION).map_err(io)?;
        out.put(&header).map_err(io)?;
        for w in le_bytes(self.buckets()).chain(le_bytes(self.ids())) {
            out.put(&w).map_err(io)?;
        }
        let padding = layout.fingerprints_at - (layout.ids_at + 8 * layout.count);
        out.put(&vec![0u8; padding]).map_err(io)?;
        for w in le_bytes(self.fingerprints()) {
            out.put(&w).map_err(io)?;
        }
        out.finish().map_err(io)
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
        let checked = checkfile::check(&map, MAGIC).map_err(|e| corrupt(e.to_string()))?;
        if checked.version > FORMAT_VERSION {
            return Err(IndexError::NewerVersion { path: path.to_owned(), found: checked.version });
        }
        if checked.body.len() < HEADER {
            return Err(corrupt("header cut short".into()));
        }
        let words = le_u32(&map, 12) as usize;
        let count = usize::try_from(le_u64(&map, 16)).map_err(|_| corrupt("count".into()))?;
        let buckets_len =
            usize::try_from(le_u64(&map, 24)).map_err(|_| corrupt("buckets".into()))?;
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
