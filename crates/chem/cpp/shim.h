// The C++ side of the bridge between Soyaku and RDKit (plus the IUPAC InChI
// library). Each function does one RDKit operation and turns RDKit's ways of
// failing (null pointers, exceptions, log lines) into a C++ exception whose
// message cxx hands to Rust as the error text.
#pragma once

#include <GraphMol/ROMol.h>
#include <memory>

#include "rust/cxx.h"

namespace soyaku {

struct Descriptors;
struct FilterHit;
struct InchiResult;
struct AtomInfo;
struct BondInfo;
struct PlacedAtom;

using RDKit::ROMol;

std::unique_ptr<ROMol> mol_from_smiles(rust::Str smiles);
std::unique_ptr<ROMol> mol_from_trusted_smiles(rust::Str smiles);
rust::Vec<uint8_t> mol_to_packed(const ROMol &mol);
std::unique_ptr<ROMol> mol_from_packed(rust::Slice<const uint8_t> bytes);
std::unique_ptr<ROMol> mol_from_smarts(rust::Str smarts);
int64_t atoms_as_written(rust::Str text, bool smarts);
std::unique_ptr<ROMol> mol_from_molblock(rust::Str block);
std::unique_ptr<ROMol> clone_mol(const ROMol &mol);

rust::String mol_to_smiles(const ROMol &mol);
rust::String mol_to_smarts(const ROMol &mol);
rust::String mol_to_molblock(const ROMol &mol, bool v3000);
rust::String mol_to_svg(const ROMol &mol, uint32_t width, uint32_t height);

std::unique_ptr<ROMol> standardize(const ROMol &mol, bool canonical_tautomer);
std::unique_ptr<ROMol> standardize_reference(const ROMol &mol);
std::unique_ptr<ROMol> strip_stereo(const ROMol &mol);
rust::String tautomer_hash(const ROMol &mol);
InchiResult inchi(const ROMol &mol);

void morgan_fingerprint(const ROMol &mol, uint32_t radius,
                        rust::Slice<uint64_t> words);
void pattern_fingerprint(const ROMol &mol, rust::Slice<uint64_t> words);
void query_pattern_fingerprint(const ROMol &query, rust::Slice<uint64_t> words);

Descriptors descriptors(const ROMol &mol);
rust::Vec<FilterHit> structural_alerts(const ROMol &mol);

uint32_t num_atoms(const ROMol &mol);
rust::Vec<AtomInfo> atom_infos(const ROMol &mol);
rust::Vec<BondInfo> bond_infos(const ROMol &mol);
rust::String embed_3d(const ROMol &mol, uint32_t seed);
rust::String smiles_from_3d(rust::Str molblock);
rust::String place_pose(rust::Str molblock,
                        rust::Slice<const PlacedAtom> placed);
bool has_substruct_match(const ROMol &mol, const ROMol &query,
                         bool use_chirality);

rust::Vec<uint8_t> atom_kind_keys(const ROMol &mol);
rust::Vec<uint8_t> query_atoms_screenable(const ROMol &query);
void query_atoms_match(const ROMol &query, const ROMol &mol, uint32_t atom,
                       rust::Slice<uint8_t> out);

}  // namespace soyaku
