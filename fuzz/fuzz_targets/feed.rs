//! Feed recovery and parsing on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(url) = url::Url::parse("http://127.0.0.1/feed.xml") {
        let _ = thresher::feed::parse(bytes, &url, None);
    }
});
