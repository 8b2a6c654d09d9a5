//! Reading a child's stdout as protocol lines: cancel-safe (usable in `select!`), with a maximum
//! line length so a child cannot make the supervisor buffer without bound; and writing a line
//! to its stdin as a future that gives the pipe back.

use std::future::Future;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    eof: bool,
}

#[derive(Debug)]
pub enum LineError {
    TooLong { max: usize, head: Vec<u8> },
    Io(std::io::Error),
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(8192),
            max,
            eof: false,
        }
    }

    /// The next line without its newline; `Ok(None)` at end of stream. A final unterminated
    /// line is returned as a line. Cancel-safe: partial data stays in the buffer.
    pub async fn next_line(&mut self) -> Result<Option<Vec<u8>>, LineError> {
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            scanned = self.buf.len();
            if self.buf.len() > self.max {
                let head = self.buf[..200.min(self.buf.len())].to_vec();
                self.buf.clear();
                return Err(LineError::TooLong {
                    max: self.max,
                    head,
                });
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.buf)));
            }
            let mut chunk = [0u8; 16384];
            match self.inner.read(&mut chunk).await {
                Ok(0) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(LineError::Io(e)),
            }
        }
    }
}

/// A line being written to the child's stdin; it gives stdin back, or None when the child is gone.
pub type Write = Pin<Box<dyn Future<Output = Option<ChildStdin>> + Send>>;

pub fn write_line(stdin: Option<ChildStdin>, line: String) -> Write {
    Box::pin(async move {
        let mut stdin = stdin?;
        let ok = async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.flush().await
        }
        .await
        .is_ok();
        ok.then_some(stdin)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn splits_lines_and_keeps_the_last_partial_one() {
        let data: &[u8] = b"one\ntwo\r\nthree";
        let mut r = LineReader::new(data, 100);
        assert_eq!(r.next_line().await.unwrap().unwrap(), b"one");
        assert_eq!(r.next_line().await.unwrap().unwrap(), b"two");
        assert_eq!(r.next_line().await.unwrap().unwrap(), b"three");
        assert!(r.next_line().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn refuses_an_endless_line() {
        let data = vec![b'x'; 100_000];
        let mut r = LineReader::new(&data[..], 1000);
        assert!(matches!(
            r.next_line().await,
            Err(LineError::TooLong { .. })
        ));
    }
}
