//! Stopping a sweep from the terminal or the scheduler: SIGINT and SIGTERM raise the sweep's
//! stop signal, and the exit code says which signal stopped it and how to resume.

use std::process::ExitCode;

use weightlab::sweep::StopSignal;

/// The signal that asked to stop (SIGINT or SIGTERM), 0 while none has.
static STOP_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// SIGINT and SIGTERM raise `stop`: running jobs finish their step, write a checkpoint and are
/// left pending. A second SIGINT exits at once.
pub fn install_stop_handlers(stop: &StopSignal) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let seen = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C exits at once. Repeated SIGTERMs do not: Slurm may send one to the task's
    // shell, which forwards it, and one to every process of the task.
    let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, seen.clone());
    let _ = signal_hook::flag::register(SIGINT, seen.clone());
    for sig in [SIGINT, SIGTERM] {
        let stop = stop.clone();
        // SAFETY: the handler only stores to atomics, which is async-signal-safe.
        let _ = unsafe {
            signal_hook::low_level::register(sig, move || {
                stop.raise();
                STOP_SIGNAL.store(sig, Ordering::SeqCst);
            })
        };
    }
}

/// This command line as a shell would need it typed again (arguments with spaces or shell
/// characters in single quotes).
pub fn this_command() -> String {
    let plain = |a: &str| {
        !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| {
            if plain(&a) {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!("weightlab {}", args.join(" "))
}

/// The exit code after a stop signal (130 for SIGINT, 143 for SIGTERM), with how to resume.
pub fn stopped(resume: &str) -> Option<ExitCode> {
    let sig = STOP_SIGNAL.load(std::sync::atomic::Ordering::SeqCst);
    (sig != 0).then(|| {
        eprintln!("stopped by a signal: running jobs wrote a checkpoint and are pending; resume with `{resume}`");
        ExitCode::from((128 + sig) as u8)
    })
}
