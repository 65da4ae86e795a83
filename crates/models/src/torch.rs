//! Reading PyTorch checkpoints (`torch.save` files) without PyTorch.
//!
//! A checkpoint is a zip archive holding one pickle (`data.pkl`) and one raw
//! little-endian file per tensor storage (`data/<key>`). The pickle is run by
//! a small pickle machine that builds plain values and never calls anything:
//! classes stay names, calls stay records of (callable, arguments). Tensors
//! are the records whose callable is `torch._utils._rebuild_tensor_v2`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What went wrong reading a checkpoint.
#[derive(Debug, thiserror::Error)]
#[error("PyTorch checkpoint: {0}")]
pub struct TorchError(pub(crate) String);

fn err(what: impl Into<String>) -> TorchError {
    TorchError(what.into())
}

/// The files of a zip archive, stored (uncompressed) as `torch.save` writes them.
struct Zip<'a> {
    entries: HashMap<String, &'a [u8]>,
}

fn u16_at(b: &[u8], at: usize) -> Result<usize, TorchError> {
    b.get(at..at + 2)
        .map(|s| usize::from(u16::from_le_bytes([s[0], s[1]])))
        .ok_or_else(|| err("zip truncated"))
}

fn u32_at(b: &[u8], at: usize) -> Result<usize, TorchError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
        .ok_or_else(|| err("zip truncated"))
}

impl<'a> Zip<'a> {
    fn read(bytes: &'a [u8]) -> Result<Zip<'a>, TorchError> {
        // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
        let from = bytes.len().saturating_sub(65_557);
        let eocd = (from..bytes.len().saturating_sub(21))
            .rev()
            .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
            .ok_or_else(|| err("not a zip archive (no end of central directory)"))?;
        let count = u16_at(bytes, eocd + 10)?;
        let mut at = u32_at(bytes, eocd + 16)?;
        let mut entries = HashMap::with_capacity(count);
        for _ in 0..count {
            if u32_at(bytes, at)? != 0x0201_4b50 {
                return Err(err("zip central directory damaged"));
            }
            let method = u16_at(bytes, at + 10)?;
            let size = u32_at(bytes, at + 20)?;
            let (name_len, extra_len, comment_len) =
                (u16_at(bytes, at + 28)?, u16_at(bytes, at + 30)?, u16_at(bytes, at + 32)?);
            let local = u32_at(bytes, at + 42)?;
            let name =
                bytes.get(at + 46..at + 46 + name_len).ok_or_else(|| err("zip truncated"))?;
            let name = String::from_utf8_lossy(name).into_owned();
            if method != 0 {
                return Err(err(format!(
                    "{name} is compressed; torch.save stores entries uncompressed"
                )));
            }
            let data_at = local + 30 + u16_at(bytes, local + 26)? + u16_at(bytes, local + 28)?;
            let data = bytes
                .get(data_at..data_at + size)
                .ok_or_else(|| err(format!("{name} runs past the end")))?;
            entries.insert(name, data);
            at += 46 + name_len + extra_len + comment_len;
        }
        Ok(Zip { entries })
    }

    /// The entry whose path ends with `/suffix` (archives have one top folder).
    fn find(&self, suffix: &str) -> Result<&'a [u8], TorchError> {
        self.entries
            .iter()
            .find(|(name, _)| name.split_once('/').is_some_and(|(_, rest)| rest == suffix))
            .map(|(_, data)| *data)
            .ok_or_else(|| err(format!("no {suffix} in the archive")))
    }
}

/// A value built by the pickle machine.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// Raw bytes; checkpoints keep nothing the models read in them.
    Bytes,
    Tuple(Rc<[Value]>),
    List(Rc<RefCell<Vec<Value>>>),
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    /// A class or function, by `module.name`.
    Global(Rc<str>),
    /// An instance or call result that the machine does not evaluate.
    Object(Rc<Object>),
    /// A persistent id: in torch checkpoints, a tensor storage.
    Persistent(Rc<Value>),
}

#[derive(Debug)]
pub(crate) struct Object {
    pub(crate) class: Value,
    pub(crate) args: Value,
    /// Items set on it (dict subclasses).
    items: RefCell<Vec<(Value, Value)>>,
    /// State given by BUILD.
    state: RefCell<Option<Value>>,
}

impl Value {
    fn object(class: Value, args: Value) -> Value {
        Value::Object(Rc::new(Object {
            class,
            args,
            items: RefCell::default(),
            state: RefCell::default(),
        }))
    }

