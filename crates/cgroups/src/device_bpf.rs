//! The cgroup v2 devices controller as an eBPF program: device rules as `devices.list`
//! writes them ("c 195:0 rwm", "b *:* m", "a") compiled into a `BPF_PROG_TYPE_CGROUP_DEVICE`
//! program that allows a request matching any rule and denies everything else.
//!
//! The kernel calls the program with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
//! u32 minor; }` (uapi `linux/bpf.h`): the device type in the low 16 bits of `access_type`
//! (block 1, char 2), the access in the high 16 (mknod 1, read 2, write 4). It returns 1 to
//! allow, 0 to deny. Only the handful of instructions this program needs are encoded here.

use super::IsolationError;

/// `BPF_DEVCG_DEV_*` and `BPF_DEVCG_ACC_*` of uapi `linux/bpf.h`.
pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;

/// One eBPF instruction (`struct bpf_insn`), 8 bytes as the kernel reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// Destination register in the low nibble, source in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes: class | operation | source (uapi linux/bpf_common.h, linux/bpf.h).
pub const LDX_MEM_W: u8 = 0x01 | 0x60; // BPF_LDX | BPF_MEM | BPF_W
pub const ALU32_MOV_X: u8 = 0x04 | 0xb0 | 0x08; // BPF_ALU | BPF_MOV | BPF_X
pub const ALU32_AND_K: u8 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
pub const ALU32_RSH_K: u8 = 0x04 | 0x70; // BPF_ALU | BPF_RSH | BPF_K
pub const ALU64_MOV_K: u8 = 0x07 | 0xb0; // BPF_ALU64 | BPF_MOV | BPF_K
pub const JMP32_JNE_K: u8 = 0x06 | 0x50; // BPF_JMP32 | BPF_JNE | BPF_K
pub const JMP_EXIT: u8 = 0x05 | 0x90; // BPF_JMP | BPF_EXIT

// Registers: r1 holds the context on entry, r0 the result on exit.
const R0: u8 = 0;
const R1: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;
const SCRATCH: u8 = 6;

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            regs: (dst & 0x0f) | (src << 4),
            off,
            imm,
        }
    }
    pub fn dst(&self) -> usize {
        usize::from(self.regs & 0x0f)
    }
    pub fn src(&self) -> usize {
        usize::from(self.regs >> 4)
    }
}

/// Which devices a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    Char,
    Block,
    /// "a": every device, any numbers.
    All,
}

/// One parsed rule; `None` numbers are `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub kind: DeviceType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `ACC_*` bits.
    pub access: u32,
}

impl std::str::FromStr for DeviceRule {
    type Err = IsolationError;

    /// "TYPE MAJOR:MINOR ACCESS" as the v1 `devices.allow` file takes it, or "a" alone.
    fn from_str(text: &str) -> Result<DeviceRule, IsolationError> {
        let bad = |why: &str| IsolationError::DeviceRule {
            rule: text.to_string(),
            why: why.to_string(),
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (kind, numbers, access) = match fields.as_slice() {
            ["a"] => (DeviceType::All, "*:*", "rwm"),
            [kind, numbers, access] => {
                let kind = match *kind {
                    "c" => DeviceType::Char,
                    "b" => DeviceType::Block,
                    "a" => DeviceType::All,
                    _ => return Err(bad("the type must be c, b or a")),
                };
                (kind, *numbers, *access)
            }
            _ => return Err(bad("expected \"TYPE MAJOR:MINOR ACCESS\"")),
        };
        let (major, minor) = numbers
            .split_once(':')
            .ok_or_else(|| bad("expected MAJOR:MINOR"))?;
        let number = |n: &str| -> Result<Option<u32>, IsolationError> {
            match n {
                "*" => Ok(None),
                n => n
                    .parse()
                    .map(Some)
                    .map_err(|_| bad("a device number must be a number or *")),
            }
        };
        let mut bits = 0;
        for c in access.chars() {
            bits |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => return Err(bad("the access must be made of r, w and m")),
            };
        }
        if bits == 0 {
            return Err(bad("the access is empty"));
        }
        Ok(DeviceRule {
            kind,
            major: number(major)?,
            minor: number(minor)?,
            access: bits,
        })
    }
}

/// Parses every rule; the first bad one is the error.
pub fn parse_rules<S: AsRef<str>>(rules: &[S]) -> Result<Vec<DeviceRule>, IsolationError> {
    rules.iter().map(|r| r.as_ref().parse()).collect()
}

/// The program: load the request's type, access and numbers into registers, then one block
/// per rule that falls through to the next rule on any mismatch and returns 1 when all
/// match; after the last rule, return 0 (default deny).
pub fn assemble(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut program = vec![
        Insn::new(LDX_MEM_W, TYPE, R1, 0, 0),
        Insn::new(ALU32_MOV_X, ACCESS, TYPE, 0, 0),
        Insn::new(ALU32_AND_K, TYPE, 0, 0, 0xffff),
        Insn::new(ALU32_RSH_K, ACCESS, 0, 0, 16),
        Insn::new(LDX_MEM_W, MAJOR, R1, 4, 0),
        Insn::new(LDX_MEM_W, MINOR, R1, 8, 0),
    ];
    for rule in rules {
        program.extend(rule_block(rule));
    }
    program.push(Insn::new(ALU64_MOV_K, R0, 0, 0, 0));
    program.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    program
}

/// One rule's checks; every jump lands on the instruction after the block.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    // Each check is (instructions before its jump, register, value): the jump skips the
    // rest of the block when the register differs from the value.
    let mut checks: Vec<(Vec<Insn>, u8, u32)> = Vec::new();
    match rule.kind {
        DeviceType::Char => checks.push((Vec::new(), TYPE, DEV_CHAR)),
        DeviceType::Block => checks.push((Vec::new(), TYPE, DEV_BLOCK)),
        DeviceType::All => {}
    }
    // Every asked access bit must be granted: (access & !granted) == 0. Unknown bits are
    // never granted.
    checks.push((
        vec![
            Insn::new(ALU32_MOV_X, SCRATCH, ACCESS, 0, 0),
            Insn::new(ALU32_AND_K, SCRATCH, 0, 0, !rule.access as i32),
        ],
        SCRATCH,
        0,
    ));
    if let Some(major) = rule.major {
        checks.push((Vec::new(), MAJOR, major));
    }
    if let Some(minor) = rule.minor {
        checks.push((Vec::new(), MINOR, minor));
    }
    let len: usize = checks.iter().map(|(pre, ..)| pre.len() + 1).sum::<usize>() + 2;
    let mut block = Vec::with_capacity(len);
    for (pre, reg, value) in checks {
        block.extend(pre);
        // The offset counts from the instruction after the jump.
        let to_end = (len - block.len() - 1) as i16;
        block.push(Insn::new(JMP32_JNE_K, reg, 0, to_end, value as i32));
    }
    block.push(Insn::new(ALU64_MOV_K, R0, 0, 0, 1));
    block.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    block
}

#[cfg(test)]
#[path = "device_bpf_tests.rs"]
mod tests;
