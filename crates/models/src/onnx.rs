//! A small ONNX interpreter in pure Rust.
//!
//! It reads a model file, checks at load time that every node is an operator
//! it implements and that every value's type and shape fit it (so an
//! unsupported model fails when loaded, not halfway through a prediction),
//! resolves names to slots in three typed arenas, and runs the nodes in the
//! file's order, which ONNX requires to be topological, each writing into its
//! slots without allocating. The operators are the
//! ones ONNX's dynamic int8 quantisation emits around dense layers; each
//! follows the ONNX specification, with the rounding and degenerate-range
//! rules onnxruntime uses, so results agree with onnxruntime's.

use std::collections::HashMap;

use crate::proto::Fields;

/// What went wrong loading or running an ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The bytes are not a well-formed ONNX model.
    #[error("malformed ONNX model: {0}")]
    Malformed(String),
    /// The model uses something the interpreter does not implement.
    #[error("unsupported ONNX model: {0}")]
    Unsupported(String),
    /// A node's inputs do not fit its operator.
    #[error("ONNX node {node}: {reason}")]
    Invalid {
        /// The node's name (or its first output's).
        node: String,
        /// What did not fit.
        reason: String,
    },
    /// The caller's input has the wrong length.
    #[error("the model takes {expected} input values, {got} were given")]
    InputLength {
        /// Values the model's input holds.
        expected: usize,
        /// Values given.
        got: usize,
    },
}

/// A dense tensor: an initializer, as the file stores it.
#[derive(Debug, Clone, PartialEq)]
struct Tensor {
    shape: Vec<usize>,
    data: Data,
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::U8(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    DynamicQuantizeLinear,
    MatMulInteger,
    CastToFloat,
    Mul,
    Add,
    Relu,
    Sigmoid,
}

/// The element types of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    F32,
    U8,
    I8,
    I32,
    I64,
}

impl Elem {
    fn of(data: &Data) -> Elem {
        match data {
            Data::F32(_) => Elem::F32,
            Data::U8(_) => Elem::U8,
            Data::I8(_) => Elem::I8,
            Data::I32(_) => Elem::I32,
            Data::I64(_) => Elem::I64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Elem::F32 => "float",
            Elem::U8 => "uint8",
            Elem::I8 => "int8",
            Elem::I32 => "int32",
            Elem::I64 => "int64",
        }
    }

    fn is_eight_bit(self) -> bool {
        matches!(self, Elem::U8 | Elem::I8)
    }
}

/// Where a value lives while the graph runs.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// An initializer, `constants[i]`.
    Constant(usize),
    /// A computed value (or the input): `len` elements from `offset` of the
    /// arena of its type (float, uint8 or int32, the types the operators
    /// compute).
    Arena { elem: Elem, offset: usize, len: usize },
}

/// What a node needs at run time beyond its slots, worked out at load.
#[derive(Debug)]
enum Plan {
    DynamicQuantizeLinear,
    /// `[m, k] × [k, n]` (m = 1 for a vector), with the right operand's zero
    /// point for each column.
    MatMulInteger {
        m: usize,
        k: usize,
        n: usize,
        b_zero: Vec<i32>,
    },
    CastToFloat,
    Binary(Broadcast),
    Unary,
}

#[derive(Debug)]
struct Node {
    op: Op,
    /// Slot of each input; `None` for an omitted optional input.
    inputs: Vec<Option<usize>>,
    outputs: Vec<usize>,
    plan: Plan,
}

impl Node {
    /// Slot of input `i`; present, as the load checked.
    fn input(&self, i: usize) -> usize {
        self.inputs[i].expect("required inputs are checked at load")
    }
}

/// A loaded model, ready to run many times (and from many threads).
///
/// Every value's type and shape is worked out at load, so a model whose
/// shapes do not fit fails then, and a run writes each value into a slot of
/// three preallocated arenas (float, uint8, int32) instead of allocating it:
/// ChEMBL's target model has 4,803 nodes, most of them on one-element
/// values, where an allocation per value costs more than the arithmetic.
#[derive(Debug)]
pub struct Graph {
    /// Initializers, in slots `0..constants.len()`; computed values follow.
    constants: Vec<Tensor>,
    /// Where each slot's value lives.
    places: Vec<Place>,
    input_len: usize,
    outputs: Vec<(String, usize)>,
    nodes: Vec<Node>,
    /// Elements of the float, uint8 and int32 arenas a run needs.
    arena_sizes: [usize; 3],
}

/// The arena index of each computed type.
fn arena_of(elem: Elem) -> usize {
    match elem {
        Elem::F32 => 0,
        Elem::U8 => 1,
        Elem::I32 => 2,
        Elem::I8 | Elem::I64 => unreachable!("no operator computes {}", elem.name()),
    }
}

// ONNX TensorProto data types.
const FLOAT: i64 = 1;
const UINT8: i64 = 2;
const INT8: i64 = 3;
const INT32: i64 = 6;
const INT64: i64 = 7;

