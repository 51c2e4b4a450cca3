//! HTTP fetching: one shared client with timeouts, a redirect limit, a body size
//! cap that counts decompressed bytes (so a gzip bomb costs nothing), conditional
//! GET, and text decoding to UTF-8.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, redirect};
use url::Url;

use crate::config::FetchConfig;

/// At most this many redirects are followed for one request.
pub const MAX_REDIRECTS: usize = 10;

/// Why a fetch failed. The display text is what a user sees in the log.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("HTTP {status}")]
    Status {
        /// The status code.
        status: StatusCode,
        /// `Retry-After`, when the server sent one in seconds.
        retry_after: Option<Duration>,
    },
    /// The body was larger than `fetch.max_body_bytes`.
    #[error("body larger than the {limit}-byte limit (fetch.max_body_bytes)")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The request took too long.
    #[error("timed out ({0})")]
    Timeout(String),
    /// Too many redirects, or a redirect to something other than http(s).
    #[error("redirect refused: {0}")]
    Redirect(String),
    /// Connection refused, reset, DNS failure, TLS error, broken body…
    #[error("{0}")]
    Transport(String),
}

impl FetchError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            Self::Timeout(_) | Self::Transport(_) => true,
            Self::TooLarge { .. } | Self::Redirect(_) => false,
        }
    }

    fn from_reqwest(error: reqwest::Error) -> Self {
        // reqwest's Display hides the cause ("error sending request"); show the chain.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        if error.is_timeout() {
            Self::Timeout(message)
        } else if error.is_redirect() {
            Self::Redirect(message)
        } else {
            Self::Transport(message)
        }
    }
}

/// HTTP validators from an earlier response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    /// `ETag` to send as `If-None-Match`.
    pub etag: Option<String>,
    /// `Last-Modified` to send as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// A successful response with its whole body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL after redirects.
    pub final_url: Url,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// Validators to use for the next conditional GET.
    pub validators: Validators,
}

/// The result of a (possibly conditional) GET.
#[derive(Debug)]
pub enum Response {
    /// `304 Not Modified`: nothing new since the validators were issued.
    NotModified,
    /// A `2xx` response.
    Ok(Fetched),
}

/// The shared HTTP client.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: u64,
}

impl Fetcher {
    /// Builds the client from `[fetch]`.
    pub fn new(config: &FetchConfig) -> Result<Self, FetchError> {
        let redirects = redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
            } else if !matches!(attempt.url().scheme(), "http" | "https") {
                let message = format!("redirect to non-http URL {}", attempt.url());
                attempt.error(message)
            } else if attempt.previous().contains(attempt.url()) {
                let message = format!("redirect loop at {}", attempt.url());
                attempt.error(message)
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .redirect(redirects)
            .build()
            .map_err(FetchError::from_reqwest)?;
        Ok(Self {
            client,
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// GETs `url`, conditionally when `validators` are given, and reads the body
    /// up to the size limit.
    pub async fn get(
        &self,
        url: &Url,
        validators: Option<&Validators>,
    ) -> Result<Response, FetchError> {
        let mut headers = HeaderMap::new();
        if let Some(v) = validators {
            if let Some(value) = v
                .etag
                .as_deref()
                .and_then(|s| HeaderValue::from_str(s).ok())
            {
                headers.insert(header::IF_NONE_MATCH, value);
            }
            if let Some(value) = v
                .last_modified
                .as_deref()
                .and_then(|s| HeaderValue::from_str(s).ok())
            {
                headers.insert(header::IF_MODIFIED_SINCE, value);
            }
        }
        let mut response = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(FetchError::from_reqwest)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Response::NotModified);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        let header_text = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = header_text(header::CONTENT_TYPE);
        let validators = Validators {
            etag: header_text(header::ETAG),
            last_modified: header_text(header::LAST_MODIFIED),
        };
        let final_url = response.url().clone();
        let limit = self.max_body_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        // Read chunk by chunk: the limit applies to decompressed bytes as they arrive.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response::Ok(Fetched {
            final_url,
            content_type,
            body,
            validators,
        }))
    }
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Decodes an HTML document to UTF-8: byte-order mark; then UTF-8 if the
/// bytes are valid UTF-8 with some non-ASCII in them; then the HTTP `charset`;
/// then `<meta charset>` in the first 1024 bytes; then detection (chardetng).
/// Never fails: undecodable bytes become U+FFFD.
///
/// The UTF-8 check comes before the labels (unlike the WHATWG order) because
/// labels are often stale (servers saying iso-8859-1, pages converted to UTF-8
/// but still declaring gb2312), while text in a legacy encoding that happens
/// to form valid multi-byte UTF-8 sequences practically never occurs.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> String {
    let encoding = encoding_rs::Encoding::for_bom(bytes)
        .map(|(encoding, _)| encoding)
        .or_else(|| {
            (!bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()).then_some(encoding_rs::UTF_8)
        })
        .or_else(|| content_type.and_then(charset_param).and_then(label))
        .or_else(|| meta_charset(bytes))
        .unwrap_or_else(|| detect(bytes));
    // `decode` strips a BOM and replaces malformed sequences.
    let (text, _, _) = encoding.decode(bytes);
    text.into_owned()
}

