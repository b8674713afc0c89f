//! Software prefetch for loops that read rows scattered in memory (histogram building and
//! row partitioning at deep tree nodes, and the factor rows of SGD): the hardware
//! prefetcher cannot guess those addresses, so the loops name them a few steps ahead.

/// How many rows ahead the tree loops prefetch: enough to cover a memory round trip.
pub(crate) const PREFETCH_DISTANCE: usize = 16;

/// A hint to the CPU to start loading the cache line at `address`; a no-op elsewhere.
#[inline(always)]
pub(crate) fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never dereferences the address and cannot fault, whatever it
    // points at; SSE, which provides it, is part of every x86_64 CPU.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
