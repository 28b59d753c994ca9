//! The forward GEMM of the two-moons step's 70 × 70 layer with the activations row-major
//! (matrixmultiply packs them element by element) against the same GEMM on a column-major
//! copy (packed by contiguous copies), with and without the cost of making the copy.

use std::time::Instant;
fn transpose_naive(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    for (i, mr) in m.chunks_exact(cols).take(rows).enumerate() {
        for (j, &v) in mr.iter().enumerate() {
            out[j * rows + i] = v;
        }
    }
}
fn transpose_blocked(m: &[f32], rows: usize, cols: usize, out: &mut [f32]) {
    let full = rows / 16 * 16;
    for i0 in (0..full).step_by(16) {
        for j in 0..cols {
            let mut t = [0f32; 16];
            for r in 0..16 {
                t[r] = m[(i0 + r) * cols + j];
            }
            out[j * rows + i0..j * rows + i0 + 16].copy_from_slice(&t);
        }
    }
    for i in full..rows {
        for j in 0..cols {
            out[j * rows + i] = m[i * cols + j];
        }
    }
}
fn main() {
    let (m, k, n) = (128usize, 70usize, 70usize);
    let chunks = 4;
    let val = |i: usize| ((i * 2654435761 % 2001) as f32 / 1000.0) - 1.0;
    let h: Vec<f32> = (0..chunks * m * k).map(val).collect();
    let w: Vec<f32> = (0..k * n).map(|i| val(i + 3)).collect();
    let mut z = vec![0f32; chunks * m * n];
    let mut z2 = z.clone();
    let mut ht = vec![0f32; m * k];
    let fwd_row = |z: &mut [f32]| unsafe {
        for c in 0..chunks {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                h[c * m * k..].as_ptr(),
                k as isize,
                1,
                w.as_ptr(),
                n as isize,
                1,
                0.0,
                z[c * m * n..].as_mut_ptr(),
                n as isize,
                1,
            );
        }
    };
    let fwd_col = |z: &mut [f32], ht: &mut [f32], blocked: bool| unsafe {
        for c in 0..chunks {
            if blocked {
                transpose_blocked(&h[c * m * k..(c + 1) * m * k], m, k, ht)
            } else {
                transpose_naive(&h[c * m * k..(c + 1) * m * k], m, k, ht)
            }
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                ht.as_ptr(),
                1,
                m as isize,
                w.as_ptr(),
                n as isize,
                1,
                0.0,
                z[c * m * n..].as_mut_ptr(),
                n as isize,
                1,
            );
        }
    };
    fwd_row(&mut z);
    fwd_col(&mut z2, &mut ht, true);
    assert_eq!(z, z2);
    for _ in 0..3 {
        let it = 50000;
        let t = Instant::now();
        for _ in 0..it {
            fwd_row(&mut z);
        }
        let a = t.elapsed().as_secs_f64() / it as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..it {
            fwd_col(&mut z2, &mut ht, false);
        }
        let b = t.elapsed().as_secs_f64() / it as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..it {
            fwd_col(&mut z2, &mut ht, true);
        }
        let c = t.elapsed().as_secs_f64() / it as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..it {
            unsafe {
                for c in 0..chunks {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        ht.as_ptr(),
                        1,
                        m as isize,
                        w.as_ptr(),
                        n as isize,
                        1,
                        0.0,
                        z2[c * m * n..].as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
            }
        }
        let d = t.elapsed().as_secs_f64() / it as f64 * 1e6;
        println!("col-major GEMM alone {d:.2} us");
        println!(
            "row-major A {a:.2} us; transpose(naive)+col-major {b:.2} us; transpose(blocked)+col-major {c:.2} us"
        );
    }
}
