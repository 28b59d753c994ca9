//! The two-moons step's 70 × 70 GEMMs (four chunks of 128 rows: forward `Z = H W + b`,
//! `dW = Hᵀ δ`, `dA = δ Wᵀ`) in matrixmultiply against a hand-written AVX-512 kernel that
//! packs only the weights, once per step, and broadcasts the activations straight from
//! their rows. A measurement for a team decision (`README.md`), not product code.
//! Needs an AVX-512 CPU.

use std::arch::x86_64::*;
use std::time::Instant;

const NP: usize = 80; // padded width

/// C[m×70] = init + A[m×k] · Bp[k×80] (Bp zero-padded), A row-major with row stride k.
#[target_feature(enable = "avx512f")]
unsafe fn kern_rows(
    m: usize,
    k: usize,
    a: *const f32,
    bp: *const f32,
    init: Option<*const f32>,
    c: *mut f32,
    n: usize,
) {
    let mask: __mmask16 = ((1u32 << (n - 64)) - 1) as u16;
    let mut i = 0;
    while i + 4 <= m {
        let mut acc = [[_mm512_setzero_ps(); 5]; 4];
        if let Some(b) = init {
            for r in 0..4 {
                for v in 0..4 {
                    acc[r][v] = _mm512_loadu_ps(b.add(16 * v));
                }
                acc[r][4] = _mm512_maskz_loadu_ps(mask, b.add(64));
            }
        }
        for p in 0..k {
            let bv = [
                _mm512_load_ps(bp.add(p * NP)),
                _mm512_load_ps(bp.add(p * NP + 16)),
                _mm512_load_ps(bp.add(p * NP + 32)),
                _mm512_load_ps(bp.add(p * NP + 48)),
                _mm512_load_ps(bp.add(p * NP + 64)),
            ];
            for r in 0..4 {
                let av = _mm512_set1_ps(*a.add((i + r) * k + p));
                for v in 0..5 {
                    acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
                }
            }
        }
        for r in 0..4 {
            let cr = c.add((i + r) * n);
            for v in 0..4 {
                _mm512_storeu_ps(cr.add(16 * v), acc[r][v]);
            }
            _mm512_mask_storeu_ps(cr.add(64), mask, acc[r][4]);
        }
        i += 4;
    }
}

/// C[70×70] = Aᵀ B over m rows: A, B row-major m×70. Rows of C in blocks of 5.
#[target_feature(enable = "avx512f")]
unsafe fn kern_at_b(m: usize, a: *const f32, b: *const f32, c: *mut f32) {
    let n = 70;
    let mask: __mmask16 = ((1u32 << (n - 64)) - 1) as u16;
    let mut i = 0;
    while i + 5 <= 70 {
        let mut acc = [[_mm512_setzero_ps(); 5]; 5];
        for r in 0..m {
            let br = b.add(r * n);
            let bv = [
                _mm512_loadu_ps(br),
                _mm512_loadu_ps(br.add(16)),
                _mm512_loadu_ps(br.add(32)),
                _mm512_loadu_ps(br.add(48)),
                _mm512_maskz_loadu_ps(mask, br.add(64)),
            ];
            for j in 0..5 {
                let av = _mm512_set1_ps(*a.add(r * n + i + j));
                for v in 0..5 {
                    acc[j][v] = _mm512_fmadd_ps(av, bv[v], acc[j][v]);
                }
            }
        }
        for j in 0..5 {
            let cr = c.add((i + j) * n);
            for v in 0..4 {
                _mm512_storeu_ps(cr.add(16 * v), acc[j][v]);
            }
            _mm512_mask_storeu_ps(cr.add(64), mask, acc[j][4]);
        }
        i += 5;
    }
}

