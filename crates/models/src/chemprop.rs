//! Chemprop v2 directed message-passing networks (D-MPNN), run natively.
//!
//! Featurisation reproduces Chemprop v2's default `MultiHotAtomFeaturizer.v2`
//! (72 atom features) and `MultiHotBondFeaturizer` (14 bond features) from
//! RDKit's perception; the network reproduces `BondMessagePassing` (no bias
//! on W_i and W_h, ReLU), `NormAggregation` and the feed-forward predictor,
//! reading the weights straight from Chemprop's checkpoints. Molecules are
//! featurised into one batch graph so every dense product is one matrix
//! multiplication over all bonds of the batch.

use chem::{AtomInfo, BondInfo, Molecule};

use crate::gemm::{gemm, gemm_matrix, Density, Epilogue, Nonzeros, Packed};
use crate::torch::{Checkpoint, TorchError, Value, Weights};

/// Length of an atom's feature vector.
pub(crate) const ATOM_FEATURES: usize = 72;
/// Length of a bond's feature vector.
pub(crate) const BOND_FEATURES: usize = 14;

// Where each one-hot block of the atom features starts; each block ends with
// an "other" slot.
const ATOMIC_NUM: usize = 0; // 1..=36 and iodine, + other
const DEGREE: usize = 38; // 0..=5, + other
const CHARGE: usize = 45; // -1, -2, 1, 2, 0, + other
const CHIRAL: usize = 51; // RDKit ChiralType 0..=3, + other
const HYDROGENS: usize = 56; // 0..=4, + other
const HYBRIDISATION: usize = 62; // S, SP, SP2, SP2D, SP3, SP3D, SP3D2, + other
const AROMATIC: usize = 70;
const MASS: usize = 71;

/// For each one-hot block of Chemprop's atom features: where it starts, the
/// atom's index in it, and how many named slots precede its "other" slot.
fn atom_slots(atom: &AtomInfo) -> [(usize, usize, usize); 6] {
    let atomic = match atom.atomic_num {
        n @ 1..=36 => n as usize - 1,
        53 => 36,
        _ => 37,
    };
    let charge = match atom.formal_charge {
        -1 => 0,
        -2 => 1,
        1 => 2,
        2 => 3,
        0 => 4,
        _ => 5,
    };
    // RDKit HybridizationType: S=1, SP=2, SP2=3, SP3=4, SP2D=5, SP3D=6, SP3D2=7;
    // Chemprop orders them S, SP, SP2, SP2D, SP3, SP3D, SP3D2.
    let hybridisation = match atom.hybridization {
        1 => 0,
        2 => 1,
        3 => 2,
        5 => 3,
        4 => 4,
        6 => 5,
        7 => 6,
        _ => 7,
    };
    [
        (ATOMIC_NUM, atomic, 37),
        (DEGREE, (atom.total_degree as usize).min(6), 6),
        (CHARGE, charge, 5),
        (CHIRAL, (atom.chiral_tag as usize).min(4), 4),
        (HYDROGENS, (atom.total_hs as usize).min(5), 5),
        (HYBRIDISATION, hybridisation, 7),
    ]
}

/// Whether the atom has a named slot in each feature block (none falls into
/// an "other" slot).
fn atom_described(atom: &AtomInfo) -> bool {
    atom_slots(atom).iter().all(|&(_, index, named)| index < named)
}

/// Whether the bond's type and stereo have named slots.
fn bond_described(bond: &BondInfo) -> bool {
    matches!(bond.bond_type, 1 | 2 | 3 | 12) && bond.stereo < 6
}

/// Chemprop's atom feature vector.
fn atom_features(atom: &AtomInfo) -> [f32; ATOM_FEATURES] {
    let mut x = [0.0; ATOM_FEATURES];
    for (start, index, _) in atom_slots(atom) {
        x[start + index] = 1.0;
    }
    x[AROMATIC] = f32::from(u8::from(atom.aromatic));
    // Chemprop computes 0.01 × mass in double precision, then stores float32.
    x[MASS] = (0.01 * atom.mass) as f32;
    x
}

