//! Where the bindings' async calls run. Opening a profile needs tokio: it runs on the
//! library's own runtime ([`run`]) while the foreign side awaits the result, so no foreign
//! executor has to know tokio (and UniFFI's fallback runtime is not relied on). Every other
//! call only queues a job to the messenger's thread and waits for its answer ([`queued`]):
//! that needs no runtime, and awaiting it directly keeps the order in which the app made its
//! calls (a job is queued on the call's first poll; foreign executors poll in call order).

use std::future::Future;
use std::sync::OnceLock;

use crate::error::SottoError;

/// The runtime, started on first use (two worker threads: the messengers' own threads do
/// the heavy work).
fn runtime() -> Result<&'static tokio::runtime::Runtime, SottoError> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sotto-uniffi")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
        .ok_or_else(|| SottoError::internal("cannot start the library's runtime"))
}

/// Runs `work` on the runtime and waits for its result. A panic in it becomes
/// [`crate::ErrorCode::Internal`] instead of crossing into the foreign language.
pub(crate) async fn run<T, F>(work: F) -> Result<T, SottoError>
where
    T: Send + 'static,
    F: Future<Output = sotto_core::Result<T>> + Send + 'static,
{
    match runtime()?.spawn(work).await {
        Ok(result) => result.map_err(SottoError::from),
        Err(join) => Err(SottoError::internal(format!(
            "a bug in the library: {}",
            panic_message(join)
        ))),
    }
}

/// Awaits a call that queues a job to the messenger's thread and waits for its answer.
pub(crate) async fn queued<T>(
    call: impl Future<Output = sotto_core::Result<T>>,
) -> Result<T, SottoError> {
    call.await.map_err(SottoError::from)
}

fn panic_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned()),
        Err(join) => join.to_string(),
    }
}
