//! chancery-api
#![forbid(unsafe_code)]
