//! Task sandboxes over HTTP, as Mesos' `/files` endpoints and the agent operator calls
//! LIST_FILES and READ_FILE. A path is the absolute sandbox directory the agent reports for a
//! task (`/state` `tasks[].sandbox`), or a file below it; sandboxes of tasks the agent has
//! forgotten stay reachable under `/state` `sandbox_root` (`<root>/<framework>/<task>/<container>`).
//! A path with `..`, or one that leaves its sandbox through a symlink, is refused (the kernel
//! resolves it beneath the sandbox: `sandbox_open.rs`), and so is a hard link the task's
//! user does not own; a path in no sandbox is 404; a caller the ACLs refuse
//! `access_sandboxes` on the task's user is 403; the sandbox root and its framework level
//! (many tasks' sandboxes at once) are not browsed. Every file and directory is looked at
//! off the async threads.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{FromRef, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::run_as::RunAs;
use super::sandbox_open;
use super::task_store::TaskStore;
use corral_authz::{Action, Authorizer, Request};
use corral_http::auth::Caller;
use corral_http::error::ApiError;

/// The actions the agent asks its authorizer about (`access_sandboxes` here, `set_log_level`
/// on its operator API).
pub const ENFORCED: [Action; 2] = [Action::AccessSandboxes, Action::SetLogLevel];

/// A read without `length` returns at most this much (Mesos reads 16 pages by default).
const DEFAULT_READ_LENGTH: u64 = 64 * 1024;
/// No read returns more than this, whatever `length` asks.
const MAX_READ_LENGTH: u64 = 4 * 1024 * 1024;

/// What the sandbox endpoints work with.
#[derive(Clone)]
pub struct FilesState {
    /// Where the agent's tasks run now.
    pub tasks: Arc<TaskStore>,
    /// Where every task sandbox lives (`<work_dir>/sandboxes`).
    pub sandbox_root: PathBuf,
    /// The agent's authorizer (`--acls`): who may read which sandboxes (`access_sandboxes`,
    /// on the task's user) and, on the operator API, set the logging level.
    pub authorizer: Arc<dyn Authorizer>,
}

impl FilesState {
    /// The sandboxes a path may be in: the tasks' the agent knows, and the sandbox root,
    /// which keeps the sandboxes of tasks that ended and were forgotten.
    fn sandboxes(&self) -> Vec<PathBuf> {
        self.tasks.task_places().into_iter().map(|p| p.3).collect()
    }

    /// Checks `path` against the sandboxes, and `caller`'s `access_sandboxes` on the user of
    /// the task whose sandbox it is (a forgotten task's: no user), then runs `then` on it,
    /// off the async threads.
    pub async fn with_path<T: Send + 'static>(
        &self,
        caller: Option<&str>,
        path: Option<String>,
        then: impl FnOnce(Resolved) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let sandboxes = self.sandboxes();
        let root = self.sandbox_root.clone();
        let users = self.tasks.sandbox_users();
        let authorizer = self.authorizer.clone();
        let caller = caller.map(str::to_string);
        tokio::task::spawn_blocking(move || {
            let mut resolved = resolve_in(&sandboxes, &root, path.as_deref())?;
            let owner = users
                .iter()
                .filter(|(sandbox, _)| resolved.virtual_path.starts_with(sandbox))
                .max_by_key(|(sandbox, _)| sandbox.as_os_str().len())
                .and_then(|(_, user)| user.as_deref());
            let request = Request {
                subject: caller.as_deref(),
                action: Action::AccessSandboxes,
                object: owner,
            };
            authorizer
                .authorize(&request)
                .map_err(|denied| ApiError::forbidden(denied.to_string()))?;
            // Root never counts as the owner: a root task's hard link to any file is root's.
            resolved.owner_uid = owner
                .and_then(|user| RunAs::lookup(user).ok())
                .map(|user| user.uid)
                .filter(|uid| *uid != 0);
            then(resolved)
        })
        .await
        .map_err(|e| ApiError::internal(format!("reading the sandbox panicked: {e}")))?
    }
}

