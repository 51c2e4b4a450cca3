//! One reason for a failed request, read off reqwest's error chain.
//!
//! reqwest's own text repeats the URL and names its layers: "error sending
//! request for url (https://…): client error (Connect): dns error: failed
//! to lookup address information: …". The log line already names the feed
//! or article once (in its span), so only what went wrong is kept: "cannot
//! connect: dns error: failed to lookup address information: …".

/// Labels in the chain that only name a layer or repeat what the lead says.
const LABELS: &[&str] = &[
    "error sending request",
    "request or response body error",
    "error decoding response body",
    "error following redirect",
    "tcp connect error",
    // reqwest's resolver wrapper, under hyper's "dns error".
    "error resolving DNS",
];

/// The causes of `error` that say what went wrong, outermost first, without
/// reqwest's and hyper's layer labels and without the URL.
pub(super) fn causes(error: &reqwest::Error) -> Vec<String> {
    let url = error.url().map(|u| u.as_str().to_string());
    let mut out: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(c) = cause {
        let text = c.to_string();
        let text = text.trim();
        // hyper-util's "client error (Connect)" names a kind, not a reason;
        // a nested reqwest error repeats the URL.
        let label = text.starts_with("client error (")
            || LABELS.contains(&text)
            || url.as_deref().is_some_and(|u| text.contains(u));
        // An io::Error often wraps an error with the same text.
        let repeated = out.last().is_some_and(|last| last.contains(text));
        if !label && !repeated && !text.is_empty() {
            out.push(text.to_string());
        }
        cause = c.source();
    }
    out
}

/// What the request was doing, for the start of the reason.
pub(super) fn lead(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "cannot read the body"
    } else if error.is_redirect() {
        "cannot follow the redirect"
    } else if error.is_builder() {
        "invalid request"
    } else {
        "request failed"
    }
}

/// What a timed-out request was waiting for (reqwest's "operation timed
/// out" says no more than the variant).
pub(super) fn timeout_context(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "while connecting"
    } else if error.is_body() || error.is_decode() {
        "while reading the body"
    } else {
        "waiting for the response"
    }
}

/// `lead: cause: cause`, or the lead alone.
pub(super) fn describe(error: &reqwest::Error) -> String {
    let causes = causes(error);
    if causes.is_empty() {
        lead(error).to_string()
    } else {
        format!("{}: {}", lead(error), causes.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use reqwest::dns::{Name, Resolve, Resolving};

    use super::super::FetchError;

    /// A resolver that knows no name, so no lookup leaves the machine.
    struct NoSuchHost;

    impl Resolve for NoSuchHost {
        fn resolve(&self, name: Name) -> Resolving {
            let message = format!("no such host {:?}", name.as_str());
            Box::pin(async move { Err(message.into()) })
        }
    }

    async fn error_for(client: reqwest::Client, url: &str) -> (FetchError, String) {
        let error = client.get(url).send().await.expect_err("the request fails");
        let fetch = FetchError::from_reqwest(error);
        let text = fetch.to_string();
        (fetch, text)
    }

    fn assert_one_reason(text: &str, url: &str) {
        assert!(!text.contains(url), "the URL is not repeated: {text}");
        assert!(!text.contains("127.0.0.1"), "nor its host: {text}");
        for label in ["error sending request", "client error", "tcp connect error"] {
            assert!(!text.contains(label), "no layer label: {text}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_one_reason_without_the_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        drop(listener);
        let url = format!("http://{addr}/feed.xml");
        let (error, text) = error_for(reqwest::Client::new(), &url).await;
        assert!(matches!(error, FetchError::Transport(_)), "{error:?}");
        assert!(text.starts_with("cannot connect: "), "{text}");
        assert_eq!(text, "cannot connect: Connection refused (os error 111)");
        assert_one_reason(&text, &url);
    }

    #[tokio::test]
    async fn a_failed_lookup_is_one_reason_without_the_url() {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(NoSuchHost))
            .build()
            .expect("client");
        let url = "http://feeds.example.test/rss.xml";
        let (error, text) = error_for(client, url).await;
        assert!(matches!(error, FetchError::Transport(_)), "{error:?}");
        assert_eq!(
            text,
            "cannot connect: dns error: no such host \"feeds.example.test\""
        );
        assert_one_reason(&text, url);
    }

    #[tokio::test]
    async fn a_timeout_says_what_it_waited_for() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        // Accepts and never answers.
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .expect("client");
        let url = format!("http://{addr}/slow");
        let (error, text) = error_for(client, &url).await;
        server.abort();
        assert!(matches!(error, FetchError::Timeout(_)), "{error:?}");
        assert_eq!(text, "timed out (waiting for the response)");
    }
}