fn main() {
    let (m, k, n) = (128usize, 70usize, 70usize);
    let chunks = 4;
    let val = |i: usize| ((i * 2654435761 % 2001) as f32 / 1000.0) - 1.0;
    let h: Vec<f32> = (0..chunks * m * k).map(val).collect();
    let d: Vec<f32> = (0..chunks * m * n).map(|i| val(i + 7)).collect();
    let w: Vec<f32> = (0..k * n).map(|i| val(i + 3)).collect(); // fi×fo row-major
    let bias: Vec<f32> = (0..n).map(|i| val(i + 1)).collect();
    let mut z = vec![0f32; chunks * m * n];
    let mut da = vec![0f32; chunks * m * k];
    let mut dw = vec![0f32; chunks * k * n];
    // reference with matrixmultiply
    let mm = |z: &mut [f32], da: &mut [f32], dw: &mut [f32]| unsafe {
        for c in 0..chunks {
            let (hc, dc) = (&h[c * m * k..], &d[c * m * n..]);
            let zc = &mut z[c * m * n..];
            for r in 0..m {
                zc[r * n..r * n + n].copy_from_slice(&bias);
            }
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                hc.as_ptr(),
                k as isize,
                1,
                w.as_ptr(),
                n as isize,
                1,
                1.0,
                zc.as_mut_ptr(),
                n as isize,
                1,
            );
            matrixmultiply::sgemm(
                k,
                m,
                n,
                1.0,
                hc.as_ptr(),
                1,
                k as isize,
                dc.as_ptr(),
                n as isize,
                1,
                0.0,
                dw[c * k * n..].as_mut_ptr(),
                n as isize,
                1,
            );
            matrixmultiply::sgemm(
                m,
                n,
                k,
                1.0,
                dc.as_ptr(),
                n as isize,
                1,
                w.as_ptr(),
                1,
                n as isize,
                0.0,
                da[c * m * k..].as_mut_ptr(),
                k as isize,
                1,
            );
        }
    };
    #[repr(align(64))]
    struct A([f32; 70 * NP]);
    let mut wp = Box::new(A([0.0; 70 * NP]));
    let mut wtp = Box::new(A([0.0; 70 * NP]));
    let mine = |z: &mut [f32], da: &mut [f32], dw: &mut [f32], wp: &mut A, wtp: &mut A| unsafe {
        // pack once per step
        for p in 0..k {
            for o in 0..n {
                wp.0[p * NP + o] = w[p * n + o];
            }
        }
        for o in 0..n {
            for p in 0..k {
                wtp.0[o * NP + p] = w[p * n + o];
            }
        }
        for c in 0..chunks {
            let (hc, dc) = (&h[c * m * k..], &d[c * m * n..]);
            kern_rows(
                m,
                k,
                hc.as_ptr(),
                wp.0.as_ptr(),
                Some(bias.as_ptr()),
                z[c * m * n..].as_mut_ptr(),
                n,
            );
            kern_at_b(m, hc.as_ptr(), dc.as_ptr(), dw[c * k * n..].as_mut_ptr());
            kern_rows(
                m,
                n,
                dc.as_ptr(),
                wtp.0.as_ptr(),
                None,
                da[c * m * k..].as_mut_ptr(),
                k,
            );
        }
    };
    let (mut z2, mut da2, mut dw2) = (z.clone(), da.clone(), dw.clone());
    mm(&mut z, &mut da, &mut dw);
    mine(&mut z2, &mut da2, &mut dw2, &mut wp, &mut wtp);
    let err = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max)
    };
    println!(
        "max err z {} da {} dw {}",
        err(&z, &z2),
        err(&da, &da2),
        err(&dw, &dw2)
    );
    let flop = (3 * chunks * m * k * n * 2) as f64;
    for _ in 0..3 {
        let it = 20000;
        let t = Instant::now();
        for _ in 0..it {
            mm(&mut z, &mut da, &mut dw);
        }
        let a = t.elapsed().as_secs_f64() / it as f64;
        let t = Instant::now();
        for _ in 0..it {
            mine(&mut z2, &mut da2, &mut dw2, &mut wp, &mut wtp);
        }
        let b = t.elapsed().as_secs_f64() / it as f64;
        println!(
            "matrixmultiply {:.1} us ({:.0} GFLOP/s)  no-pack {:.1} us ({:.0} GFLOP/s)",
            a * 1e6,
            flop / a / 1e9,
            b * 1e6,
            flop / b / 1e9
        );
    }
}
