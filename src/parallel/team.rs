//! [`Team`]: worker threads kept alive across training steps.

use std::any::Any;
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

/// Layout of [`Shared::state`]: the helpers inside the current round in the low bits, a
/// "closed" flag, and the round's number above them.
const INSIDE: u64 = (1 << 24) - 1;
const CLOSED: u64 = 1 << 24;
const ROUND_SHIFT: u32 = 25;

/// `state` of round `r` while it is open to helpers and none has joined.
fn open(r: u64) -> u64 {
    r << ROUND_SHIFT
}

struct Shared {
    /// The current job: a pointer to the caller's `&Job` (a fat pointer in a local of
    /// `for_each`, alive for the round's duration).
    job: AtomicPtr<&'static Job>,
    /// Items of the current round (`job(i)` for `i < items`).
    items: AtomicUsize,
    /// The next item to claim.
    next: AtomicUsize,
    /// Round number; helpers look for work when it moves past the last one they saw.
    round: AtomicU64,
    /// Which round helpers may still join, whether it is closed, and how many are inside
    /// (see [`INSIDE`]). A helper joins only by a compare-and-swap from "this round, open",
    /// so one that wakes late, after its round closed or a newer one began, stays out.
    state: AtomicU64,
    /// The first panic of a helper's item in the current round, re-raised by the caller.
    panicked: Mutex<Option<Box<dyn Any + Send>>>,
    shutdown: AtomicBool,
    /// Helpers that have started running (their thread start-up done).
    started: AtomicUsize,
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
/// [`Team::for_each`] calls `job(i)` exactly once for every item `i` in `0..n`: the calling
/// thread and the helpers claim items one at a time until none are left, and the call
/// returns when every item is done. A helper that is slow to arrive — its core busy with
/// another program, or still waking up — is not waited for: the items go to whoever is
/// free. (A helper that has joined and is then descheduled mid-item is waited for, up to
/// a scheduler time slice; `docs/benchmarks.md` measures a busy core.) Which thread runs an item
/// is therefore a matter of timing, and what an item computes must depend on `i` alone
/// (a chunk's own output slot, a fixed range of parameters): results then do not depend
/// on the team's size or on scheduling.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use feasible::parallel::Team;
/// let team = Team::new(3);
/// let sum = AtomicUsize::new(0);
/// for _ in 0..100 {
///     team.for_each(10, &|i| { sum.fetch_add(i, Ordering::Relaxed); });
/// }
/// assert_eq!(sum.into_inner(), 100 * 45);
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
    /// `Send` but not `Sync`: one thread at a time runs rounds, so two `for_each`s can
    /// never overlap (nor can a job, which must be `Sync`, reach back into its team).
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

/// Claims and runs items of the current round until none are left.
fn claim_all(sh: &Shared, n: usize, job: &(dyn Fn(usize) + Sync + '_)) {
    loop {
        let i = sh.next.fetch_add(1, Relaxed);
        if i >= n {
            return;
        }
        job(i);
    }
}

impl Team {
    /// A team of `size` workers: the calling thread and `size − 1` helper threads
    /// (`size` 0 is taken as 1, a team without helpers). Returns once every helper is
    /// running.
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            job: AtomicPtr::new(std::ptr::null_mut()),
            items: AtomicUsize::new(0),
            next: AtomicUsize::new(0),
            round: AtomicU64::new(0),
            state: AtomicU64::new(CLOSED),
            panicked: Mutex::new(None),
            shutdown: AtomicBool::new(false),
            started: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut helpers = Vec::with_capacity(size - 1);
        for w in 1..size {
            let sh = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("feasible-worker-{w}"))
                .spawn(move || helper(&sh))
            {
                Ok(h) => helpers.push(h),
                Err(_) => break,
            }
        }
        // A helper that could not be spawned leaves a smaller team. The team is ready
        // once every helper runs: the first steps then neither wait for a thread still
        // starting nor share a core with its start-up (which also allocates, e.g. the
        // thread's name, so a session's steps stay free of allocations).
        let size = helpers.len() + 1;
        wait_until(|| shared.started.load(Acquire) == helpers.len(), None);
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

    /// Runs `job(i)` once for every item `i` in `0..n`, on the calling thread and on the
    /// helpers that are free, and returns when all have finished.
    ///
    /// # Panics
    /// A panic in an item is re-raised here with its own payload (the calling thread's
    /// first, else a helper's), after every worker has left `job`; items not yet started
    /// when it happened may not run.
    pub fn for_each(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        if self.helpers.is_empty() || n <= 1 {
            (0..n).for_each(job);
            return;
        }
        let sh = &*self.shared;
        // SAFETY: the erased `'static` never outlives this call: the pointer is read only
        // by helpers that joined this round, and we do not return (nor unwind) before the
        // round is closed to newcomers and every helper that joined has left.
        let erased: &'static Job =
            unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync + '_), &'static Job>(job) };
        let slot: &&'static Job = &erased;
        sh.job
            .store((slot as *const &'static Job).cast_mut(), Relaxed);
        sh.items.store(n, Relaxed);
        sh.next.store(0, Relaxed);
        let round = sh.round.load(Relaxed) + 1;
        // Publishes job, items and next to every helper whose join succeeds.
        sh.state.store(open(round), Release);
        sh.round.store(round, SeqCst);
        if sh.sleepers.load(SeqCst) > 0 {
            let _g = sh.lock.lock().unwrap_or_else(|e| e.into_inner());
            sh.wake.notify_all();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| claim_all(sh, n, job)));
        sh.state.fetch_or(CLOSED, AcqRel);
        wait_until(|| sh.state.load(Acquire) & INSIDE == 0, None);
        let theirs = sh.panicked.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Err(p) = mine {
            // Dropping a payload may itself panic: do not let that happen here.
            std::mem::forget(theirs);
            resume_unwind(p);
        }
        if let Some(p) = theirs {
            resume_unwind(p);
        }
    }
}

/// Counts a helper out of its round when dropped, however it leaves.
struct Leave<'a>(&'a AtomicU64);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Release);
    }
}

