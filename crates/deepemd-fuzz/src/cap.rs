//! The process's allocator: the system allocator behind a cap. A single request above
//! [`MAX_SINGLE`] or one that would bring the live total above [`MAX_LIVE`] gets a null pointer,
//! so Rust aborts with "memory allocation of N bytes failed" — which the driver reads on the
//! worker's stderr and records as an over-cap allocation instead of letting a reader that
//! trusts a header exhaust the machine. Requests through `try_reserve` see an error instead.
//!
//! (Allocations made inside the HDF5 C library bypass this; the driver's RSS limit covers them.)

// A global allocator can only be written as an `unsafe impl`; every method forwards to the
// system allocator with the caller's own pointer and layout, after counting.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest single allocation the fuzzed code may make: far beyond any seed (a few kB).
pub const MAX_SINGLE: usize = 1 << 30;
/// The most the process may hold at once.
pub const MAX_LIVE: usize = 3 << 30;
/// What Rust prints before aborting on a refused allocation.
pub const REFUSED_MESSAGE: &str = "memory allocation of";

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The capped allocator; see the module documentation.
#[derive(Debug)]
pub struct Capped;

impl Capped {
    /// Counts `size` more live bytes if the caps allow a request of `request` bytes.
    fn admit(request: usize, size: usize) -> bool {
        if request > MAX_SINGLE {
            return false;
        }
        let before = LIVE.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) > MAX_LIVE {
            LIVE.fetch_sub(size, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn release(size: usize) {
        LIVE.fetch_sub(size, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size(), layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            Self::release(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size(), layout.size()) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            Self::release(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        Self::release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        let growth = new_size.saturating_sub(old);
        if !Self::admit(new_size, growth) {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            Self::release(growth);
        } else if new_size < old {
            Self::release(old - new_size);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_above_the_single_cap_are_refused_and_others_counted() {
        let mut v: Vec<u8> = Vec::new();
        assert!(v.try_reserve_exact(MAX_SINGLE + 1).is_err());
        v.try_reserve_exact(1 << 20).unwrap();
        assert!(LIVE.load(Ordering::Relaxed) >= 1 << 20);
    }
}
