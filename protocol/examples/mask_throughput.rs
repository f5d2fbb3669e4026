//! Rough single-core throughput of `apply_mask` against the bytewise
//! reference. Run with `cargo run --release -p ringcast-protocol --example
//! mask_throughput`; the criterion benches in `benches/` are the real numbers.

use std::hint::black_box;
use std::time::Instant;

use ringcast_protocol::mask::{apply_mask, apply_mask_bytewise};

fn measure(name: &str, len: usize, f: fn(&mut [u8], [u8; 4], usize)) {
    let mut buf = vec![0x5au8; len];
    let rounds = (1 << 30) / len; // 1 GiB per measurement
    let start = Instant::now();
    for round in 0..rounds {
        f(black_box(&mut buf), black_box([1, 2, 3, 4]), round & 3);
    }
    let secs = start.elapsed().as_secs_f64();
    let gbps = (rounds * len) as f64 / secs / 1e9;
    println!("{name:>9} {len:>6} B: {gbps:6.2} GB/s");
}

fn main() {
    for len in [16, 125, 1024, 16 * 1024, 64 * 1024] {
        measure("fast", len, apply_mask);
    }
    measure("bytewise", 64 * 1024, apply_mask_bytewise);
}
