//! Where slow secret hashes run, so they never block the host's async
//! workers.
//!
//! Checking a secret a person chose means an Argon2id hash (about 19 MiB and
//! tens of milliseconds of CPU, by design: RFC 6819 §5.1.4.1.3). Run on an
//! async worker thread, a burst of them stalls every other request that
//! worker serves. The server therefore hands such a check to a
//! [`BlockingRunner`]: by default one that uses tokio's blocking pool when
//! a tokio runtime is current (feature `tokio`), at most a few checks at a
//! time, and otherwise runs it in place. Checks of generated secrets (one
//! SHA-256, microseconds) always run in place.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A check to run: slow, synchronous computation.
pub type BlockingJob = Box<dyn FnOnce() + Send + 'static>;

/// The future of a [`BlockingJob`] run by a [`BlockingRunner`].
pub type BlockingFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Runs slow, synchronous checks (Argon2id verification of imported client
/// secrets) where they do not block the host's async runtime.
///
/// Set with [`ServerBuilder::blocking_runner`](crate::ServerBuilder::blocking_runner).
///
/// # Contract
///
/// - The returned future completes once `job` has run, or once it will
///   never run (it was dropped, or panicked): a check that did not run
///   counts as a failed one, never as a success.
/// - The runner bounds how many jobs run at once; a job beyond the bound
///   waits its turn. Waiting is bounded by what the limiter lets through:
///   only attempts it admitted reach a slow check.
pub trait BlockingRunner: Send + Sync + 'static {
    /// Runs `job`, completing when it is done.
    fn run(&self, job: BlockingJob) -> BlockingFuture;
}

/// Runs every job in place, on the thread that polls the future: for hosts
/// without an async runtime, or that have no imported secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct InlineRunner;

impl BlockingRunner for InlineRunner {
    fn run(&self, job: BlockingJob) -> BlockingFuture {
        Box::pin(async move { job() })
    }
}

/// Runs jobs on tokio's blocking thread pool (`spawn_blocking`) when a tokio
/// runtime is current, at most `max_concurrent` at a time; in place when
/// none is (it never panics outside a runtime). The default runner when the
/// `tokio` feature is on.
#[cfg(feature = "tokio")]
pub struct TokioRunner {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    max_concurrent: usize,
}

#[cfg(feature = "tokio")]
impl TokioRunner {
    /// A runner that lets at most `max_concurrent` jobs (at least one) run at
    /// once; the others wait their turn, in order.
    pub fn new(max_concurrent: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(max_concurrent)),
            max_concurrent,
        }
    }
}

#[cfg(feature = "tokio")]
impl Default for TokioRunner {
    /// As many concurrent jobs as the machine has cores: each is one core's
    /// work for a few tens of milliseconds.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }
}

#[cfg(feature = "tokio")]
impl fmt::Debug for TokioRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioRunner")
            .field("max_concurrent", &self.max_concurrent)
            .finish()
    }
}

#[cfg(feature = "tokio")]
impl BlockingRunner for TokioRunner {
    fn run(&self, job: BlockingJob) -> BlockingFuture {
        let permits = self.permits.clone();
        Box::pin(async move {
            let Ok(handle) = tokio::runtime::Handle::try_current() else {
                return job();
            };
            // A closed semaphore (never closed here) would mean: do not run.
            let Ok(permit) = permits.acquire_owned().await else {
                return;
            };
            // The permit moves into the job, so it is held while the hash runs
            // even if this future is dropped (the request cancelled) meanwhile.
            let task = handle.spawn_blocking(move || {
                let _permit = permit;
                job();
            });
            // A panicked job never reported its result: a failed check.
            let _ = task.await;
        })
    }
}

/// The runner a server uses unless told otherwise.
pub(crate) fn default_runner() -> Box<dyn BlockingRunner> {
    #[cfg(feature = "tokio")]
    {
        Box::new(TokioRunner::default())
    }
    #[cfg(not(feature = "tokio"))]
    {
        Box::new(InlineRunner)
    }
}

/// Object safety, checked at compile time: the server holds a `dyn`.
#[allow(dead_code)]
fn _obj_safe(_: &dyn BlockingRunner) {}

impl fmt::Debug for dyn BlockingRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlockingRunner")
    }
}
