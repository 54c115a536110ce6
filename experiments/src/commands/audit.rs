//! `mend audit verify`: check a hash-chained audit log; exit 1 naming the first bad record.

use std::process::ExitCode;

use anyhow::Result;
use mend_executor::audit::{HeadStatus, verify};

use crate::cli::AuditCommand;

/// Runs the command.
pub fn run(command: &AuditCommand) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify { file } => match verify(file) {
            Ok(report) => {
                println!(
                    "ok: {} records ({} decisions, {} signed), last seq {}",
                    report.records, report.decisions, report.signed, report.last_seq
                );
                if report.head == HeadStatus::Absent {
                    println!(
                        "warning: no head file beside the log; records cut from its end would go unnoticed"
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => {
                eprintln!("{error}");
                Ok(ExitCode::from(1))
            }
        },
    }
}
