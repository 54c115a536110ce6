//! The live loop: metric sources, actuators, safety guards and the hash-chained audit log.
