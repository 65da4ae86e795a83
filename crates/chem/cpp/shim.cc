#include "chem/cpp/shim.h"

#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/Depictor/RDDepictor.h>
#include <GraphMol/DistGeomHelpers/Embedder.h>
#include <GraphMol/ForceFieldHelpers/MMFF/MMFF.h>
#include <GraphMol/ForceFieldHelpers/UFF/AtomTyper.h>
#include <GraphMol/ForceFieldHelpers/UFF/UFF.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <GraphMol/Descriptors/MolSurf.h>
#include <GraphMol/FileParsers/FileParsers.h>
#include <GraphMol/FilterCatalog/FilterCatalog.h>
#include <GraphMol/Fingerprints/Fingerprints.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/GraphMol.h>
#include <GraphMol/MolDraw2D/MolDraw2DSVG.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>
#include <GraphMol/MolHash/MolHash.h>
#include <GraphMol/MolPickler.h>
#include <GraphMol/MolStandardize/Charge.h>
#include <GraphMol/MolStandardize/Fragment.h>
#include <GraphMol/MolStandardize/Metal.h>
#include <GraphMol/MolStandardize/MolStandardize.h>
#include <GraphMol/MolStandardize/Normalize.h>
#include <GraphMol/QueryAtom.h>
#include <GraphMol/SmilesParse/SmartsWrite.h>
#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <GraphMol/Substruct/SubstructMatch.h>
#include <RDGeneral/RDLog.h>
#include <inchi_api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "chem/src/ffi.rs.h"

namespace soyaku {
namespace {

// RDKit reports why a parse failed only through its error log. The log is
// redirected once into a per-thread buffer so that each parsing thread can
// read back its own message and put it into the error it raises.
thread_local std::string tl_log;

class ThreadLocalBuf : public std::streambuf {
 protected:
  int overflow(int c) override {
    if (c != traits_type::eof()) tl_log.push_back(static_cast<char>(c));
    return c;
  }
  std::streamsize xsputn(const char *s, std::streamsize n) override {
    tl_log.append(s, static_cast<size_t>(n));
    return n;
  }
};

ThreadLocalBuf log_buf;
std::ostream log_stream(&log_buf);

void capture_rdkit_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    rdErrorLog = std::make_shared<boost::logging::rdLogger>(&log_stream);
    rdWarningLog = std::make_shared<boost::logging::rdLogger>(&log_stream);
    // MolStandardize narrates every step at info level; that is noise here.
    rdInfoLog = nullptr;
    rdDebugLog = nullptr;
  });
  tl_log.clear();
}

// The captured log without RDKit's "[hh:mm:ss] " prefixes, one line per
// message, or `fallback` when RDKit said nothing.
std::string captured_log(const std::string &fallback) {
  std::istringstream in(tl_log);
  std::string line, out;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') {
      auto close = line.find("] ");
      if (close != std::string::npos) line = line.substr(close + 2);
    }
    if (line.empty()) continue;
    if (!out.empty()) out += "; ";
    out += line;
  }
  tl_log.clear();
  return out.empty() ? fallback : out;
}

std::unique_ptr<ROMol> owned(RDKit::RWMol *mol) {
  return std::unique_ptr<ROMol>(static_cast<ROMol *>(mol));
}

void to_words(const ExplicitBitVect &fp, rust::Slice<uint64_t> words) {
  std::fill(words.begin(), words.end(), 0);
  std::vector<int> on;
  fp.getOnBits(on);
  for (int bit : on) {
    words[static_cast<size_t>(bit) / 64] |= uint64_t{1} << (bit % 64);
  }
}

// Standard InChI 1.03 keeps global state; every call is serialised.
std::mutex inchi_mutex;

}  // namespace

namespace {
// Runs an RDKit operation that yields a molecule, turning both of its ways
// of failing (an exception, or a null result with the reason in the log)
// into an exception that carries the reason.
template <typename Parse>
std::unique_ptr<ROMol> parse_with(const char *what, Parse parse) {
  capture_rdkit_log();
  RDKit::RWMol *mol = nullptr;
  try {
    mol = parse();
  } catch (const std::exception &e) {
    captured_log("");
    throw std::runtime_error(e.what());
  }
  if (!mol) throw std::runtime_error(captured_log(std::string(what) + " could not be parsed"));
  return owned(mol);
}
}  // namespace

std::unique_ptr<ROMol> mol_from_smiles(rust::Str smiles) {
  std::string text(smiles);
  return parse_with("SMILES", [&] { return RDKit::SmilesToMol(text); });
}

// SMILES that RDKit wrote from a sanitised molecule (a registry's canonical
// SMILES): its aromatic flags are already RDKit's, so kekulisation,
// aromaticity perception and cleanup are skipped; every other sanitisation
// step (properties, rings, conjugation, hybridisation, Hs) runs, so matching
// sees the molecule a full parse gives. RDKit's SubstructLibrary reads its
// "trusted SMILES" the same way.
std::unique_ptr<ROMol> mol_from_trusted_smiles(rust::Str smiles) {
  std::string text(smiles);
  return parse_with("SMILES", [&] {
    RDKit::RWMol *mol = RDKit::SmilesToMol(text, 0, false);
    if (mol) {
      unsigned int failed = 0;
      RDKit::MolOps::sanitizeMol(
          *mol, failed,
          RDKit::MolOps::SANITIZE_ALL ^ RDKit::MolOps::SANITIZE_KEKULIZE ^
              RDKit::MolOps::SANITIZE_SETAROMATICITY ^ RDKit::MolOps::SANITIZE_CLEANUP);
    }
    return mol;
  });
}

