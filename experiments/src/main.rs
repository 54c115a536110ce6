//! `mend`: the command line. A thin binary over the library crates: configure threads, parse the
//! flags, dispatch to a command in `mend_experiments::commands`, print errors with their causes.

use std::process::ExitCode;

use clap::Parser;
use mend_experiments::cli::Cli;

/// mimalloc instead of glibc's malloc: the simulator, the envs and candle's training path allocate
/// and free buffers above glibc's mmap threshold every step, and glibc maps and unmaps each one (page
/// faults were about a third of PPO training time; cross-thread frees take glibc's locked slow path).
/// Measured on `mend train` (PPO entity, `default`, 16,384 steps, one thread): see ARCHITECTURE.md.
/// Allocation addresses never reach any output, so results are unchanged byte for byte.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    configure_thread_count_for_candle();
    exit_quietly_on_a_closed_pipe();
    let cli = Cli::parse();
    match mend_experiments::commands::dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!(
                "error: {}",
                mend_experiments::commands::error_message(&error)
            );
            ExitCode::from(2)
        }
    }
}

/// candle 0.11 re-reads /proc/cpuinfo on every matmul unless `RAYON_NUM_THREADS` is set, which makes
/// small networks about 20x slower (../shared/CRATES.md). Set it before any thread exists.
#[allow(unsafe_code)]
fn configure_thread_count_for_candle() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        // SAFETY: called first thing in `main`, before any other thread is spawned, so no other
        // thread can be reading the environment concurrently (the condition `set_var` requires).
        unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    }
}

/// `mend policy inspect FILE | head` must end quietly, as Unix tools do, rather than panic on the
/// closed pipe: Rust ignores SIGPIPE by default, so every `print!` would fail with EPIPE. Restore
/// the default action (terminate) before anything is printed.
#[allow(unsafe_code)]
fn exit_quietly_on_a_closed_pipe() {
    // SAFETY: `signal` with SIG_DFL installs no handler code; called first thing in `main`.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
