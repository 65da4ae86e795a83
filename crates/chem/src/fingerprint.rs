//! Bit fingerprints as packed 64-bit words, RDKit's bit numbering preserved
//! (bit `i` is bit `i % 64` of word `i / 64`), so popcounts equal RDKit's
//! `DataStructs` on the same fingerprints. Scoring and screening many
//! fingerprints is the `fpindex` crate's job.

/// Size of RDKit pattern fingerprints used for substructure screening.
pub const PATTERN_BITS: u32 = 2048;

/// Parameters of a Morgan fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MorganParams {
    /// Radius in bonds (2 is ECFP4-like).
    pub radius: u32,
    /// Length in bits; a multiple of 64.
    pub bits: u32,
}

impl Default for MorganParams {
    fn default() -> MorganParams {
        MorganParams { radius: 2, bits: 2048 }
    }
}

/// A fixed-length bit fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    words: Vec<u64>,
}

impl Fingerprint {
    /// An all-zero fingerprint of `bits` bits (rounded up to whole words).
    pub fn zeroed(bits: u32) -> Fingerprint {
        Fingerprint { words: vec![0; (bits as usize).div_ceil(64)] }
    }

    /// Wraps packed words.
    pub fn from_words(words: Vec<u64>) -> Fingerprint {
        Fingerprint { words }
    }

    /// Reads little-endian packed bytes, as stored by [`Fingerprint::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        if !bytes.len().is_multiple_of(8) {
            return None;
        }
        let words = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("chunk of 8")))
            .collect();
        Some(Fingerprint { words })
    }

    /// Little-endian packed bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// The packed words.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    pub(crate) fn words_mut(&mut self) -> &mut [u64] {
        &mut self.words
    }

    /// Length in bits.
    pub fn bits(&self) -> u32 {
        (self.words.len() * 64) as u32
    }

    /// Number of set bits.
    pub fn popcount(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// Whether bit `i` is set.
    pub fn get(&self, i: u32) -> bool {
        self.words[(i / 64) as usize] >> (i % 64) & 1 == 1
    }

    /// Indices of set bits, ascending.
    pub fn on_bits(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.bits()).filter(|&i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bytes_round_trip(words in proptest::collection::vec(any::<u64>(), 1..40)) {
            let fp = Fingerprint::from_words(words);
            prop_assert_eq!(Fingerprint::from_bytes(&fp.to_bytes()).unwrap(), fp);
        }

    }

    #[test]
    fn on_bits_follow_rdkit_numbering() {
        let mut fp = Fingerprint::zeroed(128);
        fp.words_mut()[1] = 1 << 3;
        assert_eq!(fp.on_bits().collect::<Vec<_>>(), vec![67]);
    }
}
