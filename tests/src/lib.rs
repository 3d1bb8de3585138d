//! Helpers shared by the cross-backend tests.
#![warn(missing_docs)]

/// The connection string of the PostgreSQL server the PostgreSQL tests run
/// against, from `JOBTRACK_PG_URL` (set by `make test`). `None` when unset:
/// those tests then say so and do nothing, which `make test` never allows.
pub fn pg_url() -> Option<String> {
    std::env::var("JOBTRACK_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A small deterministic generator (xorshift64*) for the randomized tests:
/// one per session, so that a failing run can be replayed from its seed.
pub struct Rng(u64);

impl Rng {
    /// The generator of session `n` of a test.
    pub fn for_session(n: u64) -> Self {
        Rng(0x9E37_79B9_7F4A_7C15 ^ ((n + 1) * 0x1234_5678_9ABC))
    }

    /// A generator from any nonzero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}
