//! The protobuf wire format, read by hand: ONNX files are protobuf messages,
//! and reading the handful of fields the interpreter needs this way keeps a
//! code generator (and `protoc`) out of the build.

use crate::onnx::OnnxError;

/// One field's payload, by wire type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Varint(u64),
    /// A 64-bit fixed field; no field the interpreter reads has this type.
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over the fields of one message.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn malformed(what: &str) -> OnnxError {
    OnnxError::Malformed(format!("protobuf: {what}"))
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Fields<'a> {
        Fields { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, OnnxError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(|| malformed("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], OnnxError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| malformed("field runs past the end of its message"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, OnnxError> {
        if self.pos == self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| malformed("field number too large"))?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"))),
            other => return Err(malformed(&format!("unsupported wire type {other}"))),
        };
        Ok(Some((number, value)))
    }
}

impl<'a> Value<'a> {
    pub(crate) fn bytes(self) -> Result<&'a [u8], OnnxError> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(malformed("expected a length-delimited field")),
        }
    }

    pub(crate) fn string(self) -> Result<String, OnnxError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| malformed("string is not UTF-8"))
    }

    pub(crate) fn int(self) -> Result<i64, OnnxError> {
        match self {
            // Protobuf int32/int64 are two's complement in a varint.
            Value::Varint(v) => Ok(v as i64),
            _ => Err(malformed("expected a varint field")),
        }
    }

    pub(crate) fn float(self) -> Result<f32, OnnxError> {
        match self {
            Value::Fixed32(v) => Ok(f32::from_bits(v)),
            _ => Err(malformed("expected a 32-bit float field")),
        }
    }

    /// A repeated integer field, packed (one length-delimited run) or not.
    pub(crate) fn push_ints(self, out: &mut Vec<i64>) -> Result<(), OnnxError> {
        match self {
            Value::Bytes(run) => {
                let mut fields = Fields::new(run);
                while fields.pos < run.len() {
                    out.push(fields.varint()? as i64);
                }
                Ok(())
            }
            other => {
                out.push(other.int()?);
                Ok(())
            }
        }
    }

    /// A repeated float field, packed or not.
    pub(crate) fn push_floats(self, out: &mut Vec<f32>) -> Result<(), OnnxError> {
        match self {
            Value::Bytes(run) if run.len().is_multiple_of(4) => {
                out.extend(
                    run.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))),
                );
                Ok(())
            }
            Value::Bytes(_) => Err(malformed("packed floats not a multiple of 4 bytes")),
            other => {
                out.push(other.float()?);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_strings_and_packed_runs() {
        // field 1 varint 300, field 2 "hi", field 3 packed [1, 150]
        let msg = [0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x1a, 0x03, 0x01, 0x96, 0x01];
        let mut fields = Fields::new(&msg);
        let (n, v) = fields.next_field().unwrap().unwrap();
        assert_eq!((n, v.int().unwrap()), (1, 300));
        let (n, v) = fields.next_field().unwrap().unwrap();
        assert_eq!((n, v.string().unwrap()), (2, "hi".to_owned()));
        let (n, v) = fields.next_field().unwrap().unwrap();
        let mut ints = Vec::new();
        v.push_ints(&mut ints).unwrap();
        assert_eq!((n, ints), (3, vec![1, 150]));
        assert!(fields.next_field().unwrap().is_none());
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut fields = Fields::new(&[0x12, 0x05, b'a']);
        assert!(fields.next_field().is_err());
        let mut fields = Fields::new(&[0x08, 0xff]);
        assert!(fields.next_field().is_err());
    }
}
