//! A structural check of an HDF5 file before the library opens it. HDF5 1.10 follows the
//! addresses in version 0/1 metadata (h5py's default format) without checking them: an address
//! that is undefined or past the end of the file makes it read out of bounds (a segfault, found
//! by fuzzing). Metadata of superblock version 2 and later carries checksums, which the library
//! verifies itself, so only files with a version 0 or 1 superblock are walked.
//!
//! The walk follows what the library follows to open a dataset by name and read it: the root
//! group's symbol table (B-tree nodes, symbol nodes, local heap and the names in it) or its link
//! messages, every object header they lead to (continuation blocks included), shared-message
//! references, and each dataset's storage (its contiguous block, or its chunk B-tree and chunks). Every address must be
//! defined and every block must lie inside the file; anything else is an error naming the file.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";
/// No metadata block of a point-cloud file comes near this; a larger one is corrupt.
const MAX_BLOCK: u64 = 16 << 20;
/// Metadata blocks visited at most (a file of 2048 chunked shapes needs about 100).
const MAX_VISITS: usize = 1 << 16;
/// Groups nested deeper than this are refused (the walk recurses into them).
const MAX_DEPTH: usize = 32;

/// Checks the metadata of the HDF5 file at `path`; see the module documentation.
pub(crate) fn check_structure(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut walk = Walk {
        path,
        file,
        len,
        base: 0,
        offset: 8,
        length: 8,
        leaf_k: 4,
        internal_k: 16,
        chunk_k: 32,
        visited: HashSet::new(),
        depth: 0,
    };
    walk.superblock()
}

struct Walk<'a> {
    path: &'a Path,
    file: File,
    len: u64,
    /// Addresses are relative to the superblock's base address.
    base: u64,
    /// Bytes of an address and of a length.
    offset: usize,
    length: usize,
    leaf_k: u64,
    internal_k: u64,
    chunk_k: u64,
    visited: HashSet<(u8, u64)>,
    /// Groups entered and not yet left.
    depth: usize,
}

/// What a symbol table entry links to.
enum Entry {
    /// An object header at this address.
    Object(u64),
    /// A soft link, whose target path is at this offset of the group's heap.
    Soft(u64),
}

/// A version-1 B-tree node: its level (0 for leaves), children, and the key before each child.
struct TreeNode {
    level: u64,
    children: Vec<u64>,
    keys: Vec<Vec<u8>>,
}

/// A little-endian reader over one block.
struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }

    fn uint(&mut self, n: usize) -> Option<u64> {
        let b = self.take(n)?;
        Some(
            b.iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)),
        )
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
}

fn corrupt(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::format(
        path,
        format!("not a readable HDF5 file (corrupt metadata: {what})"),
    )
}