/// Under Mesos' names (`src/files/files.cpp`), with the `.json` names Mesos 0.25 deprecated
/// that older tools still call (docs/upgrades.md), and under the agent's libprocess id
/// (`/slave(1)/files/...`).
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    FilesState: FromRef<S>,
{
    let mut router = Router::new();
    for prefix in ["/files", "/slave(1)/files"] {
        for suffix in ["", ".json"] {
            router = router
                .route(
                    &format!("{prefix}/browse{suffix}"),
                    axum::routing::get(browse),
                )
                .route(&format!("{prefix}/read{suffix}"), axum::routing::get(read))
                .route(
                    &format!("{prefix}/download{suffix}"),
                    axum::routing::get(download),
                );
        }
    }
    router
}

/// One entry of `/files/browse`, as Mesos writes it (mode as `ls -l`, mtime in seconds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BrowseEntry {
    pub path: String,
    pub nlink: u64,
    pub size: u64,
    pub mtime: f64,
    pub mode: String,
    pub uid: String,
    pub gid: String,
}

/// The answer of `/files/read`: `data` from `offset` (with offset=-1, the file's size).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReadAnswer {
    pub data: String,
    pub offset: u64,
}

#[derive(Debug, Deserialize)]
struct PathQuery {
    path: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    path: Option<String>,
    offset: Option<i64>,
    length: Option<i64>,
}

/// A sandbox path checked against the agent's known sandboxes.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The path as asked (what answers echo back).
    pub virtual_path: PathBuf,
    /// The sandbox it is in, and where below it.
    root: PathBuf,
    relative: PathBuf,
    /// The uid of the task's user, who may own hard links (`None`: nobody may).
    owner_uid: Option<u32>,
}

impl Resolved {
    /// The file or directory, opened beneath its sandbox; a hard link the task's user does
    /// not own is refused. Blocks.
    pub fn open(&self) -> Result<(std::fs::File, std::fs::Metadata), ApiError> {
        let raw = self.virtual_path.display();
        let file = sandbox_open::open_beneath(&self.root, &self.relative).map_err(|e| {
            match e.raw_os_error() {
                Some(libc::ENOENT | libc::ENOTDIR) => {
                    ApiError::not_found(format!("'{raw}' does not exist"))
                }
                Some(libc::EXDEV | libc::ELOOP) => ApiError::forbidden(format!(
                    "'{raw}' leads outside its sandbox (through a symlink); refused"
                )),
                _ => ApiError::not_found(format!("cannot open '{raw}': {e}")),
            }
        })?;
        let meta = file
            .metadata()
            .map_err(|e| ApiError::not_found(format!("cannot stat '{raw}': {e}")))?;
        if let Some(refusal) = sandbox_open::hard_link_refusal(&meta, self.owner_uid) {
            return Err(ApiError::forbidden(format!("'{raw}': {refusal}")));
        }
        Ok((file, meta))
    }
}

/// Where every task sandbox of the agent lives (`<root>/<framework>/<task>/<container>`).
pub fn sandbox_root(work_dir: &Path) -> PathBuf {
    work_dir.join("sandboxes")
}