fn malformed(what: impl Into<String>) -> OnnxError {
    OnnxError::Malformed(what.into())
}

struct RawNode {
    name: String,
    op_type: String,
    domain: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Integer attributes; the supported operators take no other kind.
    ints: HashMap<String, i64>,
}

struct RawGraph {
    nodes: Vec<RawNode>,
    initializers: Vec<(String, Tensor)>,
    inputs: Vec<(String, Vec<usize>, i64)>,
    outputs: Vec<String>,
}

fn parse_model(bytes: &[u8]) -> Result<RawGraph, OnnxError> {
    let mut fields = Fields::new(bytes);
    let mut graph = None;
    while let Some((number, value)) = fields.next_field()? {
        if number == 7 {
            graph = Some(parse_graph(value.bytes()?)?);
        }
    }
    graph.ok_or_else(|| malformed("no graph in the model"))
}

fn parse_graph(bytes: &[u8]) -> Result<RawGraph, OnnxError> {
    let mut graph = RawGraph {
        nodes: Vec::new(),
        initializers: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    let mut fields = Fields::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            1 => graph.nodes.push(parse_node(value.bytes()?)?),
            5 => graph.initializers.push(parse_tensor(value.bytes()?)?),
            11 => graph.inputs.push(parse_value_info(value.bytes()?)?),
            12 => graph.outputs.push(parse_value_info(value.bytes()?)?.0),
            _ => {}
        }
    }
    Ok(graph)
}

fn parse_node(bytes: &[u8]) -> Result<RawNode, OnnxError> {
    let mut node = RawNode {
        name: String::new(),
        op_type: String::new(),
        domain: String::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        ints: HashMap::new(),
    };
    let mut fields = Fields::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            1 => node.inputs.push(value.string()?),
            2 => node.outputs.push(value.string()?),
            3 => node.name = value.string()?,
            4 => node.op_type = value.string()?,
            5 => {
                let (name, int) = parse_int_attribute(value.bytes()?)?;
                if let Some(int) = int {
                    node.ints.insert(name, int);
                }
            }
            7 => node.domain = value.string()?,
            _ => {}
        }
    }
    if node.name.is_empty() {
        node.name = node.outputs.first().cloned().unwrap_or_default();
    }
    Ok(node)
}

/// An attribute's name and, when it is an integer, its value.
fn parse_int_attribute(bytes: &[u8]) -> Result<(String, Option<i64>), OnnxError> {
    let (mut name, mut int) = (String::new(), None);
    let mut fields = Fields::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            1 => name = value.string()?,
            3 => int = Some(value.int()?),
            _ => {}
        }
    }
    Ok((name, int))
}

