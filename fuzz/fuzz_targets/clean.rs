//! The cleaner on arbitrary bytes, decoded as a fetched page would be.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let html = thresher::clean::decode_html(bytes, None);
    let base = url::Url::parse("http://127.0.0.1/a/page").ok();
    let _ = thresher::clean::clean(&html, base.as_ref());
});
