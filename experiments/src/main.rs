//! `mend`: the command line.
fn main() {}
