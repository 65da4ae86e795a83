//! Registry numbers: `SY-` and seven digits, stable for the life of a parent.

use crate::LibraryError;

/// The registry number of a parent compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompoundId(pub i64);

impl std::fmt::Display for CompoundId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SY-{:07}", self.0)
    }
}

impl std::str::FromStr for CompoundId {
    type Err = LibraryError;

    fn from_str(s: &str) -> Result<CompoundId, LibraryError> {
        let t = s.trim();
        let digits = t
            .strip_prefix("SY-")
            .or_else(|| t.strip_prefix("sy-"))
            .ok_or_else(|| LibraryError::BadId(s.to_owned()))?;
        match digits.parse::<i64>() {
            Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(CompoundId(n)),
            _ => Err(LibraryError::BadId(s.to_owned())),
        }
    }
}

/// Serialised as its registry number (`"SY-0000001"`), as people see it.
impl serde::Serialize for CompoundId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(CompoundId(42).to_string(), "SY-0000042");
        assert_eq!("SY-0000042".parse::<CompoundId>().unwrap(), CompoundId(42));
        assert!("SY-".parse::<CompoundId>().is_err());
        assert!("SY-00x1".parse::<CompoundId>().is_err());
        assert!("42".parse::<CompoundId>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(n in 1i64..100_000_000) {
            prop_assert_eq!(CompoundId(n).to_string().parse::<CompoundId>().unwrap(), CompoundId(n));
        }
    }
}