/// Checks `path` against the `sandboxes` of the known tasks, else the sandbox `root`
/// (forgotten tasks' sandboxes, `<root>/<framework>/<task>/<container>`, each on its own).
/// Pure: the file is opened later, beneath its sandbox ([`Resolved::open`]).
pub fn resolve_in(
    sandboxes: &[PathBuf],
    root: &Path,
    path: Option<&str>,
) -> Result<Resolved, ApiError> {
    let raw = match path {
        Some(p) if !p.trim().is_empty() => p,
        _ => return Err(ApiError::bad_request("Expecting 'path' query parameter")),
    };
    let asked = PathBuf::from(raw);
    if !asked.is_absolute() {
        return Err(ApiError::bad_request(format!(
            "path '{raw}' is not absolute: give a task's sandbox directory as the agent reports it"
        )));
    }
    if asked.components().any(|c| c == Component::ParentDir) {
        return Err(ApiError::forbidden(format!(
            "path '{raw}' contains '..'; sandbox paths may not leave their sandbox"
        )));
    }
    let sandbox = match sandboxes.iter().find(|s| asked.starts_with(s)) {
        Some(sandbox) => sandbox.clone(),
        None if asked.starts_with(root) => {
            // A forgotten task's runs (`<root>/<framework>/<task>`, what `corral task logs`
            // lists) or one of their sandboxes, never above: the root and a framework's
            // level hold many tasks' sandboxes.
            let below: Vec<Component> = asked
                .strip_prefix(root)
                .map(|p| p.components().collect())
                .unwrap_or_default();
            if below.len() < 2 {
                return Err(ApiError::forbidden(format!(
                    "'{raw}' holds the sandboxes of many tasks; give one task's \
                     (<root>/<framework>/<task>[/<container>])"
                )));
            }
            let depth = below.len().min(3);
            below[..depth]
                .iter()
                .fold(root.to_path_buf(), |p, c| p.join(c))
        }
        None => {
            return Err(ApiError::not_found(format!(
                "'{raw}' is not in the sandbox of any task on this agent"
            )));
        }
    };
    let relative = asked
        .strip_prefix(&sandbox)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    Ok(Resolved {
        virtual_path: asked,
        root: sandbox,
        relative,
        owner_uid: None,
    })
}

async fn browse(
    State(files): State<FilesState>,
    caller: Caller,
    Query(query): Query<PathQuery>,
) -> Result<Json<Vec<BrowseEntry>>, ApiError> {
    let infos = files
        .with_path(caller.name(), query.path, |resolved| list(&resolved))
        .await?;
    Ok(Json(infos.iter().map(FileInfo::to_browse).collect()))
}

async fn read(
    State(files): State<FilesState>,
    caller: Caller,
    Query(query): Query<ReadQuery>,
) -> Result<Json<ReadAnswer>, ApiError> {
    let offset = query.offset.unwrap_or(0);
    if offset == -1 {
        let size = files
            .with_path(caller.name(), query.path, |resolved| file_size(&resolved))
            .await?;
        return Ok(Json(ReadAnswer {
            data: String::new(),
            offset: size,
        }));
    }
    let length = match query.length {
        None | Some(-1) => None,
        Some(l) => Some(
            u64::try_from(l)
                .map_err(|_| ApiError::bad_request(format!("Negative length provided: {l}"))),
        ),
    };
    let (data, offset) = files
        .with_path(caller.name(), query.path, move |resolved| {
            let offset = u64::try_from(offset).map_err(|_| {
                ApiError::bad_request(format!("Negative offset provided: {offset}"))
            })?;
            let length = length.transpose()?;
            let (data, _) = read_range(&resolved, offset, length)?;
            Ok((data, offset))
        })
        .await?;
    Ok(Json(ReadAnswer {
        data: String::from_utf8_lossy(&data).into_owned(),
        offset,
    }))
}

async fn download(
    State(files): State<FilesState>,
    caller: Caller,
    Query(query): Query<PathQuery>,
) -> Result<Response, ApiError> {
    let (resolved, file) = files
        .with_path(caller.name(), query.path, |resolved| {
            let (file, meta) = resolved.open()?;
            if meta.is_dir() {
                return Err(ApiError::bad_request(format!(
                    "'{}' is a directory",
                    resolved.virtual_path.display()
                )));
            }
            Ok((resolved, file))
        })
        .await?;
    let mut file = tokio::fs::File::from_std(file);
    // Streamed in chunks: a task's log may be larger than the agent wants to hold.
    let body = async_stream::stream! {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => yield Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(&buf[..n])),
                Err(e) => {
                    yield Err(e);
                    break;
                }
            }
        }
    };
    let name = resolved
        .virtual_path
        .file_name()
        .map(|n| n.to_string_lossy().replace('"', ""))
        .unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// What the agent knows of one file, for both `/files/browse` and LIST_FILES.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub path: String,
    pub nlink: u64,
    pub size: u64,
    pub mtime_nanos: i64,
    pub mode: u32,
    pub uid: String,
    pub gid: String,
}