namespace {
// The packed form of a sanitised molecule: RDKit's own perception (atom and
// bond flags, hybridisation, stereo, the ring sets) stored field by field
// and set back on a new molecule without running any perception again.
// RDKit's pickle holds the same, but its reader goes through an iostream per
// field and costs several times the substructure match it serves; this is
// the structure store's read path, so every candidate pays it.
//
//   u8 kind: 0 = an RDKit pickle follows (molecules the packed form cannot
//            hold: query features, atom or bond properties, stereo groups,
//            over 65,534 atoms), 1 = packed:
//   u16 atoms, u16 bonds, u16 rings
//   atoms × 10: atomic number, charge (i8), explicit Hs, flags (1 aromatic,
//               2 no implicit Hs), chiral tag, hybridisation, radicals, 0,
//               isotope (u16)
//   bonds × 12: begin (u16), end (u16), type, flags (1 aromatic,
//               2 conjugated), stereo, direction, stereo atoms (2 × u16,
//               0xffff when none)
//   rings: u16 size, then size atom indices and size bond indices (u16)
// All integers little-endian.
constexpr uint8_t kPackedPickle = 0;
constexpr uint8_t kPacked = 1;
constexpr uint16_t kNoAtom = 0xffff;

bool packable(const ROMol &mol) {
  if (mol.getNumAtoms() >= kNoAtom || mol.getNumBonds() >= kNoAtom ||
      !mol.getStereoGroups().empty() || !mol.getRingInfo()->isInitialized() ||
      mol.getRingInfo()->numRings() >= kNoAtom) {
    return false;
  }
  for (const auto atom : mol.atoms()) {
    if (atom->hasQuery() || atom->getAtomicNum() > 255 || atom->getFormalCharge() < -128 ||
        atom->getFormalCharge() > 127 || atom->getNumExplicitHs() > 255 ||
        atom->getNumRadicalElectrons() > 255 || atom->getIsotope() > 65535 ||
        !atom->getPropList(false, false).empty()) {
      return false;
    }
  }
  for (const auto bond : mol.bonds()) {
    const auto &stereo_atoms = bond->getStereoAtoms();
    if (bond->hasQuery() || !bond->getPropList(false, false).empty() ||
        (!stereo_atoms.empty() && stereo_atoms.size() != 2)) {
      return false;
    }
  }
  return true;
}

void put_u16(rust::Vec<uint8_t> &out, unsigned int value) {
  out.push_back(static_cast<uint8_t>(value & 0xff));
  out.push_back(static_cast<uint8_t>(value >> 8));
}

// Reads through a plain pointer: indexing a rust::Slice calls into Rust for
// its length and address on every byte.
class Reader {
 public:
  explicit Reader(rust::Slice<const uint8_t> bytes)
      : at_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  uint8_t u8() {
    if (at_ == end_) throw std::runtime_error("packed molecule is truncated");
    return *at_++;
  }
  uint16_t u16() {
    uint16_t low = u8();
    return static_cast<uint16_t>(low | (u8() << 8));
  }
  bool done() const { return at_ == end_; }

 private:
  const uint8_t *at_;
  const uint8_t *end_;
};
}  // namespace

rust::Vec<uint8_t> mol_to_packed(const ROMol &mol) {
  rust::Vec<uint8_t> out;
  if (!packable(mol)) {
    std::string bytes;
    RDKit::MolPickler::pickleMol(mol, bytes);
    out.reserve(bytes.size() + 1);
    out.push_back(kPackedPickle);
    for (char c : bytes) out.push_back(static_cast<uint8_t>(c));
    return out;
  }
  const auto rings = mol.getRingInfo();
  out.reserve(7 + 10 * mol.getNumAtoms() + 12 * mol.getNumBonds());
  out.push_back(kPacked);
  put_u16(out, mol.getNumAtoms());
  put_u16(out, mol.getNumBonds());
  put_u16(out, rings->numRings());
  for (const auto atom : mol.atoms()) {
    out.push_back(static_cast<uint8_t>(atom->getAtomicNum()));
    out.push_back(static_cast<uint8_t>(static_cast<int8_t>(atom->getFormalCharge())));
    out.push_back(static_cast<uint8_t>(atom->getNumExplicitHs()));
    out.push_back(static_cast<uint8_t>((atom->getIsAromatic() ? 1 : 0) |
                                       (atom->getNoImplicit() ? 2 : 0)));
    out.push_back(static_cast<uint8_t>(atom->getChiralTag()));
    out.push_back(static_cast<uint8_t>(atom->getHybridization()));
    out.push_back(static_cast<uint8_t>(atom->getNumRadicalElectrons()));
    out.push_back(0);
    put_u16(out, atom->getIsotope());
  }
  for (const auto bond : mol.bonds()) {
    put_u16(out, bond->getBeginAtomIdx());
    put_u16(out, bond->getEndAtomIdx());
    out.push_back(static_cast<uint8_t>(bond->getBondType()));
    out.push_back(static_cast<uint8_t>((bond->getIsAromatic() ? 1 : 0) |
                                       (bond->getIsConjugated() ? 2 : 0)));
    out.push_back(static_cast<uint8_t>(bond->getStereo()));
    out.push_back(static_cast<uint8_t>(bond->getBondDir()));
    const auto &stereo_atoms = bond->getStereoAtoms();
    put_u16(out, stereo_atoms.empty() ? kNoAtom : stereo_atoms[0]);
    put_u16(out, stereo_atoms.empty() ? kNoAtom : stereo_atoms[1]);
  }
  for (size_t ring = 0; ring < rings->numRings(); ++ring) {
    const auto &atoms = rings->atomRings()[ring];
    const auto &bonds = rings->bondRings()[ring];
    put_u16(out, atoms.size());
    for (int a : atoms) put_u16(out, a);
    for (int b : bonds) put_u16(out, b);
  }
  return out;
}

