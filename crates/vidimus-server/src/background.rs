//! Heavy picture work that must not take the CPU from recording: decoding, masking,
//! anonymizing and encoding for re-encoded views, masked copies and publications. Each
//! runs on a thread of its own whose scheduling priority is below the recorder's (nice
//! +10 on Linux; the threads it starts, such as the detectors', inherit it), so that
//! when the cores are short it is the viewer's frame rate that gives, not a camera's
//! recording. A thread of its own, not the blocking pool: an unprivileged process
//! cannot raise a thread's priority again, so a pool thread lowered once would stay
//! low for the database work that follows it.

/// Runs `f` on a new thread named `name` at the lower priority; the receiver gets what
/// it returned (an error if it panicked, or if no thread could be started).
pub fn below_recording<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::sync::oneshot::Receiver<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            lower_priority();
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "could not start a thread");
    }
    rx
}

/// Lowers the calling thread's priority by 10 (Linux: `setpriority` on the thread).
fn lower_priority() {
    // SAFETY: plain system calls on the calling thread; no memory is passed.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if libc::setpriority(libc::PRIO_PROCESS, tid, (now + 10).min(19)) != 0 {
            tracing::debug!("could not lower a picture thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_work_runs_below_the_callers_priority_and_its_result_comes_back() {
        // SAFETY: reads the calling thread's priority.
        let mine = unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) };
        let theirs = super::below_recording("test", || unsafe {
            libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
        })
        .await
        .unwrap();
        assert_eq!(theirs, (mine + 10).min(19));
        let panicked = super::below_recording("test", || -> u8 { panic!("on purpose") }).await;
        assert!(panicked.is_err());
    }
}
