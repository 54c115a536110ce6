//! Finding a scenario from a command-line argument: a file path, or the name of a built-in scenario
//! embedded in the binary.