std::unique_ptr<ROMol> mol_from_packed(rust::Slice<const uint8_t> bytes) {
  if (bytes.empty()) throw std::runtime_error("packed molecule is empty");
  if (bytes[0] == kPackedPickle) {
    std::string text(reinterpret_cast<const char *>(bytes.data()) + 1, bytes.size() - 1);
    auto mol = std::make_unique<ROMol>();
    RDKit::MolPickler::molFromPickle(text, mol.get());
    return mol;
  }
  if (bytes[0] != kPacked) throw std::runtime_error("unknown kind of packed molecule");
  Reader in(bytes);
  in.u8();
  const unsigned int num_atoms = in.u16(), num_bonds = in.u16(), num_rings = in.u16();
  auto mol = std::make_unique<RDKit::RWMol>();
  std::vector<uint8_t> stereo;
  std::vector<std::pair<uint16_t, uint16_t>> stereo_atoms;
  stereo.reserve(num_bonds);
  stereo_atoms.reserve(num_bonds);
  for (unsigned int i = 0; i < num_atoms; ++i) {
    auto atom = new RDKit::Atom(in.u8());
    mol->addAtom(atom, false, true);
    atom->setFormalCharge(static_cast<int8_t>(in.u8()));
    atom->setNumExplicitHs(in.u8());
    const uint8_t flags = in.u8();
    atom->setIsAromatic(flags & 1);
    atom->setNoImplicit(flags & 2);
    atom->setChiralTag(static_cast<RDKit::Atom::ChiralType>(in.u8()));
    atom->setHybridization(static_cast<RDKit::Atom::HybridizationType>(in.u8()));
    atom->setNumRadicalElectrons(in.u8());
    in.u8();
    atom->setIsotope(in.u16());
  }
  for (unsigned int i = 0; i < num_bonds; ++i) {
    const unsigned int begin = in.u16(), end = in.u16();
    if (begin >= num_atoms || end >= num_atoms || begin == end) {
      throw std::runtime_error("packed molecule has a bad bond");
    }
    auto bond = new RDKit::Bond(static_cast<RDKit::Bond::BondType>(in.u8()));
    bond->setOwningMol(mol.get());
    bond->setBeginAtomIdx(begin);
    bond->setEndAtomIdx(end);
    const uint8_t flags = in.u8();
    bond->setIsAromatic(flags & 1);
    bond->setIsConjugated(flags & 2);
    stereo.push_back(in.u8());
    bond->setBondDir(static_cast<RDKit::Bond::BondDir>(in.u8()));
    stereo_atoms.push_back({in.u16(), in.u16()});
    mol->addBond(bond, true);
  }
  // Stereo atoms must be bonded neighbours, so they are set once every bond
  // is in place.
  for (unsigned int i = 0; i < num_bonds; ++i) {
    auto bond = mol->getBondWithIdx(i);
    const auto [first, second] = stereo_atoms[i];
    if (first != kNoAtom) {
      if (first >= num_atoms || second >= num_atoms) {
        throw std::runtime_error("packed molecule has bad stereo atoms");
      }
      bond->setStereoAtoms(first, second);
    }
    bond->setStereo(static_cast<RDKit::Bond::BondStereo>(stereo[i]));
  }
  auto rings = mol->getRingInfo();
  rings->initialize();
  RDKit::INT_VECT ring_atoms, ring_bonds;
  for (unsigned int r = 0; r < num_rings; ++r) {
    const unsigned int size = in.u16();
    ring_atoms.resize(size);
    ring_bonds.resize(size);
    for (auto &a : ring_atoms) a = in.u16();
    for (auto &b : ring_bonds) b = in.u16();
    rings->addRing(ring_atoms, ring_bonds);
  }
  if (!in.done()) throw std::runtime_error("packed molecule has trailing bytes");
  // Valences are derived from the bonds and Hs just set, by RDKit, as the
  // sanitiser derived them when the molecule was packed.
  for (auto atom : mol->atoms()) atom->updatePropertyCache(false);
  return mol;
}

std::unique_ptr<ROMol> mol_from_smarts(rust::Str smarts) {
  std::string text(smarts);
  return parse_with("SMARTS", [&] { return RDKit::SmartsToMol(text); });
}

// The atoms of SMILES or SMARTS as written, from the parser alone: no
// sanitisation, stereo or ring perception, whose cost grows faster than the
// atom count (RDKit's CIP ranking is cubic on nested branches). -1 when the
// text does not parse; the full parse then says why.
int64_t atoms_as_written(rust::Str text, bool smarts) {
  std::string owned(text);
  capture_rdkit_log();
  std::unique_ptr<RDKit::RWMol> mol;
  try {
    mol.reset(smarts ? RDKit::SmartsToMol(owned) : RDKit::SmilesToMol(owned, 0, false));
  } catch (const std::exception &) {
  }
  captured_log("");
  return mol ? static_cast<int64_t>(mol->getNumAtoms()) : -1;
}

std::unique_ptr<ROMol> mol_from_molblock(rust::Str block) {
  std::string text(block);
  return parse_with("mol block", [&] { return RDKit::MolBlockToMol(text); });
}

std::unique_ptr<ROMol> clone_mol(const ROMol &mol) {
  return std::make_unique<ROMol>(mol);
}

rust::String mol_to_smiles(const ROMol &mol) {
  return rust::String(RDKit::MolToSmiles(mol));
}

rust::String mol_to_smarts(const ROMol &mol) {
  return rust::String(RDKit::MolToSmarts(mol));
}

