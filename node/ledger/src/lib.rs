//! chancery-ledger
#![forbid(unsafe_code)]