    /// The value under a string key of a dict, a dict subclass or an
    /// object's state dict.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        let find = |pairs: &[(Value, Value)]| {
            pairs
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if &**s == key))
                .map(|(_, v)| v.clone())
        };
        match self {
            Value::Dict(d) => find(&d.borrow()),
            Value::Object(o) => find(&o.items.borrow())
                .or_else(|| o.state.borrow().as_ref().and_then(|s| s.get(key))),
            _ => None,
        }
    }

    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    pub(crate) fn bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The class name of an object, or a global's own name.
    pub(crate) fn class_name(&self) -> Option<&str> {
        match self {
            Value::Global(g) => Some(g),
            Value::Object(o) => o.class.class_name(),
            _ => None,
        }
    }

    pub(crate) fn items(&self) -> Vec<Value> {
        match self {
            Value::Tuple(t) => t.to_vec(),
            Value::List(l) => l.borrow().clone(),
            _ => Vec::new(),
        }
    }

    fn dict_pairs(&self) -> Vec<(Value, Value)> {
        match self {
            Value::Dict(d) => d.borrow().clone(),
            Value::Object(o) => o.items.borrow().clone(),
            _ => Vec::new(),
        }
    }
}

/// Runs a pickle (protocols 2 to 4) to its value.
pub(crate) fn unpickle(bytes: &[u8]) -> Result<Value, TorchError> {
    let mut stack: Vec<Value> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: HashMap<u32, Value> = HashMap::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], TorchError> {
        let s = bytes.get(*at..*at + n).ok_or_else(|| err("pickle truncated"))?;
        *at += n;
        Ok(s)
    };
    let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| err("pickle stack underflow"));
    loop {
        let op = take(&mut at, 1)?[0];
        match op {
            0x80 => at += 1,                // PROTO
            0x95 => at += 8,                // FRAME
            b'.' => return pop(&mut stack), // STOP
            b'(' => marks.push(stack.len()),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'K' => stack.push(Value::Int(i64::from(take(&mut at, 1)?[0]))),
            b'M' => stack.push(Value::Int(i64::from(u16::from_le_bytes(
                take(&mut at, 2)?.try_into().expect("2"),
            )))),
            b'J' => stack.push(Value::Int(i64::from(i32::from_le_bytes(
                take(&mut at, 4)?.try_into().expect("4"),
            )))),
            0x8a => {
                // LONG1: little-endian two's complement of n ≤ 8 bytes
                let n = usize::from(take(&mut at, 1)?[0]);
                let raw = take(&mut at, n)?;
                if n > 8 {
                    return Err(err("integer wider than 64 bits"));
                }
                let mut buf =
                    if raw.last().is_some_and(|b| b & 0x80 != 0) { [0xff; 8] } else { [0; 8] };
                buf[..n].copy_from_slice(raw);
                stack.push(Value::Int(i64::from_le_bytes(buf)));
            }
            b'G' => stack
                .push(Value::Float(f64::from_be_bytes(take(&mut at, 8)?.try_into().expect("8")))),
            b'X' | 0x8c | 0x8d => {
                let n = match op {
                    b'X' => u32::from_le_bytes(take(&mut at, 4)?.try_into().expect("4")) as usize,
                    0x8c => usize::from(take(&mut at, 1)?[0]),
                    _ => u64::from_le_bytes(take(&mut at, 8)?.try_into().expect("8")) as usize,
                };
                let s = std::str::from_utf8(take(&mut at, n)?)
                    .map_err(|_| err("string is not UTF-8"))?;
                stack.push(Value::Str(s.into()));
            }
            b'B' | b'C' => {
                let n = if op == b'B' {
                    u32::from_le_bytes(take(&mut at, 4)?.try_into().expect("4")) as usize
                } else {
                    usize::from(take(&mut at, 1)?[0])
                };
                take(&mut at, n)?;
                stack.push(Value::Bytes);
            }
            b'c' => {
                let line = |at: &mut usize| -> Result<String, TorchError> {
                    let end = bytes[*at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .ok_or_else(|| err("GLOBAL unterminated"))?;
                    let s = String::from_utf8_lossy(&bytes[*at..*at + end]).into_owned();
                    *at += end + 1;
                    Ok(s)
                };
                let module = line(&mut at)?;
                let name = line(&mut at)?;
                stack.push(Value::Global(format!("{module}.{name}").into()));
            }
            0x93 => {
                let name = pop(&mut stack)?;
                let module = pop(&mut stack)?;
                let (Some(m), Some(n)) = (module.str(), name.str()) else {
                    return Err(err("STACK_GLOBAL of non-strings"));
                };
                stack.push(Value::Global(format!("{m}.{n}").into()));
            }
            b'}' => stack.push(Value::Dict(Rc::default())),
            b']' => stack.push(Value::List(Rc::default())),
            b')' => stack.push(Value::Tuple(Rc::from(Vec::new()))),
            0x8f => stack.push(Value::List(Rc::default())), // EMPTY_SET, kept as a list
            b't' => {
                let mark = marks.pop().ok_or_else(|| err("TUPLE without MARK"))?;
                let items: Vec<Value> = stack.drain(mark..).collect();
                stack.push(Value::Tuple(items.into()));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let from =
                    stack.len().checked_sub(n).ok_or_else(|| err("pickle stack underflow"))?;
                let items: Vec<Value> = stack.drain(from..).collect();
                stack.push(Value::Tuple(items.into()));
            }
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => u32::from(take(&mut at, 1)?[0]),
                    b'r' => u32::from_le_bytes(take(&mut at, 4)?.try_into().expect("4")),
                    _ => memo.len() as u32,
                };
                let top = stack.last().ok_or_else(|| err("memo of an empty stack"))?.clone();
                memo.insert(key, top);
            }
            b'h' | b'j' => {
                let key = if op == b'h' {
                    u32::from(take(&mut at, 1)?[0])
                } else {
                    u32::from_le_bytes(take(&mut at, 4)?.try_into().expect("4"))
                };
                stack.push(memo.get(&key).cloned().ok_or_else(|| err("memo key missing"))?);
            }
            b'a' => {
                let value = pop(&mut stack)?;
                append(stack.last(), vec![value])?;
            }
            b'e' | 0x90 => {
                let mark = marks.pop().ok_or_else(|| err("APPENDS without MARK"))?;
                let values: Vec<Value> = stack.drain(mark..).collect();
                append(stack.last(), values)?;
            }
            b's' => {
                let value = pop(&mut stack)?;
                let key = pop(&mut stack)?;
                set_items(stack.last(), vec![(key, value)])?;
            }
            b'u' => {
                let mark = marks.pop().ok_or_else(|| err("SETITEMS without MARK"))?;
                let flat: Vec<Value> = stack.drain(mark..).collect();
                let pairs = flat
                    .chunks(2)
                    .filter(|c| c.len() == 2)
                    .map(|c| (c[0].clone(), c[1].clone()))
                    .collect();
                set_items(stack.last(), pairs)?;
            }
            b'R' | 0x81 => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                let value = match callable.class_name() {
                    Some("collections.OrderedDict")
                    | Some("builtins.dict")
                    | Some("__builtin__.dict") => Value::Dict(Rc::default()),
                    _ => Value::object(callable, args),
                };
                stack.push(value);
            }
            b'b' => {
                let state = pop(&mut stack)?;
                match stack.last() {
                    Some(Value::Object(o)) => *o.state.borrow_mut() = Some(state),
                    // A dict's BUILD state is attributes (torch's `_metadata`), not items.
                    Some(Value::Dict(_)) => {}
                    _ => return Err(err("BUILD on a value that is not an object")),
                }
            }
            b'Q' => {
                let id = pop(&mut stack)?;
                stack.push(Value::Persistent(Rc::new(id)));
            }
            other => {
                return Err(err(format!(
                    "unsupported pickle opcode 0x{other:02x} at byte {}",
                    at - 1
                )))
            }
        }
    }
}

