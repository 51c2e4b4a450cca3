//! The config loader on arbitrary TOML text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = thresher::config::Config::from_toml(text);
    }
});
