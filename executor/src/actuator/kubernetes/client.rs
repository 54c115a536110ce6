//! The only code that talks to an API server: sends a [`KubeRequest`] through a kube-rs
//! [`kube::Client`] on a one-thread tokio runtime, with a timeout, and returns the JSON answer.

use std::time::Duration;

use serde_json::Value;

use super::requests::{KubeRequest, Method};

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// HTTP status from the API server (`None`: no answer: connection, TLS, timeout).
    pub status: Option<u16>,
    /// The server's `Status.message`, or the transport error.
    pub message: String,
}

/// A connected kube client and the runtime it runs on.
pub struct KubeClient {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    timeout: Duration,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl KubeClient {
    /// Connects with `kubeconfig` when given, otherwise as `kubectl` would
    /// ([`kube::Client::try_default`]: in-cluster service account, then `$KUBECONFIG`, then
    /// `~/.kube/config`). Fails cleanly, with kube's reason, when there is no configuration.
    pub fn connect(
        kubeconfig: Option<&std::path::Path>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
        let client = runtime.block_on(async {
            match kubeconfig {
                None => kube::Client::try_default()
                    .await
                    .map_err(|e| format!("no Kubernetes configuration: {e}")),
                Some(path) => {
                    let file = kube::config::Kubeconfig::read_from(path)
                        .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
                    let config = kube::Config::from_custom_kubeconfig(
                        file,
                        &kube::config::KubeConfigOptions::default(),
                    )
                    .await
                    .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
                    kube::Client::try_from(config)
                        .map_err(|e| format!("kubeconfig {}: {e}", path.display()))
                }
            }
        })?;
        Ok(KubeClient {
            runtime,
            client,
            timeout,
        })
    }

    /// Sends `request`; the answer's JSON (`Value::Null` for an empty body).
    pub fn send(&self, request: &KubeRequest) -> Result<Value, SendError> {
        let no_answer = |message: String| SendError {
            status: None,
            message,
        };
        let method = match request.method {
            Method::Get => http::Method::GET,
            Method::Patch => http::Method::PATCH,
            Method::Post => http::Method::POST,
            Method::Delete => http::Method::DELETE,
        };
        let mut builder = http::Request::builder()
            .method(method)
            .uri(request.path.as_str());
        if let Some(ct) = request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct);
        }
        let body = match &request.body {
            Some(v) => serde_json::to_vec(v).map_err(|e| no_answer(e.to_string()))?,
            None => Vec::new(),
        };
        let http_request = builder
            .body(body)
            .map_err(|e| no_answer(format!("invalid request: {e}")))?;
        let text = self.runtime.block_on(async {
            tokio::time::timeout(self.timeout, self.client.request_text(http_request)).await
        });
        match text {
            Err(_) => Err(no_answer(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
            Ok(Err(kube::Error::Api(status))) => Err(SendError {
                status: Some(status.code),
                message: status.message.clone(),
            }),
            Ok(Err(e)) => Err(no_answer(e.to_string())),
            Ok(Ok(text)) if text.trim().is_empty() => Ok(Value::Null),
            Ok(Ok(text)) => serde_json::from_str(&text)
                .map_err(|e| no_answer(format!("answer is not JSON: {e}"))),
        }
    }
}
