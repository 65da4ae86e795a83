//! The atom-kind screen of substructure search, between the pattern
//! fingerprint screen and RDKit's verification.
//!
//! Every atom of every parent has a kind: the key [`Molecule::atom_kind_keys`]
//! gives it, which holds every atom property a non-recursive SMARTS
//! primitive (or a plain SMILES atom) reads. Atoms of one kind therefore
//! answer such a query atom alike, and RDKit matching the query atom
//! against one prototype atom per kind tells exactly which kinds it can map
//! to. A parent can only hold the query if each query atom can map to one
//! of the parent's kinds; parents that fail are dropped unread, and none of
//! them could have matched. Query atoms the screen cannot judge (recursive
//! SMARTS, property queries) allow every kind.
//!
//! The pattern fingerprint hashes paths, so on a large library most of its
//! candidates are not hits; this screen takes out those whose atoms cannot
//! be matched at all, for a few bytes per parent instead of a molecule.
//!
//! The kinds live in `kinds.sak` beside the structure store, derived from
//! it and rebuilt when the store changes (the file records the store's
//! checksum). Layout (little-endian `u64` unless said otherwise):
//!
//! ```text
//! 0   header, 48 bytes: MAGIC (8) | version u32 | store checksum u32 | parents
//!     | kinds | entries | prototype parents
//! 48  parent ids: parents entries, ascending (the store's)
//! …   offsets: parents + 1 entries into the kind entries
//! …   kind entries: `entries` u32, each parent's kinds ascending; zero
//!     padding to a multiple of 8
//! …   prototype parent ids: one entry per parent holding a prototype
//! …   prototypes: kinds entries, (index into the prototype parents u32 |
//!     atom index u32)
//! end footer, 16 bytes: CRC-32 of everything before it (u32) | zeros (u32) | MAGIC
//! ```
//!
//! The magic, version and footer are [`checkfile`]'s frame.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use checkfile::{le_u32, le_u64, PREAMBLE};
use chem::{Molecule, Query};

use crate::{CompoundId, LibraryError, Structures};

const MAGIC: &[u8; 8] = b"SOYAKUAK";
const VERSION: u32 = 1;
const HEADER: usize = 48;

/// The file name of the kinds in an index folder.
pub const FILE_NAME: &str = "kinds.sak";

/// Parents per step of a build: their keys are made on all cores, then
/// numbered on one, so only one step's keys are held at a time.
const BUILD_STEP: usize = 16_384;

/// The atom kinds of every parent in a structure store.
pub struct AtomKinds {
    store_checksum: u32,
    /// Parent ids, ascending.
    ids: Vec<i64>,
    /// `entries[offsets[i]..offsets[i + 1]]` are parent i's kinds.
    offsets: Vec<u64>,
    entries: Vec<u32>,
    /// Parents holding a prototype atom.
    prototype_parents: Vec<i64>,
    /// One atom of each kind: (index into `prototype_parents`, atom index).
    prototypes: Vec<(u32, u32)>,
    /// The prototype parents' molecules, unpacked at the first search and
    /// kept for the next.
    unpacked: Mutex<Vec<Molecule>>,
}

impl std::fmt::Debug for AtomKinds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomKinds")
            .field("parents", &self.ids.len())
            .field("kinds", &self.kinds())
            .field("prototype_parents", &self.prototype_parents.len())
            .finish()
    }
}

/// For one query, the kinds each query atom can map to (`None`: any).
#[derive(Debug)]
pub struct KindScreen {
    allowed: Vec<Option<Vec<u64>>>,
    /// The query is one atom the kinds judge, matched without chirality:
    /// a parent holds it exactly when one of its kinds is allowed, so the
    /// screen's verdict is the match's.
    decisive: bool,
}

impl KindScreen {
    /// Whether the screen's verdict is the match's (see [`AtomKinds::judge`]).
    pub fn decides(&self) -> bool {
        self.decisive
    }
}

impl AtomKinds {
    /// Number of distinct kinds.
    pub fn kinds(&self) -> usize {
        self.prototypes.len()
    }

    /// Whether these kinds were derived from `store`.
    pub fn describes(&self, store: &Structures) -> bool {
        self.store_checksum == store.checksum() && self.ids.len() == store.len()
    }

