//! Verification placeholder.
