// The parts of @noble/hashes and @noble/curves the page's verifier uses, bundled into one
// classic script (no modules: the page saved to disk must work from file://).
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
globalThis.chanceryNoble = Object.freeze({ blake3, sha256, sha512, ed25519 });