rust::String mol_to_molblock(const ROMol &mol, bool v3000) {
  RDKit::RWMol copy(mol);
  if (copy.getNumConformers() == 0) RDDepict::compute2DCoords(copy);
  return rust::String(RDKit::MolToMolBlock(copy, true, -1, true, v3000));
}

rust::String mol_to_svg(const ROMol &mol, uint32_t width, uint32_t height) {
  RDKit::MolDraw2DSVG drawer(static_cast<int>(width), static_cast<int>(height));
  RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, mol);
  drawer.finishDrawing();
  return rust::String(drawer.getDrawingText());
}

namespace {
// The standardiser's transformation catalogues take longer to build than to
// apply, and RDKit's convenience functions rebuild them on every call. Each
// thread keeps one set, built once from RDKit's default parameters.
struct Standardizers {
  const RDKit::MolStandardize::CleanupParameters &params =
      RDKit::MolStandardize::defaultCleanupParameters;
  std::unique_ptr<RDKit::MolStandardize::Normalizer> normalizer{
      RDKit::MolStandardize::normalizerFromParams(params)};
  std::unique_ptr<RDKit::MolStandardize::Reionizer> reionizer{
      RDKit::MolStandardize::reionizerFromParams(params)};
  RDKit::MolStandardize::LargestFragmentChooser largest{params.preferOrganic};
  RDKit::MolStandardize::Uncharger uncharger{params.doCanonical};
  RDKit::MolStandardize::MetalDisconnector metals;

  // RDKit's cleanup(): remove Hs, disconnect metals, normalise, reionise,
  // reassign stereo.
  static bool has_charges(const ROMol &mol) {
    for (const auto *atom : mol.atoms()) {
      if (atom->getFormalCharge() != 0) return true;
    }
    return false;
  }

  // RDKit's cleanup(): remove Hs, disconnect metals, normalise, reionise,
  // reassign stereo. The reioniser only moves existing charges between acid
  // groups, so a molecule without charges skips it.
  std::unique_ptr<RDKit::RWMol> cleanup(const ROMol &mol) {
    RDKit::RWMol m(mol);
    RDKit::MolOps::removeHs(m);
    metals.disconnect(m);
    std::unique_ptr<ROMol> out(normalizer->normalize(m));
    if (has_charges(*out)) out.reset(reionizer->reionize(*out));
    auto res = std::make_unique<RDKit::RWMol>(*out);
    RDKit::MolOps::assignStereochemistry(*res, true, true);
    return res;
  }

  // RDKit's chargeParent(): cleanup, largest fragment, uncharge, cleanup.
  // A cleaned molecule that is one fragment without charges is its own
  // largest fragment, the uncharger has nothing to do, and the second cleanup
  // would meet a molecule it already cleaned, so all three are skipped. The
  // slow twin test checks these shortcuts against RDKit's chargeParent.
  std::unique_ptr<RDKit::RWMol> charge_parent(const ROMol &mol) {
    auto cleaned = cleanup(mol);
    std::vector<int> fragment_of_atom;
    const auto fragments = RDKit::MolOps::getMolFrags(*cleaned, fragment_of_atom);
    if (fragments <= 1 && !has_charges(*cleaned)) return cleaned;
    std::unique_ptr<ROMol> fragment(largest.choose(*cleaned));
    std::unique_ptr<ROMol> uncharged(uncharger.uncharge(*fragment));
    return cleanup(*uncharged);
  }
};

Standardizers &standardizers() {
  thread_local Standardizers s;
  return s;
}
}  // namespace

std::unique_ptr<ROMol> standardize(const ROMol &mol, bool canonical_tautomer) {
  return parse_with("standardised molecule", [&] {
    auto parent = standardizers().charge_parent(mol);
    if (canonical_tautomer) {
      parent.reset(RDKit::MolStandardize::canonicalTautomer(parent.get()));
    }
    tl_log.clear();
    return parent.release();
  });
}

std::unique_ptr<ROMol> standardize_reference(const ROMol &mol) {
  return parse_with("standardised molecule", [&] {
    RDKit::RWMol input(mol);
    auto *parent = RDKit::MolStandardize::chargeParent(input);
    tl_log.clear();
    return parent;
  });
}

std::unique_ptr<ROMol> strip_stereo(const ROMol &mol) {
  auto copy = std::make_unique<ROMol>(mol);
  RDKit::MolOps::removeStereochemistry(*copy);
  return copy;
}

rust::String tautomer_hash(const ROMol &mol) {
  RDKit::RWMol copy(mol);
  return rust::String(RDKit::MolHash::MolHash(
      &copy, RDKit::MolHash::HashFunction::HetAtomTautomer));
}

namespace {
// RDKit's chiral tag orders neighbours by the atom's bond list; an implicit
// hydrogen or lone pair counts as the neighbour listed first (`true`) or
// last (`false`). InChI's 0D parity wants the missing neighbour first.
constexpr bool kImplicitNeighbourFirst = false;

S_CHAR tetrahedral_parity(const RDKit::Atom *atom, std::vector<AT_NUM> &nbrs) {
  const auto tag = atom->getChiralTag();
  bool even = tag == RDKit::Atom::CHI_TETRAHEDRAL_CW;
  if (nbrs.size() == 3 && !kImplicitNeighbourFirst) {
    // Moving the implicit neighbour from last to first is an odd permutation.
    even = !even;
  }
  return even ? INCHI_PARITY_EVEN : INCHI_PARITY_ODD;
}
}  // namespace