fn append(target: Option<&Value>, values: Vec<Value>) -> Result<(), TorchError> {
    match target {
        Some(Value::List(l)) => l.borrow_mut().extend(values),
        Some(Value::Object(_)) => {} // list subclasses: contents unused
        _ => return Err(err("APPEND to a value that is not a list")),
    }
    Ok(())
}

fn set_items(target: Option<&Value>, pairs: Vec<(Value, Value)>) -> Result<(), TorchError> {
    match target {
        Some(Value::Dict(d)) => d.borrow_mut().extend(pairs),
        Some(Value::Object(o)) => o.items.borrow_mut().extend(pairs),
        _ => return Err(err("SETITEM on a value that is not a dict")),
    }
    Ok(())
}

/// A float tensor read from a checkpoint, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// A checkpoint: its pickled object and its float tensors by state-dict name.
pub(crate) struct Checkpoint {
    pub(crate) root: Value,
    pub(crate) tensors: HashMap<String, Weights>,
}

impl Checkpoint {
    /// Reads a `torch.save` archive whose `state_dict` holds float tensors.
    pub(crate) fn read(bytes: &[u8]) -> Result<Checkpoint, TorchError> {
        let zip = Zip::read(bytes)?;
        if zip.find("byteorder").is_ok_and(|b| b != b"little") {
            return Err(err("big-endian checkpoints are not supported"));
        }
        let root = unpickle(zip.find("data.pkl")?)?;
        let state = root.get("state_dict").ok_or_else(|| err("no state_dict"))?;
        let mut tensors = HashMap::new();
        for (name, value) in state.dict_pairs() {
            let Some(name) = name.str() else { continue };
            tensors.insert(name.to_owned(), tensor(&zip, name, &value)?);
        }
        Ok(Checkpoint { root, tensors })
    }

