//! The kill switch: while a given file exists, no action is carried out.

use std::path::PathBuf;

use crate::decision::Verdict;

/// A file whose presence stops all actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillSwitch {
    /// The file; `None` disables the switch.
    pub path: Option<PathBuf>,
}

impl KillSwitch {
    /// Whether the switch is engaged: the file exists, or its presence cannot be ruled out
    /// (any error other than "not found" engages it: fail safe).
    pub fn is_engaged(&self) -> bool {
        match &self.path {
            None => false,
            Some(p) => match std::fs::symlink_metadata(p) {
                Ok(_) => true,
                Err(e) => e.kind() != std::io::ErrorKind::NotFound,
            },
        }
    }

    /// The verdict, given whether the switch is engaged (see [`KillSwitch::is_engaged`]).
    pub fn check(&self, engaged: bool) -> Verdict {
        if engaged {
            let path = self
                .path
                .as_ref()
                .map_or_else(String::new, |p| format!(" ({})", p.display()));
            Verdict::Deny {
                reason: format!("kill switch engaged{path}"),
            }
        } else {
            Verdict::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engaged_while_the_file_exists() {
        let dir = std::env::temp_dir().join(format!("mend-kill-switch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let switch = KillSwitch {
            path: Some(dir.join("STOP")),
        };
        assert!(!switch.is_engaged());
        assert_eq!(switch.check(switch.is_engaged()), Verdict::Allow);
        std::fs::write(dir.join("STOP"), b"").unwrap();
        assert!(switch.is_engaged());
        assert!(
            matches!(switch.check(switch.is_engaged()), Verdict::Deny { reason } if reason.contains("STOP"))
        );
        std::fs::remove_file(dir.join("STOP")).unwrap();
        assert!(!switch.is_engaged());
        assert!(!KillSwitch { path: None }.is_engaged());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
