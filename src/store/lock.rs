//! Taking `<file>.lock` within a timeout. A wait blocks in the kernel on a thread of its
//! own, and one that times out leaves that thread blocked (a `flock` cannot be called off),
//! so a process keeps at most [`MAX_WAITERS`] of them per lock file: past that, writes try
//! the lock without a thread. A lock another process holds for good so costs a bounded
//! number of threads and descriptors, not one per write ever after, and once a wait has
//! timed out a caller can refuse at once ([`stuck_for`]) rather than wait again.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use super::StoreError;

/// A thread of this process blocked in `flock` on a lock file.
struct Waiter {
    id: u64,
    lock: PathBuf,
    since: Instant,
    /// The write it waited for gave up: whoever holds the lock has held it past a timeout.
    given_up: bool,
}

/// The waiters of this process.
static WAITERS: Mutex<Vec<Waiter>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Blocked waits per lock file and process. Blocked waiters are woken by the kernel the
/// moment the lock is free, where a write that only tries it loses to them, so every
/// write of a busy process (8 threads beating in the load test) gets one; the bound is for
/// a lock that never comes free.
pub const MAX_WAITERS: usize = 8;

fn waiters() -> MutexGuard<'static, Vec<Waiter>> {
    // A panic elsewhere while it was held leaves a list that is still a list.
    WAITERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How long the lock on `lock_path` has been stuck: some write of this process gave up
/// waiting for it, and its holder has not let go since. `None`: not known to be stuck.
pub fn stuck_for(lock_path: &Path) -> Option<Duration> {
    waiters()
        .iter()
        .find(|w| w.lock == lock_path && w.given_up)
        .map(|w| w.since.elapsed())
}

/// Takes the exclusive lock on `lock` (opened from `path`), giving up after `timeout`.
pub fn acquire(lock: &File, path: &Path, timeout: Duration) -> Result<(), StoreError> {
    let error = |cause| StoreError::Lock {
        path: path.to_owned(),
        cause,
    };
    match lock.try_lock() {
        Ok(()) => return Ok(()),
        Err(fs::TryLockError::WouldBlock) => {}
        Err(fs::TryLockError::Error(cause)) => return Err(error(cause)),
    }
    let deadline = Instant::now() + timeout;
    let timed_out = || StoreError::LockTimeout {
        path: path.to_owned(),
        after: timeout,
    };
    if waiters().iter().filter(|w| w.lock == path).count() >= MAX_WAITERS {
        return poll(lock, deadline).map_err(error)?.ok_or_else(timed_out);
    }
    // Wait in a blocking flock, which the kernel wakes the moment the lock is free (polling
    // loses that race to blocked writers under contention), on a thread so the wait can be
    // given up. The waiter locks a second handle of the same open file, and a flock belongs
    // to the open file: once it returns the lock is ours. Given up on, the waiter's late
    // lock is released when its handle and ours are both closed.
    let waiter = lock.try_clone().map_err(error)?;
    let (done, result) = mpsc::channel();
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    waiters().push(Waiter {
        id,
        lock: path.to_owned(),
        since: Instant::now(),
        given_up: false,
    });
    let spawned = std::thread::Builder::new()
        .name("hbmon-lock".to_owned())
        .spawn(move || {
            let locked = waiter.lock();
            waiters().retain(|w| w.id != id);
            // The receiver is gone only if the wait was given up.
            let _ = done.send(locked);
        });
    if let Err(cause) = spawned {
        waiters().retain(|w| w.id != id);
        return Err(error(cause));
    }
    match result.recv_timeout(timeout) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(cause)) => Err(error(cause)),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // Unless it got the lock just now: then it is gone from the list, and the
            // lock it took is let go as its handle closes.
            for w in waiters().iter_mut().filter(|w| w.id == id) {
                w.given_up = true;
            }
            Err(timed_out())
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(error(io::Error::other(
            "the thread waiting for the lock ended early",
        ))),
    }
}

/// Tries the lock until `deadline`, backing off from 1 ms to 50 ms between tries; `None`
/// at the deadline.
fn poll(lock: &File, deadline: Instant) -> io::Result<Option<()>> {
    let mut pause = Duration::from_millis(1);
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(Some(())),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(cause)) => return Err(cause),
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threads() -> usize {
        fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
    }

    #[test]
    fn writes_that_give_up_on_a_held_lock_leave_a_bounded_number_of_waiters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hb.json.lock");
        let held = File::create(&path).unwrap();
        held.lock().unwrap();
        assert_eq!(stuck_for(&path), None);
        let before = threads();
        for _ in 0..MAX_WAITERS * 3 {
            let mine = File::open(&path).unwrap();
            let err = acquire(&mine, &path, Duration::from_millis(20)).unwrap_err();
            assert!(matches!(err, StoreError::LockTimeout { .. }), "{err}");
        }
        assert_eq!(
            waiters().iter().filter(|w| w.lock == path).count(),
            MAX_WAITERS
        );
        // Other tests run threads of their own: the bound is "not one per write".
        assert!(
            threads() < before + MAX_WAITERS * 2,
            "{before} -> {}",
            threads()
        );
        assert!(stuck_for(&path).is_some());
        held.unlock().unwrap();
        let mine = File::open(&path).unwrap();
        acquire(&mine, &path, Duration::from_secs(10)).unwrap();
        drop(mine);
        let deadline = Instant::now() + Duration::from_secs(10);
        while stuck_for(&path).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            stuck_for(&path),
            None,
            "the waiter let go once it had the lock"
        );
    }
}
