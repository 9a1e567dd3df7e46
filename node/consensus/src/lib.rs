//! chancery-consensus
#![forbid(unsafe_code)]
