//! Seeded mutations of a seed file: bit flips, byte overwrites, truncation, insertion,
//! deletion, and huge or edge numbers written over the numbers of a header — as decimal text
//! (PLY, OFF, NPY, PCD headers) and as little-endian words (HDF5's binary dimensions).
//! Input `i` of a run depends only on (seed, i), so every finding can be regenerated.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Numbers that break arithmetic on header values: zero, signs, powers of two at the integer
/// widths, overflows of u64, floats at the edge of f64, and non-numbers.
const EDGE_TEXT: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "255",
    "65536",
    "2147483648",
    "4294967295",
    "4294967296",
    "1000000000000",
    "1152921504606846976",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "-0",
    "0x10",
    "",
];

/// Little-endian words for binary headers (HDF5 dimensions and sizes are 4 or 8 bytes).
const EDGE_WORDS: &[u64] = &[
    0,
    1,
    2,
    3,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    2_000_000_000,
    1 << 32,
    1 << 40,
    1 << 60,
    i64::MAX as u64,
    u64::MAX,
];

/// Words of the text formats, spliced in to reach code behind keywords.
const KEYWORDS: &[&str] = &[
    "element",
    "property",
    "list",
    "uchar",
    "int",
    "double",
    "float",
    "vertex",
    "face",
    "end_header",
    "format",
    "ascii",
    "binary_little_endian",
    "binary_big_endian",
    "OFF",
    "COUNT",
    "FIELDS",
    "POINTS",
    "DATA",
    "SIZE",
    "x",
    "y",
    "z",
    "'<f8'",
    "'>f4'",
    "True",
    "(",
    ")",
    ",",
    "#",
    "\n",
    "\r\n",
    "\t",
];

/// The random stream of input `index` of a run with `seed`.
pub fn rng_for(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// One to four stacked mutations of `seed_bytes`; half the inputs get a single one, so many
/// get past the first check of their reader.
pub fn mutate(seed_bytes: &[u8], rng: &mut impl Rng) -> Vec<u8> {
    let mut bytes = seed_bytes.to_vec();
    let stacked = if rng.random_bool(0.5) {
        1
    } else {
        rng.random_range(2..=4)
    };
    for _ in 0..stacked {
        match rng.random_range(0..8) {
            0 => flip_bits(&mut bytes, rng),
            1 => overwrite_bytes(&mut bytes, rng),
            2 => truncate(&mut bytes, rng),
            3 => insert(&mut bytes, rng),
            4 => delete(&mut bytes, rng),
            5 | 6 => {
                if !replace_number(&mut bytes, rng) {
                    overwrite_word(&mut bytes, rng);
                }
            }
            _ => {
                if rng.random_bool(0.5) {
                    overwrite_word(&mut bytes, rng);
                } else {
                    splice_keyword(&mut bytes, rng);
                }
            }
        }
    }
    bytes
}

fn flip_bits(bytes: &mut [u8], rng: &mut impl Rng) {
    if bytes.is_empty() {
        return;
    }
    for _ in 0..rng.random_range(1..=8) {
        let at = rng.random_range(0..bytes.len());
        bytes[at] ^= 1 << rng.random_range(0..8);
    }
}

fn overwrite_bytes(bytes: &mut [u8], rng: &mut impl Rng) {
    const INTERESTING: &[u8] = b"\x00\xff\x7f\x80\n\r \t-+.e9#,";
    if bytes.is_empty() {
        return;
    }
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..bytes.len());
        bytes[at] = if rng.random_bool(0.5) {
            INTERESTING[rng.random_range(0..INTERESTING.len())]
        } else {
            rng.random()
        };
    }
}

fn truncate(bytes: &mut Vec<u8>, rng: &mut impl Rng) {
    let len = rng.random_range(0..=bytes.len());
    bytes.truncate(len);
}

