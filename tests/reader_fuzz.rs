//! Every reader of a run folder fed truncated, bit-flipped, overwritten and random bytes:
//! each gives an error (or, for a lenient reader, nothing), never a panic and never a huge
//! allocation. Seeded and bounded: a failure names the file, the mutation and its seed, and
//! a case that once crashed stays below as a regression case.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use weightlab::config;
use weightlab::metrics::{EpochMeans, StepMetrics};
use weightlab::report::SweepLogs;
use weightlab::runlog::{EpochRow, IndexRow, RunRecord, Status, StepRow};
use weightlab::sweep::Sweep;
use weightlab::task::Tasks;
use weightlab::train::Checkpoint;

/// The system allocator, remembering the largest single request.
struct Watched;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

/// A request above this is a reader trusting a length it read from the file.
const HUGE: usize = 1 << 30;

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Watched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        if layout.size() > HUGE {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        if new_size > HUGE {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Watched = Watched;

/// SplitMix64.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutation `kind` of `good`, drawn from `seed`.
fn mutate(good: &[u8], kind: usize, seed: u64) -> Vec<u8> {
    let mut d = Draw(seed);
    let mut b = good.to_vec();
    match kind {
        0 => b.truncate(d.below(good.len())),
        1 => {
            for _ in 0..1 + d.below(8) {
                let at = d.below(b.len());
                b[at] ^= 1 << d.below(8);
            }
        }
        2 => {
            let at = d.below(b.len());
            let len = 1 + d.below(64.min(b.len() - at));
            for v in &mut b[at..at + len] {
                *v = d.next() as u8;
            }
        }
        3 => b = (0..d.below(4096)).map(|_| d.next() as u8).collect(),
        // Lengths and counts at their largest: a reader that trusts one allocates it.
        _ => {
            let at = d.below(b.len().saturating_sub(8));
            let end = at + 8.min(b.len() - at);
            b[at..end].fill(0xFF);
        }
    }
    b
}

const KINDS: [&str; 5] = [
    "truncated",
    "bit flips",
    "overwritten",
    "random",
    "0xFF run",
];

/// A tiny finished sweep with a checkpoint in each job folder.
fn sweep(tmp: &Path) -> PathBuf {
    let yaml = common::tiny_yaml("fuzz", common::THREE, ", checkpoint_every: 1");
    let exp = common::write(tmp, "fuzz.yaml", &yaml);
    common::sweep_ok(tmp, &exp, "runs/fuzz", 2);
    let dir = tmp.join("runs/fuzz");
    // A done job has no progress log left: write one as a running job would.
    let step = |k: usize| {
        StepMetrics::new(
            1,
            k,
            vec![0.25, 0.75],
            vec![1.0 / k as f64, 0.5],
            0.5,
            Some(0.1),
        )
    };
    let epoch = |k| EpochMeans::default().finish(k, vec![0.8, 0.7], Some(vec![0.6, 0.5]), 1.5);
    let progress = common::job_dirs(&dir)[0].join("progress.log");
    weightlab::runlog::progress::append(
        &progress,
        &[epoch(1), epoch(2)],
        &[step(1), step(2), step(3)],
    )
    .unwrap();
    dir
}

/// One reader: its name, the file it reads (relative to the sweep folder; `*` is the first job
/// folder) and what it does with a path: whether it read the file.
type Reader = (&'static str, &'static str, fn(&Path) -> bool);

fn readers() -> Vec<Reader> {
    vec![
        ("epochs.parquet", "*/epochs.parquet", |p| {
            EpochRow::read(p, &Tasks::default()).is_ok()
        }),
        ("steps.parquet", "*/steps.parquet", |p| {
            StepRow::read(p, &Tasks::default()).is_ok()
        }),
        ("runs.parquet", "runs.parquet", |p| {
            IndexRow::read(p, &Tasks::default()).is_ok()
        }),
        ("status.json", "*/status.json", |p| {
            Status::read(p).is_ok_and(|s| s.is_some())
        }),
        ("progress.log", "*/progress.log", |p| {
            weightlab::runlog::progress::read_prefix(p, 2, 3).is_some()
        }),
        ("run.yaml", "*/run.yaml", |p| {
            RunRecord::read(p).is_ok_and(|r| r.is_some())
        }),
        ("checkpoint.bin", "*/checkpoint.bin", |p| {
            let whole = Checkpoint::from_bytes(&std::fs::read(p).unwrap()).is_ok();
            whole & Checkpoint::read_header(p).is_some()
        }),
        ("experiment.yaml", "experiment.yaml", |p| {
            let parsed = config::load(p).is_ok();
            parsed
                & Sweep::open(p.parent().unwrap())
                    .and_then(|s| s.plan())
                    .is_ok()
        }),
        // The whole folder as the reports read it, with the mutated epoch log inside.
        ("report load", "*/epochs.parquet", |p| {
            SweepLogs::load(p.parent().unwrap().parent().unwrap()).is_ok()
        }),
    ]
}

fn resolve(dir: &Path, file: &str) -> PathBuf {
    match file.strip_prefix("*/") {
        Some(rest) => common::job_dirs(dir)[0].join(rest),
        None => dir.join(file),
    }
}

#[test]
fn readers_survive_any_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sweep(tmp.path());
    let budget = Duration::from_secs(60);
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut cases = 0;
    // Panics are caught and reported below; their default message would flood the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (name, file, read) in readers() {
        let path = resolve(&dir, file);
        let good = std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The setup took effect: the intact file reads, so a refusal below is the mutation's.
        assert!(
            catch_unwind(|| read(&path)).is_ok_and(|ok| ok),
            "{name}: the intact file does not read"
        );
        let mut refused = 0;
        for seed in 0..200u64 {
            for (kind, kind_name) in KINDS.iter().enumerate() {
                let bytes = mutate(&good, kind, seed * 31 + kind as u64);
                std::fs::write(&path, &bytes).unwrap();
                LARGEST.store(0, Ordering::Relaxed);
                let outcome = catch_unwind(AssertUnwindSafe(|| read(&path)));
                let largest = LARGEST.load(Ordering::Relaxed);
                refused += usize::from(matches!(outcome, Ok(false)));
                if let Err(p) = outcome {
                    let why = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{name}: {kind_name}, seed {seed}: panicked: {why}"));
                }
                if largest > HUGE {
                    failures.push(format!(
                        "{name}: {kind_name}, seed {seed}: asked for {largest} bytes"
                    ));
                }
                // Inputs the parquet decoder panicked on (caught by the reader) are kept for
                // tests/fuzz_regressions when WEIGHTLAB_FUZZ_SAVE names a folder.
                if let Ok(save) = std::env::var("WEIGHTLAB_FUZZ_SAVE") {
                    if file.ends_with(".parquet") {
                        if let Err(e) = EpochRow::read(&path, &Tasks::default()) {
                            if e.to_string().contains("corrupt:") {
                                let out =
                                    Path::new(&save).join(format!("{name}-{kind}-{seed}.parquet"));
                                std::fs::write(out, &bytes).unwrap();
                            }
                        }
                    }
                }
                cases += 1;
            }
            if started.elapsed() > budget {
                break;
            }
        }
        std::fs::write(&path, &good).unwrap();
        // The mutations reach the reader: most of them are refused.
        assert!(
            refused >= 200,
            "{name}: only {refused} mutated files were refused"
        );
    }
    std::panic::set_hook(hook);
    assert!(cases >= 1000, "only {cases} cases in {budget:?}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Files the parquet decoder panicked on, found by the test above: each is now an error that
/// names the file.
#[test]
fn parquet_files_that_crashed_the_decoder_are_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        for read in [
            |p: &Path| EpochRow::read(p, &Tasks::default()).map(drop),
            |p: &Path| StepRow::read(p, &Tasks::default()).map(drop),
            |p: &Path| weightlab::runlog::read_frame(p).map(drop),
        ] {
            let err = catch_unwind(AssertUnwindSafe(|| read(&path)))
                .unwrap_or_else(|_| panic!("{} panics", path.display()))
                .expect_err("a corrupt file reads as an error");
            let text = err.to_string();
            assert!(text.contains(&*path.display().to_string()), "{text}");
        }
        seen += 1;
    }
    assert!(seen >= 4, "{seen} regression files");
}
