//! `mend scenario validate|show|list`: check scenario files, print one, list the built-ins.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ScenarioCommand;
use crate::scenarios;

/// Runs the command.
pub fn run(command: &ScenarioCommand) -> Result<ExitCode> {
    match command {
        ScenarioCommand::Validate { files } => Ok(validate(files)),
        ScenarioCommand::Show { scenario } => {
            scenarios::load(scenario)?;
            print!("{}", scenarios::text(scenario)?);
            Ok(ExitCode::SUCCESS)
        }
        ScenarioCommand::List => {
            for name in scenarios::builtin_names() {
                let scenario = scenarios::load(name)?;
                println!(
                    "{name:<10} {:?} model, horizon {}",
                    scenario.model(),
                    scenario.horizon()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Validates every file, printing one line per file; exit code 1 if any is invalid.
fn validate(files: &[String]) -> ExitCode {
    let mut failed = 0;
    for file in files {
        match scenarios::load(file) {
            Ok(scenario) => println!("ok      {file} ({})", scenario.name()),
            Err(error) => {
                failed += 1;
                println!("invalid {error:#}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} scenario files are invalid", files.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
