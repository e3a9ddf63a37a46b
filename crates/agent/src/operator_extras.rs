//! Agent operator calls beyond the basic ones (include/mesos/v1/agent/agent.proto):
//! LIST_FILES and READ_FILE over task sandboxes, and GET_CONTAINERS with usage. The agent's
//! `POST /api/v1` hands a body here first; `None` means "not one of these".

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::containers_api::{self, ContainersState};
use super::files_api::{self, FileInfo, FilesState};
use corral_http::error::{ApiError, parse_json};

#[derive(Debug, Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListFilesCall {
    list_files: Option<PathArg>,
}

#[derive(Debug, Deserialize)]
struct PathArg {
    path: String,
}

#[derive(Debug, Deserialize)]
struct ReadFileCall {
    read_file: Option<ReadFileArgs>,
}

#[derive(Debug, Deserialize)]
struct ReadFileArgs {
    path: String,
    #[serde(default)]
    offset: Uint64,
    length: Option<Uint64>,
}

/// A uint64 as JSON writes it: a number, or a string (protobuf's JSON mapping).
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(try_from = "serde_json::Value")]
struct Uint64(u64);

impl TryFrom<serde_json::Value> for Uint64 {
    type Error = String;
    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        let parsed = match &value {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        };
        parsed
            .map(Uint64)
            .ok_or_else(|| format!("expected a non-negative integer, got {value}"))
    }
}

/// Mesos' `FileInfo` as JSON: mtime as a TimeInfo, mode as the raw st_mode.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileInfoJson {
    pub path: String,
    pub nlink: u64,
    pub size: u64,
    pub mtime: TimeInfo,
    pub mode: u32,
    pub uid: String,
    pub gid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TimeInfo {
    pub nanoseconds: i64,
}

impl From<&FileInfo> for FileInfoJson {
    fn from(f: &FileInfo) -> Self {
        FileInfoJson {
            path: f.path.clone(),
            nlink: f.nlink,
            size: f.size,
            mtime: TimeInfo {
                nanoseconds: f.mtime_nanos,
            },
            mode: f.mode,
            uid: f.uid.clone(),
            gid: f.gid.clone(),
        }
    }
}

/// Answers LIST_FILES, READ_FILE and GET_CONTAINERS; `None` for any other call.
pub async fn answer(
    files: &FilesState,
    containers: &ContainersState,
    caller: Option<&str>,
    body: &[u8],
) -> Option<Result<Response, ApiError>> {
    let kind = serde_json::from_slice::<TypeOnly>(body).ok()?.kind?;
    let answer = match kind.as_str() {
        "LIST_FILES" => list_files(files, caller, body).await,
        "READ_FILE" => read_file(files, caller, body).await,
        "GET_CONTAINERS" => {
            let containers = containers_api::containers(containers).await;
            Ok(json!({"type": "GET_CONTAINERS", "get_containers": containers}))
        }
        _ => return None,
    };
    Some(answer.map(|value| Json(value).into_response()))
}

async fn list_files(
    files: &FilesState,
    caller: Option<&str>,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let call: ListFilesCall = parse_json(body)?;
    let args = call
        .list_files
        .ok_or_else(|| ApiError::bad_request("Expecting 'list_files' to be present"))?;
    let listed = files
        .with_path(caller, Some(args.path), |resolved| {
            files_api::list(&resolved)
        })
        .await?;
    let infos: Vec<FileInfoJson> = listed.iter().map(FileInfoJson::from).collect();
    Ok(json!({"type": "LIST_FILES", "list_files": {"file_infos": infos}}))
}

async fn read_file(
    files: &FilesState,
    caller: Option<&str>,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let call: ReadFileCall = parse_json(body)?;
    let args = call
        .read_file
        .ok_or_else(|| ApiError::bad_request("Expecting 'read_file' to be present"))?;
    let (offset, length) = (args.offset.0, args.length.map(|l| l.0));
    let (data, size) = files
        .with_path(caller, Some(args.path), move |resolved| {
            files_api::read_range(&resolved, offset, length)
        })
        .await?;
    // protobuf JSON writes `bytes` as base64.
    let data = base64::engine::general_purpose::STANDARD.encode(data);
    Ok(json!({"type": "READ_FILE", "read_file": {"size": size, "data": data}}))
}
