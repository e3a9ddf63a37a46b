//! Components that tests load and the production binary never ships: plugins that misbehave
//! on purpose (loop, trap, allocate without bound, ask for devices their manifest does not
//! grant), and the example programs. `build.rs` builds them from the `plugins/` workspace for
//! wasm32-wasip2; only crates that list this one as a dev-dependency (and the end-to-end
//! tests) build it.

pub mod pki;

/// Misbehaving plugins for tests, by name.
pub const FIXTURES: &[&str] = &[
    "loop-allocator",
    "membomb-allocator",
    "trap-allocator",
    "huge-allocator",
    "trap-executor",
    "sda-isolator",
    "trap-isolator",
    "bad-hook",
    "loop-executor",
    "bad-authorizer",
];

macro_rules! component {
    ($stem:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $stem, ".wasm"))
    };
}

static LOOP_ALLOCATOR: &[u8] = component!("loop_allocator");
static MEMBOMB_ALLOCATOR: &[u8] = component!("membomb_allocator");
static TRAP_ALLOCATOR: &[u8] = component!("trap_allocator");
static HUGE_ALLOCATOR: &[u8] = component!("huge_allocator");
static TRAP_EXECUTOR: &[u8] = component!("trap_executor");
static SDA_ISOLATOR: &[u8] = component!("sda_isolator");
static TRAP_ISOLATOR: &[u8] = component!("trap_isolator");
static BAD_HOOK: &[u8] = component!("bad_hook");
static LOOP_EXECUTOR: &[u8] = component!("loop_executor");
static BAD_AUTHORIZER: &[u8] = component!("bad_authorizer");

/// A hook built against `corral:plugin@0.1.0` (plugins/fixtures/legacy-hook): the host must
/// load it unchanged. `on-launch` labels every task `built-against=0.1.0`.
pub static LEGACY_HOOK: &[u8] = component!("legacy_hook");

static SDA_ISOLATOR_MANIFEST: &str =
    include_str!("../../../plugins/fixtures/sda-isolator/manifest.toml");
static TRAP_ISOLATOR_MANIFEST: &str =
    include_str!("../../../plugins/fixtures/trap-isolator/manifest.toml");

/// The example wasm task (examples/wasi-task): a WASI program that counts words and touches
/// its sandbox.
pub static WASI_TASK_EXAMPLE: &[u8] = component!("wasi-task");

/// The component of a misbehaving test plugin (see [`FIXTURES`]):
/// `loop-allocator` (`allocate` never returns), `membomb-allocator` (`allocate` allocates
/// without bound), `trap-allocator` (`allocate` panics), `huge-allocator` (`inspect` returns
/// 100 MB), `trap-executor` (`launch` panics), `sda-isolator` (plans ask for `/dev/sda`,
/// which its manifest does not grant), `trap-isolator` (`prepare` panics), `bad-hook`
/// (misbehaves as its config `HOW:CALL` says: loop, trap, huge, fail or deny in one export)
/// `loop-executor` (`launch`, or `on-event`, never returns) and `bad-authorizer`
/// (`authorize` loops, traps or fails, or `init` fails, as its config says). Every other
/// call of theirs behaves.
pub fn fixture(name: &str) -> Option<&'static [u8]> {
    match name {
        "loop-allocator" => Some(LOOP_ALLOCATOR),
        "membomb-allocator" => Some(MEMBOMB_ALLOCATOR),
        "trap-allocator" => Some(TRAP_ALLOCATOR),
        "huge-allocator" => Some(HUGE_ALLOCATOR),
        "trap-executor" => Some(TRAP_EXECUTOR),
        "sda-isolator" => Some(SDA_ISOLATOR),
        "trap-isolator" => Some(TRAP_ISOLATOR),
        "bad-hook" => Some(BAD_HOOK),
        "loop-executor" => Some(LOOP_EXECUTOR),
        "bad-authorizer" => Some(BAD_AUTHORIZER),
        _ => None,
    }
}

/// The manifest (TOML) of an isolator fixture.
pub fn fixture_manifest(name: &str) -> Option<&'static str> {
    match name {
        "sda-isolator" => Some(SDA_ISOLATOR_MANIFEST),
        "trap-isolator" => Some(TRAP_ISOLATOR_MANIFEST),
        _ => None,
    }
}