// Standard InChI from the RDKit molecule as InChI's API takes a structure
// without coordinates: a Kekulé graph with hydrogen counts, plus 0D parities
// for every tetrahedral centre and double bond whose stereo RDKit knows.
// Stereo RDKit leaves unspecified stays undefined, as in RDKit's MolToInchi.
InchiResult inchi(const ROMol &mol) {
  RDKit::RWMol m(mol);
  RDKit::MolOps::Kekulize(m, true);
  const unsigned n = m.getNumAtoms();
  if (n == 0) throw std::runtime_error("InChI: the molecule has no atoms");
  if (n >= 1024) throw std::runtime_error("InChI: more than 1023 atoms");

  std::vector<inchi_Atom> atoms(n);
  std::memset(atoms.data(), 0, sizeof(inchi_Atom) * n);
  std::vector<inchi_Stereo0D> stereo;
  for (unsigned i = 0; i < n; ++i) {
    const auto *atom = m.getAtomWithIdx(i);
    auto &a = atoms[i];
    std::strncpy(a.elname, atom->getSymbol().c_str(), ATOM_EL_LEN - 1);
    a.num_iso_H[0] = static_cast<S_CHAR>(atom->getTotalNumHs(false));
    a.isotopic_mass = static_cast<AT_NUM>(atom->getIsotope());
    a.charge = static_cast<S_CHAR>(atom->getFormalCharge());
    switch (atom->getNumRadicalElectrons()) {
      case 0: a.radical = INCHI_RADICAL_NONE; break;
      case 1: a.radical = INCHI_RADICAL_DOUBLET; break;
      default: a.radical = INCHI_RADICAL_TRIPLET; break;
    }
    const auto tag = atom->getChiralTag();
    if (tag == RDKit::Atom::CHI_TETRAHEDRAL_CW || tag == RDKit::Atom::CHI_TETRAHEDRAL_CCW) {
      std::vector<AT_NUM> nbrs;
      for (const auto *bond : m.atomBonds(atom)) {
        nbrs.push_back(static_cast<AT_NUM>(bond->getOtherAtomIdx(i)));
      }
      if (nbrs.size() == 3 || nbrs.size() == 4) {
        inchi_Stereo0D s;
        std::memset(&s, 0, sizeof(s));
        s.type = INCHI_StereoType_Tetrahedral;
        s.central_atom = static_cast<AT_NUM>(i);
        s.parity = tetrahedral_parity(atom, nbrs);
        if (nbrs.size() == 3) {
          s.neighbor[0] = static_cast<AT_NUM>(i);
          std::copy(nbrs.begin(), nbrs.end(), s.neighbor + 1);
        } else {
          std::copy(nbrs.begin(), nbrs.end(), s.neighbor);
        }
        stereo.push_back(s);
      }
    }
  }
  for (const auto *bond : m.bonds()) {
    // Each bond is listed once, at its begin atom.
    const unsigned from = bond->getBeginAtomIdx();
    auto &a = atoms[from];
    if (a.num_bonds >= MAXVAL) throw std::runtime_error("InChI: atom with more than 20 bonds");
    const int k = a.num_bonds++;
    a.neighbor[k] = static_cast<AT_NUM>(bond->getEndAtomIdx());
    a.bond_stereo[k] = INCHI_BOND_STEREO_NONE;
    switch (bond->getBondType()) {
      case RDKit::Bond::SINGLE: a.bond_type[k] = INCHI_BOND_TYPE_SINGLE; break;
      case RDKit::Bond::DOUBLE: a.bond_type[k] = INCHI_BOND_TYPE_DOUBLE; break;
      case RDKit::Bond::TRIPLE: a.bond_type[k] = INCHI_BOND_TYPE_TRIPLE; break;
      case RDKit::Bond::AROMATIC: a.bond_type[k] = INCHI_BOND_TYPE_ALTERN; break;
      default:
        throw std::runtime_error("InChI: unsupported bond type (dative, zero-order or query bond)");
    }
    const auto st = bond->getStereo();
    const auto &ends = bond->getStereoAtoms();
    if (bond->getBondType() == RDKit::Bond::DOUBLE && ends.size() == 2 &&
        (st == RDKit::Bond::STEREOE || st == RDKit::Bond::STEREOZ ||
         st == RDKit::Bond::STEREOCIS || st == RDKit::Bond::STEREOTRANS)) {
      inchi_Stereo0D s;
      std::memset(&s, 0, sizeof(s));
      s.type = INCHI_StereoType_DoubleBond;
      s.central_atom = NO_ATOM;
      s.neighbor[0] = static_cast<AT_NUM>(ends[0]);
      s.neighbor[1] = static_cast<AT_NUM>(bond->getBeginAtomIdx());
      s.neighbor[2] = static_cast<AT_NUM>(bond->getEndAtomIdx());
      s.neighbor[3] = static_cast<AT_NUM>(ends[1]);
      const bool trans = st == RDKit::Bond::STEREOE || st == RDKit::Bond::STEREOTRANS;
      s.parity = trans ? INCHI_PARITY_EVEN : INCHI_PARITY_ODD;
      stereo.push_back(s);
    }
  }

  inchi_Input input;
  std::memset(&input, 0, sizeof(input));
  input.atom = atoms.data();
  input.num_atoms = static_cast<AT_NUM>(n);
  input.stereo0D = stereo.empty() ? nullptr : stereo.data();
  input.num_stereo0D = static_cast<AT_NUM>(stereo.size());
  char options[] = "";
  input.szOptions = options;

  InchiResult result;
  std::lock_guard<std::mutex> lock(inchi_mutex);
  inchi_Output out;
  std::memset(&out, 0, sizeof(out));
  int rc = GetStdINCHI(&input, &out);
  std::string message = out.szMessage ? out.szMessage : "";
  if ((rc != inchi_Ret_OKAY && rc != inchi_Ret_WARNING) || !out.szInChI) {
    FreeStdINCHI(&out);
    throw std::runtime_error("InChI generation failed: " +
                             (message.empty() ? std::string("code ") + std::to_string(rc) : message));
  }
  std::string text = out.szInChI;
  FreeStdINCHI(&out);
  char key[32] = {0};
  if (GetStdINCHIKeyFromStdINCHI(text.c_str(), key) != INCHIKEY_OK) {
    throw std::runtime_error("InChIKey generation failed for " + text);
  }
  result.inchi = rust::String(text);
  result.key = rust::String(std::string(key));
  result.warning = rust::String(message);
  return result;
}

