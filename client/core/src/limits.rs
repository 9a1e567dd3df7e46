//! Every size limit of the kernel, in one place. Names put the thing first and the unit last.

/// Largest canonical encoding of one transaction, in bytes.
pub const TX_BYTES_MAX: usize = 64 * 1024;
/// Largest canonical encoding of any kernel value (blocks, receipts, genesis), in bytes.
pub const ENCODING_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Longest identifier (agency id, asset id, grant id, ocid, ...), in bytes.
pub const ID_BYTES_MAX: usize = 64;
/// Longest short text (names, titles, units, codes), in bytes.
pub const NAME_BYTES_MAX: usize = 256;
/// Longest free text (descriptions, purposes, reasons), in bytes.
pub const TEXT_BYTES_MAX: usize = 4096;
/// Longest URL, in bytes.
pub const URL_BYTES_MAX: usize = 1024;
/// Most documents attached to one record.
pub const DOCUMENTS_MAX: usize = 32;
/// Most suppliers on one award.
pub const SUPPLIERS_MAX: usize = 64;
/// Most items on one award.
pub const ITEMS_MAX: usize = 256;
/// Most actions in one data-sharing grant.
pub const ACTIONS_MAX: usize = 8;
/// Most constraints in one data-sharing grant.
pub const CONSTRAINTS_MAX: usize = 16;
/// Most roles held by one member key.
pub const ROLES_MAX: usize = 16;
/// Most validators in one epoch's validator set.
pub const VALIDATORS_MAX: usize = 256;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: usize = 20_000;
/// Largest total transaction bytes in one block.
pub const BLOCK_BYTES_MAX: usize = 16 * 1024 * 1024;
