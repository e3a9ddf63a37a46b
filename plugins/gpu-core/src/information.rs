//! `/proc/driver/nvidia/gpus/<bus id>/information`: "Key: value" lines, e.g.
//!
//! ```text
//! Model:           Tesla T4
//! GPU UUID:        GPU-5f2b...
//! Device Minor:    0
//! ```

/// What the driver says about one GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInformation {
    pub model: String,
    pub uuid: String,
    pub minor: u32,
}

impl GpuInformation {
    /// Parses the file; the minor number is required (drivers call it "Device Minor",
    /// older ones "Minor Number").
    pub fn parse(text: &str) -> Result<GpuInformation, String> {
        let mut model = String::new();
        let mut uuid = String::new();
        let mut minor = None;
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "model" => model = value.to_string(),
                "gpu uuid" => uuid = value.to_string(),
                "device minor" | "minor number" => {
                    minor = Some(
                        value
                            .parse::<u32>()
                            .map_err(|_| format!("bad minor number {value:?}"))?,
                    );
                }
                _ => {}
            }
        }
        let minor = minor.ok_or("no 'Device Minor' line")?;
        Ok(GpuInformation { model, uuid, minor })
    }
}
