//! Compiles Corral's Mesos .proto files (proto/) into one encoded FileDescriptorSet, which the
//! transcoder loads at run time (no system `protoc` needed).

use std::path::PathBuf;

/// Every file, as Mesos names it relative to `include/`.
const FILES: &[&str] = &[
    "mesos/v1/mesos.proto",
    "mesos/v1/scheduler/scheduler.proto",
    "mesos/v1/quota/quota.proto",
    "mesos/v1/master/master.proto",
    "mesos/v1/agent/agent.proto",
    "mesos/v1/executor/executor.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::Compiler::new(["proto"])?
        .include_imports(true)
        .open_files(FILES)?
        .encode_file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("mesos_v1.bin");
    std::fs::write(out, descriptors)?;
    Ok(())
}
