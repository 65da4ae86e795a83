//! The structure store: every parent in Soyaku's packed molecule form
//! ([`chem::Molecule::to_packed`]) in one memory-mapped file beside the
//! search indexes, so that substructure verification reads molecules without
//! a database round trip, a parse or any perception. Version 1 held RDKit
//! pickles, whose reader goes field by field through an iostream; a
//! version-1 file is rebuilt.
//!
//! Layout (little-endian `u64` unless said otherwise):
//!
//! ```text
//! 0    header, 32 bytes: MAGIC (8) | version u32 | zeros u32 | count | bytes_len
//! 32   ids: count entries, ascending
//! …    offsets: count + 1 entries into the packed bytes
//! …    packed molecules, then zero padding to a multiple of 8
//! end  footer, 16 bytes: CRC-32 of everything before it (u32) | zeros (u32) | MAGIC
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chem::Molecule;

use crate::kinds::AtomKinds;
use crate::{CompoundId, LibraryError};

const MAGIC: &[u8; 8] = b"SOYAKUST";
const VERSION: u32 = 2;
const HEADER: usize = 32;
const FOOTER: usize = 16;

/// The file name of the store in an index folder.
pub const FILE_NAME: &str = "structures.sst";

/// Where version 1 lived; removed when the store is rebuilt.
pub(crate) const OLD_FILE_NAME: &str = "structures-v1.sst";

/// Parents' molecules by registry id, memory-mapped.
#[derive(Debug)]
pub struct Structures {
    map: memmap2::Mmap,
    count: usize,
    bytes_at: usize,
    /// The atom kinds of the parents, for the substructure screen; derived
    /// from this store by the registry, absent when opened on its own.
    kinds: Option<AtomKinds>,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

impl Structures {
    /// Number of molecules held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn id(&self, i: usize) -> i64 {
        u64_at(&self.map, HEADER + 8 * i) as i64
    }

    fn offset(&self, i: usize) -> usize {
        u64_at(&self.map, HEADER + 8 * (self.count + i)) as usize
    }

    fn packed_at(&self, i: usize) -> &[u8] {
        &self.map[self.bytes_at + self.offset(i)..self.bytes_at + self.offset(i + 1)]
    }

    /// The CRC-32 the store's footer records, which names its contents.
    pub fn checksum(&self) -> u32 {
        let at = self.map.len() - FOOTER;
        u32::from_le_bytes(self.map[at..at + 4].try_into().expect("4 bytes"))
    }

    /// The parents' atom kinds, when derived (see [`crate::kinds`]).
    pub fn kinds(&self) -> Option<&AtomKinds> {
        self.kinds.as_ref()
    }

    /// This store with its parents' atom kinds.
    pub(crate) fn with_kinds(self, kinds: AtomKinds) -> Structures {
        Structures { kinds: Some(kinds), ..self }
    }

    /// The largest id held.
    pub fn max_id(&self) -> Option<i64> {
        self.count.checked_sub(1).map(|last| self.id(last))
    }

