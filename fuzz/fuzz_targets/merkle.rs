//! Differential target: the kernel's Merkle inclusion and consistency verifiers
//! (`chancery_core::merkle`, RFC 6962 / 9162) against a naive reference written here from
//! the RFC 6962 definitions (MTH, PATH, PROOF by recursion over the leaves).
//!
//! The input picks a hasher (the ledger's BLAKE3 or RFC 6962 SHA-256), a proof kind, the
//! tree sizes and index, and mutations of the reference proof and roots. Property: the
//! kernel accepts exactly when the parameters are valid and the (mutated) proof, leaf and
//! roots equal the reference's. Trees are either small with distinct leaves (sizes below
//! 80, computed leaf by leaf) or huge with equal leaves (any size up to 2^63 and beyond,
//! computed in O(log² n) from the perfect subtrees). The kernel's own proof generators
//! are compared with the reference on small trees, and the byte-string verifiers
//! (`verify_*_bytes`) with the digest ones.
#![no_main]

use chancery_core::ids::Digest;
use chancery_core::limits::TREE_SIZE_MAX;
use chancery_core::merkle::{
    consistency_proof_with, inclusion_proof_with, root_with, verify_consistency_bytes,
    verify_consistency_with, verify_inclusion_bytes, verify_inclusion_with, Blake3Hasher,
    MerkleHasher, Sha256Hasher,
};
use libfuzzer_sys::fuzz_target;

/// The leaves of a reference tree.
enum Leaves {
    /// Distinct leaves, all in memory.
    Distinct(Vec<Digest>),
    /// `size` copies of one leaf hash, `perfect[k]` the root of 2^k of them.
    Uniform { perfect: Vec<Digest> },
}

struct Tree<'h, H: MerkleHasher> {
    h: &'h H,
    leaves: Leaves,
}