fn insert(bytes: &mut Vec<u8>, rng: &mut impl Rng) {
    let at = rng.random_range(0..=bytes.len());
    let piece: Vec<u8> = if !bytes.is_empty() && rng.random_bool(0.5) {
        // A copy of a stretch of the file: repeated records, lines or header blocks.
        let start = rng.random_range(0..bytes.len());
        let end = (start + rng.random_range(1..=256)).min(bytes.len());
        bytes[start..end].to_vec()
    } else {
        (0..rng.random_range(1..=16))
            .map(|_| rng.random())
            .collect()
    };
    bytes.splice(at..at, piece);
}

fn delete(bytes: &mut Vec<u8>, rng: &mut impl Rng) {
    if bytes.is_empty() {
        return;
    }
    let start = rng.random_range(0..bytes.len());
    let end = (start + rng.random_range(1..=64)).min(bytes.len());
    bytes.drain(start..end);
}

/// Replaces one run of decimal digits (with its sign) by an edge number; false when the input
/// holds no digits.
fn replace_number(bytes: &mut Vec<u8>, rng: &mut impl Rng) -> bool {
    let mut runs = Vec::new();
    let mut k = 0;
    while k < bytes.len() {
        if bytes[k].is_ascii_digit() {
            let start = if k > 0 && bytes[k - 1] == b'-' {
                k - 1
            } else {
                k
            };
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            runs.push(start..k);
        } else {
            k += 1;
        }
    }
    if runs.is_empty() {
        return false;
    }
    // Headers come first: favour the first runs, where counts and shapes are.
    let pick = if rng.random_bool(0.7) {
        rng.random_range(0..runs.len().min(16))
    } else {
        rng.random_range(0..runs.len())
    };
    let edge = EDGE_TEXT[rng.random_range(0..EDGE_TEXT.len())];
    bytes.splice(runs[pick].clone(), edge.bytes());
    true
}

/// Writes an edge value as a 1-, 2-, 4- or 8-byte little-endian word at a random offset.
fn overwrite_word(bytes: &mut [u8], rng: &mut impl Rng) {
    let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
    if bytes.len() < width {
        return;
    }
    // HDF5 keeps its dimensions in the first few kilobytes; most words go there.
    let span = if rng.random_bool(0.7) {
        bytes.len().min(4096)
    } else {
        bytes.len()
    };
    let at = rng.random_range(0..=span - width);
    let value = EDGE_WORDS[rng.random_range(0..EDGE_WORDS.len())];
    bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
}

fn splice_keyword(bytes: &mut Vec<u8>, rng: &mut impl Rng) {
    let at = rng.random_range(0..=bytes.len());
    let word = KEYWORDS[rng.random_range(0..KEYWORDS.len())];
    let end = if rng.random_bool(0.5) {
        // Replace the word that starts here.
        let mut e = at;
        while e < bytes.len() && !bytes[e].is_ascii_whitespace() {
            e += 1;
        }
        e
    } else {
        at
    };
    bytes.splice(at..end, word.bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_for_a_seed_and_index() {
        let seed = b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n0 0 0\n";
        let a: Vec<Vec<u8>> = (0..50).map(|i| mutate(seed, &mut rng_for(7, i))).collect();
        let b: Vec<Vec<u8>> = (0..50).map(|i| mutate(seed, &mut rng_for(7, i))).collect();
        assert_eq!(a, b);
        let c: Vec<Vec<u8>> = (0..50).map(|i| mutate(seed, &mut rng_for(8, i))).collect();
        assert_ne!(a, c);
        assert!(a.iter().any(|m| m.as_slice() != seed));
    }

    #[test]
    fn header_numbers_are_replaced_by_edge_values() {
        let mut rng = rng_for(1, 0);
        let mut seen_huge = false;
        for _ in 0..200 {
            let mut bytes = b"element vertex 3\n".to_vec();
            assert!(replace_number(&mut bytes, &mut rng));
            seen_huge |= bytes.windows(20).any(|w| w == b"18446744073709551615");
        }
        assert!(seen_huge);
        assert!(!replace_number(&mut b"no digits".to_vec(), &mut rng));
    }
}
