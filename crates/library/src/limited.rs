//! Reading limits for import files, between the (maybe gzipped) file and
//! the format readers.
//!
//! Why: the readers hold one line or record in memory, and gzip can turn a
//! megabyte into gigabytes of one line (a "zip bomb"), which would take the
//! machine's memory. Here no line longer than [`MAX_LINE_BYTES`] gets
//! through: the reader that asked gets an error for it (which the formats
//! report as a bad record with its line) and reading goes on after the
//! line's end. And no more than a total number of bytes is read: past it,
//! the input ends, and [`Limited::over_total`] tells the import to fail
//! with that reason rather than finish as if the file were shorter.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The longest line a file may have (a SMILES line, a CSV row, a line of an
/// SD file).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The most a gzipped file may inflate to: this many times its own size,
/// and at least [`MIN_INFLATED_BYTES`]. Chemical files inflate 4–10×.
pub const MAX_INFLATION: u64 = 100;
/// See [`MAX_INFLATION`].
pub const MIN_INFLATED_BYTES: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Reading,
    /// The line now being read passed the limit: the next read says so.
    Overlong,
    /// Dropping the rest of an overlong line.
    Skipping,
    /// The total was reached.
    Ended,
}

/// A reader that enforces the line and total limits.
pub(crate) struct Limited<R> {
    inner: R,
    max_line: usize,
    line: usize,
    max_total: u64,
    total: u64,
    state: State,
    over_total: Arc<AtomicBool>,
}

impl<R: BufRead> Limited<R> {
    /// Limits `inner` to lines of `max_line` bytes and `max_total` bytes in
    /// all.
    pub(crate) fn new(inner: R, max_line: usize, max_total: u64) -> Limited<R> {
        Limited {
            inner,
            max_line,
            line: 0,
            max_total,
            total: 0,
            state: State::Reading,
            over_total: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Set once the total limit cut the input short.
    pub(crate) fn over_total(&self) -> Arc<AtomicBool> {
        self.over_total.clone()
    }

    fn too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a line longer than {} bytes (the limit); it was skipped", self.max_line),
        )
    }
}

impl<R: BufRead> BufRead for Limited<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        loop {
            match self.state {
                State::Ended => return Ok(&[]),
                State::Overlong => {
                    self.state = State::Skipping;
                    return Err(self.too_long());
                }
                State::Skipping => {
                    let buf = self.inner.fill_buf()?;
                    if buf.is_empty() {
                        self.state = State::Reading;
                        continue;
                    }
                    let (n, ends) = match buf.iter().position(|&b| b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (buf.len(), false),
                    };
                    self.inner.consume(n);
                    self.total += n as u64;
                    if ends {
                        self.line = 0;
                        self.state = State::Reading;
                    }
                    if self.total >= self.max_total {
                        self.state = State::Ended;
                        self.over_total.store(true, Ordering::Relaxed);
                    }
                }
                State::Reading => {
                    if self.total >= self.max_total {
                        // Only an input that goes on counts as too large.
                        if !self.inner.fill_buf()?.is_empty() {
                            self.over_total.store(true, Ordering::Relaxed);
                        }
                        self.state = State::Ended;
                        continue;
                    }
                    let room = usize::try_from(self.max_total - self.total).unwrap_or(usize::MAX);
                    let buf = self.inner.fill_buf()?;
                    let n = buf.len().min(room);
                    return Ok(&buf[..n]);
                }
            }
        }
    }

    fn consume(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        // The bytes are still in the inner buffer: fill_buf does no I/O.
        let newline =
            self.inner.fill_buf().ok().and_then(|b| b[..n].iter().rposition(|&c| c == b'\n'));
        self.line = match newline {
            Some(i) => n - i - 1,
            None => self.line + n,
        };
        self.inner.consume(n);
        self.total += n as u64;
        if self.line > self.max_line {
            self.state = State::Overlong;
        }
    }
}

impl<R: BufRead> Read for Limited<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8], max_line: usize, max_total: u64) -> (Vec<Result<String, String>>, bool) {
        let limited = Limited::new(io::BufReader::with_capacity(4, text), max_line, max_total);
        let over = limited.over_total();
        let got = limited.lines().map(|l| l.map_err(|e| e.to_string())).take(20).collect();
        (got, over.load(Ordering::Relaxed))
    }

    #[test]
    fn an_overlong_line_is_an_error_and_reading_goes_on_after_it() {
        let (got, over) = lines(b"CCO\nCCCCCCCCCCCCCCCCCCCC\nc1ccccc1\n", 10, 1000);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], Ok("CCO".into()));
        assert!(got[1].as_ref().unwrap_err().contains("longer than 10 bytes"), "{got:?}");
        assert_eq!(got[2], Ok("c1ccccc1".into()));
        assert!(!over);
        // The last line, with no line end.
        let (got, _) = lines(b"CCO\nCCCCCCCCCCCCCCCCCCCC", 10, 1000);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].is_err());
    }

    #[test]
    fn the_total_ends_the_input_and_says_so() {
        let (got, over) = lines(b"CCO\nCCN\nCCC\n", 100, 8);
        assert_eq!(got, vec![Ok("CCO".into()), Ok("CCN".into())]);
        assert!(over);
        let (got, over) = lines(b"CCO\nCCN\n", 100, 8);
        assert_eq!(got.len(), 2);
        assert!(!over, "exactly the limit is not over it");
    }

    #[test]
    fn a_gzip_bomb_is_read_in_bounded_memory() {
        use std::io::Write as _;
        // 256 MiB of zeros with no line end: 256 KiB gzipped.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..256 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        let inflated = io::BufReader::new(flate2::bufread::MultiGzDecoder::new(&bomb[..]));
        let limited = Limited::new(inflated, MAX_LINE_BYTES, 64 << 20);
        let over = limited.over_total();
        let mut longest = 0;
        let mut errors = 0;
        for line in limited.lines() {
            match line {
                Ok(l) => longest = longest.max(l.len()),
                Err(_) => errors += 1,
            }
        }
        assert_eq!(longest, 0, "no line got through");
        assert!(errors > 0 && errors <= 64, "{errors}");
        assert!(over.load(Ordering::Relaxed));
    }
}