impl FileInfo {
    fn of(path: &Path, meta: &std::fs::Metadata) -> FileInfo {
        FileInfo {
            path: path.display().to_string(),
            nlink: meta.nlink(),
            size: meta.size(),
            mtime_nanos: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            mode: meta.mode(),
            uid: user_name(meta.uid()),
            gid: group_name(meta.gid()),
        }
    }

    pub fn to_browse(&self) -> BrowseEntry {
        BrowseEntry {
            path: self.path.clone(),
            nlink: self.nlink,
            size: self.size,
            mtime: self.mtime_nanos as f64 / 1e9,
            mode: mode_string(self.mode),
            uid: self.uid.clone(),
            gid: self.gid.clone(),
        }
    }
}

/// A directory's entries (sorted by name), or the file itself. Blocks.
pub fn list(resolved: &Resolved) -> Result<Vec<FileInfo>, ApiError> {
    let (dir, meta) = resolved.open()?;
    if !meta.is_dir() {
        return Ok(vec![FileInfo::of(&resolved.virtual_path, &meta)]);
    }
    // The directory opened beneath the sandbox, listed through its descriptor: a rename
    // after the open cannot point the listing elsewhere.
    let by_fd = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    let entries =
        std::fs::read_dir(&by_fd).map_err(|e| ApiError::not_found(format!("cannot list: {e}")))?;
    let mut infos = Vec::new();
    for entry in entries.flatten() {
        // lstat: a symlink is listed as itself, never followed out of the sandbox.
        let Ok(meta) = entry.metadata() else { continue };
        infos.push(FileInfo::of(
            &resolved.virtual_path.join(entry.file_name()),
            &meta,
        ));
    }
    infos.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(infos)
}

pub fn file_size(resolved: &Resolved) -> Result<u64, ApiError> {
    Ok(open_file(resolved)?.1)
}

/// The file (not a directory) and its size. Blocks.
fn open_file(resolved: &Resolved) -> Result<(std::fs::File, u64), ApiError> {
    let (file, meta) = resolved.open()?;
    if meta.is_dir() {
        return Err(ApiError::bad_request(format!(
            "'{}' is a directory",
            resolved.virtual_path.display()
        )));
    }
    Ok((file, meta.len()))
}

/// Reads up to `length` bytes (a default and a cap apply) at `offset`; returns the bytes and
/// the file's size. An offset past the end reads nothing. Blocks.
pub fn read_range(
    resolved: &Resolved,
    offset: u64,
    length: Option<u64>,
) -> Result<(Vec<u8>, u64), ApiError> {
    use std::io::{Read, Seek, SeekFrom};
    let (mut file, size) = open_file(resolved)?;
    let length = length.unwrap_or(DEFAULT_READ_LENGTH).min(MAX_READ_LENGTH);
    if offset >= size {
        return Ok((Vec::new(), size));
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| ApiError::internal(format!("cannot seek: {e}")))?;
    let mut data = Vec::new();
    file.take(length)
        .read_to_end(&mut data)
        .map_err(|e| ApiError::internal(format!("cannot read: {e}")))?;
    Ok((data, size))
}

/// `ls -l` style permissions: "drwxr-xr-x".
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFLNK => 'l',
        libc::S_IFIFO => 'p',
        libc::S_IFSOCK => 's',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        _ => '-',
    };
    let mut out = String::with_capacity(10);
    out.push(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

/// A name from a `name:x:id:...` database such as /etc/passwd, or the number itself.
fn name_in(db: &str, id: u32) -> String {
    std::fs::read_to_string(db)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let found = fields.nth(1)?.parse::<u32>().ok()? == id;
                found.then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

fn user_name(uid: u32) -> String {
    name_in("/etc/passwd", uid)
}

fn group_name(gid: u32) -> String {
    name_in("/etc/group", gid)
}
