#![no_main]
//! Fuzzes `zoom_core::testing::fuzz::join_token_verify`; see that function for the input layout.

libfuzzer_sys::fuzz_target!(|data: &[u8]| zoom_core::testing::fuzz::join_token_verify(data));
