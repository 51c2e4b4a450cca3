//! robots.txt parsing and matching on arbitrary bytes, as the fetcher reads
//! a file: decoded lossily, parsed for our agent, asked about URLs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thresher::fetch::RobotsRules;
use thresher::state::RobotsRecord;

fuzz_target!(|bytes: &[u8]| {
    // The first line, if any, is a path to ask about; the rest is the file.
    let (path, file) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (&b"/"[..], bytes),
    };
    let record = RobotsRecord {
        status: 200,
        body: String::from_utf8_lossy(file).into_owned(),
        fetched_at: chrono::Utc::now(),
    };
    let rules = RobotsRules::from_record(&record, "Thresher");
    let _ = rules.crawl_delay();
    if let RobotsRules::Parsed(robot) = &rules {
        let path = String::from_utf8_lossy(path);
        let _ = robot.allowed(&format!("http://127.0.0.1{path}"));
        let _ = robot.allowed("http://127.0.0.1/");
    }
});
