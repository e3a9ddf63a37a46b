//! The cap on a wasm task's linear memory (the task's `mem`), over all its memories.

use wasmtime::ResourceLimiter;

/// Tables beyond this many elements are refused (a runaway `table.grow` is no use).
const MAX_TABLE_ELEMENTS: usize = 10_000_000;

#[derive(Debug, Default)]
pub struct MemoryCap {
    max_bytes: Option<u64>,
    /// Bytes of linear memory the program holds, over all its memories.
    used: u64,
    /// What the first refused growth asked for, to explain the trap.
    refused: Option<String>,
}

impl MemoryCap {
    pub fn new(max_bytes: Option<u64>) -> MemoryCap {
        MemoryCap {
            max_bytes,
            ..Default::default()
        }
    }

    /// Why memory was refused, if it was.
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }
}

fn mb(bytes: u64) -> String {
    let mb = bytes as f64 / (1 << 20) as f64;
    format!("{mb:.0} MB")
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current) as u64;
        let total = self.used.saturating_add(growth);
        if let Some(max) = self.max_bytes
            && total > max
        {
            let message = format!(
                "memory limit of {} (the task's mem) reached: the program asked for {} of \
                 linear memory",
                mb(max),
                mb(total)
            );
            self.refused.get_or_insert_with(|| message.clone());
            // An error (not `false`) traps at the `memory.grow`, with this message, instead of
            // leaving a program that ignores -1 to fail somewhere less clear.
            return Err(wasmtime::Error::msg(message));
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