void morgan_fingerprint(const ROMol &mol, uint32_t radius,
                        rust::Slice<uint64_t> words) {
  std::unique_ptr<ExplicitBitVect> fp(
      RDKit::MorganFingerprints::getFingerprintAsBitVect(
          mol, radius, static_cast<unsigned>(words.size() * 64)));
  to_words(*fp, words);
}

void pattern_fingerprint(const ROMol &mol, rust::Slice<uint64_t> words) {
  std::unique_ptr<ExplicitBitVect> fp(RDKit::PatternFingerprintMol(
      mol, static_cast<unsigned>(words.size() * 64)));
  to_words(*fp, words);
}

// The pattern fingerprint of a SMARTS query, safe to screen with. RDKit
// 2022.09 fingerprints a query atom as the element its SMARTS names first;
// when that is not an element ([R;c], [H1;#6], [x3;c]), the bits it sets
// describe an aliphatic, unsubstituted atom and miss most molecules that
// match. Such atoms are fingerprinted as wildcards instead, which sets
// fewer bits but none a match can lack.
void query_pattern_fingerprint(const ROMol &query, rust::Slice<uint64_t> words) {
  RDKit::RWMol safe(query);
  for (auto atom : query.atoms()) {
    if (!atom->hasQuery()) {
      continue;
    }
    const auto *node = static_cast<const RDKit::QueryAtom *>(atom)->getQuery();
    while (node->beginChildren() != node->endChildren()) {
      node = node->beginChildren()->get();
    }
    const auto &first = node->getDescription();
    if (first != "AtomAtomicNum" && first != "AtomType" && first != "AtomNull") {
      RDKit::QueryAtom wildcard;
      wildcard.setQuery(RDKit::makeAtomNullQuery());
      safe.replaceAtom(atom->getIdx(), &wildcard);
    }
  }
  pattern_fingerprint(safe, words);
}

Descriptors descriptors(const ROMol &mol) {
  namespace D = RDKit::Descriptors;
  Descriptors d;
  d.mol_wt = D::calcAMW(mol);
  d.exact_mol_wt = D::calcExactMW(mol);
  d.clogp = D::calcClogP(mol);
  d.tpsa = D::calcTPSA(mol);
  d.hbd = D::calcNumHBD(mol);
  d.hba = D::calcNumHBA(mol);
  d.rotatable_bonds = D::calcNumRotatableBonds(mol);
  d.rings = D::calcNumRings(mol);
  d.aromatic_rings = D::calcNumAromaticRings(mol);
  d.heavy_atoms = mol.getNumHeavyAtoms();
  d.formal_charge = RDKit::MolOps::getFormalCharge(mol);
  d.fraction_csp3 = D::calcFractionCSP3(mol);
  return d;
}

namespace {
const RDKit::FilterCatalog &catalog(RDKit::FilterCatalogParams::FilterCatalogs which) {
  static const RDKit::FilterCatalog pains(RDKit::FilterCatalogParams::PAINS);
  static const RDKit::FilterCatalog brenk(RDKit::FilterCatalogParams::BRENK);
  return which == RDKit::FilterCatalogParams::BRENK ? brenk : pains;
}
}  // namespace

rust::Vec<FilterHit> structural_alerts(const ROMol &mol) {
  rust::Vec<FilterHit> hits;
  const std::pair<const char *, RDKit::FilterCatalogParams::FilterCatalogs> sets[] = {
      {"PAINS", RDKit::FilterCatalogParams::PAINS},
      {"Brenk", RDKit::FilterCatalogParams::BRENK}};
  for (const auto &[name, which] : sets) {
    for (const auto &entry : catalog(which).getMatches(mol)) {
      FilterHit hit;
      hit.catalog = rust::String(name);
      hit.name = rust::String(entry->getDescription());
      hits.push_back(std::move(hit));
    }
  }
  return hits;
}

uint32_t num_atoms(const ROMol &mol) { return mol.getNumAtoms(); }

rust::Vec<AtomInfo> atom_infos(const ROMol &mol) {
  rust::Vec<AtomInfo> out;
  out.reserve(mol.getNumAtoms());
  for (const auto atom : mol.atoms()) {
    AtomInfo info;
    info.atomic_num = atom->getAtomicNum();
    info.total_degree = atom->getTotalDegree();
    info.formal_charge = atom->getFormalCharge();
    info.chiral_tag = static_cast<uint32_t>(atom->getChiralTag());
    info.total_hs = atom->getTotalNumHs();
    info.hybridization = static_cast<uint32_t>(atom->getHybridization());
    info.aromatic = atom->getIsAromatic();
    info.mass = atom->getMass();
    out.push_back(info);
  }
  return out;
}

