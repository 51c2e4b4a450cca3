//! Feed discovery on an arbitrary HTML page.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(url) = url::Url::parse("http://127.0.0.1/news/") {
        let _ = thresher::feed::discover(&String::from_utf8_lossy(bytes), &url);
    }
});
