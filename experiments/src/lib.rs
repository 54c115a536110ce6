//! The `mend` command line library: command implementations the binary dispatches to.
