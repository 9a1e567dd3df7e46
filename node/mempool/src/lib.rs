//! chancery-mempool
#![forbid(unsafe_code)]