impl<H: MerkleHasher> Tree<'_, H> {
    /// MTH(D[lo:hi]).
    fn mth(&self, lo: u64, hi: u64) -> Digest {
        let n = hi - lo;
        if n == 0 {
            return self.h.empty_root();
        }
        match &self.leaves {
            Leaves::Distinct(d) => {
                if n == 1 {
                    return d[lo as usize];
                }
                let k = largest_power_below(n);
                self.h
                    .hash_node(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
            }
            Leaves::Uniform { perfect } => {
                if n.is_power_of_two() {
                    return perfect[n.trailing_zeros() as usize];
                }
                let k = largest_power_below(n);
                let left = perfect[k.trailing_zeros() as usize];
                self.h.hash_node(&left, &self.mth(lo + k, hi))
            }
        }
    }

    /// PATH(m, D[lo:hi]) (RFC 6962 2.1.1), bottom-up.
    fn path(&self, m: u64, lo: u64, hi: u64) -> Vec<Digest> {
        let n = hi - lo;
        if n <= 1 {
            return Vec::new();
        }
        let k = largest_power_below(n);
        if m < k {
            let mut p = self.path(m, lo, lo + k);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.path(m - k, lo + k, hi);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    /// SUBPROOF(m, D[lo:hi], b) (RFC 6962 2.1.2).
    fn subproof(&self, m: u64, lo: u64, hi: u64, b: bool) -> Vec<Digest> {
        let n = hi - lo;
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![self.mth(lo, hi)]
            };
        }
        let k = largest_power_below(n);
        if m <= k {
            let mut p = self.subproof(m, lo, lo + k, b);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.subproof(m - k, lo + k, hi, false);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    /// MTH(D[lo:hi]) with leaf `index` replaced by `leaf`.
    fn mth_with(&self, lo: u64, hi: u64, index: u64, leaf: &Digest) -> Digest {
        let n = hi - lo;
        if index < lo || index >= hi {
            return self.mth(lo, hi);
        }
        if n == 1 {
            return *leaf;
        }
        let k = largest_power_below(n);
        self.h.hash_node(
            &self.mth_with(lo, lo + k, index, leaf),
            &self.mth_with(lo + k, hi, index, leaf),
        )
    }

    fn leaf(&self, index: u64) -> Digest {
        match &self.leaves {
            Leaves::Distinct(d) => d[index as usize],
            Leaves::Uniform { perfect } => perfect[0],
        }
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn largest_power_below(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Reads the input front to back; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = (v << 8) | u64::from(self.byte());
        }
        v
    }
}

/// What the mutations changed besides the proof.
#[derive(Default)]
struct Changed {
    root1: Option<Digest>,
    root2: Option<Digest>,
    leaf: Option<Digest>,
}

fn flip(d: &Digest, at: u8) -> Digest {
    let mut b = d.0;
    b[(at % 32) as usize] ^= 1 << (at / 32 % 8).max(1);
    Digest(b)
}

/// Apply up to 8 mutations, three bytes each.
fn mutate(
    input: &mut Input<'_>,
    proof: &mut Vec<Digest>,
    root1: &Digest,
    root2: &Digest,
    leaf: &Digest,
) -> Changed {
    let mut c = Changed::default();
    let count = input.byte() % 9;
    for _ in 0..count {
        let (kind, a, b) = (input.byte(), input.byte(), input.byte());
        let len = proof.len();
        match kind % 7 {
            0 if len > 0 => {
                let i = a as usize % len;
                proof[i] = flip(&proof[i], b);
            }
            1 => proof.truncate(a as usize % (len + 1)),
            2 => proof.insert(a as usize % (len + 1), Digest([b; 32])),
            3 if len > 1 => proof.swap(a as usize % len, b as usize % len),
            4 => c.root1 = Some(flip(c.root1.as_ref().unwrap_or(root1), b)),
            5 => c.root2 = Some(flip(c.root2.as_ref().unwrap_or(root2), b)),
            6 => c.leaf = Some(flip(c.leaf.as_ref().unwrap_or(leaf), b)),
            _ => {}
        }
    }
    c
}

fn run<H: MerkleHasher>(h: &H, input: &mut Input<'_>, consistency: bool, uniform: bool) {
    let (size_a, size_b) = if uniform {
        (input.u64(), input.u64())
    } else {
        (u64::from(input.byte() % 80), u64::from(input.byte() % 80))
    };
    let seed = input.byte();
    let tree_size = size_a.max(size_b).min(TREE_SIZE_MAX);
    let leaves = if uniform {
        let mut perfect = vec![h.hash_leaf(&[seed])];
        for k in 1..64 {
            let p = perfect[k - 1];
            perfect.push(h.hash_node(&p, &p));
        }
        Leaves::Uniform { perfect }
    } else {
        Leaves::Distinct(
            (0..tree_size)
                .map(|i| h.hash_leaf(&[seed, i as u8, (i >> 8) as u8]))
                .collect(),
        )
    };
    let tree = Tree { h, leaves };
    if !consistency {
        // Inclusion of leaf `index` (size_b, taken below `size_a` or not) in the tree of `size_a`.
        let (size, index) = (size_a, size_b);
        let valid = size <= TREE_SIZE_MAX && index < size;
        let (mut proof, root, leaf) = if valid {
            (
                tree.path(index, 0, size),
                tree.mth(0, size),
                tree.leaf(index),
            )
        } else {
            let leaf = if tree_size > 0 {
                tree.leaf(0)
            } else {
                Digest::ZERO
            };
            (Vec::new(), tree.mth(0, size.min(tree_size)), leaf)
        };
        if valid {
            if let Leaves::Distinct(d) = &tree.leaves {
                assert_eq!(root_with(h, &d[..size as usize]), root, "MTH differs");
                let generated = inclusion_proof_with(h, &d[..size as usize], index);
                assert_eq!(
                    generated.as_ref(),
                    Ok(&proof),
                    "PATH({index}, {size}) differs"
                );
            }
        }
        let reference = proof.clone();
        let c = mutate(input, &mut proof, &root, &root, &leaf);
        let (root_used, leaf_used) = (c.root1.unwrap_or(root), c.leaf.unwrap_or(leaf));
        let got = verify_inclusion_with(h, index, size, &leaf_used, &proof, &root_used);
        // A changed leaf is still proven by the same path if the root changed with it (the
        // path holds only the leaf's siblings), so compare with the reference tree that has
        // the changed leaf.
        let expected =
            valid && proof == reference && root_used == tree.mth_with(0, size, index, &leaf_used);
        assert_eq!(
            got.is_ok(),
            expected,
            "inclusion of {index} in {size}: kernel says {got:?}"
        );
        let raw: Vec<Vec<u8>> = proof.iter().map(|d| d.0.to_vec()).collect();
        let got_bytes = verify_inclusion_bytes(h, index, size, &leaf_used.0, &raw, &root_used.0);
        assert_eq!(
            got_bytes.is_ok(),
            got.is_ok(),
            "bytes and digest verifiers disagree"
        );
    } else {
        let (size1, size2) = (size_a, size_b);
        let valid = size1 >= 1 && size1 <= size2 && size2 <= TREE_SIZE_MAX;
        let (mut proof, root1, root2) = if valid {
            (
                tree.subproof(size1, 0, size2, true),
                tree.mth(0, size1),
                tree.mth(0, size2),
            )
        } else {
            let r = tree.mth(0, size1.min(tree_size));
            (Vec::new(), r, r)
        };
        if valid {
            if let Leaves::Distinct(d) = &tree.leaves {
                let generated = consistency_proof_with(h, &d[..size2 as usize], size1);
                assert_eq!(
                    generated.as_ref(),
                    Ok(&proof),
                    "PROOF({size1}, {size2}) differs"
                );
            }
        }
        let reference = proof.clone();
        let c = mutate(input, &mut proof, &root1, &root2, &root1);
        let (r1, r2) = (c.root1.unwrap_or(root1), c.root2.unwrap_or(root2));
        let got = verify_consistency_with(h, size1, size2, &proof, &r1, &r2);
        let expected = if valid && size1 == size2 {
            // Equal sizes: an empty proof, and the two roots compared (RFC 9162 2.1.4.2).
            proof.is_empty() && r1 == r2
        } else {
            valid && proof == reference && r1 == root1 && r2 == root2
        };
        assert_eq!(
            got.is_ok(),
            expected,
            "consistency {size1} -> {size2}: kernel says {got:?}"
        );
        let raw: Vec<Vec<u8>> = proof.iter().map(|d| d.0.to_vec()).collect();
        let got_bytes = verify_consistency_bytes(h, size1, size2, &raw, &r1.0, &r2.0);
        assert_eq!(
            got_bytes.is_ok(),
            got.is_ok(),
            "bytes and digest verifiers disagree"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.byte();
    let consistency = mode & 2 != 0;
    let uniform = mode & 4 != 0;
    if mode & 1 == 0 {
        run(&Blake3Hasher, &mut input, consistency, uniform);
    } else {
        run(&Sha256Hasher, &mut input, consistency, uniform);
    }
});