fn parse_value_info(bytes: &[u8]) -> Result<(String, Vec<usize>, i64), OnnxError> {
    let (mut name, mut shape, mut elem_type) = (String::new(), Vec::new(), 0);
    let mut fields = Fields::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            1 => name = value.string()?,
            2 => {
                // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1)
                let mut type_fields = Fields::new(value.bytes()?);
                while let Some((1, tensor_type)) = type_fields.next_field()? {
                    let mut tensor_fields = Fields::new(tensor_type.bytes()?);
                    while let Some((number, value)) = tensor_fields.next_field()? {
                        match number {
                            1 => elem_type = value.int()?,
                            2 => shape = parse_shape(value.bytes()?, &name)?,
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((name, shape, elem_type))
}

fn parse_shape(bytes: &[u8], name: &str) -> Result<Vec<usize>, OnnxError> {
    let mut shape = Vec::new();
    let mut fields = Fields::new(bytes);
    while let Some((number, dim)) = fields.next_field()? {
        if number != 1 {
            continue;
        }
        let mut dim_fields = Fields::new(dim.bytes()?);
        let mut size = None;
        while let Some((number, value)) = dim_fields.next_field()? {
            match number {
                1 => size = Some(value.int()?),
                2 => {
                    return Err(OnnxError::Unsupported(format!(
                        "{name} has a symbolic dimension '{}'; only fixed shapes are supported",
                        value.string()?
                    )))
                }
                _ => {}
            }
        }
        let size = size.ok_or_else(|| malformed(format!("{name}: dimension without a size")))?;
        shape.push(
            usize::try_from(size).map_err(|_| malformed(format!("{name}: negative dimension")))?,
        );
    }
    Ok(shape)
}

fn parse_tensor(bytes: &[u8]) -> Result<(String, Tensor), OnnxError> {
    let (mut name, mut dims, mut data_type) = (String::new(), Vec::new(), 0);
    let (mut raw, mut floats, mut ints32, mut ints64) = (None, Vec::new(), Vec::new(), Vec::new());
    let mut fields = Fields::new(bytes);
    while let Some((number, value)) = fields.next_field()? {
        match number {
            1 => value.push_ints(&mut dims)?,
            2 => data_type = value.int()?,
            4 => value.push_floats(&mut floats)?,
            5 => value.push_ints(&mut ints32)?,
            7 => value.push_ints(&mut ints64)?,
            8 => name = value.string()?,
            9 => raw = Some(value.bytes()?),
            // external_data, or data_location EXTERNAL
            13 => return Err(OnnxError::Unsupported(format!("{name}: tensors in external files"))),
            14 if value.int()? == 1 => {
                return Err(OnnxError::Unsupported(format!("{name}: tensors in external files")))
            }
            _ => {}
        }
    }
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| malformed(format!("{name}: negative dimension"))))
        .collect::<Result<Vec<_>, _>>()?;
    let data = match (data_type, raw) {
        (FLOAT, Some(raw)) => {
            Data::F32(le_chunks::<4>(raw, &name)?.map(f32::from_le_bytes).collect())
        }
        (FLOAT, None) => Data::F32(floats),
        (UINT8, Some(raw)) => Data::U8(raw.to_vec()),
        (UINT8, None) => Data::U8(ints32.iter().map(|&v| v as u8).collect()),
        (INT8, Some(raw)) => Data::I8(raw.iter().map(|&b| b as i8).collect()),
        (INT8, None) => Data::I8(ints32.iter().map(|&v| v as i8).collect()),
        (INT32, Some(raw)) => {
            Data::I32(le_chunks::<4>(raw, &name)?.map(i32::from_le_bytes).collect())
        }
        (INT32, None) => Data::I32(ints32.iter().map(|&v| v as i32).collect()),
        (INT64, Some(raw)) => {
            Data::I64(le_chunks::<8>(raw, &name)?.map(i64::from_le_bytes).collect())
        }
        (INT64, None) => Data::I64(ints64),
        (other, _) => {
            return Err(OnnxError::Unsupported(format!("{name}: tensor data type {other}")))
        }
    };
    if data.len() != shape.iter().product::<usize>() {
        return Err(malformed(format!("{name}: {} values for shape {shape:?}", data.len())));
    }
    Ok((name, Tensor { shape, data }))
}

fn le_chunks<'a, const N: usize>(
    raw: &'a [u8],
    name: &str,
) -> Result<impl Iterator<Item = [u8; N]> + 'a, OnnxError> {
    if !raw.len().is_multiple_of(N) {
        return Err(malformed(format!("{name}: raw data not a multiple of {N} bytes")));
    }
    Ok(raw.chunks_exact(N).map(|c| c.try_into().expect("chunk of N")))
}

fn operator(node: &RawNode) -> Result<Op, OnnxError> {
    if !(node.domain.is_empty() || node.domain == "ai.onnx") {
        return Err(OnnxError::Unsupported(format!(
            "node {}: operator domain {}",
            node.name, node.domain
        )));
    }
    Ok(match node.op_type.as_str() {
        "DynamicQuantizeLinear" => Op::DynamicQuantizeLinear,
        "MatMulInteger" => Op::MatMulInteger,
        "Cast" if node.ints.get("to") == Some(&FLOAT) => Op::CastToFloat,
        "Mul" => Op::Mul,
        "Add" => Op::Add,
        "Relu" => Op::Relu,
        "Sigmoid" => Op::Sigmoid,
        other => {
            return Err(OnnxError::Unsupported(format!(
                "node {}: operator {other}{}",
                node.name,
                if other == "Cast" { " to a type other than float" } else { "" }
            )))
        }
    })
}

/// A value's type and shape, known at load.
struct Meta {
    elem: Elem,
    shape: Vec<usize>,
}

/// Checks a node's inputs against its operator and works out its plan and
/// its outputs' types and shapes.
fn infer(op: Op, inputs: &[Option<&Meta>]) -> Result<(Plan, Vec<Meta>), String> {
    let required =
        |i: usize| inputs.get(i).copied().flatten().ok_or_else(|| format!("input {i} is missing"));
    let float = |i: usize| {
        let meta = required(i)?;
        match meta.elem {
            Elem::F32 => Ok(meta),
            other => Err(format!("expects float input, got {}", other.name())),
        }
    };
    let eight_bit = |meta: &'_ Meta| match meta.elem.is_eight_bit() {
        true => Ok(()),
        false => Err(format!("{} operand", meta.elem.name())),
    };
    let meta = |elem, shape: &[usize]| Meta { elem, shape: shape.to_vec() };
    Ok(match op {
        Op::DynamicQuantizeLinear => {
            let x = float(0)?;
            let outputs = vec![meta(Elem::U8, &x.shape), meta(Elem::F32, &[]), meta(Elem::U8, &[])];
            (Plan::DynamicQuantizeLinear, outputs)
        }
        Op::MatMulInteger => {
            let (a, b) = (required(0)?, required(1)?);
            eight_bit(a)?;
            eight_bit(b)?;
            let (m, k) = match a.shape[..] {
                [k] => (None, k),
                [m, k] => (Some(m), k),
                _ => return Err(format!("left operand of shape {:?}", a.shape)),
            };
            let [bk, n] = b.shape[..] else {
                return Err(format!("right operand of shape {:?}", b.shape));
            };
            if bk != k {
                return Err(format!("shapes {:?} and {:?} do not multiply", a.shape, b.shape));
            }
            if let Some(a_zero) = inputs.get(2).copied().flatten() {
                eight_bit(a_zero)?;
                if a_zero.shape.iter().product::<usize>() != 1 {
                    return Err("per-row zero points for the left operand".into());
                }
            }
            // The right operand's zero points come in as a placeholder here
            // and are read from the constant by the caller, which alone can
            // see values.
            let shape = match m {
                None => vec![n],
                Some(m) => vec![m, n],
            };
            let plan = Plan::MatMulInteger { m: m.unwrap_or(1), k, n, b_zero: Vec::new() };
            (plan, vec![Meta { elem: Elem::I32, shape }])
        }
        Op::CastToFloat => (Plan::CastToFloat, vec![meta(Elem::F32, &required(0)?.shape)]),
        Op::Mul | Op::Add => {
            let (a, b) = (float(0)?, float(1)?);
            let (broadcast, shape) = Broadcast::of(&a.shape, &b.shape)?;
            (Plan::Binary(broadcast), vec![Meta { elem: Elem::F32, shape }])
        }
        Op::Relu | Op::Sigmoid => (Plan::Unary, vec![meta(Elem::F32, &float(0)?.shape)]),
    })
}