impl Walk<'_> {
    fn bad(&self, what: impl std::fmt::Display) -> Error {
        corrupt(self.path, what)
    }

    /// `n` bytes at absolute position `at`, which must lie inside the file.
    fn read(&mut self, at: u64, n: u64, what: &str) -> Result<Vec<u8>> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= self.len && n <= MAX_BLOCK);
        if end.is_none() {
            return Err(self.bad(format!(
                "a block of {what}, {n} bytes at {at}, is outside the file or too large"
            )));
        }
        let mut buf = vec![0; n as usize];
        self.file
            .seek(SeekFrom::Start(at))
            .and_then(|_| self.file.read_exact(&mut buf))
            .map_err(|e| Error::io(self.path, e))?;
        Ok(buf)
    }

    /// The "undefined address" value: all bits of an address set.
    fn undefined(&self) -> u64 {
        u64::MAX >> (64 - 8 * self.offset)
    }

    /// The absolute position of file address `addr`, which must be defined.
    fn absolute(&self, addr: u64, what: &str) -> Result<u64> {
        if addr == self.undefined() {
            return Err(self.bad(format!("{what} has an undefined address")));
        }
        self.base
            .checked_add(addr)
            .ok_or_else(|| self.bad(format!("{what} address {addr} overflows")))
    }

    /// Whether the block `(kind, at)` is new; errors when the walk has visited too many.
    fn first_visit(&mut self, kind: u8, at: u64) -> Result<bool> {
        if self.visited.len() >= MAX_VISITS {
            return Err(self.bad("too many metadata blocks"));
        }
        Ok(self.visited.insert((kind, at)))
    }

    fn superblock(&mut self) -> Result<()> {
        // The superblock sits at 0, 512, 1024, 2048, ... (after a user block).
        let mut at = 0u64;
        loop {
            if at.saturating_add(8) > self.len {
                return Ok(()); // No signature: the library says so itself.
            }
            if self.read(at, 8, "signature")? == SIGNATURE {
                break;
            }
            at = if at == 0 { 512 } else { at * 2 };
        }
        let head = self.read(at, (self.len - at).min(256), "superblock")?;
        let version = head.get(8).copied().unwrap_or(0);
        if version >= 2 {
            return Ok(());
        }
        let path = self.path;
        let malformed = || corrupt(path, "superblock");
        let mut c = Cursor {
            bytes: &head,
            at: 13,
        };
        self.offset = c.uint(1).ok_or_else(malformed)? as usize;
        self.length = c.uint(1).ok_or_else(malformed)? as usize;
        if ![2, 4, 8].contains(&self.offset) || ![2, 4, 8].contains(&self.length) {
            return Err(self.bad("superblock field sizes"));
        }
        c.skip(1).ok_or_else(malformed)?;
        self.leaf_k = c.uint(2).ok_or_else(malformed)?;
        self.internal_k = c.uint(2).ok_or_else(malformed)?;
        c.skip(4).ok_or_else(malformed)?;
        if version == 1 {
            self.chunk_k = c.uint(2).ok_or_else(malformed)?;
            c.skip(2).ok_or_else(malformed)?;
        }
        if self.leaf_k == 0 || self.internal_k == 0 || self.chunk_k == 0 {
            return Err(self.bad("superblock node sizes"));
        }
        let o = self.offset;
        self.base = c.uint(o).ok_or_else(malformed)?;
        c.skip(3 * o).ok_or_else(malformed)?; // free space, end of file, driver block
        match self.symbol_entry(&mut c).ok_or_else(malformed)? {
            (_, Entry::Object(header)) => self.object_header(header, "the root group"),
            (_, Entry::Soft(_)) => Err(malformed()),
        }
    }

    /// A symbol table entry: its link name's offset in the group's heap, and what it links to.
    fn symbol_entry(&self, c: &mut Cursor) -> Option<(u64, Entry)> {
        let name = c.uint(self.offset)?;
        let header = c.uint(self.offset)?;
        let cache = c.uint(4)?;
        c.skip(4)?;
        let scratch = c.take(16)?;
        // A soft link has no object header; its target's name is in the heap.
        let entry = if cache == 2 {
            Entry::Soft(u64::from(u32::from_le_bytes(scratch[..4].try_into().ok()?)))
        } else {
            Entry::Object(header)
        };
        Some((name, entry))
    }

    fn object_header(&mut self, addr: u64, what: &str) -> Result<()> {
        let at = self.absolute(addr, what)?;
        if !self.first_visit(b'O', at)? {
            return Ok(());
        }
        let prefix = self.read(at, 16, what)?;
        if &prefix[..4] == b"OHDR" {
            return Ok(()); // Version 2: checksummed.
        }
        let mut c = Cursor {
            bytes: &prefix,
            at: 0,
        };
        let path = self.path;
        let malformed = || corrupt(path, format!("object header of {what}"));
        if c.uint(1) != Some(1) {
            return Err(malformed());
        }
        c.skip(3).ok_or_else(malformed)?;
        c.skip(4).ok_or_else(malformed)?;
        let size = c.uint(4).ok_or_else(malformed)?;
        let mut blocks = vec![(at + 16, size)];
        while let Some((start, size)) = blocks.pop() {
            let block = self.read(start, size, what)?;
            let mut c = Cursor {
                bytes: &block,
                at: 0,
            };
            while c.at + 8 <= block.len() {
                let kind = c.uint(2).ok_or_else(malformed)?;
                let size = c.uint(2).ok_or_else(malformed)? as usize;
                let flags = c.uint(1).ok_or_else(malformed)?;
                c.skip(3).ok_or_else(malformed)?;
                let body = c.take(size).ok_or_else(malformed)?.to_vec();
                let mut m = Cursor {
                    bytes: &body,
                    at: 0,
                };
                if flags & 0x02 != 0 {
                    self.shared(&mut m, what)?;
                    continue;
                }
                match kind {
                    0x0008 => self.layout(&mut m, what)?,
                    0x0010 => {
                        let addr = m.uint(self.offset).ok_or_else(malformed)?;
                        let len = m.uint(self.length).ok_or_else(malformed)?;
                        let next = self.absolute(addr, what)?;
                        if self.first_visit(b'C', next)? {
                            blocks.push((next, len));
                        }
                    }
                    0x0006 => self.link(&mut m, what)?,
                    0x0011 => {
                        let tree = m.uint(self.offset).ok_or_else(malformed)?;
                        let heap = m.uint(self.offset).ok_or_else(malformed)?;
                        self.group(tree, heap, what)?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A link message (groups in the newer format hold them in their header): a hard link
    /// points at an object header; soft and external links name their target as text.
    fn link(&mut self, m: &mut Cursor, what: &str) -> Result<()> {
        let path = self.path;
        let malformed = || corrupt(path, format!("link of {what}"));
        if m.uint(1) != Some(1) {
            return Err(malformed());
        }
        let flags = m.uint(1).ok_or_else(malformed)?;
        let kind = if flags & 0x08 != 0 {
            m.uint(1).ok_or_else(malformed)?
        } else {
            0
        };
        if flags & 0x04 != 0 {
            m.skip(8).ok_or_else(malformed)?;
        }
        if flags & 0x10 != 0 {
            m.skip(1).ok_or_else(malformed)?;
        }
        let name_len = m.uint(1 << (flags & 0x03)).ok_or_else(malformed)?;
        m.skip(usize::try_from(name_len).map_err(|_| malformed())?)
            .ok_or_else(malformed)?;
        if kind == 0 {
            let header = m.uint(self.offset).ok_or_else(malformed)?;
            self.object_header(header, "a dataset or group")?;
        }
        Ok(())
    }

    /// A shared message points at the object header that holds it.
    fn shared(&mut self, m: &mut Cursor, what: &str) -> Result<()> {
        let path = self.path;
        let malformed = || corrupt(path, format!("shared message of {what}"));
        let addr = match m.uint(1).ok_or_else(malformed)? {
            1 => m.skip(7).and_then(|()| m.uint(self.offset)),
            2 => m.skip(1).and_then(|()| m.uint(self.offset)),
            3 if m.uint(1) == Some(2) => m.uint(self.offset),
            _ => None,
        }
        .ok_or_else(malformed)?;
        self.object_header(addr, what)
    }

    fn layout(&mut self, m: &mut Cursor, what: &str) -> Result<()> {
        let path = self.path;
        let malformed = || corrupt(path, format!("layout of {what}"));
        match m.uint(1).ok_or_else(malformed)? {
            1 | 2 => {
                let rank = m.uint(1).ok_or_else(malformed)?;
                let class = m.uint(1).ok_or_else(malformed)?;
                m.skip(5).ok_or_else(malformed)?;
                if class != 0 {
                    let addr = m.uint(self.offset).ok_or_else(malformed)?;
                    let dims = (0..rank)
                        .map(|_| m.uint(4))
                        .collect::<Option<Vec<u64>>>()
                        .ok_or_else(malformed)?;
                    if class == 2 {
                        self.chunk_tree(addr, dims.len(), what)?;
                    } else {
                        // The block's size is the dataspace's; the library checks it against
                        // the file (see budget.rs); here only its start must be defined.
                        self.absolute(addr, what).map(|_| ())?;
                    }
                }
                Ok(())
            }
            3 => match m.uint(1).ok_or_else(malformed)? {
                1 => {
                    let addr = m.uint(self.offset).ok_or_else(malformed)?;
                    let size = m.uint(self.length).ok_or_else(malformed)?;
                    // Never written: the address is undefined and reads give the fill value.
                    if addr != self.undefined() {
                        let at = self.absolute(addr, what)?;
                        if at.checked_add(size).is_none_or(|end| end > self.len) {
                            return Err(self.bad(format!("data of {what} lies outside the file")));
                        }
                    }
                    Ok(())
                }
                2 => {
                    let rank = m.uint(1).ok_or_else(malformed)? as usize;
                    let addr = m.uint(self.offset).ok_or_else(malformed)?;
                    if addr == self.undefined() {
                        return Ok(()); // No chunk written yet.
                    }
                    self.chunk_tree(addr, rank, what)
                }
                _ => Ok(()),
            },
            // Version 4 indexes are checksummed.
            _ => Ok(()),
        }
    }

    /// A version-1 B-tree node not visited before.
    fn tree_node(
        &mut self,
        addr: u64,
        node_type: u8,
        key_size: u64,
        k: u64,
        what: &str,
    ) -> Result<Option<TreeNode>> {
        let at = self.absolute(addr, what)?;
        if !self.first_visit(b'T', at)? {
            return Ok(None);
        }
        let o = self.offset as u64;
        let size = 8 + 2 * o + (2 * k + 1) * key_size + 2 * k * o;
        let node = self.read(at, size, what)?;
        let path = self.path;
        let malformed = || corrupt(path, format!("B-tree node of {what}"));
        let mut c = Cursor {
            bytes: &node,
            at: 0,
        };
        if c.take(4) != Some(b"TREE") || c.uint(1) != Some(u64::from(node_type)) {
            return Err(malformed());
        }
        let level = c.uint(1).ok_or_else(malformed)?;
        let used = c.uint(2).ok_or_else(malformed)?;
        if used > 2 * k {
            return Err(malformed());
        }
        c.skip(2 * self.offset).ok_or_else(malformed)?; // siblings
        let mut children = Vec::new();
        let mut keys = Vec::new();
        for _ in 0..used {
            keys.push(c.take(key_size as usize).ok_or_else(malformed)?.to_vec());
            children.push(c.uint(self.offset).ok_or_else(malformed)?);
        }
        Ok(Some(TreeNode {
            level,
            children,
            keys,
        }))
    }

    fn group(&mut self, tree: u64, heap: u64, what: &str) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.bad("groups nested too deeply"));
        }
        self.depth += 1;
        let result = self.group_entries(tree, heap, what);
        self.depth -= 1;
        result
    }

    fn group_entries(&mut self, tree: u64, heap: u64, what: &str) -> Result<()> {
        let names = self.local_heap(heap, what)?;
        let mut pending = vec![tree];
        while let Some(node) = pending.pop() {
            let key = self.length as u64;
            let Some(tree) = self.tree_node(node, 0, key, self.internal_k, what)? else {
                continue;
            };
            if tree.level > 0 {
                pending.extend(tree.children);
                continue;
            }
            for child in tree.children {
                self.symbol_node(child, names, what)?;
            }
        }
        Ok(())
    }

    /// Checks a local heap; returns the size of its data segment (where link names are).
    fn local_heap(&mut self, addr: u64, what: &str) -> Result<u64> {
        let at = self.absolute(addr, &format!("the name heap of {what}"))?;
        let o = self.offset as u64;
        let l = self.length as u64;
        let head = self.read(at, 8 + 2 * l + o, what)?;
        let path = self.path;
        let malformed = || corrupt(path, format!("name heap of {what}"));
        let mut c = Cursor {
            bytes: &head,
            at: 0,
        };
        if c.take(4) != Some(b"HEAP") {
            return Err(malformed());
        }
        c.skip(4).ok_or_else(malformed)?;
        let size = c.uint(self.length).ok_or_else(malformed)?;
        c.skip(self.length).ok_or_else(malformed)?;
        let data = c.uint(self.offset).ok_or_else(malformed)?;
        let data = self.absolute(data, what)?;
        if data.checked_add(size).is_none_or(|end| end > self.len) || size > MAX_BLOCK {
            return Err(self.bad(format!("the name heap of {what} lies outside the file")));
        }
        Ok(size)
    }

    fn symbol_node(&mut self, addr: u64, names: u64, what: &str) -> Result<()> {
        let at = self.absolute(addr, what)?;
        if !self.first_visit(b'S', at)? {
            return Ok(());
        }
        let entry = 2 * self.offset as u64 + 24;
        let node = self.read(at, 8 + 2 * self.leaf_k * entry, what)?;
        let path = self.path;
        let malformed = || corrupt(path, format!("symbol node of {what}"));
        let mut c = Cursor {
            bytes: &node,
            at: 0,
        };
        if c.take(4) != Some(b"SNOD") {
            return Err(malformed());
        }
        c.skip(2).ok_or_else(malformed)?;
        let count = c.uint(2).ok_or_else(malformed)?;
        if count > 2 * self.leaf_k {
            return Err(malformed());
        }
        for _ in 0..count {
            let (name, entry) = self.symbol_entry(&mut c).ok_or_else(malformed)?;
            let target = match entry {
                Entry::Soft(value) => value,
                Entry::Object(_) => 0,
            };
            if name >= names || target >= names {
                return Err(self.bad(format!("a link name of {what} lies outside its heap")));
            }
            if let Entry::Object(header) = entry {
                self.object_header(header, "a dataset or group")?;
            }
        }
        Ok(())
    }

    /// The chunk index of a dataset of `rank` layout dimensions (the last is the element size).
    fn chunk_tree(&mut self, addr: u64, rank: usize, what: &str) -> Result<()> {
        let key = 8 + 8 * rank as u64;
        let mut pending = vec![addr];
        while let Some(node) = pending.pop() {
            let Some(tree) = self.tree_node(node, 1, key, self.chunk_k, what)? else {
                continue;
            };
            if tree.level > 0 {
                pending.extend(tree.children);
                continue;
            }
            for (child, key) in tree.children.into_iter().zip(tree.keys) {
                let size = u64::from(u32::from_le_bytes([key[0], key[1], key[2], key[3]]));
                let at = self.absolute(child, what)?;
                if at.checked_add(size).is_none_or(|end| end > self.len) {
                    return Err(self.bad(format!("a chunk of {what} lies outside the file")));
                }
            }
        }
        Ok(())
    }
}
