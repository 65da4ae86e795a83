//! Plate formats and well names: 96, 384 and 1536 wells, rows `A`…`AF`,
//! wells written `A1` or `A01` (the same well).

/// A plate format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// 8 × 12.
    W96,
    /// 16 × 24.
    W384,
    /// 32 × 48.
    W1536,
}

/// A well name that cannot be read or is off the plate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WellError {
    /// Not letters then digits.
    #[error("'{0}' is not a well name; write it like A1, A01 or AF48")]
    Malformed(String),
    /// A row or column the format does not have.
    #[error("well {well} is not on a {wells}-well plate")]
    OffPlate {
        /// The well as written.
        well: String,
        /// The plate's size.
        wells: usize,
    },
}

impl Format {
    /// The format with this many wells.
    pub fn from_wells(wells: usize) -> Option<Format> {
        match wells {
            96 => Some(Format::W96),
            384 => Some(Format::W384),
            1536 => Some(Format::W1536),
            _ => None,
        }
    }

    /// Rows and columns.
    pub fn shape(self) -> (usize, usize) {
        match self {
            Format::W96 => (8, 12),
            Format::W384 => (16, 24),
            Format::W1536 => (32, 48),
        }
    }

    /// Wells on the plate.
    pub fn wells(self) -> usize {
        let (r, c) = self.shape();
        r * c
    }

    /// Every well, row by row.
    pub fn all(self) -> impl Iterator<Item = Well> {
        let (rows, cols) = self.shape();
        (0..rows).flat_map(move |row| (0..cols).map(move |col| Well { row, col }))
    }

    /// Reads a well name (`A1`, `a01`, `AF48`) on this format.
    pub fn well(self, text: &str) -> Result<Well, WellError> {
        let t = text.trim();
        let split = t.find(|c: char| c.is_ascii_digit()).unwrap_or(t.len());
        let (letters, digits) = t.split_at(split);
        let malformed = || WellError::Malformed(text.to_owned());
        if letters.is_empty() || letters.len() > 2 || digits.is_empty() {
            return Err(malformed());
        }
        let mut row = 0usize;
        for c in letters.chars() {
            let c = c.to_ascii_uppercase();
            if !c.is_ascii_uppercase() {
                return Err(malformed());
            }
            row = row * 26 + (c as usize - 'A' as usize + 1);
        }
        let col: usize = digits.parse().map_err(|_| malformed())?;
        let (rows, cols) = self.shape();
        if row == 0 || row > rows || col == 0 || col > cols {
            return Err(WellError::OffPlate { well: text.to_owned(), wells: self.wells() });
        }
        Ok(Well { row: row - 1, col: col - 1 })
    }
}

/// A well, by zero-based row and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Well {
    /// Row, 0 = A.
    pub row: usize,
    /// Column, 0 = 1.
    pub col: usize,
}

impl Well {
    /// Position in row-by-row order on a plate of `format`.
    pub fn index(self, format: Format) -> usize {
        self.row * format.shape().1 + self.col
    }
}

impl Well {
    /// A row's letters: `A` for row 0, … `P`, … `AF` for row 31.
    pub fn row_name(row: usize) -> String {
        if row < 26 {
            char::from(b'A' + row as u8).to_string()
        } else {
            format!("A{}", char::from(b'A' + (row - 26) as u8))
        }
    }
}

/// Written with a two-digit column, `A01`, `P24`, `AF48`.
impl std::fmt::Display for Well {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:02}", Well::row_name(self.row), self.col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_on_every_format() {
        for format in [Format::W96, Format::W384, Format::W1536] {
            for well in format.all() {
                assert_eq!(format.well(&well.to_string()).unwrap(), well);
            }
            assert_eq!(format.all().count(), format.wells());
        }
        assert_eq!(Format::W384.well("a1").unwrap(), Format::W384.well("A01").unwrap());
        assert_eq!(Format::W1536.well("AF48").unwrap().to_string(), "AF48");
    }

    #[test]
    fn bad_names_say_why() {
        assert!(matches!(Format::W96.well("I01"), Err(WellError::OffPlate { .. })));
        assert!(matches!(Format::W96.well("A13"), Err(WellError::OffPlate { .. })));
        for bad in ["", "12", "A", "A-1", "ABC1", "1A"] {
            assert!(matches!(Format::W384.well(bad), Err(WellError::Malformed(_))), "{bad}");
        }
    }
}
