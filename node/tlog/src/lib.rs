//! chancery-tlog
#![forbid(unsafe_code)]
