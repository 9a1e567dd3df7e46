//! chancery-net
#![forbid(unsafe_code)]
