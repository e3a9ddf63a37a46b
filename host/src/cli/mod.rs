//! The `corral` command line.
