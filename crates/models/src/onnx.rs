//! A small ONNX interpreter in pure Rust.
//!
//! It reads a model file, checks at load time that every node is an operator
//! it implements (so an unsupported model fails when loaded, not halfway
//! through a prediction), resolves names to slots, and runs the nodes in the
//! file's order, which ONNX requires to be topological. The operators are the
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

/// A dense tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
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

    fn type_name(&self) -> &'static str {
        match self {
            Data::F32(_) => "float",
            Data::U8(_) => "uint8",
            Data::I8(_) => "int8",
            Data::I32(_) => "int32",
            Data::I64(_) => "int64",
        }
    }
}

impl Tensor {
    /// A float tensor of the given shape.
    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> Tensor {
        debug_assert_eq!(shape.iter().product::<usize>(), values.len());
        Tensor { shape, data: Data::F32(values) }
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, if this is a float tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }

    fn scalar(data: Data) -> Tensor {
        Tensor { shape: Vec::new(), data }
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

#[derive(Debug)]
struct Node {
    name: String,
    op: Op,
    /// Slot of each input; `None` for an omitted optional input.
    inputs: Vec<Option<usize>>,
    outputs: Vec<usize>,
    /// Computed slots whose last reader is this node, freed after it runs.
    frees: Vec<usize>,
}

/// A loaded model, ready to run many times (and from many threads).
#[derive(Debug)]
pub struct Graph {
    slot_count: usize,
    /// Initializers, in slots `0..constants.len()`; computed values follow.
    constants: Vec<Tensor>,
    input_slot: usize,
    input_shape: Vec<usize>,
    outputs: Vec<(String, usize)>,
    nodes: Vec<Node>,
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
        // Graph inputs that are not initializers are what the caller feeds.
        let fed: Vec<_> =
            raw.inputs.into_iter().filter(|(name, ..)| !slots.contains_key(name)).collect();
        let [(input_name, input_shape, input_type)] = <[_; 1]>::try_from(fed).map_err(|fed| {
            OnnxError::Unsupported(format!("{} inputs; one float input is supported", fed.len()))
        })?;
        if input_type != FLOAT {
            return Err(OnnxError::Unsupported(format!("input {input_name} is not float")));
        }
        let input_slot = slots.len();
        slots.insert(input_name, input_slot);

        let mut nodes = Vec::with_capacity(raw.nodes.len());
        for node in &raw.nodes {
            let op = operator(node)?;
            let inputs = node
                .inputs
                .iter()
                .map(|name| {
                    if name.is_empty() {
                        return Ok(None);
                    }
                    slots.get(name).copied().map(Some).ok_or_else(|| OnnxError::Invalid {
                        node: node.name.clone(),
                        reason: format!("input {name} is used before it is computed"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let outputs = node
                .outputs
                .iter()
                .map(|name| {
                    let slot = slots.len();
                    slots.insert(name.clone(), slot);
                    slot
                })
                .collect();
            nodes.push(Node { name: node.name.clone(), op, inputs, outputs, frees: Vec::new() });
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

        // Free each computed value after its last reader, unless it is an output.
        let mut last_reader = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            for slot in node.inputs.iter().flatten() {
                last_reader.insert(*slot, i);
            }
        }
        for (_, slot) in &outputs {
            last_reader.remove(slot);
        }
        for (slot, i) in last_reader {
            if slot >= constants.len() && slot != input_slot {
                nodes[i].frees.push(slot);
            }
        }
        Ok(Graph { slot_count: slots.len(), constants, input_slot, input_shape, outputs, nodes })
    }

    /// How many float values the input holds.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The names of the outputs, in the order [`Graph::run`] returns them.
    pub fn output_names(&self) -> impl Iterator<Item = &str> {
        self.outputs.iter().map(|(name, _)| name.as_str())
    }

    /// Runs the model on one input; returns every output, in order.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Tensor>, OnnxError> {
        if input.len() != self.input_len() {
            return Err(OnnxError::InputLength { expected: self.input_len(), got: input.len() });
        }
        let fixed = self.constants.len();
        let mut values: Vec<Option<Tensor>> = vec![None; self.slot_count - fixed];
        values[self.input_slot - fixed] =
            Some(Tensor::f32(self.input_shape.clone(), input.to_vec()));
        for node in &self.nodes {
            let results = {
                let get = |i: usize| -> Result<Option<&Tensor>, OnnxError> {
                    match node.inputs.get(i).copied().flatten() {
                        None => Ok(None),
                        Some(slot) => self
                            .constants
                            .get(slot)
                            .or_else(|| values[slot - fixed].as_ref())
                            .map(Some)
                            .ok_or_else(|| {
                                invalid(node, format!("input {i} was freed or never computed"))
                            }),
                    }
                };
                let required = |i: usize| {
                    get(i)?.ok_or_else(|| invalid(node, format!("input {i} is missing")))
                };
                match node.op {
                    Op::DynamicQuantizeLinear => dynamic_quantize(node, required(0)?)?,
                    Op::MatMulInteger => {
                        vec![matmul_integer(node, required(0)?, required(1)?, get(2)?, get(3)?)?]
                    }
                    Op::CastToFloat => vec![cast_to_float(required(0)?)],
                    Op::Mul => vec![binary(node, required(0)?, required(1)?, |a, b| a * b)?],
                    Op::Add => vec![binary(node, required(0)?, required(1)?, |a, b| a + b)?],
                    Op::Relu => vec![unary(node, required(0)?, |x| x.max(0.0))?],
                    Op::Sigmoid => vec![unary(node, required(0)?, |x| 1.0 / (1.0 + (-x).exp()))?],
                }
            };
            if results.len() != node.outputs.len() {
                return Err(invalid(
                    node,
                    format!("{} outputs declared, {} computed", node.outputs.len(), results.len()),
                ));
            }
            for (slot, tensor) in node.outputs.iter().zip(results) {
                values[*slot - fixed] = Some(tensor);
            }
            for slot in &node.frees {
                values[*slot - fixed] = None;
            }
        }
        self.outputs
            .iter()
            .map(|(name, slot)| {
                self.constants
                    .get(*slot)
                    .cloned()
                    .or_else(|| values[*slot - fixed].take())
                    .ok_or_else(|| malformed(format!("output {name} was not computed")))
            })
            .collect()
    }
}

fn invalid(node: &Node, reason: String) -> OnnxError {
    OnnxError::Invalid { node: node.name.clone(), reason }
}

fn floats<'a>(node: &Node, t: &'a Tensor) -> Result<&'a [f32], OnnxError> {
    t.as_f32()
        .ok_or_else(|| invalid(node, format!("expects float input, got {}", t.data.type_name())))
}

/// ONNX DynamicQuantizeLinear: uint8 with a range that always includes 0;
/// a constant-zero input gets scale 1 (as in onnxruntime) instead of 0.
fn dynamic_quantize(node: &Node, x: &Tensor) -> Result<Vec<Tensor>, OnnxError> {
    let values = floats(node, x)?;
    let (min, max) = values.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let scale = if max == min { 1.0 } else { (max - min) / 255.0 };
    let zero_point = (0.0 - min / scale).clamp(0.0, 255.0).round_ties_even();
    let quantized = values
        .iter()
        .map(|&v| ((v / scale).round_ties_even() + zero_point).clamp(0.0, 255.0) as u8)
        .collect();
    Ok(vec![
        Tensor { shape: x.shape.clone(), data: Data::U8(quantized) },
        Tensor::scalar(Data::F32(vec![scale])),
        Tensor::scalar(Data::U8(vec![zero_point as u8])),
    ])
}

/// An 8-bit operand of MatMulInteger, read in place.
#[derive(Clone, Copy)]
enum Bytes<'a> {
    U8(&'a [u8]),
    I8(&'a [i8]),
}

impl Bytes<'_> {
    fn of(t: &Tensor) -> Option<Bytes<'_>> {
        match &t.data {
            Data::U8(v) => Some(Bytes::U8(v)),
            Data::I8(v) => Some(Bytes::I8(v)),
            _ => None,
        }
    }

    fn get(self, i: usize) -> i32 {
        match self {
            Bytes::U8(v) => i32::from(v[i]),
            Bytes::I8(v) => i32::from(v[i]),
        }
    }

    fn len(self) -> usize {
        match self {
            Bytes::U8(v) => v.len(),
            Bytes::I8(v) => v.len(),
        }
    }
}

/// `acc[j] += x · (row[j] − zero[j])` over one row of the right operand.
fn accumulate<T: Copy + Into<i32>>(acc: &mut [i32], x: i32, row: &[T], zero: &[i32]) {
    for ((acc, &w), &z) in acc.iter_mut().zip(row).zip(zero) {
        *acc += x * (w.into() - z);
    }
}

/// ONNX MatMulInteger for a vector or matrix times a matrix, with scalar zero
/// points (per-column ones for the right-hand side too).
fn matmul_integer(
    node: &Node,
    a: &Tensor,
    b: &Tensor,
    a_zero: Option<&Tensor>,
    b_zero: Option<&Tensor>,
) -> Result<Tensor, OnnxError> {
    fn eight_bit<'t>(node: &Node, t: &'t Tensor) -> Result<Bytes<'t>, OnnxError> {
        Bytes::of(t).ok_or_else(|| invalid(node, format!("{} operand", t.data.type_name())))
    }
    let (av, bv) = (eight_bit(node, a)?, eight_bit(node, b)?);
    let (rows, k) = match a.shape[..] {
        [k] => (None, k),
        [m, k] => (Some(m), k),
        _ => return Err(invalid(node, format!("left operand of shape {:?}", a.shape))),
    };
    let [bk, n] = b.shape[..] else {
        return Err(invalid(node, format!("right operand of shape {:?}", b.shape)));
    };
    if bk != k {
        return Err(invalid(
            node,
            format!("shapes {:?} and {:?} do not multiply", a.shape, b.shape),
        ));
    }
    let a_zero = match a_zero.map(|t| eight_bit(node, t)).transpose()? {
        Some(z) if z.len() == 1 => z.get(0),
        Some(_) => return Err(invalid(node, "per-row zero points for the left operand".into())),
        None => 0,
    };
    let b_zero = match b_zero.map(|t| eight_bit(node, t)).transpose()? {
        Some(z) if z.len() == 1 => vec![z.get(0); n],
        Some(z) if z.len() == n => (0..n).map(|j| z.get(j)).collect(),
        Some(z) => return Err(invalid(node, format!("{} zero points for {n} columns", z.len()))),
        None => vec![0; n],
    };
    let m = rows.unwrap_or(1);
    let mut out = vec![0i32; m * n];
    for (row, acc) in out.chunks_exact_mut(n).enumerate() {
        for kk in 0..k {
            let x = av.get(row * k + kk) - a_zero;
            // Fingerprint inputs are mostly zero after quantisation.
            if x == 0 {
                continue;
            }
            match bv {
                Bytes::I8(w) => accumulate(acc, x, &w[kk * n..(kk + 1) * n], &b_zero),
                Bytes::U8(w) => accumulate(acc, x, &w[kk * n..(kk + 1) * n], &b_zero),
            }
        }
    }
    let shape = match rows {
        None => vec![n],
        Some(m) => vec![m, n],
    };
    Ok(Tensor { shape, data: Data::I32(out) })
}