/// Chemprop's bond feature vector: null flag, bond type (single, double,
/// triple, aromatic; other types set no bit), conjugated, in ring, stereo
/// (RDKit BondStereo 0..=5, + other).
fn bond_features(bond: &BondInfo) -> [f32; BOND_FEATURES] {
    let mut x = [0.0; BOND_FEATURES];
    // RDKit BondType: SINGLE=1, DOUBLE=2, TRIPLE=3, AROMATIC=12.
    if let Some(slot) = match bond.bond_type {
        1 => Some(1),
        2 => Some(2),
        3 => Some(3),
        12 => Some(4),
        _ => None,
    } {
        x[slot] = 1.0;
    }
    x[5] = f32::from(u8::from(bond.conjugated));
    x[6] = f32::from(u8::from(bond.in_ring));
    x[7 + (bond.stereo as usize).min(6)] = 1.0;
    x
}

/// Molecules featurised into one disconnected graph. Bond `b` gives directed
/// edges `2b` (begin → end) and `2b + 1` (end → begin), so an edge's reverse
/// is `e ^ 1`.
pub(crate) struct BatchGraph {
    /// Each atom's non-zero features as (index, value).
    atom_ones: Vec<Vec<(u16, f32)>>,
    /// Each bond's non-zero features (both directions share them).
    bond_ones: Vec<Vec<(u16, f32)>>,
    source: Vec<usize>,
    target: Vec<usize>,
    molecule_of_atom: Vec<usize>,
    molecules: usize,
    /// Per molecule: every atom and bond fully described by the features.
    described: Vec<bool>,
}

impl BatchGraph {
    pub(crate) fn new(molecules: &[Molecule]) -> BatchGraph {
        let mut g = BatchGraph {
            atom_ones: Vec::new(),
            bond_ones: Vec::new(),
            source: Vec::new(),
            target: Vec::new(),
            molecule_of_atom: Vec::new(),
            molecules: molecules.len(),
            described: Vec::with_capacity(molecules.len()),
        };
        for (m, molecule) in molecules.iter().enumerate() {
            let offset = g.molecule_of_atom.len();
            let atoms = molecule.atoms();
            if atoms.is_empty() {
                // As Chemprop: an empty molecule is one all-zero atom.
                g.atom_ones.push(Vec::new());
                g.molecule_of_atom.push(m);
            }
            for atom in &atoms {
                g.atom_ones.push(non_zero(&atom_features(atom)));
                g.molecule_of_atom.push(m);
            }
            let bonds = molecule.bonds();
            g.described.push(atoms.iter().all(atom_described) && bonds.iter().all(bond_described));
            for bond in bonds {
                let x = bond_features(&bond);
                let (u, v) = (offset + bond.begin as usize, offset + bond.end as usize);
                g.bond_ones.push(non_zero(&x));
                g.source.extend([u, v]);
                g.target.extend([v, u]);
            }
        }
        g
    }

    pub(crate) fn molecules(&self) -> usize {
        self.molecules
    }

    /// Whether molecule `m`'s atoms and bonds all have named feature slots.
    pub(crate) fn described(&self, m: usize) -> bool {
        self.described[m]
    }

    fn atom_count(&self) -> usize {
        self.molecule_of_atom.len()
    }

    fn edge_count(&self) -> usize {
        self.source.len()
    }
}

fn non_zero(x: &[f32]) -> Vec<(u16, f32)> {
    x.iter().enumerate().filter(|(_, &v)| v != 0.0).map(|(i, &v)| (i as u16, v)).collect()
}

/// What the predictor's raw outputs become.
enum Output {
    /// Probabilities (binary classification).
    Sigmoid,
    /// Values in the training units: `y × scale + mean`, per task.
    Unscale { mean: Vec<f32>, scale: Vec<f32> },
}

/// A dense layer.
struct Linear {
    weight: Packed,
    bias: Option<Vec<f32>>,
}

/// One trained Chemprop model.
pub(crate) struct Mpnn {
    hidden: usize,
    depth: usize,
    /// W_i transposed, `[ATOM_FEATURES + BOND_FEATURES, hidden]`, so a
    /// multi-hot input sums a few rows.
    w_i: Vec<f32>,
    w_h: Packed,
    /// The atom-feature columns of W_o, transposed `[ATOM_FEATURES, hidden]`.
    w_o_atom: Vec<f32>,
    /// The message columns of W_o.
    w_o_messages: Packed,
    b_o: Vec<f32>,
    norm: f32,
    ffn: Vec<Linear>,
    output: Output,
    tasks: Vec<String>,
}

