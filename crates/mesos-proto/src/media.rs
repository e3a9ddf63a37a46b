//! Media types of the v1 API and how Mesos picks one (`Request::acceptsMediaType` in libprocess,
//! used by src/master/http.cpp): a response is JSON when the client accepts JSON, else
//! protobuf when it accepts that, else 406; no `Accept` header accepts everything.

pub const JSON: &str = "application/json";
pub const PROTOBUF: &str = "application/x-protobuf";
pub const RECORDIO: &str = "application/recordio";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Protobuf,
}

impl Format {
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => JSON,
            Format::Protobuf => PROTOBUF,
        }
    }

    /// A request body's format from its `Content-Type`: protobuf when it says so, else JSON
    /// (Corral has always read a body without a Content-Type as JSON).
    pub fn of_content_type(content_type: Option<&str>) -> Format {
        match content_type.map(essence) {
            Some(media) if media == PROTOBUF => Format::Protobuf,
            _ => Format::Json,
        }
    }

    /// The response format an `Accept` header asks for, JSON first as Mesos prefers it.
    pub fn from_accept(accept: Option<&str>) -> Option<Format> {
        if accepts(accept, JSON) {
            Some(Format::Json)
        } else if accepts(accept, PROTOBUF) {
            Some(Format::Protobuf)
        } else {
            None
        }
    }
}

/// The media type without parameters, lowercased: `Application/JSON; charset=utf-8` ->
/// `application/json`.
fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether an `Accept` header (absent: anything) accepts `media` (`type/subtype`): the most
/// specific range that matches it (exact, then `type/*`, then `*/*`) decides, by a q-value
/// above 0.
pub fn accepts(accept: Option<&str>, media: &str) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    let kind = media.split('/').next().unwrap_or_default();
    let wildcard = format!("{kind}/*");
    let mut best: Option<(u8, bool)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let specificity = if name == media {
            3
        } else if name == wildcard {
            2
        } else if name == "*/*" {
            1
        } else {
            continue;
        };
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, !refused));
        }
    }
    best.is_some_and(|(_, accepted)| accepted)
}

/// Whether `accept` names `media` itself (not through a wildcard).
pub fn names(accept: Option<&str>, media: &str) -> bool {
    accept.is_some_and(|a| a.split(',').any(|range| essence(range) == media))
}

/// How an event stream is framed and what its records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamFormat {
    /// `Content-Type` of the response.
    pub content_type: &'static str,
    /// `Message-Content-Type` (set when the stream is `application/recordio`).
    pub message_content_type: Option<&'static str>,
    /// The records' format.
    pub records: Format,
}

impl StreamFormat {
    /// Newer clients ask for `Accept: application/recordio` with `Message-Accept` naming the
    /// records' type; older ones for the records' type itself (and get RecordIO of it).
    pub fn negotiate(accept: Option<&str>, message_accept: Option<&str>) -> Option<StreamFormat> {
        if names(accept, RECORDIO) {
            let records = Format::from_accept(message_accept)?;
            return Some(StreamFormat {
                content_type: RECORDIO,
                message_content_type: Some(records.media_type()),
                records,
            });
        }
        let records = Format::from_accept(accept)?;
        Some(StreamFormat {
            content_type: records.media_type(),
            message_content_type: None,
            records,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_preferred_and_absent_accept_takes_anything() {
        assert_eq!(Format::from_accept(None), Some(Format::Json));
        assert_eq!(Format::from_accept(Some("*/*")), Some(Format::Json));
        assert_eq!(
            Format::from_accept(Some("application/x-protobuf")),
            Some(Format::Protobuf)
        );
        assert_eq!(
            Format::from_accept(Some("application/json;q=0, application/*")),
            Some(Format::Protobuf)
        );
        assert_eq!(Format::from_accept(Some("text/html")), None);
    }

    #[test]
    fn content_type_protobuf_with_parameters() {
        assert_eq!(
            Format::of_content_type(Some("Application/X-Protobuf; charset=binary")),
            Format::Protobuf
        );
        assert_eq!(Format::of_content_type(None), Format::Json);
    }

    #[test]
    fn streams_negotiate_as_mesos_clients_ask() {
        let protobuf = StreamFormat::negotiate(Some(RECORDIO), Some(PROTOBUF));
        assert_eq!(
            protobuf,
            Some(StreamFormat {
                content_type: RECORDIO,
                message_content_type: Some(PROTOBUF),
                records: Format::Protobuf,
            })
        );
        let old = StreamFormat::negotiate(Some(PROTOBUF), None);
        assert_eq!(
            old.map(|f| (f.content_type, f.records)),
            Some((PROTOBUF, Format::Protobuf))
        );
        assert_eq!(
            StreamFormat::negotiate(Some(RECORDIO), Some("text/plain")),
            None
        );
    }
}
