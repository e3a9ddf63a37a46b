//! Generates prost types from Corral's Mesos .proto files (crates/mesos-proto/proto) for the
//! protobuf scheduler client (src/mesos_protobuf.rs). protox compiles them: no system protoc.

const PROTO_ROOT: &str = "../crates/mesos-proto/proto";
const FILES: &[&str] = &[
    "mesos/v1/mesos.proto",
    "mesos/v1/scheduler/scheduler.proto",
    "mesos/v1/quota/quota.proto",
    "mesos/v1/master/master.proto",
    "mesos/v1/agent/agent.proto",
    "mesos/v1/executor/executor.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let descriptors = protox::compile(FILES, [PROTO_ROOT])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
