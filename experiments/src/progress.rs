//! Progress bars for long work: rate and ETA on a terminal, silent with `--quiet` or when standard
//! error is not a terminal (CI logs, pipes).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar of `len` units named `unit` (e.g. "sim-h"), hidden when `quiet` or not on a terminal.
pub fn bar(len: u64, message: &str, unit: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let template = format!(
        "{{msg:>12}} [{{bar:40.cyan/blue}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"
    );
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_string());
    bar
}