    /// Derives the kinds of every parent in `store` (on all cores).
    pub fn build(store: &Structures) -> Result<AtomKinds, LibraryError> {
        let mut entries_of_store = store.entries();
        let mut numbers: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut kinds = AtomKinds {
            store_checksum: store.checksum(),
            ids: Vec::with_capacity(store.len()),
            offsets: vec![0],
            entries: Vec::new(),
            prototype_parents: Vec::new(),
            prototypes: Vec::new(),
            unpacked: Mutex::new(Vec::new()),
        };
        loop {
            let step: Vec<(i64, &[u8])> = entries_of_store.by_ref().take(BUILD_STEP).collect();
            if step.is_empty() {
                break;
            }
            let keyed = crate::on_all_cores(&step, |part| {
                part.iter()
                    .map(|&(id, packed)| {
                        let molecule = crate::structures::unpack(CompoundId(id), packed)?;
                        let keys = molecule.atom_kind_keys().map_err(|e| {
                            LibraryError::Corrupt(format!("atom kinds of {}: {e}", CompoundId(id)))
                        })?;
                        Ok((id, keys))
                    })
                    .collect()
            })?;
            for (id, keys) in keyed {
                let mut own = Vec::with_capacity(keys.len());
                let mut slot = None;
                for (atom, key) in keys.into_iter().enumerate() {
                    let next = numbers.len() as u32;
                    let kind = *numbers.entry(key).or_insert(next);
                    if kind == next {
                        let parent = *slot.get_or_insert_with(|| {
                            kinds.prototype_parents.push(id);
                            (kinds.prototype_parents.len() - 1) as u32
                        });
                        kinds.prototypes.push((parent, atom as u32));
                    }
                    own.push(kind);
                }
                own.sort_unstable();
                own.dedup();
                kinds.entries.extend(own);
                kinds.ids.push(id);
                kinds.offsets.push(kinds.entries.len() as u64);
            }
        }
        Ok(kinds)
    }

    /// The screen for `query`: which kinds each of its atoms can map to.
    /// Unpacks the prototype molecules from `store` the first time.
    pub fn screen(&self, query: &Query, store: &Structures) -> Result<KindScreen, LibraryError> {
        let screenable = query.kind_screenable();
        let mut allowed: Vec<Option<Vec<u64>>> = screenable
            .iter()
            .map(|&judged| judged.then(|| vec![0u64; self.kinds().div_ceil(64)]))
            .collect();
        let decisive = screenable == [true] && !query.uses_chirality();
        if allowed.iter().all(Option::is_none) {
            return Ok(KindScreen { allowed, decisive });
        }
        let mut unpacked = self.unpacked.lock().unwrap_or_else(|e| e.into_inner());
        if unpacked.len() != self.prototype_parents.len() {
            *unpacked = self
                .prototype_parents
                .iter()
                .map(|&id| store.require(CompoundId(id)))
                .collect::<Result<_, _>>()?;
        }
        for (kind, &(parent, atom)) in self.prototypes.iter().enumerate() {
            let matching = query.atoms_matching(&unpacked[parent as usize], atom);
            for (bits, matches) in allowed.iter_mut().zip(matching) {
                if let (Some(bits), true) = (bits, matches) {
                    bits[kind / 64] |= 1u64 << (kind % 64);
                }
            }
        }
        Ok(KindScreen { allowed, decisive })
    }

    /// The kinds of parent `id`, if it is held.
    fn of(&self, id: CompoundId) -> Option<&[u32]> {
        let i = crate::id::position(id, self.ids.len(), |i| self.ids[i])?;
        Some(&self.entries[self.offsets[i] as usize..self.offsets[i + 1] as usize])
    }

    /// What `screen` says of parent `id`: `None` when it cannot hold the
    /// query (a screened query atom maps to none of its kinds), otherwise
    /// whether it surely does (the screen decides). A parent the kinds do
    /// not know may hold the query and is not settled.
    pub fn judge(&self, screen: &KindScreen, id: CompoundId) -> Option<bool> {
        let Some(kinds) = self.of(id) else { return Some(false) };
        let admitted = (screen.allowed.iter().flatten())
            .all(|bits| kinds.iter().any(|&k| bits[k as usize / 64] >> (k % 64) & 1 == 1));
        admitted.then_some(screen.decisive)
    }

