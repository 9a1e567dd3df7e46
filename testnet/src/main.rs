//! chancery-testnet
#![forbid(unsafe_code)]
fn main() {}