/// The right operand's zero point for each of `n` columns: none (0), one
/// for all, or one per column, from a constant.
fn column_zeros(zero: Option<&Tensor>, n: usize) -> Result<Vec<i32>, String> {
    let Some(zero) = zero else { return Ok(vec![0; n]) };
    let values: Vec<i32> = match &zero.data {
        Data::U8(v) => v.iter().map(|&x| i32::from(x)).collect(),
        Data::I8(v) => v.iter().map(|&x| i32::from(x)).collect(),
        other => return Err(format!("{} zero points", Elem::of(other).name())),
    };
    match values.len() {
        1 => Ok(vec![values[0]; n]),
        len if len == n => Ok(values),
        len => Err(format!("{len} zero points for {n} columns")),
    }
}

impl Graph {
    /// Loads a model from the bytes of an `.onnx` file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Graph, OnnxError> {
        let raw = parse_model(bytes)?;
        let mut slots: HashMap<String, usize> = HashMap::new();
        let mut constants = Vec::with_capacity(raw.initializers.len());
        for (name, tensor) in raw.initializers {
            slots.insert(name, constants.len());
            constants.push(tensor);
        }
        let mut metas: Vec<Meta> = constants
            .iter()
            .map(|t: &Tensor| Meta { elem: Elem::of(&t.data), shape: t.shape.clone() })
            .collect();
        let mut places: Vec<Place> = (0..constants.len()).map(Place::Constant).collect();

        // Graph inputs that are not initializers are what the caller feeds.
        let fed: Vec<_> =
            raw.inputs.into_iter().filter(|(name, ..)| !slots.contains_key(name)).collect();
        let [(input_name, input_shape, input_type)] = <[_; 1]>::try_from(fed).map_err(|fed| {
            OnnxError::Unsupported(format!("{} inputs; one float input is supported", fed.len()))
        })?;
        if input_type != FLOAT {
            return Err(OnnxError::Unsupported(format!("input {input_name} is not float")));
        }
        let input_len = input_shape.iter().product();
        slots.insert(input_name, places.len());
        places.push(Place::Arena { elem: Elem::F32, offset: 0, len: input_len });
        metas.push(Meta { elem: Elem::F32, shape: input_shape });
        let mut arena_sizes = [input_len, 0, 0];

