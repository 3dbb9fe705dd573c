#![no_main]
//! Fuzzes `zoom_core::testing::fuzz::signature_verify`; see that function for the input layout.

libfuzzer_sys::fuzz_target!(|data: &[u8]| zoom_core::testing::fuzz::signature_verify(data));
