//! WHEP signalling (RFC 9725): `POST` the offer as `application/sdp`, expect `201 Created`
//! with the answer and a `Location`; `DELETE` that location at the end. Nothing else, so
//! any WHEP server works.

use std::time::Duration;

use reqwest::{StatusCode, Url, header};

/// Why signalling failed.
#[derive(Debug, thiserror::Error)]
pub enum WhepError {
    #[error("invalid WHEP URL '{0}'")]
    Url(String),
    #[error("POST {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("POST {url}: status {status}: {body}")]
    Status {
        url: String,
        status: StatusCode,
        body: String,
    },
    #[error("POST {0}: 201 without a Location header")]
    NoLocation(String),
    #[error("HTTP client: {0}")]
    Client(reqwest::Error),
}

/// The HTTP client of a run. Proxies from the environment are ignored: the load goes
/// straight to the server.
pub fn http_client() -> Result<reqwest::Client, WhepError> {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(WhepError::Client)
}

/// A session the server accepted.
#[derive(Debug, Clone)]
pub struct WhepSession {
    pub answer: String,
    /// Absolute URL of the session resource.
    pub location: Url,
}

/// Parses and checks a WHEP endpoint URL.
pub fn endpoint(url: &str) -> Result<Url, WhepError> {
    let u = Url::parse(url).map_err(|_| WhepError::Url(url.to_string()))?;
    match u.scheme() {
        "http" | "https" => Ok(u),
        _ => Err(WhepError::Url(url.to_string())),
    }
}

/// POSTs `offer`; returns the answer and the session's location.
pub async fn post_offer(
    client: &reqwest::Client,
    url: &Url,
    offer: String,
    timeout: Duration,
) -> Result<WhepSession, WhepError> {
    let http = |source| WhepError::Http {
        url: url.to_string(),
        source,
    };
    let res = client
        .post(url.clone())
        .header(header::CONTENT_TYPE, "application/sdp")
        .header(header::ACCEPT, "application/sdp")
        .body(offer)
        .timeout(timeout)
        .send()
        .await
        .map_err(http)?;
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.text().await.map_err(http)?;
    if status != StatusCode::CREATED {
        let mut body = body;
        body.truncate(300);
        return Err(WhepError::Status {
            url: url.to_string(),
            status,
            body,
        });
    }
    let location = location
        .and_then(|l| url.join(&l).ok())
        .ok_or_else(|| WhepError::NoLocation(url.to_string()))?;
    Ok(WhepSession {
        answer: body,
        location,
    })
}

/// DELETEs the session; failures only matter to the log (the server times it out anyway).
pub async fn delete(client: &reqwest::Client, session: &WhepSession, timeout: Duration) {
    let res = client
        .delete(session.location.clone())
        .timeout(timeout)
        .send()
        .await;
    match res {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::debug!("DELETE {}: status {}", session.location, r.status()),
        Err(e) => tracing::debug!("DELETE {}: {e}", session.location),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-request HTTP server answering with `response`; returns the request it read.
    async fn serve_once(response: &'static str) -> (Url, tokio::task::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let h = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the body by Content-Length.
            loop {
                let n = s.read(&mut buf).await.unwrap();
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            s.write_all(response.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&req).to_string()
        });
        (Url::parse(&format!("http://{addr}/cam/whep")).unwrap(), h)
    }

    #[tokio::test]
    async fn a_201_gives_the_answer_and_an_absolute_location() {
        let (url, server) = serve_once(
            "HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\nLocation: /cam/whep/abc\r\nContent-Length: 5\r\nConnection: close\r\n\r\nv=0\r\n",
        )
        .await;
        let client = http_client().unwrap();
        let s = post_offer(&client, &url, "v=0 offer".into(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(s.answer, "v=0\r\n");
        assert_eq!(s.location.path(), "/cam/whep/abc");
        assert_eq!(s.location.host_str(), url.host_str());
        let req = server.await.unwrap();
        assert!(req.starts_with("POST /cam/whep HTTP/1.1"), "{req}");
        assert!(
            req.to_ascii_lowercase()
                .contains("content-type: application/sdp"),
            "{req}"
        );
        assert!(req.ends_with("v=0 offer"), "{req}");
    }

    #[tokio::test]
    async fn errors_carry_the_status_and_body() {
        let (url, _server) = serve_once(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"error\":\"none\"}\n",
        )
        .await;
        let client = http_client().unwrap();
        let e = post_offer(&client, &url, "v=0".into(), Duration::from_secs(5))
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(text.contains("404"), "{text}");
        assert!(text.contains("none"), "{text}");
        let (url, _server) =
            serve_once("HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await;
        let e = post_offer(&client, &url, "v=0".into(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(e, WhepError::NoLocation(_)), "{e}");
    }

    #[test]
    fn endpoints() {
        assert!(endpoint("http://127.0.0.1:8889/cam/whep").is_ok());
        assert!(endpoint("rtsp://127.0.0.1/cam").is_err());
        assert!(endpoint("nonsense").is_err());
    }
}
