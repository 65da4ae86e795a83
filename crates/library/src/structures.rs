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
//!
//! The magic, version and footer are [`checkfile`]'s frame.

use std::path::{Path, PathBuf};

use checkfile::{le_u32, le_u64, FOOTER, PREAMBLE};

use chem::Molecule;

use crate::kinds::AtomKinds;
use crate::{CompoundId, LibraryError};

const MAGIC: &[u8; 8] = b"SOYAKUST";
const VERSION: u32 = 2;
const HEADER: usize = 32;

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
        le_u64(&self.map, HEADER + 8 * i) as i64
    }

    fn offset(&self, i: usize) -> usize {
        le_u64(&self.map, HEADER + 8 * (self.count + i)) as usize
    }

    fn packed_at(&self, i: usize) -> &[u8] {
        &self.map[self.bytes_at + self.offset(i)..self.bytes_at + self.offset(i + 1)]
    }

    /// The CRC-32 the store's footer records, which names its contents.
    pub fn checksum(&self) -> u32 {
        le_u32(&self.map, self.map.len() - FOOTER)
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
        crate::id::position(id, self.count, |i| self.id(i)).map(|i| self.packed_at(i))
    }

    /// The molecule of parent `id`.
    pub fn molecule(&self, id: CompoundId) -> Option<Molecule> {
        self.packed(id).and_then(|p| Molecule::from_packed(p).ok())
    }

    /// The molecule of parent `id`, which the caller knows is held: if it
    /// is missing or damaged, the error tells the user to rebuild.
    pub(crate) fn require(&self, id: CompoundId) -> Result<Molecule, LibraryError> {
        let packed = self.packed(id).ok_or_else(|| {
            LibraryError::Corrupt(format!(
                "{id} is missing from the structure store; run `soyaku library reindex`"
            ))
        })?;
        unpack(id, packed)
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
        let io = |source| LibraryError::Write { path: path.to_owned(), source };
        let count = entries.clone().count();
        let bytes_len: usize = entries.clone().map(|(_, p)| p.len()).sum();
        let mut out = checkfile::Writer::create(path, MAGIC, VERSION).map_err(io)?;
        let mut header = [0u8; HEADER - PREAMBLE];
        header[4..12].copy_from_slice(&(count as u64).to_le_bytes());
        header[12..20].copy_from_slice(&(bytes_len as u64).to_le_bytes());
        out.put(&header).map_err(io)?;
        for (id, _) in entries.clone() {
            out.put(&(id as u64).to_le_bytes()).map_err(io)?;
        }
        let mut offset = 0u64;
        out.put(&offset.to_le_bytes()).map_err(io)?;
        for (_, p) in entries.clone() {
            offset += p.len() as u64;
            out.put(&offset.to_le_bytes()).map_err(io)?;
        }
        for (_, p) in entries {
            out.put(p).map_err(io)?;
        }
        out.put(&vec![0u8; bytes_len.next_multiple_of(8) - bytes_len]).map_err(io)?;
        out.finish().map_err(io)
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
        let checked = checkfile::check(&map, MAGIC).map_err(|e| corrupt(&e.to_string()))?;
        if checked.version != VERSION {
            return Err(corrupt("unknown version"));
        }
        if checked.body.len() < HEADER {
            return Err(corrupt("header cut short"));
        }
        let count = usize::try_from(le_u64(&map, 16)).map_err(|_| corrupt("count"))?;
        let bytes_len = usize::try_from(le_u64(&map, 24)).map_err(|_| corrupt("size"))?;
        let bytes_at = HEADER + 8 * (2 * count + 1);
        if checked.body.len() != bytes_at + bytes_len.next_multiple_of(8) {
            return Err(corrupt("wrong size"));
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

/// Parent `id`'s molecule from its packed bytes in the store; damage is
/// reported with the way to repair it.
pub(crate) fn unpack(id: CompoundId, packed: &[u8]) -> Result<Molecule, LibraryError> {
    Molecule::from_packed(packed).map_err(|e| {
        LibraryError::Corrupt(format!(
            "{id} is damaged in the structure store ({e}); run `soyaku library reindex`"
        ))
    })
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
