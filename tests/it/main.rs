//! Integration tests: the real binary against the in-crate mock exchange.
