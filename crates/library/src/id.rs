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

/// Where `id` sits among `len` ascending ids (`id_at(i)` is the i-th), if
/// held. Parents' ids run without gaps, so the first guess (the distance
/// from the first id) is nearly always right; it is at least the position
/// in any case, so a gap only narrows a binary search below it.
pub(crate) fn position(id: CompoundId, len: usize, id_at: impl Fn(usize) -> i64) -> Option<usize> {
    if len == 0 {
        return None;
    }
    // Below the first id, the distance is negative and nothing is held.
    let most = usize::try_from(id.0.checked_sub(id_at(0))?).ok()?.min(len - 1);
    if id_at(most) == id.0 {
        return Some(most);
    }
    let (mut lo, mut hi) = (0, most);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match id_at(mid).cmp(&id.0) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_found_with_and_without_gaps() {
        for ids in [vec![], vec![5], vec![1, 2, 3, 4, 5], vec![2, 3, 7, 8, 20, 21, 22, 40]] {
            for probe in -1..45 {
                let expected = ids.iter().position(|&i| i == probe);
                let found = position(CompoundId(probe), ids.len(), |i| ids[i]);
                assert_eq!(found, expected, "{probe} in {ids:?}");
            }
        }
    }
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