fn unsupported(what: String) -> TorchError {
    TorchError(format!("unsupported model: {what}"))
}

fn transpose(w: &Weights, columns: std::ops::Range<usize>) -> Vec<f32> {
    let (rows, cols) = (w.shape[0], w.shape[1]);
    let mut t = Vec::with_capacity(rows * columns.len());
    for c in columns {
        t.extend((0..rows).map(|r| w.values[r * cols + c]));
    }
    t
}

fn hparam(v: &Option<Value>, key: &str) -> Option<Value> {
    v.as_ref().and_then(|v| v.get(key))
}

impl Mpnn {
    /// Loads a Chemprop v2 checkpoint, refusing any configuration this
    /// implementation does not reproduce exactly.
    pub(crate) fn from_checkpoint(bytes: &[u8]) -> Result<Mpnn, TorchError> {
        let ck = Checkpoint::read(bytes)?;
        let hp = ck.root.get("hyper_parameters");
        let mp = hparam(&hp, "message_passing");
        let int = |v: Option<Value>, name: &str| {
            v.and_then(|v| v.int())
                .ok_or_else(|| unsupported(format!("hyper-parameter {name} missing")))
        };
        let class = |v: Option<Value>| {
            v.and_then(|v| v.class_name().map(str::to_owned)).unwrap_or_default()
        };
        let mp_class = class(hparam(&mp, "cls"));
        if !mp_class.ends_with("BondMessagePassing") {
            return Err(unsupported(format!("message passing {mp_class:?}")));
        }
        let (d_v, d_e) = (int(hparam(&mp, "d_v"), "d_v")?, int(hparam(&mp, "d_e"), "d_e")?);
        if (d_v, d_e) != (ATOM_FEATURES as i64, BOND_FEATURES as i64) {
            return Err(unsupported(format!("featurisers of {d_v} atom and {d_e} bond features")));
        }
        for (key, wanted) in [("bias", false), ("undirected", false)] {
            if hparam(&mp, key).and_then(|v| v.bool()) != Some(wanted) {
                return Err(unsupported(format!("message passing with {key} != {wanted}")));
            }
        }
        if hparam(&mp, "d_vd").and_then(|v| v.int()).unwrap_or(0) != 0
            || !matches!(hparam(&hp, "X_d_transform"), None | Some(Value::None))
            || hparam(&hp, "batch_norm").and_then(|v| v.bool()) != Some(false)
        {
            return Err(unsupported("extra descriptors or batch norm".into()));
        }
        if !class(hparam(&mp, "activation")).ends_with("ReLU") {
            return Err(unsupported("message-passing activation other than ReLU".into()));
        }
        let agg = hparam(&hp, "agg");
        if !class(hparam(&agg, "cls")).ends_with("NormAggregation") {
            return Err(unsupported(format!("aggregation {:?}", class(hparam(&agg, "cls")))));
        }
        let norm = hparam(&agg, "norm").and_then(|v| v.float()).unwrap_or(100.0) as f32;
        let predictor = hparam(&hp, "predictor");
        let predictor_class = class(hparam(&predictor, "cls"));
        if let Some(activation) = hparam(&predictor, "activation") {
            if !matches!(activation.str(), Some("relu"))
                && !class(Some(activation)).ends_with("ReLU")
            {
                return Err(unsupported("predictor activation other than ReLU".into()));
            }
        }
        let n_layers = int(hparam(&predictor, "n_layers"), "n_layers")? as usize;
        let hidden = int(hparam(&mp, "d_h"), "d_h")? as usize;
        let depth = int(hparam(&mp, "depth"), "depth")? as usize;

        let w_i =
            ck.weights("message_passing.W_i.weight", &[hidden, ATOM_FEATURES + BOND_FEATURES])?;
        let w_h = ck.weights("message_passing.W_h.weight", &[hidden, hidden])?;
        let w_o = ck.weights("message_passing.W_o.weight", &[hidden, ATOM_FEATURES + hidden])?;
        let b_o = ck.weights("message_passing.W_o.bias", &[hidden])?.values.clone();
        let mut ffn = Vec::with_capacity(n_layers + 1);
        for layer in 0..=n_layers {
            let prefix = if layer == 0 {
                "predictor.ffn.0.0".to_owned()
            } else {
                format!("predictor.ffn.{layer}.2")
            };
            let weight = ck.tensors.get(&format!("{prefix}.weight"));
            let weight = weight.ok_or_else(|| unsupported(format!("no {prefix}.weight")))?;
            let &[outputs, inputs] = weight.shape.as_slice() else {
                return Err(unsupported(format!("{prefix}.weight of shape {:?}", weight.shape)));
            };
            let bias = ck.tensors.get(&format!("{prefix}.bias")).map(|b| b.values.clone());
            if bias.as_ref().is_some_and(|b| b.len() != outputs) {
                return Err(unsupported(format!("{prefix}.bias does not match its weight")));
            }
            let weight = Packed::transposed(&weight.values, inputs, outputs, inputs);
            ffn.push(Linear { weight, bias });
        }
        if ffn[0].weight.inputs() != hidden
            || ffn.windows(2).any(|w| w[0].weight.outputs() != w[1].weight.inputs())
        {
            return Err(unsupported("predictor layers do not chain".into()));
        }
        let n_tasks = ffn.last().expect("at least one layer").weight.outputs();
        let output = if predictor_class.ends_with("BinaryClassificationFFN") {
            Output::Sigmoid
        } else if predictor_class.ends_with("RegressionFFN") {
            let mean = ck.weights("predictor.output_transform.mean", &[1, n_tasks])?.values.clone();
            let scale =
                ck.weights("predictor.output_transform.scale", &[1, n_tasks])?.values.clone();
            Output::Unscale { mean, scale }
        } else {
            return Err(unsupported(format!("predictor {predictor_class:?}")));
        };
        let tasks: Vec<String> = ck
            .root
            .get("output_columns")
            .map(|v| v.items().iter().filter_map(|t| t.str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if tasks.len() != n_tasks {
            return Err(unsupported(format!("{} task names for {n_tasks} outputs", tasks.len())));
        }
        Ok(Mpnn {
            hidden,
            depth,
            w_i: transpose(w_i, 0..ATOM_FEATURES + BOND_FEATURES),
            w_o_atom: transpose(w_o, 0..ATOM_FEATURES),
            w_h: Packed::transposed(&w_h.values, hidden, hidden, hidden),
            w_o_messages: Packed::transposed(
                &w_o.values[ATOM_FEATURES..],
                hidden,
                hidden,
                ATOM_FEATURES + hidden,
            ),
            b_o,
            norm,
            ffn,
            output,
            tasks,
        })
    }

    /// The names of the model's outputs.
    pub(crate) fn tasks(&self) -> &[String] {
        &self.tasks
    }

    /// Predictions, `[molecule][task]` flattened. `scratch` holds the
    /// intermediate matrices between calls, so a worker does not fault in
    /// fresh pages for every model and batch.
    pub(crate) fn forward(&self, g: &BatchGraph, scratch: &mut Scratch) -> Vec<f32> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.forward_avx2(g, scratch) };
        }
        self.forward_portable(g, scratch)
    }

    /// The same code compiled for AVX2, so the elementwise passes between
    /// the matrix products (sums over bonds, messages, ReLU) use 8 lanes.
    /// No FMA contraction: results are identical to the portable build.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, g: &BatchGraph, scratch: &mut Scratch) -> Vec<f32> {
        self.forward_portable(g, scratch)
    }

    #[inline(always)]
    fn forward_portable(&self, g: &BatchGraph, scratch: &mut Scratch) -> Vec<f32> {
        let h = self.hidden;
        let (n_atoms, n_edges) = (g.atom_count(), g.edge_count());
        let Scratch { atom_in, h0, hidden, incoming, next, atom_states, nonzeros } = scratch;

        // H0 = W_i [x_source ‖ e]: the atom part once per atom, then each
        // edge adds its bond part; both are sums of a few rows of W_iᵀ.
        let atom_in = sized(atom_in, n_atoms * h);
        for (a, row) in atom_in.chunks_exact_mut(h).enumerate() {
            row.fill(0.0);
            for &(j, x) in &g.atom_ones[a] {
                axpy(x, &self.w_i[j as usize * h..][..h], row);
            }
        }
        let h0 = sized(h0, n_edges * h);
        for (e, row) in h0.chunks_exact_mut(h).enumerate() {
            row.copy_from_slice(&atom_in[g.source[e] * h..][..h]);
            for &(j, x) in &g.bond_ones[e / 2] {
                axpy(x, &self.w_i[(ATOM_FEATURES + j as usize) * h..][..h], row);
            }
        }
        let mut hidden = sized(hidden, n_edges * h);
        for (o, &x) in hidden.iter_mut().zip(h0.iter()) {
            *o = x.max(0.0);
        }

        let incoming = sized(incoming, n_atoms * h);
        let mut next = sized(next, n_edges * h);
        for _ in 1..self.depth {
            sum_into_targets(hidden, &g.target, h, incoming);
            // An edge's message: all that reaches its source, less what
            // came back along the edge itself. Made a few rows at a time
            // inside the product, never stored whole.
            let message = |e: usize, m: &mut [f32]| {
                let all = &incoming[g.source[e] * h..][..h];
                let back = &hidden[(e ^ 1) * h..][..h];
                for ((m, &a), &b) in m.iter_mut().zip(all).zip(back) {
                    *m = a - b;
                }
            };
            // H' = ReLU(H0 + M W_hᵀ). M sums ReLU outputs: on drug-like
            // molecules about three quarters of its entries are zero.
            let sparse = Density::Sparse(nonzeros);
            gemm(n_edges, message, &self.w_h, next, Epilogue::AddRelu(h0), sparse);
            std::mem::swap(&mut hidden, &mut next);
        }

        // Atom states: ReLU(W_o [x_v ‖ Σ incoming] + b_o).
        sum_into_targets(hidden, &g.target, h, incoming);
        let atom_states = sized(atom_states, n_atoms * h);
        for (a, row) in atom_states.chunks_exact_mut(h).enumerate() {
            row.copy_from_slice(&self.b_o);
            for &(j, x) in &g.atom_ones[a] {
                axpy(x, &self.w_o_atom[j as usize * h..][..h], row);
            }
        }
        // The incoming sums are as sparse as the messages.
        let (w_o, epilogue) = (&self.w_o_messages, Epilogue::Accumulate);
        gemm_matrix(incoming, n_atoms, w_o, atom_states, epilogue, Density::Sparse(nonzeros));

        // Molecule vectors: sum of atom states / norm.
        let mut x = vec![0f32; g.molecules * h];
        for (a, state) in atom_states.chunks_exact(h).enumerate() {
            let row = &mut x[g.molecule_of_atom[a] * h..][..h];
            for (r, &s) in row.iter_mut().zip(state) {
                *r += s.max(0.0);
            }
        }
        x.iter_mut().for_each(|v| *v /= self.norm);

        for (i, layer) in self.ffn.iter().enumerate() {
            if i > 0 {
                x.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            let mut y = match &layer.bias {
                Some(b) => b.repeat(g.molecules),
                None => vec![0f32; g.molecules * layer.weight.outputs()],
            };
            gemm_matrix(
                &x,
                g.molecules,
                &layer.weight,
                &mut y,
                Epilogue::Accumulate,
                Density::Dense,
            );
            x = y;
        }
        match &self.output {
            Output::Sigmoid => x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
            Output::Unscale { mean, scale } => {
                for row in x.chunks_exact_mut(mean.len()) {
                    for ((v, m), s) in row.iter_mut().zip(mean).zip(scale) {
                        *v = *v * s + m;
                    }
                }
            }
        }
        x
    }
}

/// Intermediate matrices of [`Mpnn::forward`], kept between calls.
#[derive(Default)]
pub(crate) struct Scratch {
    atom_in: Vec<f32>,
    h0: Vec<f32>,
    hidden: Vec<f32>,
    incoming: Vec<f32>,
    next: Vec<f32>,
    atom_states: Vec<f32>,
    nonzeros: Nonzeros,
}

/// `buffer` as a slice of `len`, growing it when needed; the contents are
/// whatever the last use left (every user overwrites them).
fn sized(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `out[t] = Σ_{e: target(e) = t} rows[e]`.
#[inline(always)]
fn sum_into_targets(rows: &[f32], target: &[usize], h: usize, out: &mut [f32]) {
    out.fill(0.0);
    for (e, row) in rows.chunks_exact(h).enumerate() {
        let o = &mut out[target[e] * h..][..h];
        for (o, &r) in o.iter_mut().zip(row) {
            *o += r;
        }
    }
}