// Hydrogens added, one ETKDGv3 conformer from `seed` (at most 10 attempts
// per atom), refined with MMFF94, or UFF where MMFF lacks parameters; as a
// molfile. The recipe DOCKSTRING uses to prepare ligands.
rust::String embed_3d(const ROMol &mol, uint32_t seed) {
  RDKit::RWMol m(mol);
  RDKit::MolOps::addHs(m);
  RDKit::DGeomHelpers::EmbedParameters params = RDKit::DGeomHelpers::ETKDGv3;
  params.randomSeed = static_cast<int>(seed);
  params.maxIterations = 10 * m.getNumAtoms();
  if (RDKit::DGeomHelpers::EmbedMolecule(m, params) < 0) {
    throw std::runtime_error("no 3D conformation could be embedded");
  }
  RDKit::MMFF::MMFFMolProperties mmff(m, "MMFF94");
  std::pair<int, double> result;
  if (mmff.isValid()) {
    result = RDKit::MMFF::MMFFOptimizeMolecule(m, 1000, "MMFF94");
  } else if (RDKit::UFF::getAtomTypes(m).second) {
    result = RDKit::UFF::UFFOptimizeMolecule(m, 1000);
  } else {
    throw std::runtime_error("neither MMFF94 nor UFF has parameters for every atom");
  }
  if (result.first != 0) {
    throw std::runtime_error("the force-field refinement did not converge");
  }
  return rust::String(RDKit::MolToMolBlock(m));
}

rust::String smiles_from_3d(rust::Str molblock) {
  std::string text(molblock);
  std::unique_ptr<RDKit::RWMol> m(
      RDKit::MolBlockToMol(text, /*sanitize=*/true, /*removeHs=*/false));
  if (!m || m->getNumConformers() == 0 || !m->getConformer().is3D()) {
    throw std::runtime_error("the molfile has no 3D structure");
  }
  // A double bond the input left open is written "either" (3) and read
  // back as STEREOANY, which 3D perception would keep: clear it so the
  // coordinates decide.
  for (auto bond : m->bonds()) {
    if (bond->getStereo() == RDKit::Bond::STEREOANY) {
      bond->setStereo(RDKit::Bond::STEREONONE);
    }
    if (bond->getBondDir() == RDKit::Bond::EITHERDOUBLE ||
        bond->getBondDir() == RDKit::Bond::UNKNOWN) {
      bond->setBondDir(RDKit::Bond::NONE);
    }
  }
  RDKit::MolOps::assignStereochemistryFrom3D(*m);
  RDKit::MolOps::removeHs(*m);
  return rust::String(RDKit::MolToSmiles(*m));
}

rust::String place_pose(rust::Str molblock,
                        rust::Slice<const PlacedAtom> placed) {
  std::string text(molblock);
  std::unique_ptr<RDKit::RWMol> m(
      RDKit::MolBlockToMol(text, /*sanitize=*/true, /*removeHs=*/false));
  if (!m || m->getNumConformers() == 0) {
    throw std::runtime_error("the ligand's molfile has no 3D structure");
  }
  RDKit::Conformer &conf = m->getConformer();
  std::vector<bool> have(m->getNumAtoms(), false);
  for (const auto &p : placed) {
    if (p.index >= m->getNumAtoms()) {
      throw std::runtime_error("the pose names atom " + std::to_string(p.index + 1) +
                               " but the ligand has " +
                               std::to_string(m->getNumAtoms()));
    }
    conf.setAtomPos(p.index, RDGeom::Point3D(p.x, p.y, p.z));
    have[p.index] = true;
  }
  // The docking engine drops hydrogens on carbon; RDKit puts them back
  // where the placed heavy atom's geometry says they belong.
  for (const auto atom : m->atoms()) {
    if (have[atom->getIdx()]) continue;
    if (atom->getAtomicNum() != 1 || atom->getDegree() != 1) {
      throw std::runtime_error("atom " + std::to_string(atom->getIdx() + 1) +
                               " has no position in the pose");
    }
    const auto neighbour = *m->atomNeighbors(atom).begin();
    if (!have[neighbour->getIdx()]) {
      throw std::runtime_error("hydrogen " + std::to_string(atom->getIdx() + 1) +
                               " is bonded to an atom the pose does not place");
    }
    RDKit::MolOps::setTerminalAtomCoords(*m, atom->getIdx(), neighbour->getIdx());
  }
  return rust::String(RDKit::MolToMolBlock(*m));
}

rust::Vec<BondInfo> bond_infos(const ROMol &mol) {
  rust::Vec<BondInfo> out;
  out.reserve(mol.getNumBonds());
  for (const auto bond : mol.bonds()) {
    BondInfo info;
    info.begin = bond->getBeginAtomIdx();
    info.end = bond->getEndAtomIdx();
    info.bond_type = static_cast<uint32_t>(bond->getBondType());
    info.conjugated = bond->getIsConjugated();
    info.in_ring = mol.getRingInfo()->numBondRings(bond->getIdx()) > 0;
    info.stereo = static_cast<uint32_t>(bond->getStereo());
    out.push_back(info);
  }
  return out;
}

bool has_substruct_match(const ROMol &mol, const ROMol &query,
                         bool use_chirality) {
  RDKit::SubstructMatchParameters params;
  params.useChirality = use_chirality;
  params.maxMatches = 1;
  return !RDKit::SubstructMatch(mol, query, params).empty();
}

// Atom kinds: the exact per-atom test of the substructure screen.
//
// An atom's kind key holds every value that the atom queries listed in
// `screenable` read through their data functions (QueryOps.h), and every
// value a plain atom's Atom::Match reads. Two atoms with the same key
// therefore answer every such query alike, so matching a query atom
// against one atom of each kind tells which kinds it can map to.