fn cast_to_float(t: &Tensor) -> Tensor {
    let values = match &t.data {
        Data::F32(v) => v.clone(),
        Data::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
        Data::I8(v) => v.iter().map(|&x| f32::from(x)).collect(),
        Data::I32(v) => v.iter().map(|&x| x as f32).collect(),
        Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
    };
    Tensor { shape: t.shape.clone(), data: Data::F32(values) }
}

fn unary(node: &Node, t: &Tensor, f: impl Fn(f32) -> f32) -> Result<Tensor, OnnxError> {
    Ok(Tensor {
        shape: t.shape.clone(),
        data: Data::F32(floats(node, t)?.iter().map(|&x| f(x)).collect()),
    })
}

/// An elementwise float operation with ONNX (numpy) broadcasting.
fn binary(
    node: &Node,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(f32, f32) -> f32,
) -> Result<Tensor, OnnxError> {
    let (av, bv) = (floats(node, a)?, floats(node, b)?);
    if a.shape == b.shape {
        return Ok(Tensor::f32(
            a.shape.clone(),
            av.iter().zip(bv).map(|(&x, &y)| f(x, y)).collect(),
        ));
    }
    let rank = a.shape.len().max(b.shape.len());
    let padded = |shape: &[usize]| {
        let mut p = vec![1; rank - shape.len()];
        p.extend_from_slice(shape);
        p
    };
    let (sa, sb) = (padded(&a.shape), padded(&b.shape));
    let mut shape = Vec::with_capacity(rank);
    for (&x, &y) in sa.iter().zip(&sb) {
        shape.push(match (x, y) {
            _ if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(invalid(
                    node,
                    format!("shapes {:?} and {:?} do not broadcast", a.shape, b.shape),
                ))
            }
        });
    }
    // Strides that are zero along broadcast dimensions.
    let strides = |s: &[usize]| {
        let mut strides = vec![0; rank];
        let mut step = 1;
        for d in (0..rank).rev() {
            strides[d] = if s[d] == 1 { 0 } else { step };
            step *= s[d];
        }
        strides
    };
    let (ta, tb) = (strides(&sa), strides(&sb));
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut index = vec![0; rank];
    for _ in 0..total {
        let ia: usize = index.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let ib: usize = index.iter().zip(&tb).map(|(i, s)| i * s).sum();
        out.push(f(av[ia], bv[ib]));
        for d in (0..rank).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(Tensor::f32(shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        Node {
            name: "test".into(),
            op: Op::Mul,
            inputs: Vec::new(),
            outputs: Vec::new(),
            frees: Vec::new(),
        }
    }

    #[test]
    fn dynamic_quantize_matches_the_onnx_specification_example() {
        let x = Tensor::f32(vec![6], vec![0.0, 2.0, -3.0, -2.5, 1.34, 0.5]);
        let out = dynamic_quantize(&node(), &x).unwrap();
        assert_eq!(out[0].data, Data::U8(vec![153, 255, 0, 26, 221, 179]));
        assert_eq!(out[1].data, Data::F32(vec![5.0 / 255.0]));
        assert_eq!(out[2].data, Data::U8(vec![153]));
    }

    #[test]
    fn dynamic_quantize_of_all_zeros_is_zero_not_nan() {
        let out = dynamic_quantize(&node(), &Tensor::f32(vec![3], vec![0.0; 3])).unwrap();
        assert_eq!(out[0].data, Data::U8(vec![0; 3]));
        assert_eq!(out[1].data, Data::F32(vec![1.0]));
    }

    #[test]
    fn matmul_integer_matches_the_onnx_specification_example() {
        let a = Tensor {
            shape: vec![4, 3],
            data: Data::U8(vec![11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]),
        };
        let b = Tensor { shape: vec![3, 2], data: Data::U8(vec![1, 4, 2, 5, 3, 6]) };
        let a_zero = Tensor::scalar(Data::U8(vec![12]));
        let b_zero = Tensor::scalar(Data::U8(vec![0]));
        let out = matmul_integer(&node(), &a, &b, Some(&a_zero), Some(&b_zero)).unwrap();
        assert_eq!(out.shape, vec![4, 2]);
        assert_eq!(out.data, Data::I32(vec![-38, -83, -44, -98, -50, -113, -56, -128]));
    }

    #[test]
    fn matmul_integer_of_a_vector_drops_the_row_dimension() {
        let a = Tensor { shape: vec![2], data: Data::U8(vec![1, 2]) };
        let b = Tensor { shape: vec![2, 3], data: Data::I8(vec![1, -1, 0, 2, 3, -4]) };
        let out = matmul_integer(&node(), &a, &b, None, None).unwrap();
        assert_eq!((out.shape, out.data), (vec![3], Data::I32(vec![5, 5, -8])));
    }

    #[test]
    fn binary_operations_broadcast_like_numpy() {
        let a = Tensor::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let row = Tensor::f32(vec![3], vec![10.0, 20.0, 30.0]);
        let column = Tensor::f32(vec![2, 1], vec![100.0, 200.0]);
        let scalar = Tensor::f32(vec![], vec![2.0]);
        let add = |x: &Tensor, y: &Tensor| binary(&node(), x, y, |p, q| p + q).unwrap();
        assert_eq!(add(&a, &row).as_f32().unwrap(), [11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        assert_eq!(add(&column, &a).as_f32().unwrap(), [101.0, 102.0, 103.0, 204.0, 205.0, 206.0]);
        assert_eq!(binary(&node(), &a, &scalar, |p, q| p * q).unwrap().shape, vec![2, 3]);
        assert!(binary(&node(), &a, &Tensor::f32(vec![2], vec![0.0; 2]), |p, q| p + q).is_err());
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
