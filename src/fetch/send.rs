//! One hop of a request chain: its headers, the GET of one URL that follows
//! no redirect, the body read up to its limit (counted after
//! decompression, so a gzip bomb costs nothing), and `Retry-After`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

use super::{FetchError, Fetched, Response, Validators};

/// Longest `Retry-After` honoured as such; longer ones are clamped.
pub(super) const MAX_BLOCK: Duration = Duration::from_secs(24 * 3600);

/// What one hop of a request chain answered.
pub(super) enum Hop {
    /// A final answer (2xx or 304).
    Done(Response),
    /// A redirect to this URL.
    Redirect(Url),
}

/// The headers of one hop: the configured ones (credentials only to the
/// host first asked, as browsers and reqwest do) and the validators of a
/// conditional GET.
pub(super) fn hop_headers(
    configured: &HeaderMap,
    validators: Option<&Validators>,
    same_host: bool,
) -> HeaderMap {
    let mut headers = configured.clone();
    if !same_host {
        for name in [
            header::COOKIE,
            header::AUTHORIZATION,
            header::PROXY_AUTHORIZATION,
        ] {
            headers.remove(name);
        }
    }
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
    headers
}

/// One GET with `headers`, following no redirect; reads the body up to `limit` bytes.
pub(super) async fn send(
    client: &reqwest::Client,
    url: &Url,
    headers: HeaderMap,
    limit: u64,
) -> Result<Hop, FetchError> {
    let mut response = client
        .get(url.clone())
        .headers(headers)
        .send()
        .await
        .map_err(FetchError::from_reqwest)?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Hop::Done(Response::NotModified));
    }
    if status.is_redirection() {
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        return match location.as_deref().map(|l| url.join(l.trim())) {
            Some(Ok(next)) => Ok(Hop::Redirect(next)),
            Some(Err(e)) => Err(FetchError::Redirect(format!(
                "{status} to {:?}, which is not a URL ({e})",
                location.unwrap_or_default()
            ))),
            None => Err(FetchError::Redirect(format!(
                "{status} without a Location header"
            ))),
        };
    }
    if !status.is_success() {
        // Retry-After means something only on 429 and 503 (RFC 9110 §10.2.3);
        // on a 404 it is noise and must not postpone the source for a day.
        let retry_after = (status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::SERVICE_UNAVAILABLE)
            .then(|| response.headers().get(header::RETRY_AFTER))
            .flatten()
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
    Ok(Hop::Done(Response::Ok(Fetched {
        final_url,
        content_type,
        body,
        validators,
    })))
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (a date in the past
/// means now). The result is clamped to `MAX_BLOCK` here, where the value
/// enters, so no deadline computed from it can overflow; digits too many for
/// a `u64` are a wait as long as that too.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_BLOCK));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO).min(MAX_BLOCK))
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
        assert_eq!(parse_retry_after("-5"), None);
    }

    #[test]
    fn retry_after_beyond_a_day_is_clamped_where_it_is_parsed() {
        for huge in [
            "18446744073709551615",
            "100000000000000",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_retry_after(huge), Some(MAX_BLOCK), "{huge}");
        }
        let far = "Fri, 31 Dec 9999 23:59:59 GMT";
        assert_eq!(parse_retry_after(far), Some(MAX_BLOCK));
    }
}
