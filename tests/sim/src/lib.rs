//! chancery-sim
#![forbid(unsafe_code)]
