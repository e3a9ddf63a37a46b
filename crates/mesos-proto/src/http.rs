//! The v1 handlers' protobuf glue: a protobuf request body becomes the JSON the handler
//! parses; a JSON answer or event stream becomes protobuf when the client asked for it. The
//! handlers themselves keep speaking JSON.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;

use corral_api::recordio;
use corral_http::error::ApiError;

use crate::media::{Format, StreamFormat};

const MESSAGE_ACCEPT: &str = "Message-Accept";
const MESSAGE_CONTENT_TYPE: &str = "Message-Content-Type";

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request body as JSON: a `Content-Type: application/x-protobuf` body is decoded as a
/// `message` (an undecodable one is a 400 with the decoder's reason).
pub fn json_body(headers: &HeaderMap, body: Bytes, message: &str) -> Result<Bytes, ApiError> {
    match Format::of_content_type(header_text(headers, header::CONTENT_TYPE.as_str())) {
        Format::Json => Ok(body),
        Format::Protobuf => crate::decode_to_json(message, &body)
            .map(Bytes::from)
            .map_err(|e| ApiError::bad_request(format!("Failed to parse the body: {e}"))),
    }
}

/// 415 for a body that says it is neither JSON nor protobuf (as Mesos' agent and executor
/// APIs refuse one); a body without a `Content-Type` passes.
pub fn refuse_other_media(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(kind) = header_text(headers, header::CONTENT_TYPE.as_str()) else {
        return Ok(());
    };
    let essence = kind.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(crate::media::JSON)
        || essence.eq_ignore_ascii_case(crate::media::PROTOBUF)
    {
        return Ok(());
    }
    Err(ApiError::unsupported_media(format!(
        "Expecting 'Content-Type' of application/json or application/x-protobuf, got '{kind}'"
    )))
}

/// The format of a non-streaming answer, as Mesos picks it; 406 when neither is accepted.
pub fn response_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    Format::from_accept(header_text(headers, header::ACCEPT.as_str())).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
        )
    })
}

/// The framing of an event stream; 406 when the client accepts neither JSON nor protobuf.
pub fn stream_format(headers: &HeaderMap) -> Result<StreamFormat, ApiError> {
    StreamFormat::negotiate(
        header_text(headers, header::ACCEPT.as_str()),
        header_text(headers, MESSAGE_ACCEPT),
    )
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Expecting 'Accept' (or, with 'Accept: application/recordio', 'Message-Accept') to \
             allow 'application/json' or 'application/x-protobuf'",
        )
    })
}

/// A handler's JSON answer in `format`: a successful JSON body is re-encoded as a `message`;
/// empty bodies and errors pass unchanged.
pub async fn answer_in(response: Response, format: Format, message: &str) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| Format::of_content_type(Some(v)) == Format::Json && v.contains("json"));
    if format == Format::Json || !response.status().is_success() || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let json = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(json) => json,
        Err(error) => return ApiError::internal(error.to_string()).into_response(),
    };
    match crate::encode_json(message, &json) {
        Ok(encoded) => {
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(Format::Protobuf.media_type()),
            );
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(encoded))
        }
        Err(error) => ApiError::internal(error.to_string()).into_response(),
    }
}

/// An event stream's response: its media type headers, `Cache-Control: no-cache`, and the body
/// (RecordIO of JSON `message`s) re-framed as RecordIO of protobuf when that was negotiated.
pub fn stream_response(body: Body, format: StreamFormat, message: &'static str) -> Response {
    let body = match format.records {
        Format::Json => body,
        Format::Protobuf => protobuf_records(body, message),
    };
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type),
    );
    if let Some(records) = format.message_content_type {
        h.insert(MESSAGE_CONTENT_TYPE, HeaderValue::from_static(records));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// RecordIO of JSON records -> RecordIO of the same records as protobuf `message`s. Dropping
/// the result drops `body` (the streams' close guards rely on that).
pub fn protobuf_records(body: Body, message: &'static str) -> Body {
    let mut chunks = body.into_data_stream();
    let records = async_stream::stream! {
        let mut decoder = recordio::Decoder::default();
        while let Some(chunk) = chunks.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    yield Err(error);
                    break;
                }
            };
            decoder.feed(&chunk);
            loop {
                match decoder.next_record() {
                    Ok(Some(json)) => match crate::encode_json(message, &json) {
                        Ok(encoded) => yield Ok(recordio::encode(&encoded)),
                        Err(error) => tracing::error!(%error, "a stream record has no protobuf form; skipped"),
                    },
                    Ok(None) => break,
                    Err(error) => {
                        yield Err(axum::Error::new(error));
                        return;
                    }
                }
            }
        }
    };
    Body::from_stream(records)
}
