//! RecordIO, the framing of the SUBSCRIBE event stream: each event is its length in bytes as
//! decimal ASCII, a newline, then that many bytes of JSON.
//! See "RecordIO response format" in
//! https://mesos.apache.org/documentation/latest/scheduler-http-api/
//!
//! HTTP chunk boundaries mean nothing here (proxies may re-chunk), so bytes are buffered
//! until a whole record is in.

pub struct RecordIoDecoder {
    buffer: Vec<u8>,
}

impl RecordIoDecoder {
    pub fn new() -> Self {
        RecordIoDecoder { buffer: Vec::new() }
    }

    /// Adds bytes as they arrive from the HTTP body.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Takes out the next whole record, or `None` until more bytes arrive.
    pub fn next_record(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') else {
            return Ok(None);
        };
        let header = std::str::from_utf8(&self.buffer[..newline])?;
        let length: usize = header
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("bad RecordIO length {header:?}"))?;
        let end = newline + 1 + length;
        if self.buffer.len() < end {
            return Ok(None);
        }
        let record = self.buffer[newline + 1..end].to_vec();
        self.buffer.drain(..end);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_anywhere_come_out_whole() {
        let stream = b"5\nhello3\nabc";
        let mut decoder = RecordIoDecoder::new();
        let mut out = Vec::new();
        for byte in stream {
            decoder.feed(&[*byte]);
            while let Some(record) = decoder.next_record().expect("valid stream") {
                out.push(record);
            }
        }
        assert_eq!(out, vec![b"hello".to_vec(), b"abc".to_vec()]);
    }
}