/// Joins round `r` if it is still open: the helper is then counted inside until it leaves.
fn join(sh: &Shared, r: u64) -> bool {
    let want = open(r);
    let mut s = sh.state.load(Acquire);
    loop {
        if s & !INSIDE != want {
            return false;
        }
        match sh.state.compare_exchange_weak(s, s + 1, AcqRel, Acquire) {
            Ok(_) => return true,
            Err(now) => s = now,
        }
    }
}

fn helper(sh: &Shared) {
    sh.started.fetch_add(1, Release);
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
        if !join(sh, seen) {
            // Too late: the caller finished this round's items without us.
            continue;
        }
        // SAFETY: we joined the round while it was open, so `for_each` published a pointer
        // to a live `&Job` for it (before the state we acquired) and will not return
        // before we leave.
        let job: &Job = unsafe { *sh.job.load(Acquire) };
        let _leave = Leave(&sh.state);
        let n = sh.items.load(Relaxed);
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| claim_all(sh, n, job))) {
            let mut first = sh.panicked.lock().unwrap_or_else(|e| e.into_inner());
            if first.is_none() {
                *first = Some(p);
            } else {
                // Only the first payload is kept; dropping another could panic again.
                std::mem::forget(p);
            }
        }
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
    fn every_item_runs_once_per_round() {
        for size in [1, 2, 4] {
            let team = Team::new(size);
            for n in [0, 1, 2, 3, 7, 64] {
                let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                for round in 0..300 {
                    team.for_each(n, &|i| {
                        hits[i].fetch_add(1, Relaxed);
                    });
                    if round % 100 == 0 {
                        // Long enough for helpers to fall asleep: they must wake again.
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                assert!(
                    hits.iter().all(|h| h.load(Relaxed) == 300),
                    "size {size}, n {n}"
                );
            }
        }
    }

    /// Helpers that arrive after the caller has run every item must stay out of the
    /// round: a job runs only while its `for_each` is in progress. Short pauses between
    /// rounds make helpers arrive late (asleep, or yielding) in many of them.
    #[test]
    fn late_helpers_never_run_a_finished_round() {
        let team = Team::new(3);
        let rounds = 3000;
        let open: Vec<AtomicBool> = (0..rounds).map(|_| AtomicBool::new(false)).collect();
        let runs = AtomicUsize::new(0);
        for (r, flag) in open.iter().enumerate() {
            flag.store(true, SeqCst);
            team.for_each(2, &|_| {
                assert!(flag.load(SeqCst), "round {r} ran after it returned");
                runs.fetch_add(1, Relaxed);
            });
            flag.store(false, SeqCst);
            match r % 7 {
                0 => std::thread::sleep(Duration::from_micros(300)),
                1 => std::thread::sleep(Duration::from_micros(60)),
                _ => {}
            }
        }
        assert_eq!(runs.into_inner(), 2 * rounds);
    }

    /// No item waits for a particular thread: whichever worker takes item 0 blocks until
    /// every other item is done, which only works if the others go to other workers.
    #[test]
    fn items_go_to_whichever_worker_is_free() {
        let team = Team::new(2);
        if team.size() < 2 {
            return; // no helper could be spawned: item 0 would wait for itself
        }
        for _ in 0..50 {
            let done = AtomicUsize::new(0);
            team.for_each(8, &|i| {
                if i == 0 {
                    wait_until(|| done.load(Acquire) == 7, None);
                } else {
                    done.fetch_add(1, Release);
                }
            });
        }
    }

    #[test]
    fn a_round_where_every_item_panics_leaves_the_next_round_clean() {
        let team = Team::new(2);
        assert!(catch_unwind(AssertUnwindSafe(|| team.for_each(4, &|_| panic!("boom")))).is_err());
        assert!(catch_unwind(AssertUnwindSafe(|| team.for_each(4, &|_| {}))).is_ok());
    }

    #[test]
    fn a_panicking_item_is_reraised_with_its_payload_and_the_team_still_works() {
        let team = Team::new(2);
        for _ in 0..20 {
            let r = catch_unwind(AssertUnwindSafe(|| {
                team.for_each(4, &|i| {
                    if i == 3 {
                        std::panic::panic_any(37usize);
                    }
                })
            }));
            assert_eq!(r.unwrap_err().downcast_ref::<usize>(), Some(&37));
            let n = AtomicUsize::new(0);
            team.for_each(5, &|_| {
                n.fetch_add(1, Relaxed);
            });
            assert_eq!(n.into_inner(), 5);
        }
    }

    /// A panic payload whose own drop panics must not kill a helper inside its round
    /// (the caller would wait for it forever).
    #[test]
    fn a_payload_that_panics_on_drop_does_not_hang_the_team() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("drop");
            }
        }
        let team = Team::new(2);
        for _ in 0..20 {
            let r = catch_unwind(AssertUnwindSafe(|| {
                team.for_each(8, &|_| std::panic::panic_any(Bomb))
            }));
            // The payload is a `Bomb`: keep it from exploding in this test.
            std::mem::forget(r);
            let n = AtomicUsize::new(0);
            team.for_each(3, &|_| {
                n.fetch_add(1, Relaxed);
            });
            assert_eq!(n.into_inner(), 3);
        }
    }
}