    /// Writes the kinds to `path` atomically (temporary file, sync, rename).
    pub fn write(&self, path: &Path) -> Result<(), LibraryError> {
        let io = |source| LibraryError::Write { path: path.to_owned(), source };
        let mut bytes = Vec::with_capacity(
            HEADER + 8 * (2 * self.ids.len() + 1) + 4 * self.entries.len() + 8 * self.kinds(),
        );
        bytes.extend_from_slice(&self.store_checksum.to_le_bytes());
        for n in [self.ids.len(), self.kinds(), self.entries.len(), self.prototype_parents.len()] {
            bytes.extend_from_slice(&(n as u64).to_le_bytes());
        }
        self.ids.iter().for_each(|id| bytes.extend_from_slice(&id.to_le_bytes()));
        self.offsets.iter().for_each(|o| bytes.extend_from_slice(&o.to_le_bytes()));
        self.entries.iter().for_each(|k| bytes.extend_from_slice(&k.to_le_bytes()));
        // Padded so that what follows sits at a multiple of 8 in the file.
        bytes.resize((PREAMBLE + bytes.len()).next_multiple_of(8) - PREAMBLE, 0);
        self.prototype_parents.iter().for_each(|id| bytes.extend_from_slice(&id.to_le_bytes()));
        for (parent, atom) in &self.prototypes {
            bytes.extend_from_slice(&parent.to_le_bytes());
            bytes.extend_from_slice(&atom.to_le_bytes());
        }
        let mut out = checkfile::Writer::create(path, MAGIC, VERSION).map_err(io)?;
        out.put(&bytes).map_err(io)?;
        out.finish().map_err(io)
    }

    /// Reads a kinds file after checking its header, sizes and checksum.
    pub fn open(path: &Path) -> Result<AtomKinds, LibraryError> {
        let corrupt = |reason: &str| {
            LibraryError::Corrupt(format!("atom kinds {}: {reason}", path.display()))
        };
        let bytes = fs_err::read(path)?;
        let checked = checkfile::check(&bytes, MAGIC).map_err(|e| corrupt(&e.to_string()))?;
        if checked.version != VERSION {
            return Err(corrupt("unknown version"));
        }
        let footer_at = checked.body.len();
        if footer_at < HEADER {
            return Err(corrupt("header cut short"));
        }
        let mut reader = Reader { bytes: checked.body, at: PREAMBLE };
        let store_checksum = reader.u32();
        let [parents, kinds, entries, prototype_parents] = [(); 4].map(|()| reader.u64() as usize);
        let need = 8 * (2 * parents + 1)
            + (4 * entries).next_multiple_of(8)
            + 8 * prototype_parents
            + 8 * kinds;
        if footer_at != HEADER + need {
            return Err(corrupt("wrong size"));
        }
        let ids: Vec<i64> = (0..parents).map(|_| reader.u64() as i64).collect();
        let offsets: Vec<u64> = (0..=parents).map(|_| reader.u64()).collect();
        let entries_read: Vec<u32> = (0..entries).map(|_| reader.u32()).collect();
        reader.at = reader.at.next_multiple_of(8);
        let prototype_parents_read: Vec<i64> =
            (0..prototype_parents).map(|_| reader.u64() as i64).collect();
        let prototypes: Vec<(u32, u32)> =
            (0..kinds).map(|_| (reader.u32(), reader.u32())).collect();
        let in_order = offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.last() == Some(&(entries as u64))
            && ids.windows(2).all(|w| w[0] < w[1])
            && entries_read.iter().all(|&k| (k as usize) < kinds)
            && prototypes.iter().all(|&(p, _)| (p as usize) < prototype_parents);
        if !in_order {
            return Err(corrupt("tables out of order"));
        }
        Ok(AtomKinds {
            store_checksum,
            ids,
            offsets,
            entries: entries_read,
            prototype_parents: prototype_parents_read,
            prototypes,
            unpacked: Mutex::new(Vec::new()),
        })
    }
}

/// Little-endian reads from a checked byte range.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> u32 {
        self.at += 4;
        le_u32(self.bytes, self.at - 4)
    }

    fn u64(&mut self) -> u64 {
        self.at += 8;
        le_u64(self.bytes, self.at - 8)
    }
}

/// Where the kinds of an index folder live.
pub(crate) fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}