    /// A tensor by state-dict name, of the expected shape.
    pub(crate) fn weights(&self, name: &str, shape: &[usize]) -> Result<&Weights, TorchError> {
        let w = self.tensors.get(name).ok_or_else(|| err(format!("no tensor {name}")))?;
        if w.shape != shape {
            return Err(err(format!("{name} has shape {:?}, expected {shape:?}", w.shape)));
        }
        Ok(w)
    }
}

fn tensor(zip: &Zip, name: &str, value: &Value) -> Result<Weights, TorchError> {
    let Value::Object(o) = value else {
        return Err(err(format!("{name} is not a tensor")));
    };
    if o.class.class_name() != Some("torch._utils._rebuild_tensor_v2") {
        return Err(err(format!("{name} is a {:?}, not a plain tensor", o.class.class_name())));
    }
    let args = o.args.items();
    let (Some(Value::Persistent(storage)), Some(offset), Some(size), Some(stride)) =
        (args.first(), args.get(1).and_then(Value::int), args.get(2), args.get(3))
    else {
        return Err(err(format!("{name}: unexpected tensor record")));
    };
    let storage = storage.items();
    if storage.get(1).and_then(Value::class_name) != Some("torch.FloatStorage") {
        return Err(err(format!("{name}: only float32 tensors are supported")));
    }
    let key =
        storage.get(2).and_then(Value::str).ok_or_else(|| err(format!("{name}: storage key")))?;
    let dims = |v: &Value| {
        v.items().iter().map(|d| d.int().map(|i| i as usize)).collect::<Option<Vec<_>>>()
    };
    let shape = dims(size).ok_or_else(|| err(format!("{name}: shape")))?;
    let stride = dims(stride).ok_or_else(|| err(format!("{name}: stride")))?;
    let mut expected = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        expected[d] = expected[d + 1] * shape[d + 1];
    }
    if shape.iter().all(|&s| s > 1) && stride != expected {
        return Err(err(format!("{name}: non-contiguous tensor (stride {stride:?})")));
    }
    let count: usize = shape.iter().product();
    let raw = zip.find(&format!("data/{key}"))?;
    let start = offset as usize * 4;
    let raw = raw
        .get(start..start + count * 4)
        .ok_or_else(|| err(format!("{name}: storage too short")))?;
    let values =
        raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect();
    Ok(Weights { shape, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpickles_nested_containers_memo_and_calls() {
        // pickle.dumps({'a': [1, 2.5, 'x'], 'b': (True, None), 'c': -3, 'big': 70000}, protocol=2)
        let bytes: &[u8] = &[
            0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01,
            0x5d, 0x71, 0x02, 0x28, 0x4b, 0x01, 0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x58, 0x01, 0x00, 0x00, 0x00, 0x78, 0x71, 0x03, 0x65, 0x58, 0x01, 0x00, 0x00,
            0x00, 0x62, 0x71, 0x04, 0x88, 0x4e, 0x86, 0x71, 0x05, 0x58, 0x01, 0x00, 0x00, 0x00,
            0x63, 0x71, 0x06, 0x4a, 0xfd, 0xff, 0xff, 0xff, 0x58, 0x03, 0x00, 0x00, 0x00, 0x62,
            0x69, 0x67, 0x71, 0x07, 0x4a, 0x70, 0x11, 0x01, 0x00, 0x75, 0x2e,
        ];
        let v = unpickle(bytes).unwrap();
        let a = v.get("a").unwrap().items();
        assert_eq!((a[0].int(), a[1].float(), a[2].str()), (Some(1), Some(2.5), Some("x")));
        let b = v.get("b").unwrap().items();
        assert_eq!((b[0].bool(), matches!(b[1], Value::None)), (Some(true), true));
        assert_eq!(v.get("c").unwrap().int(), Some(-3));
        assert_eq!(v.get("big").unwrap().int(), Some(70000));
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        assert!(unpickle(&[0x80, 0x02, 0x7d]).is_err());
        assert!(unpickle(&[0x80, 0x02, 0xff]).is_err());
        assert!(Zip::read(b"not a zip at all, just some bytes").is_err());
    }
}
