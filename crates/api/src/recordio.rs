//! RecordIO framing as Mesos streams it: each record is its length in bytes as decimal ASCII,
//! a newline, then the record.

use bytes::{Buf, Bytes, BytesMut};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordIoError {
    #[error("record length is not a decimal number: {0:?}")]
    BadLength(String),
    #[error("record of {0} bytes exceeds the limit of {1} bytes")]
    TooLarge(usize, usize),
}

/// Frames one record.
pub fn encode(record: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(record.len() + 12);
    out.extend_from_slice(record.len().to_string().as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(record);
    out.freeze()
}

/// Incremental decoder: feed chunks as they arrive, take whole records out.
#[derive(Debug)]
pub struct Decoder {
    buffer: BytesMut,
    max_record: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(64 * 1024 * 1024)
    }
}

impl Decoder {
    pub fn new(max_record: usize) -> Self {
        Decoder {
            buffer: BytesMut::new(),
            max_record,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    /// The next whole record, `Ok(None)` if more bytes are needed.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        let Some(newline) = self.buffer.iter().position(|b| *b == b'\n') else {
            if self.buffer.len() > 20 {
                return Err(RecordIoError::BadLength(
                    String::from_utf8_lossy(&self.buffer[..20]).into_owned(),
                ));
            }
            return Ok(None);
        };
        let header = std::str::from_utf8(&self.buffer[..newline])
            .map_err(|_| RecordIoError::BadLength(format!("{:?}", &self.buffer[..newline])))?;
        let length: usize = header
            .trim()
            .parse()
            .map_err(|_| RecordIoError::BadLength(header.to_string()))?;
        if length > self.max_record {
            return Err(RecordIoError::TooLarge(length, self.max_record));
        }
        if self.buffer.len() < newline + 1 + length {
            return Ok(None);
        }
        self.buffer.advance(newline + 1);
        Ok(Some(self.buffer.split_to(length).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_across_chunk_boundaries() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&encode(b"{\"type\":\"HEARTBEAT\"}"));
        stream.extend_from_slice(&encode(b""));
        stream.extend_from_slice(&encode("héllo".as_bytes()));
        let mut decoder = Decoder::default();
        let mut records = Vec::new();
        for byte in stream {
            decoder.feed(&[byte]);
            while let Some(r) = decoder.next_record().expect("valid stream") {
                records.push(r);
            }
        }
        assert_eq!(records.len(), 3);
        assert_eq!(&records[0][..], b"{\"type\":\"HEARTBEAT\"}");
        assert_eq!(&records[1][..], b"");
        assert_eq!(&records[2][..], "héllo".as_bytes());
    }

    #[test]
    fn rejects_garbage_length() {
        let mut decoder = Decoder::default();
        decoder.feed(b"abc\n{}");
        assert!(matches!(
            decoder.next_record(),
            Err(RecordIoError::BadLength(_))
        ));
    }

    #[test]
    fn rejects_oversized_record() {
        let mut decoder = Decoder::new(10);
        decoder.feed(b"11\n");
        assert_eq!(decoder.next_record(), Err(RecordIoError::TooLarge(11, 10)));
    }
}
