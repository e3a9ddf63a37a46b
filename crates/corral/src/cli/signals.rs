//! Waiting for the signals that ask the process to stop.

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. If a handler cannot be installed, waits for the
/// other one only, so a missing handler never turns into an immediate stop.
pub async fn shutdown_requested() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
