//! Compiles the C++ side of the RDKit bridge and links Debian's RDKit and InChI.

const RDKIT_INCLUDE: &str = "/usr/include/rdkit";

/// The RDKit libraries the shim calls directly; the shared libraries bring
/// their own dependencies.
const RDKIT_LIBS: &[&str] = &[
    "RDKitGraphMol",
    "RDKitRDGeneral",
    "RDKitRDGeometryLib",
    "RDKitDataStructs",
    "RDKitSmilesParse",
    "RDKitFileParsers",
    "RDKitSubstructMatch",
    "RDKitMolStandardize",
    "RDKitFingerprints",
    "RDKitDescriptors",
    "RDKitFilterCatalog",
    "RDKitCatalogs",
    "RDKitMolDraw2D",
    "RDKitDepictor",
    "RDKitMolHash",
    "RDKitDistGeomHelpers",
    "RDKitForceFieldHelpers",
    "RDKitForceField",
];

fn main() {
    if !std::path::Path::new(RDKIT_INCLUDE).join("GraphMol/ROMol.h").exists() {
        panic!(
            "RDKit headers not found in {RDKIT_INCLUDE}: install them with \
             `apt-get install librdkit-dev libboost-dev libboost-serialization-dev libinchi-dev` \
             (scripts/setup.sh does this)"
        );
    }
    cxx_build::bridge("src/ffi.rs")
        .file("cpp/shim.cc")
        .include(RDKIT_INCLUDE)
        .std("c++17")
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-deprecated-declarations")
        .flag_if_supported("-Wno-sign-compare")
        .compile("soyaku_chem_shim");
    for lib in RDKIT_LIBS {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    println!("cargo:rustc-link-lib=dylib=inchi");
    println!("cargo:rerun-if-changed=src/ffi.rs");
    println!("cargo:rerun-if-changed=cpp/shim.cc");
    println!("cargo:rerun-if-changed=cpp/shim.h");
}
