//! The generated program's logic, run by a tiny interpreter of exactly the instructions
//! `assemble` emits. The real kernel runs it in `device_bpf_kernel_tests`.

use super::*;
use crate::devices::SAFE_RULES;

/// Runs `program` on one request; panics on anything the assembler should never emit.
fn run(program: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | kind, major, minor];
    let mut regs = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..100_000 {
        let insn = program[pc];
        pc += 1;
        let (dst, src) = (insn.dst(), insn.src());
        match insn.code {
            LDX_MEM_W => {
                assert_eq!(src, 1, "loads only from the context");
                regs[dst] = u64::from(ctx[(insn.off / 4) as usize]);
            }
            ALU32_MOV_X => regs[dst] = regs[src] & 0xffff_ffff,
            ALU32_AND_K => regs[dst] = (regs[dst] as u32 & insn.imm as u32) as u64,
            ALU32_RSH_K => regs[dst] = (regs[dst] as u32 >> insn.imm) as u64,
            ALU64_MOV_K => regs[dst] = insn.imm as i64 as u64,
            JMP32_JNE_K => {
                if regs[dst] as u32 != insn.imm as u32 {
                    pc = (pc as i64 + i64::from(insn.off)) as usize;
                }
            }
            JMP_EXIT => return regs[0],
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
    panic!("the program does not end")
}

fn program(rules: &[&str]) -> Vec<Insn> {
    assemble(&parse_rules(rules).expect("rules parse"))
}

#[test]
fn parses_rules_as_devices_list_writes_them() {
    let rule: DeviceRule = "c 195:0 rwm".parse().expect("parses");
    assert_eq!(
        rule,
        DeviceRule {
            kind: DeviceType::Char,
            major: Some(195),
            minor: Some(0),
            access: ACC_READ | ACC_WRITE | ACC_MKNOD,
        }
    );
    let rule: DeviceRule = "b *:* m".parse().expect("parses");
    assert_eq!(
        (rule.kind, rule.major, rule.minor),
        (DeviceType::Block, None, None)
    );
    assert_eq!(rule.access, ACC_MKNOD);
    let all: DeviceRule = "a".parse().expect("parses");
    assert_eq!(
        (all.kind, all.major, all.access),
        (DeviceType::All, None, 7)
    );
    parse_rules(SAFE_RULES).expect("the safe set parses");
}

#[test]
fn refuses_bad_rules_with_the_reason() {
    for (rule, why) in [
        ("x 1:3 rwm", "type"),
        ("c 1-3 rwm", "MAJOR:MINOR"),
        ("c one:3 r", "number"),
        ("c 1:3 rwx", "r, w and m"),
        ("c 1:3", "TYPE MAJOR:MINOR ACCESS"),
        ("", "TYPE MAJOR:MINOR ACCESS"),
    ] {
        let err = rule.parse::<DeviceRule>().expect_err(rule).to_string();
        assert!(err.contains(why), "{rule:?}: {err}");
    }
}

#[test]
fn nothing_is_allowed_without_rules() {
    let empty = assemble(&[]);
    assert_eq!(run(&empty, DEV_CHAR, ACC_READ, 1, 3), 0);
    assert_eq!(run(&empty, DEV_BLOCK, ACC_MKNOD, 8, 0), 0);
}

#[test]
fn the_safe_set_and_one_gpu() {
    let mut rules: Vec<&str> = SAFE_RULES.to_vec();
    rules.push("c 195:0 rw");
    let p = program(&rules);
    let rw = ACC_READ | ACC_WRITE;
    // Granted: the safe nodes, any pty, the GPU, mknod of anything.
    assert_eq!(run(&p, DEV_CHAR, rw, 1, 3), 1, "/dev/null");
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 9), 1, "/dev/urandom");
    assert_eq!(run(&p, DEV_CHAR, rw, 136, 42), 1, "a pty");
    assert_eq!(run(&p, DEV_CHAR, rw, 195, 0), 1, "the granted GPU");
    assert_eq!(
        run(&p, DEV_CHAR, ACC_MKNOD, 195, 1),
        1,
        "mknod of any char node"
    );
    assert_eq!(
        run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0),
        1,
        "mknod of any block node"
    );
    // Denied: another GPU, mknod beside rw on the GPU, a disk, /dev/mem.
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 195, 1), 0, "another GPU");
    assert_eq!(
        run(&p, DEV_CHAR, rw | ACC_MKNOD, 195, 0),
        0,
        "m was not granted"
    );
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 0, "a disk");
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 1), 0, "/dev/mem");
    // The type matters: block 1:3 is not char 1:3.
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 1, 3), 0, "block 1:3");
}

#[test]
fn wildcards_and_access_bits() {
    let p = program(&["c 195:* r", "b 8:* w", "a *:5 m"]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 195, 7), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 195, 7), 0, "only r");
    assert_eq!(run(&p, DEV_BLOCK, ACC_WRITE, 8, 16), 1);
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 16), 0, "only w");
    assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 3, 5), 1, "a: any type");
    assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 3, 5), 1, "a: any type");
    assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 3, 6), 0, "minor 5 only");
    // An access bit the kernel may add one day is never granted.
    assert_eq!(run(&p, DEV_CHAR, ACC_READ | 8, 195, 7), 0);
    let everything = program(&["a"]);
    assert_eq!(run(&everything, DEV_BLOCK, 7, 259, 1), 1);
}

#[test]
fn numbers_above_i32_compare_as_unsigned() {
    // Device numbers are u32 in the context; the immediate holds their bits.
    let p = program(&["c 4095:4294967295 r"]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 4095, u32::MAX), 1);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 4095, u32::MAX - 1), 0);
}