    /// The packed molecule of parent `id`.
    pub fn packed(&self, id: CompoundId) -> Option<&[u8]> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.id(mid).cmp(&id.0) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.packed_at(mid)),
            }
        }
        None
    }

    /// The molecule of parent `id`.
    pub fn molecule(&self, id: CompoundId) -> Option<Molecule> {
        self.packed(id).and_then(|p| Molecule::from_packed(p).ok())
    }

    /// Every (id, packed molecule) held, in id order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (i64, &[u8])> + Clone {
        (0..self.count).map(|i| (self.id(i), self.packed_at(i)))
    }

    /// Writes `entries` (ascending ids) atomically: temporary file, sync,
    /// rename.
    fn write<'a>(
        path: &Path,
        entries: impl Iterator<Item = (i64, &'a [u8])> + Clone,
    ) -> Result<(), LibraryError> {
        let io = |source| LibraryError::Read { path: path.to_owned(), source };
        let count = entries.clone().count();
        let bytes_len: usize = entries.clone().map(|(_, p)| p.len()).sum();
        let mut crc = crc32fast::Hasher::new();
        let tmp = path.with_extension("tmp");
        let mut out = std::io::BufWriter::with_capacity(1 << 20, fs_err::File::create(&tmp)?);
        let mut put = |bytes: &[u8]| {
            crc.update(bytes);
            out.write_all(bytes)
        };
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_le_bytes());
        header[16..24].copy_from_slice(&(count as u64).to_le_bytes());
        header[24..32].copy_from_slice(&(bytes_len as u64).to_le_bytes());
        put(&header).map_err(io)?;
        for (id, _) in entries.clone() {
            put(&(id as u64).to_le_bytes()).map_err(io)?;
        }
        let mut offset = 0u64;
        put(&offset.to_le_bytes()).map_err(io)?;
        for (_, p) in entries.clone() {
            offset += p.len() as u64;
            put(&offset.to_le_bytes()).map_err(io)?;
        }
        for (_, p) in entries {
            put(p).map_err(io)?;
        }
        put(&vec![0u8; bytes_len.next_multiple_of(8) - bytes_len]).map_err(io)?;
        let mut footer = [0u8; FOOTER];
        footer[..4].copy_from_slice(&crc.finalize().to_le_bytes());
        footer[8..].copy_from_slice(MAGIC);
        out.write_all(&footer).map_err(io)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all()?;
        fs_err::rename(&tmp, path)?;
        Ok(())
    }

    /// Maps a store file after checking its header, sizes and checksum.
    pub fn open(path: &Path) -> Result<Structures, LibraryError> {
        let corrupt = |reason: &str| {
            LibraryError::Corrupt(format!("structure store {}: {reason}", path.display()))
        };
        let file = fs_err::File::open(path)?;
        // SAFETY: the file is only ever replaced by rename, never changed in
        // place, so the mapped bytes do not change under us.
        let map = unsafe { memmap2::Mmap::map(file.file()) }
            .map_err(|source| LibraryError::Read { path: path.to_owned(), source })?;
        if map.len() < HEADER + FOOTER || &map[..8] != MAGIC || &map[map.len() - 8..] != MAGIC {
            return Err(corrupt("not a Soyaku structure store"));
        }
        if u32::from_le_bytes(map[8..12].try_into().expect("4 bytes")) != VERSION {
            return Err(corrupt("unknown version"));
        }
        let count = usize::try_from(u64_at(&map, 16)).map_err(|_| corrupt("count"))?;
        let bytes_len = usize::try_from(u64_at(&map, 24)).map_err(|_| corrupt("size"))?;
        let bytes_at = HEADER + 8 * (2 * count + 1);
        let footer_at = bytes_at + bytes_len.next_multiple_of(8);
        if map.len() != footer_at + FOOTER {
            return Err(corrupt("wrong size"));
        }
        let stored = u32::from_le_bytes(map[footer_at..footer_at + 4].try_into().expect("4"));
        if stored != crc32fast::hash(&map[..footer_at]) {
            return Err(corrupt("checksum mismatch"));
        }
        let store = Structures { map, count, bytes_at, kinds: None };
        if store.offset(count) != bytes_len
            || (1..=count).any(|i| store.offset(i - 1) > store.offset(i))
        {
            return Err(corrupt("offsets out of order"));
        }
        Ok(store)
    }

    /// A new store holding this one's entries followed by `more` (ids above
    /// this store's), written to `path`.
    pub(crate) fn extend_to(
        old: Option<&Structures>,
        more: &[(i64, Vec<u8>)],
        path: &Path,
    ) -> Result<Structures, LibraryError> {
        let fresh = more.iter().map(|(id, p)| (*id, p.as_slice()));
        match old {
            Some(old) => Structures::write(path, old.entries().chain(fresh))?,
            None => Structures::write(path, fresh)?,
        }
        Structures::open(path)
    }
}

/// Packed molecules of `rows` (id, canonical SMILES) made on all cores, in
/// order.
pub(crate) fn pack_all(rows: &[(i64, String)]) -> Result<Vec<(i64, Vec<u8>)>, LibraryError> {
    crate::on_all_cores(rows, |part| {
        part.iter()
            .map(|(id, smiles)| {
                let m = Molecule::from_trusted_smiles(smiles).map_err(|e| {
                    LibraryError::Corrupt(format!(
                        "stored SMILES of {} does not parse: {e}",
                        CompoundId(*id)
                    ))
                })?;
                Ok((*id, m.to_packed()))
            })
            .collect()
    })
}

/// Where the store of an index folder lives.
pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}