        let mut nodes = Vec::with_capacity(raw.nodes.len());
        for node in &raw.nodes {
            let invalid = |reason: String| OnnxError::Invalid { node: node.name.clone(), reason };
            let op = operator(node)?;
            let inputs = node
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        return Ok(None);
                    }
                    slots.get(name).copied().map(Some).ok_or_else(|| {
                        invalid(format!("input {name} is used before it is computed"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let input_metas: Vec<Option<&Meta>> =
                inputs.iter().map(|slot| slot.map(|s| &metas[s])).collect();
            let (mut plan, outputs) = infer(op, &input_metas).map_err(invalid)?;
            if let Plan::MatMulInteger { n, b_zero, .. } = &mut plan {
                let zero = match inputs.get(3).copied().flatten() {
                    None => None,
                    Some(slot) => match places[slot] {
                        Place::Constant(c) => Some(&constants[c]),
                        Place::Arena { .. } => {
                            return Err(OnnxError::Unsupported(format!(
                                "node {}: computed zero points for the right operand",
                                node.name
                            )))
                        }
                    },
                };
                *b_zero = column_zeros(zero, *n).map_err(invalid)?;
            }
            if outputs.len() != node.outputs.len() {
                return Err(invalid(format!(
                    "{} outputs declared, {} computed",
                    node.outputs.len(),
                    outputs.len()
                )));
            }
            let mut output_slots = Vec::with_capacity(outputs.len());
            for (name, meta) in node.outputs.iter().zip(outputs) {
                // Arena offsets grow in node order, so every value a node reads
                // from an arena lies below what it writes there.
                let len = meta.shape.iter().product();
                let size = &mut arena_sizes[arena_of(meta.elem)];
                places.push(Place::Arena { elem: meta.elem, offset: *size, len });
                *size += len;
                metas.push(meta);
                slots.insert(name.clone(), places.len() - 1);
                output_slots.push(places.len() - 1);
            }
            nodes.push(Node { op, inputs, outputs: output_slots, plan });
        }
        let outputs = raw
            .outputs
            .into_iter()
            .map(|name| {
                let slot = slots.get(&name).copied();
                slot.map(|slot| (name.clone(), slot))
                    .ok_or_else(|| malformed(format!("output {name} is never computed")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Graph { constants, places, input_len, outputs, nodes, arena_sizes })
    }

    /// How many float values the input holds.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// The names of the outputs, in the order [`Outputs::f32`] numbers them.
    pub fn output_names(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().map(|(name, _)| name.as_str())
    }

    /// Runs the model on one input.
    pub fn run(&self, input: &[f32]) -> Result<Outputs<'_>, OnnxError> {
        if input.len() != self.input_len {
            return Err(OnnxError::InputLength { expected: self.input_len, got: input.len() });
        }
        let [floats, bytes, ints] = self.arena_sizes;
        let mut arena = Arena { f32: vec![0.0; floats], u8: vec![0; bytes], i32: vec![0; ints] };
        arena.f32[..input.len()].copy_from_slice(input);
        for node in &self.nodes {
            self.execute(node, &mut arena);
        }
        Ok(Outputs { graph: self, arena })
    }

    /// Where output slot `slot` of a node writes: its offset and length.
    fn target(&self, slot: usize) -> (usize, usize) {
        match self.places[slot] {
            Place::Arena { offset, len, .. } => (offset, len),
            Place::Constant(_) => unreachable!("nodes write computed slots only"),
        }
    }

    /// A node's one float output, and the arenas to read its inputs from:
    /// the float arena only below the output.
    fn float_output<'a>(&self, node: &Node, arena: &'a mut Arena) -> (Views<'a>, &'a mut [f32]) {
        let (at, len) = self.target(node.outputs[0]);
        let (below, out) = arena.f32.split_at_mut(at);
        (Views { f32: below, u8: &arena.u8, i32: &arena.i32 }, &mut out[..len])
    }

    /// The value in `slot`, from a constant or from `arenas`.
    fn view<'a>(&'a self, slot: usize, arenas: Views<'a>) -> Slice<'a> {
        match self.places[slot] {
            Place::Constant(c) => match &self.constants[c].data {
                Data::F32(v) => Slice::F32(v),
                Data::U8(v) => Slice::U8(v),
                Data::I8(v) => Slice::I8(v),
                Data::I32(v) => Slice::I32(v),
                Data::I64(v) => Slice::I64(v),
            },
            Place::Arena { elem, offset, len } => match elem {
                Elem::F32 => Slice::F32(&arenas.f32[offset..][..len]),
                Elem::U8 => Slice::U8(&arenas.u8[offset..][..len]),
                Elem::I32 => Slice::I32(&arenas.i32[offset..][..len]),
                Elem::I8 | Elem::I64 => unreachable!("no operator computes {}", elem.name()),
            },
        }
    }

    /// Runs one node: its inputs read from below its outputs' offsets in the
    /// arena it writes (see `from_bytes`), so the two never alias.
    fn execute(&self, node: &Node, arena: &mut Arena) {
        match &node.plan {
            Plan::DynamicQuantizeLinear => {
                let Arena { f32: floats, u8: bytes, i32: ints } = arena;
                let [quantized, scale, zero] = node.outputs[..] else {
                    unreachable!("three outputs, checked at load")
                };
                let ((q_at, q_len), (scale_at, _), (zero_at, _)) =
                    (self.target(quantized), self.target(scale), self.target(zero));
                let (below, scale_out) = floats.split_at_mut(scale_at);
                let views = Views { f32: below, u8: &[], i32: ints };
                let x = self.view(node.input(0), views).floats();
                let (q_out, zero_out) = bytes[q_at..].split_at_mut(zero_at - q_at);
                let (s, z) = dynamic_quantize(x, &mut q_out[..q_len]);
                (scale_out[0], zero_out[0]) = (s, z);
            }
            Plan::MatMulInteger { m, k, n, b_zero } => {
                let Arena { f32: floats, u8: bytes, i32: ints } = arena;
                let (at, len) = self.target(node.outputs[0]);
                let (below, out) = ints.split_at_mut(at);
                let views = Views { f32: floats, u8: bytes, i32: below };
                let a = self.view(node.input(0), views).eight_bit();
                let b = self.view(node.input(1), views).eight_bit();
                let a_zero = node.inputs.get(2).copied().flatten();
                let a_zero = a_zero.map_or(0, |slot| self.view(slot, views).eight_bit().get(0));
                matmul_integer(a, a_zero, b, b_zero, (*m, *k, *n), &mut out[..len]);
            }
            Plan::CastToFloat => {
                let (views, out) = self.float_output(node, arena);
                cast_to_float(self.view(node.input(0), views), out);
            }
            Plan::Binary(broadcast) => {
                let (views, out) = self.float_output(node, arena);
                let a = self.view(node.input(0), views).floats();
                let b = self.view(node.input(1), views).floats();
                match node.op {
                    Op::Mul => binary(broadcast, a, b, out, |x, y| x * y),
                    _ => binary(broadcast, a, b, out, |x, y| x + y),
                }
            }
            Plan::Unary => {
                let (views, out) = self.float_output(node, arena);
                let x = self.view(node.input(0), views).floats();
                let out = out.iter_mut().zip(x);
                match node.op {
                    Op::Relu => out.for_each(|(o, &x)| *o = x.max(0.0)),
                    _ => out.for_each(|(o, &x)| *o = 1.0 / (1.0 + (-x).exp())),
                }
            }
        }
    }
}

/// The values of one run, held until the caller has read its outputs.
pub struct Outputs<'g> {
    graph: &'g Graph,
    arena: Arena,
}

impl Outputs<'_> {
    /// Output `i`'s values (in [`Graph::output_names`] order), if it exists
    /// and is a float tensor.
    pub fn f32(&self, i: usize) -> Option<&[f32]> {
        let &(_, slot) = self.graph.outputs.get(i)?;
        let arena = &self.arena;
        match self.graph.view(slot, Views { f32: &arena.f32, u8: &arena.u8, i32: &arena.i32 }) {
            Slice::F32(values) => Some(values),
            _ => None,
        }
    }
}

/// A run's computed values, by type.
struct Arena {
    f32: Vec<f32>,
    u8: Vec<u8>,
    i32: Vec<i32>,
}

/// Read-only parts of the arenas.
#[derive(Clone, Copy)]
struct Views<'a> {
    f32: &'a [f32],
    u8: &'a [u8],
    i32: &'a [i32],
}

