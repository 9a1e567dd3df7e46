//! chancery-e2e