fn label(name: &str) -> Option<&'static encoding_rs::Encoding> {
    let encoding = encoding_rs::Encoding::for_label(name.trim().as_bytes())?;
    // A page cannot really be UTF-16 if its meta tag is readable as ASCII; WHATWG maps it to UTF-8.
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Some(encoding_rs::UTF_8)
    } else {
        Some(encoding)
    }
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']))
    })
}

/// A `<meta charset=…>` or `<meta http-equiv content="…; charset=…">` in the first 1024 bytes.
fn meta_charset(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(offset) = find(&lower[from..], b"<meta") {
        let start = from + offset;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(pos) = find(tag, b"charset=") {
            let value = &tag[pos + b"charset=".len()..];
            let value: Vec<u8> = value
                .iter()
                .copied()
                .skip_while(|b| *b == b'"' || *b == b'\'' || b.is_ascii_whitespace())
                .take_while(|b| {
                    !matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') && !b.is_ascii_whitespace()
                })
                .collect();
            if let Some(encoding) = std::str::from_utf8(&value).ok().and_then(label) {
                return Some(encoding);
            }
        }
        from = start + 5;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// UTF-8 when the bytes are valid UTF-8, else chardetng's guess.
fn detect(bytes: &[u8]) -> &'static encoding_rs::Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return encoding_rs::UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = parse_retry_after(&later).expect("HTTP date");
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn http_charset_decodes_windows_1252() {
        let bytes = b"<p>caf\xe9 \x93quoted\x94</p>";
        let text = decode_html(bytes, Some("text/html; charset=windows-1252"));
        assert_eq!(text, "<p>café “quoted”</p>");
    }

    #[test]
    fn meta_charset_is_honoured_without_http_charset() {
        let bytes = b"<html><head><meta charset=\"iso-8859-15\"></head><body>\xa4</body>";
        assert!(decode_html(bytes, Some("text/html")).contains('€'));
        let bytes =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">\x93\xfa\x96\x7b";
        assert!(decode_html(bytes, None).contains("日本"));
    }

    #[test]
    fn valid_utf8_wins_over_a_stale_label() {
        let bytes = "<meta charset=\"gb2312\"><p>腾讯新闻 café</p>".as_bytes();
        assert_eq!(
            decode_html(bytes, Some("text/html; charset=iso-8859-1")),
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn bom_wins_and_is_stripped() {
        let bytes = b"\xef\xbb\xbf<p>\xc3\xa9</p>";
        assert_eq!(
            decode_html(bytes, Some("text/html; charset=iso-8859-1")),
            "<p>é</p>"
        );
    }

    #[test]
    fn invalid_utf8_without_labels_is_detected_or_replaced() {
        let text = decode_html(b"<p>na\xefve caf\xe9 r\xe9sum\xe9 d\xe9j\xe0 vu</p>", None);
        assert!(text.contains("café"), "{text}");
        let text = decode_html(&[0xc3, 0x28, b'a'], Some("text/html; charset=utf-8"));
        assert!(text.ends_with('a'));
    }
}
