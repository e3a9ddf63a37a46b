#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| corral_fuzz::master_operator(data));
