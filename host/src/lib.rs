//! Corral: a data center kernel in the line of Apache Mesos, with every policy a WebAssembly
//! component. See DESIGN.md in the repository for the map.

pub mod agent;
pub mod api;
pub mod bench;
pub mod cli;
pub mod isolation;
pub mod master;
pub mod plugins;
pub mod resources;
pub mod state;
pub mod wasm_task;
