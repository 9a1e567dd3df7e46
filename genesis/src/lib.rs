//! chancery-genesis
#![forbid(unsafe_code)]
