//! chancery-node
#![forbid(unsafe_code)]
fn main() {}
