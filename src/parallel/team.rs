//! [`Team`]: worker threads kept alive across training steps.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a waiting thread spins before it yields, then sleeps.
const SPIN: Duration = Duration::from_micros(50);
const YIELD: Duration = Duration::from_micros(200);

/// The job of the current round, as a type-erased pointer to the caller's closure.
type Job = dyn Fn(usize) + Sync;

struct Shared {
    /// The current job: a `*const Job` stored as two words (fat pointer) behind a box the
    /// caller of `run` owns for the round's duration.
    job: AtomicPtr<&'static Job>,
    /// Round number; helpers start a round when it moves past the last one they ran.
    round: AtomicU64,
    /// Helpers that finished the current round.
    done: AtomicUsize,
    /// A helper's job panicked in the current round.
    panicked: AtomicBool,
    shutdown: AtomicBool,
    /// Helpers asleep (or about to be) on `wake`.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

/// Worker threads kept alive across training steps.
///
/// A training step on a mini-batch is short (tens of microseconds for a linear model), and
/// waking a sleeping thread pool for each one costs a good part of that. A team's helpers
/// instead wait for the next job spinning for a short while (50 µs), then yielding, then
/// sleeping, so that back-to-back steps hand work over in about a microsecond (measured
/// round trip on the 2-core VM of `docs/benchmarks.md`), while an idle team costs nothing.
///
/// [`Team::run`] calls `job(w)` once for every worker `w` in `0..size` — `w = 0` on the
/// calling thread — and returns when all are done. Which work a worker does must be a
/// function of `w` alone (a fixed share of chunks), never of timing: results then do not
/// depend on the team's size or on scheduling.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use feasible::parallel::Team;
/// let team = Team::new(3);
/// let sum = AtomicUsize::new(0);
/// for _ in 0..100 {
///     team.run(&|w| { sum.fetch_add(w + 1, Ordering::Relaxed); });
/// }
/// assert_eq!(sum.into_inner(), 100 * (1 + 2 + 3));
/// ```
///
/// A team is `Send` but not `Sync`: rounds are run by one thread at a time, so two rounds
/// never overlap and a job cannot start a round of its own team.
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<feasible::parallel::Team>();
/// ```
pub struct Team {
    size: usize,
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
    /// `Send` but not `Sync`: one thread at a time runs rounds, so two `run`s can never
    /// overlap (nor can a job, which must be `Sync`, reach back into its team).
    _one_caller: std::marker::PhantomData<std::cell::Cell<()>>,
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team").field("size", &self.size).finish()
    }
}

/// Waits until `ready()` holds: spins, then yields, then (if `sleep` is given) sleeps on it.
#[inline]
fn wait_until(ready: impl Fn() -> bool, sleep: Option<&dyn Fn()>) {
    let t0 = Instant::now();
    let mut spins = 0u32;
    while !ready() {
        spins += 1;
        if spins < 64 || !spins.is_multiple_of(64) {
            std::hint::spin_loop();
            continue;
        }
        let waited = t0.elapsed();
        if waited < SPIN {
            std::hint::spin_loop();
        } else if waited < YIELD || sleep.is_none() {
            std::thread::yield_now();
        } else if let Some(sleep) = sleep {
            sleep();
        }
    }
}

impl Team {
    /// A team of `size` workers: the calling thread and `size − 1` helper threads
    /// (`size` 0 is taken as 1, a team without helpers).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            job: AtomicPtr::new(std::ptr::null_mut()),
            round: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut helpers = Vec::with_capacity(size - 1);
        for w in 1..size {
            let sh = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("feasible-worker-{w}"))
                .spawn(move || helper(&sh, w))
            {
                Ok(h) => helpers.push(h),
                // Workers are numbered 1..=helpers.len() without gaps: stop at the first
                // thread that cannot be spawned.
                Err(_) => break,
            }
        }
        // A helper that could not be spawned leaves a smaller team.
        let size = helpers.len() + 1;
        Self {
            size,
            shared,
            helpers,
            _one_caller: std::marker::PhantomData,
        }
    }

    /// Number of workers (the calling thread included).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `job(w)` for every worker `w` in `0..size()`, worker 0 on the calling thread,
    /// and returns when all have finished. A panic in any job is re-raised here, after
    /// every worker has left `job`.
    pub fn run(&self, job: &(dyn Fn(usize) + Sync)) {
        if self.size == 1 {
            job(0);
            return;
        }
        let sh = &*self.shared;
        // SAFETY: the erased `'static` never outlives this call: the pointer is published
        // for this round only, and we do not return (nor unwind) before every helper has
        // reported that it finished running the job (`done == helpers`).
        let erased: &'static Job =
            unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync + '_), &'static Job>(job) };
        let slot: &&'static Job = &erased;
        sh.done.store(0, Relaxed);
        sh.job
            .store((slot as *const &'static Job).cast_mut(), Relaxed);
        sh.round.fetch_add(1, SeqCst);
        if sh.sleepers.load(SeqCst) > 0 {
            let _g = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
            sh.wake.notify_all();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let helpers = self.helpers.len();
        wait_until(|| sh.done.load(Acquire) == helpers, None);
        let theirs = sh.panicked.swap(false, Relaxed);
        if let Err(p) = mine {
            resume_unwind(p);
        }
        if theirs {
            panic!("a feasible worker thread panicked");
        }
    }
}

fn helper(sh: &Shared, w: usize) {
    let mut seen = 0u64;
    loop {
        let sleep = || {
            let mut g = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
            sh.sleepers.fetch_add(1, SeqCst);
            while sh.round.load(SeqCst) == seen && !sh.shutdown.load(SeqCst) {
                g = sh.wake.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            sh.sleepers.fetch_sub(1, SeqCst);
        };
        wait_until(
            || sh.round.load(Acquire) != seen || sh.shutdown.load(Relaxed),
            Some(&sleep),
        );
        if sh.shutdown.load(Acquire) {
            return;
        }
        seen = sh.round.load(Acquire);
        let p = sh.job.load(Acquire);
        // SAFETY: `run` published a pointer to a live `&Job` for this round and waits for
        // our `done` before it returns.
        let job: &Job = unsafe { *p };
        if catch_unwind(AssertUnwindSafe(|| job(w))).is_err() {
            sh.panicked.store(true, Relaxed);
        }
        sh.done.fetch_add(1, Release);
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, SeqCst);
        {
            let _g = self.shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake.notify_all();
        }
        for h in self.helpers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worker_runs_each_round_once() {
        for size in [1, 2, 4] {
            let team = Team::new(size);
            let hits: Vec<AtomicUsize> = (0..size).map(|_| AtomicUsize::new(0)).collect();
            for round in 0..500 {
                team.run(&|w| {
                    hits[w].fetch_add(1, Relaxed);
                });
                if round % 100 == 0 {
                    // Long enough for helpers to fall asleep: they must wake again.
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            assert!(hits.iter().all(|h| h.load(Relaxed) == 500));
        }
    }

    #[test]
    fn a_round_where_every_worker_panics_leaves_the_next_round_clean() {
        let team = Team::new(2);
        assert!(catch_unwind(AssertUnwindSafe(|| team.run(&|_| panic!("boom")))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| team.run(&|_| {}))).is_ok());
    }

    #[test]
    fn a_panicking_job_is_reraised_and_the_team_still_works() {
        let team = Team::new(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(&|w| {
                if w == 1 {
                    panic!("boom");
                }
            })
        }));
        assert!(r.is_err());
        let n = AtomicUsize::new(0);
        team.run(&|_| {
            n.fetch_add(1, Relaxed);
        });
        assert_eq!(n.into_inner(), 2);
    }
}