/// A value, read in place.
#[derive(Clone, Copy)]
enum Slice<'a> {
    F32(&'a [f32]),
    U8(&'a [u8]),
    I8(&'a [i8]),
    I32(&'a [i32]),
    I64(&'a [i64]),
}

impl<'a> Slice<'a> {
    fn floats(self) -> &'a [f32] {
        match self {
            Slice::F32(v) => v,
            _ => unreachable!("float inputs are checked at load"),
        }
    }

    fn eight_bit(self) -> Bytes<'a> {
        match self {
            Slice::U8(v) => Bytes::U8(v),
            Slice::I8(v) => Bytes::I8(v),
            _ => unreachable!("8-bit inputs are checked at load"),
        }
    }
}

/// ONNX DynamicQuantizeLinear of `x` into `quantized`: uint8 with a range
/// that always includes 0; a constant-zero input gets scale 1 (as in
/// onnxruntime) instead of 0. Returns the scale and the zero point.
fn dynamic_quantize(x: &[f32], quantized: &mut [u8]) -> (f32, u8) {
    let (min, max) = x.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = if max == min { 1.0 } else { (max - min) / 255.0 };
    let zero_point = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even();
    for (q, &v) in quantized.iter_mut().zip(x) {
        *q = ((v / scale).round_ties_even() + zero_point).clamp(0.0, 255.0) as u8;
    }
    (scale, zero_point as u8)
}

/// An 8-bit operand of MatMulInteger, read in place.
#[derive(Clone, Copy)]
enum Bytes<'a> {
    U8(&'a [u8]),
    I8(&'a [i8]),
}

impl Bytes<'_> {
    fn get(self, i: usize) -> i32 {
        match self {
            Bytes::U8(v) => i32::from(v[i]),
            Bytes::I8(v) => i32::from(v[i]),
        }
    }
}

/// ONNX MatMulInteger of `a` (`[m, k]`, with one zero point) and `b`
/// (`[k, n]`, with a zero point per column) into `out` (`[m, n]`).
fn matmul_integer(
    a: Bytes,
    a_zero: i32,
    b: Bytes,
    b_zero: &[i32],
    dims: (usize, usize, usize),
    out: &mut [i32],
) {
    match (a, b) {
        (Bytes::U8(a), Bytes::I8(b)) => matmul_typed(a, a_zero, b, b_zero, dims, out),
        (Bytes::U8(a), Bytes::U8(b)) => matmul_typed(a, a_zero, b, b_zero, dims, out),
        (Bytes::I8(a), Bytes::I8(b)) => matmul_typed(a, a_zero, b, b_zero, dims, out),
        (Bytes::I8(a), Bytes::U8(b)) => matmul_typed(a, a_zero, b, b_zero, dims, out),
    }
}

fn matmul_typed<A: Copy + Into<i32>, B: Copy + Into<i32>>(
    a: &[A],
    a_zero: i32,
    b: &[B],
    b_zero: &[i32],
    (m, k, n): (usize, usize, usize),
    out: &mut [i32],
) {
    debug_assert!(a.len() == m * k && b.len() == k * n && out.len() == m * n);
    // Integer sums are exact, so any order gives the same result.
    if n == 1 {
        // One column (each of the target model's 798 heads): a dot product
        // per row, without branches, so it vectorises.
        let zero = b_zero[0];
        for (row, o) in a.chunks_exact(k).zip(out.iter_mut()) {
            *o = row.iter().zip(b).map(|(&x, &w)| (x.into() - a_zero) * (w.into() - zero)).sum();
        }
        return;
    }
    out.fill(0);
    for (row, acc) in a.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
        for (&x, column) in row.iter().zip(b.chunks_exact(n)) {
            let x = x.into() - a_zero;
            // Fingerprint inputs are mostly zero after quantisation.
            if x == 0 {
                continue;
            }
            for ((acc, &w), &z) in acc.iter_mut().zip(column).zip(b_zero) {
                *acc += x * (w.into() - z);
            }
        }
    }
}

fn cast_to_float(x: Slice, out: &mut [f32]) {
    fn convert<T: Copy>(x: &[T], out: &mut [f32], f: impl Fn(T) -> f32) {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
    }
    match x {
        Slice::F32(v) => out.copy_from_slice(v),
        Slice::U8(v) => convert(v, out, f32::from),
        Slice::I8(v) => convert(v, out, f32::from),
        Slice::I32(v) => convert(v, out, |v| v as f32),
        Slice::I64(v) => convert(v, out, |v| v as f32),
    }
}

/// How the operands of an elementwise operation line up under ONNX (numpy)
/// broadcasting, worked out at load.
#[derive(Debug, PartialEq)]
enum Broadcast {
    /// The same shape: element by element.
    Same,
    /// The left operand is one value, the right has the result's shape.
    LeftOne,
    /// The right operand is one value, the left has the result's shape.
    RightOne,
    /// Anything else: each operand's strides over the result's shape, zero
    /// along the dimensions it is broadcast over.
    Strided { shape: Vec<usize>, a: Vec<usize>, b: Vec<usize> },
}

impl Broadcast {
    /// The plan and the result's shape for operands of shapes `a` and `b`.
    fn of(a: &[usize], b: &[usize]) -> Result<(Broadcast, Vec<usize>), String> {
        let rank = a.len().max(b.len());
        let padded = |shape: &[usize]| {
            let mut p = vec![1; rank - shape.len()];
            p.extend_from_slice(shape);
            p
        };
        let (sa, sb) = (padded(a), padded(b));
        let mut shape = Vec::with_capacity(rank);
        for (&x, &y) in sa.iter().zip(&sb) {
            shape.push(match (x, y) {
                _ if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => return Err(format!("shapes {a:?} and {b:?} do not broadcast")),
            });
        }
        let one = |s: &[usize]| s.iter().product::<usize>() == 1;
        let plan = if a == b {
            Broadcast::Same
        } else if one(a) && b == shape.as_slice() {
            Broadcast::LeftOne
        } else if one(b) && a == shape.as_slice() {
            Broadcast::RightOne
        } else {
            let strides = |s: &[usize]| {
                let mut strides = vec![0; rank];
                let mut step = 1;
                for d in (0..rank).rev() {
                    strides[d] = if s[d] == 1 { 0 } else { step };
                    step *= s[d];
                }
                strides
            };
            Broadcast::Strided { shape: shape.clone(), a: strides(&sa), b: strides(&sb) }
        };
        Ok((plan, shape))
    }
}

/// `out = f(a, b)` elementwise, lined up as `broadcast` says.
fn binary(
    broadcast: &Broadcast,
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    f: impl Fn(f32, f32) -> f32,
) {
    match broadcast {
        Broadcast::Same => {
            out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&x, &y))| *o = f(x, y))
        }
        Broadcast::LeftOne => out.iter_mut().zip(b).for_each(|(o, &y)| *o = f(a[0], y)),
        Broadcast::RightOne => out.iter_mut().zip(a).for_each(|(o, &x)| *o = f(x, b[0])),
        Broadcast::Strided { shape, a: ta, b: tb } => {
            let mut index = vec![0; shape.len()];
            for o in out.iter_mut() {
                let ia: usize = index.iter().zip(ta).map(|(i, s)| i * s).sum();
                let ib: usize = index.iter().zip(tb).map(|(i, s)| i * s).sum();
                *o = f(a[ia], b[ib]);
                for d in (0..shape.len()).rev() {
                    index[d] += 1;
                    if index[d] < shape[d] {
                        break;
                    }
                    index[d] = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(elem: Elem, shape: &[usize]) -> Meta {
        Meta { elem, shape: shape.to_vec() }
    }

    #[test]
    fn dynamic_quantize_matches_the_onnx_specification_example() {
        let mut q = [0; 6];
        let (scale, zero) = dynamic_quantize(&[0.0, 2.0, -3.0, -2.5, 1.34, 0.5], &mut q);
        assert_eq!((q, scale, zero), ([153, 255, 0, 26, 221, 179], 5.0 / 255.0, 153));
    }

    #[test]
    fn dynamic_quantize_of_all_zeros_is_zero_not_nan() {
        let mut q = [7; 3];
        let (scale, zero) = dynamic_quantize(&[0.0; 3], &mut q);
        assert_eq!((q, scale, zero), ([0; 3], 1.0, 0));
    }

    #[test]
    fn matmul_integer_matches_the_onnx_specification_example() {
        let a = [11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0];
        let b = [1, 4, 2, 5, 3, 6];
        let mut out = [99; 8];
        matmul_integer(Bytes::U8(&a), 12, Bytes::U8(&b), &[0, 0], (4, 3, 2), &mut out);
        assert_eq!(out, [-38, -83, -44, -98, -50, -113, -56, -128]);
        // The first column alone goes through the one-column path.
        let mut column = [99; 4];
        matmul_integer(Bytes::U8(&a), 12, Bytes::U8(&[1, 2, 3]), &[0], (4, 3, 1), &mut column);
        assert_eq!(column, [-38, -44, -50, -56]);
    }

    #[test]
    fn matmul_integer_of_a_vector_drops_the_row_dimension() {
        let inputs = [Some(&meta(Elem::U8, &[2])), Some(&meta(Elem::I8, &[2, 3]))];
        let (plan, outputs) = infer(Op::MatMulInteger, &inputs).unwrap();
        assert!(matches!(plan, Plan::MatMulInteger { m: 1, k: 2, n: 3, .. }));
        assert_eq!((outputs[0].elem, outputs[0].shape.clone()), (Elem::I32, vec![3]));
        let mut out = [0; 3];
        let b = [1, -1, 0, 2, 3, -4];
        matmul_integer(Bytes::U8(&[1, 2]), 0, Bytes::I8(&b), &[0; 3], (1, 2, 3), &mut out);
        assert_eq!(out, [5, 5, -8]);
    }

    #[test]
    fn binary_operations_broadcast_like_numpy() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let add = |sa: &[usize], x: &[f32], sb: &[usize], y: &[f32]| {
            let (plan, shape) = Broadcast::of(sa, sb).unwrap();
            let mut out = vec![0.0; shape.iter().product()];
            binary(&plan, x, y, &mut out, |p, q| p + q);
            (shape, out)
        };
        let row = [10.0, 20.0, 30.0];
        assert_eq!(add(&[2, 3], &a, &[3], &row).1, [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        let column = [100.0, 200.0];
        let expected = [101.0, 102.0, 103.0, 204.0, 205.0, 206.0];
        assert_eq!(add(&[2, 1], &column, &[2, 3], &a).1, expected);
        assert_eq!(add(&[2, 3], &a, &[], &[2.0]), (vec![2, 3], a.map(|x| x + 2.0).to_vec()));
        assert_eq!(add(&[1], &[2.0], &[], &[3.0]), (vec![1], vec![5.0]));
        assert_eq!(Broadcast::of(&[1], &[]).unwrap().0, Broadcast::RightOne);
        assert!(Broadcast::of(&[2, 3], &[2]).is_err());
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused_at_load_time() {
        let f = |shape: &[usize]| meta(Elem::F32, shape);
        let err = |op, inputs: &[Option<&Meta>]| infer(op, inputs).err().unwrap();
        assert!(err(Op::Add, &[Some(&f(&[2, 3])), Some(&f(&[2]))]).contains("do not broadcast"));
        assert!(err(Op::Relu, &[Some(&meta(Elem::U8, &[2]))]).contains("float"));
        assert!(err(Op::Mul, &[Some(&f(&[2]))]).contains("input 1 is missing"));
        let (a, b) = (meta(Elem::U8, &[4]), meta(Elem::I8, &[3, 2]));
        assert!(err(Op::MatMulInteger, &[Some(&a), Some(&b)]).contains("do not multiply"));
        let zeros = Tensor { shape: vec![3], data: Data::U8(vec![0; 3]) };
        assert!(column_zeros(Some(&zeros), 2).unwrap_err().contains("3 zero points"));
    }

    #[test]
    fn an_unsupported_operator_is_refused_at_load_time() {
        let raw = RawNode {
            name: "conv".into(),
            op_type: "Conv".into(),
            domain: String::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            ints: HashMap::new(),
        };
        let err = operator(&raw).unwrap_err().to_string();
        assert!(err.contains("Conv") && err.contains("conv"), "{err}");
    }
}