namespace {

void put_u16(rust::Vec<uint8_t> &out, int value) {
  auto v = static_cast<uint32_t>(value);
  if (v > 0xffff) {
    throw std::runtime_error("atom property out of the kind key's range");
  }
  out.push_back(static_cast<uint8_t>(v & 0xff));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

void put_kind_key(const ROMol &mol, const RDKit::Atom *atom,
                  rust::Vec<uint8_t> &key) {
  const auto *rings = mol.getRingInfo();
  int heavy = 0, non_h = 0, hetero = 0, aliphatic_hetero = 0;
  for (const auto nbr : mol.atomNeighbors(atom)) {
    int z = nbr->getAtomicNum();
    heavy += z > 1;
    non_h += z != 1 || nbr->getIsotope() > 1;
    if (z != 6 && z != 1) {
      ++hetero;
      aliphatic_hetero += !nbr->getIsAromatic();
    }
  }
  int ring_bonds = 0;
  for (const auto bond : mol.atomBonds(atom)) {
    ring_bonds += rings->numBondRings(bond->getIdx()) != 0;
  }
  std::vector<int> sizes;
  for (const auto &ring : rings->atomRings()) {
    if (std::find(ring.begin(), ring.end(), static_cast<int>(atom->getIdx())) !=
        ring.end()) {
      sizes.push_back(static_cast<int>(ring.size()));
    }
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  const int fields[] = {
      atom->getAtomicNum(),
      static_cast<int>(atom->getIsotope()),
      atom->getFormalCharge() + 0x8000,
      atom->getIsAromatic(),
      static_cast<int>(atom->getTotalNumHs(true)),
      static_cast<int>(atom->getTotalNumHs(false)),
      static_cast<int>(atom->getDegree()),
      static_cast<int>(atom->getTotalDegree()),
      heavy,
      non_h,
      atom->getImplicitValence(),
      atom->getExplicitValence() - static_cast<int>(atom->getNumExplicitHs()),
      static_cast<int>(atom->getTotalValence()),
      static_cast<int>(atom->getHybridization()),
      static_cast<int>(atom->getNumRadicalElectrons()),
      atom->getChiralTag() != RDKit::Atom::CHI_UNSPECIFIED,
      static_cast<int>(rings->numAtomRings(atom->getIdx())),
      ring_bonds,
      hetero,
      aliphatic_hetero,
      static_cast<int>(sizes.size()),
  };
  for (int f : fields) {
    put_u16(key, f);
  }
  // The mass query compares round(1000 * mass): kept whole, in 4 bytes.
  auto mass = static_cast<uint32_t>(std::lround(1000 * atom->getMass()));
  put_u16(key, static_cast<int>(mass & 0xffff));
  put_u16(key, static_cast<int>(mass >> 16));
  for (int size : sizes) {
    put_u16(key, size);
  }
}

// The atom queries a kind decides: each reads only values in the kind key.
// Anything else (recursive SMARTS, properties, bridgeheads, a missing
// chiral tag, which reads a property) leaves the query atom unscreened.
bool screenable(const RDKit::QueryAtom::QUERYATOM_QUERY *query) {
  static const std::set<std::string> decided = {
      "AtomAtomicNum", "AtomType", "AtomNull", "AtomIsAromatic",
      "AtomIsAliphatic", "AtomFormalCharge", "AtomNegativeFormalCharge",
      "AtomHCount", "AtomImplicitHCount", "AtomHasImplicitH",
      "AtomExplicitDegree", "AtomTotalDegree", "AtomHeavyAtomDegree",
      "AtomNonHydrogenDegree", "AtomImplicitValence", "AtomExplicitValence",
      "AtomTotalValence", "AtomUnsaturated", "AtomIsotope", "AtomMass",
      "AtomHybridization", "AtomNumRadicalElectrons", "AtomHasChiralTag",
      "AtomInRing", "AtomInNRings", "AtomHasRingBond", "AtomRingBondCount",
      "AtomMinRingSize", "AtomRingSize", "AtomNumHeteroatomNbrs",
      "AtomHasHeteroatomNbrs", "AtomNumAliphaticHeteroatomNbrs",
      "AtomHasAliphaticHeteroatomNbrs", "AtomAnd", "AtomOr", "AtomXor",
  };
  if (!decided.count(query->getDescription())) {
    return false;
  }
  for (auto child = query->beginChildren(); child != query->endChildren();
       ++child) {
    if (!screenable(child->get())) {
      return false;
    }
  }
  return true;
}

}  // namespace

// The kind key of each atom of `mol`, in atom order, each preceded by its
// length in one byte.
rust::Vec<uint8_t> atom_kind_keys(const ROMol &mol) {
  rust::Vec<uint8_t> out;
  rust::Vec<uint8_t> key;
  for (const auto atom : mol.atoms()) {
    key.clear();
    put_kind_key(mol, atom, key);
    if (key.size() > 255) {
      throw std::runtime_error("atom kind key too long");
    }
    out.push_back(static_cast<uint8_t>(key.size()));
    for (auto b : key) {
      out.push_back(b);
    }
  }
  return out;
}

// 1 for each query atom the kind screen can judge, 0 for the others.
rust::Vec<uint8_t> query_atoms_screenable(const ROMol &query) {
  rust::Vec<uint8_t> out;
  for (const auto atom : query.atoms()) {
    bool ok = !atom->hasQuery() ||
              screenable(static_cast<const RDKit::QueryAtom *>(atom)->getQuery());
    out.push_back(ok);
  }
  return out;
}

// Sets out[i] to whether query atom i matches atom `atom` of `mol`, as the
// substructure matcher tests an atom pair.
void query_atoms_match(const ROMol &query, const ROMol &mol, uint32_t atom,
                       rust::Slice<uint8_t> out) {
  const RDKit::Atom *target = mol.getAtomWithIdx(atom);
  for (const auto q : query.atoms()) {
    out[q->getIdx()] = q->Match(target);
  }
}

}  // namespace soyaku
