/**
 * Generates the WebAssembly matmul module (GotoBLAS / BLIS structure).
 *
 * B is packed once over its full depth into NR-wide column panels (packB;
 * panel j holds B[0:k, j·NR:(j+1)·NR] row after row, zero-padded), which lets
 * several threads share it. Then gemmp runs
 *
 *   for jc in n step NC              (column block: its B panels stay in L2)
 *     for pc in k step KC            (depth block)
 *       for ic in m step MC          (row block of A / C)
 *         pack A[ic:ic+mc, pc:pc+kc] into MR-tall panels     (→ L2)
 *         for jr in nc step NR, ir in mc step MR
 *           micro-kernel: C[MR×NR] (+)= Apanel · Bpanel     (registers)
 *
 * The micro-kernel keeps MR × NV v128 accumulators in locals (NV vectors per
 * row, NR = NV · lanes columns) and uses the relaxed-SIMD fused multiply-add
 * when the engine validates it (else f32x4.mul + f32x4.add). Packing
 * zero-pads partial panels and pads the depth to a multiple of the unroll
 * factor, so the kernel only ever sees full tiles; C lives in a scratch area
 * whose rows/columns are padded to MR / NR multiples. Strides are in bytes and
 * may be anything (transposed, negative, zero) — packing reads through them.
 *
 * Small products skip the packing: gemmv reads A and B where they are
 * (kernelV takes row / depth strides for both operands; only B's last
 * partial panel is packed, by the caller).
 *
 * Exports per dtype (f32 / f64), all i32 arguments, byte addresses / strides:
 *   packB_<dt> (src, rs, cs, kc, kcp, nc, dst, pstride)
 *   gemmp_<dt> (a, aRs, aCs, bp, kp, c, ldc, m, k, n, workA)
 *   gemmv_<dt> (a, ars, acs, b, brs, be, c, ldc, m, k, n, ce)
 *   packA_<dt>, kernel_<dt>, kernelV_<dt> (internal, exported for testing)
 *
 * Register blocking (V8 12, x64 — 16 xmm registers, no AVX-512 registers):
 * TurboFan schedules every load of a loop iteration before the FMAs, so one
 * iteration needs accumulators + B vectors + A broadcasts registers. 3 × 3
 * (9 accumulators, 3 + 3 loads) fills exactly 15 registers and compiles to a
 * spill-free loop of 3 loads, 3 vbroadcastss and 9 vfmadd231ps: ≈ 85 % of the
 * 128-bit FMA peak (≈ 40 GFLOP/s f32 at ~2.9 GHz). 4 × 2 reaches ≈ 80 %;
 * larger tiles or an unrolled depth loop spill (V8 also hoists every distinct
 * `memory base + constant offset` into its own register) and lose 20–35 %.
 * kernelV's loop (every A broadcast at offset 0 from a computed address, a
 * depth counter) gains another ≈ 8 % over the original packed-only kernel
 * (43 → 47 GFLOP/s per tile here), so gemmp uses it too.
 */
import { forUp, ModuleBuilder, ValType, Simd, type FunctionBuilder } from "./emitter.js"

const { i32, v128 } = ValType

export interface KernelShape {
  /** rows of the register tile */
  readonly mr: number
  /** v128 vectors per tile row (NR = nv · lanes) */
  readonly nv: number
  /** unroll factor of the depth loop (depth padded to a multiple) */
  readonly unroll: number
  /** cache blocking */
  readonly mc: number
  readonly kc: number
  readonly nc: number
}

export interface KernelConfig {
  readonly f32: KernelShape
  readonly f64: KernelShape
  /** use relaxed-SIMD fused multiply-add (f32x4.relaxed_madd) */
  readonly fma: boolean
  /** import the memory as shared (threads) */
  readonly shared: boolean
  /** maximum memory pages (required for shared memory) */
  readonly maxPages: number
}

export const defaultShapes: { readonly f32: KernelShape; readonly f64: KernelShape } = {
  f32: { mr: 3, nv: 3, unroll: 1, mc: 126, kc: 256, nc: 1152 },
  f64: { mr: 3, nv: 3, unroll: 1, mc: 126, kc: 256, nc: 576 }
}

/** Round `x` up to a multiple of `m`. */
export const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m

/** Bytes of the A-packing workspace one thread needs. */
export const workspaceBytes = (shape: KernelShape, elt: number): number =>
  roundUp(shape.mc, shape.mr) * roundUp(shape.kc, shape.unroll) * elt + 64

interface DTypeOps {
  readonly elt: number
  readonly lanes: number
  readonly load: (f: FunctionBuilder, offset?: number) => void
  readonly store: (f: FunctionBuilder, offset?: number) => void
  readonly zero: (f: FunctionBuilder) => void
  readonly splatLoad: (f: FunctionBuilder, offset: number) => void
  readonly add: number
  readonly mul: number
  readonly madd: number
}

const f32Ops: DTypeOps = {
  elt: 4,
  lanes: 4,
  load: (f, o = 0) => void f.f32Load(o),
  store: (f, o = 0) => void f.f32Store(o),
  zero: (f) => void f.f32Const(0),
  splatLoad: (f, o) => void f.v128Load32Splat(o),
  add: Simd.f32x4_add,
  mul: Simd.f32x4_mul,
  madd: Simd.f32x4_relaxed_madd
}

const f64Ops: DTypeOps = {
  elt: 8,
  lanes: 2,
  load: (f, o = 0) => void f.f64Load(o),
  store: (f, o = 0) => void f.f64Store(o),
  zero: (f) => void f.f64Const(0),
  splatLoad: (f, o) => void f.v128Load64Splat(o),
  add: Simd.f64x2_add,
  mul: Simd.f64x2_mul,
  madd: Simd.f64x2_relaxed_madd
}

/** The register tile's locals: MR × NV accumulators, NV B vectors, one A broadcast. */
const tileLocals = (f: FunctionBuilder, s: KernelShape): { acc: Array<number>; bv: Array<number>; av: number } => {
  const acc: Array<number> = []
  for (let i = 0; i < s.mr * s.nv; i++) acc.push(f.local(v128))
  const bv: Array<number> = []
  for (let j = 0; j < s.nv; j++) bv.push(f.local(v128))
  return { acc, bv, av: f.local(v128) }
}

/** acc[r][j] += av · bv[j] for the tile's row r (fused multiply-add when the engine has it). */
const maddRow = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape, fma: boolean, t: { acc: Array<number>; bv: Array<number>; av: number }, r: number): void => {
  for (let j = 0; j < s.nv; j++) {
    const x = t.acc[r * s.nv + j]
    if (fma) f.get(t.av).get(t.bv[j]).get(x).simd(ops.madd).set(x)
    else f.get(x).get(t.av).get(t.bv[j]).simd(ops.mul).simd(ops.add).set(x)
  }
}

/** Stores the tile at C (rows LDC bytes apart), added to what is there when the local ACC is set. */
const storeTile = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape, acc: ReadonlyArray<number>, C: number, LDC: number, ACC: number): void => {
  const storeAll = (accumulate: boolean) => {
    for (let r = 0; r < s.mr; r++) {
      for (let j = 0; j < s.nv; j++) {
        f.get(C)
        if (accumulate) f.get(C).v128Load(j * 16).get(acc[r * s.nv + j]).simd(ops.add)
        else f.get(acc[r * s.nv + j])
        f.v128Store(j * 16)
      }
      if (r + 1 < s.mr) f.addLocal(C, LDC)
    }
  }
  f.get(ACC).if(
    () => storeAll(true),
    () => storeAll(false)
  )
}

/** micro-kernel (a, b, c, kcp, ldc, accumulate) */
const buildMicroKernel = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape, fma: boolean): void => {
  const [A, B, C, KCP, LDC, ACC] = [0, 1, 2, 3, 4, 5]
  const { elt } = ops
  const NR = s.nv * ops.lanes
  const { acc, bv, av } = tileLocals(f, s)
  const end = f.local(i32)
  // end = a + kcp * MR * elt
  f.get(A).get(KCP).i32(s.mr * elt).mul().add().set(end)
  f.loop(() => {
    for (let u = 0; u < s.unroll; u++) {
      for (let j = 0; j < s.nv; j++) f.get(B).v128Load(u * NR * elt + j * 16).set(bv[j])
      for (let r = 0; r < s.mr; r++) {
        f.get(A)
        ops.splatLoad(f, (u * s.mr + r) * elt)
        f.set(av)
        maddRow(f, ops, s, fma, { acc, bv, av }, r)
      }
    }
    f.addConst(A, s.unroll * s.mr * elt)
    f.addConst(B, s.unroll * NR * elt)
    f.get(A).get(end).ltU().brIf(0)
  })
  storeTile(f, ops, s, acc, C, LDC, ACC)
}

/**
 * While p < KC: one row of a panel gathered, DST[q] ← the value at sp + offs[q]
 * (the locals `offs`; offs[0] stands for 0), then DST advances by the row and
 * sp by the local `step`.
 */
const gatherLoop = (f: FunctionBuilder, ops: DTypeOps, p: number, KC: number, offs: ReadonlyArray<number>, DST: number, sp: number, step: number): void =>
  forUp(f, p, KC, 1, () => {
    for (let q = 0; q < offs.length; q++) {
      f.get(DST)
      f.get(sp)
      if (q > 0) f.get(offs[q]).add()
      ops.load(f)
      ops.store(f, q * ops.elt)
    }
    f.addConst(DST, offs.length * ops.elt)
    f.addLocal(sp, step)
  })

/** packA (src, rs, cs, mc, kc, kcp, dst): MR-tall panels, p-major inside a panel. */
const buildPackA = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape): void => {
  const [SRC, RS, CS, MC, KC, KCP, DST] = [0, 1, 2, 3, 4, 5, 6]
  const { elt } = ops
  const MR = s.mr
  const ir = f.local(i32)
  const h = f.local(i32)
  const sp = f.local(i32)
  const t = f.local(i32)
  const p = f.local(i32)
  const r = f.local(i32)
  const mrConst = f.local(i32)
  const rowOff: Array<number> = [0]
  for (let q = 1; q < MR; q++) {
    const l = f.local(i32)
    f.get(RS).i32(q).mul().set(l)
    rowOff.push(l)
  }
  f.i32(MR).set(mrConst)
  f.i32(0).set(ir)
  forUp(f, ir, MC, MR, () => {
    // h = min(MR, mc - ir)
    f.get(MC).get(ir).sub().set(h)
    f.get(mrConst).get(h).get(mrConst).get(h).ltS().select().set(h)
    f.get(SRC).get(ir).get(RS).mul().add().set(sp)
    f.i32(0).set(p)
    f.get(h).i32(MR).eq()
    f.if(
      () => {
        gatherLoop(f, ops, p, KC, rowOff, DST, sp, CS)
      },
      () => {
        forUp(f, p, KC, 1, () => {
          f.get(sp).set(t)
          f.i32(0).set(r)
          forUp(f, r, h, 1, () => {
            f.get(DST).get(r).i32(elt).mul().add()
            f.get(t)
            ops.load(f)
            ops.store(f)
            f.addLocal(t, RS)
          })
          forUp(f, r, mrConst, 1, () => {
            f.get(DST).get(r).i32(elt).mul().add()
            ops.zero(f)
            ops.store(f)
          })
          f.addConst(DST, MR * elt)
          f.addLocal(sp, CS)
        })
      }
    )
    // zero-pad depth kc..kcp
    forUp(f, p, KCP, 1, () => {
      for (let q = 0; q < MR; q++) {
        f.get(DST)
        ops.zero(f)
        ops.store(f, q * elt)
      }
      f.addConst(DST, MR * elt)
    })
  })
}

/** i8x16.shuffle byte indices picking `lanes` (0–2·L−1, over both operands) of `laneBytes` bytes each. */
const laneBytes = (lanes: ReadonlyArray<number>, bytes: number): Array<number> => lanes.flatMap((l) => Array.from({ length: bytes }, (_, b) => l * bytes + b))

/**
 * Transposes the L×L block in the locals `v` (v[t] = column t: lanes are
 * rows) in place, so that v[t] holds row t; `tmp` are L scratch locals.
 * float32 (L = 4): two rounds of interleaving shuffles; float64 (L = 2): one.
 */
const transposeLanes = (f: FunctionBuilder, L: number, v: ReadonlyArray<number>, tmp: ReadonlyArray<number>, elt: number): void => {
  if (L === 2) {
    f.get(v[0]).get(v[1]).shuffle(laneBytes([0, 2], elt)).set(tmp[0])
    f.get(v[0]).get(v[1]).shuffle(laneBytes([1, 3], elt)).set(v[1])
    f.get(tmp[0]).set(v[0])
    return
  }
  // t0 = (a0 b0 a1 b1), t1 = (a2 b2 a3 b3), t2 = (c0 d0 c1 d1), t3 = (c2 d2 c3 d3)
  f.get(v[0]).get(v[1]).shuffle(laneBytes([0, 4, 1, 5], elt)).set(tmp[0])
  f.get(v[0]).get(v[1]).shuffle(laneBytes([2, 6, 3, 7], elt)).set(tmp[1])
  f.get(v[2]).get(v[3]).shuffle(laneBytes([0, 4, 1, 5], elt)).set(tmp[2])
  f.get(v[2]).get(v[3]).shuffle(laneBytes([2, 6, 3, 7], elt)).set(tmp[3])
  // row 0 = (a0 b0 c0 d0), row 1 = (a1 b1 c1 d1), …
  f.get(tmp[0]).get(tmp[2]).shuffle(laneBytes([0, 1, 4, 5], elt)).set(v[0])
  f.get(tmp[0]).get(tmp[2]).shuffle(laneBytes([2, 3, 6, 7], elt)).set(v[1])
  f.get(tmp[1]).get(tmp[3]).shuffle(laneBytes([0, 1, 4, 5], elt)).set(v[2])
  f.get(tmp[1]).get(tmp[3]).shuffle(laneBytes([2, 3, 6, 7], elt)).set(v[3])
}

/**
 * packB (src, rs, cs, kc, kcp, nc, dst, pstride): NR-wide panels, p-major
 * inside a panel, `pstride` bytes apart (0: packed back to back, kcp rows
 * each). A panel stride larger than kcp rows packs a depth slice of B into
 * panels laid out for its full depth, so B can be packed slice by slice, by
 * several threads, as it is staged.
 */
const buildPackB = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape): void => {
  const [SRC, RS, CS, KC, KCP, NC, DST, PSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7]
  const { elt } = ops
  const NR = s.nv * ops.lanes
  const panel = f.local(i32)
  const jr = f.local(i32)
  const w = f.local(i32)
  const sp = f.local(i32)
  const t = f.local(i32)
  const p = f.local(i32)
  const j = f.local(i32)
  const nrConst = f.local(i32)
  const L = ops.lanes
  const kcL = f.local(i32)
  const cv: Array<number> = []
  const tv: Array<number> = []
  for (let t = 0; t < L; t++) {
    cv.push(f.local(v128))
    tv.push(f.local(v128))
  }
  const colOff: Array<number> = [0]
  for (let q = 1; q < NR; q++) {
    const l = f.local(i32)
    f.get(CS).i32(q).mul().set(l)
    colOff.push(l)
  }
  f.i32(NR).set(nrConst)
  // pstride 0 = kcp rows
  f.get(PSTRIDE).i32(0).eq()
  f.if(() => void f.get(KCP).i32(NR * elt).mul().set(PSTRIDE))
  f.i32(0).set(jr)
  forUp(f, jr, NC, NR, () => {
    f.get(DST).set(panel)
    f.get(NC).get(jr).sub().set(w)
    f.get(nrConst).get(w).get(nrConst).get(w).ltS().select().set(w)
    f.get(SRC).get(jr).get(CS).mul().add().set(sp)
    f.i32(0).set(p)
    f.get(w).i32(NR).eq().get(CS).i32(elt).eq().and()
    f.if(
      () => {
        // full panel, contiguous rows: vector copies
        forUp(f, p, KC, 1, () => {
          for (let q = 0; q < s.nv; q++) f.get(DST).get(sp).v128Load(q * 16, elt).v128Store(q * 16)
          f.addConst(DST, NR * elt)
          f.addLocal(sp, RS)
        })
      },
      () => {
        f.get(w).i32(NR).eq()
        f.if(
          () => {
            // full panel, strided columns (e.g. B transposed): unrolled gather
            const gatherRows = () => gatherLoop(f, ops, p, KC, colOff, DST, sp, RS)
            f.get(RS).i32(elt).eq()
            f.if(
              () => {
                // columns contiguous over p (B column-major): blocks of lanes × lanes (p × columns)
                // loaded a column at a time and transposed by shuffles, then the remaining rows gathered
                f.get(KC).get(KC).i32(L - 1).and().sub().set(kcL) // KC rounded down to a multiple of L (a power of 2)
                forUp(f, p, kcL, L, () => {
                  for (let g = 0; g < s.nv; g++) {
                    for (let t = 0; t < L; t++) {
                      f.get(sp)
                      if (g * L + t > 0) f.get(colOff[g * L + t]).add()
                      f.v128Load(0, elt).set(cv[t])
                    }
                    transposeLanes(f, L, cv, tv, elt)
                    for (let t = 0; t < L; t++) f.get(DST).get(cv[t]).v128Store(t * NR * elt + g * 16)
                  }
                  f.addConst(DST, L * NR * elt)
                  f.addConst(sp, L * elt)
                })
                gatherRows()
              },
              gatherRows
            )
          },
          () => {
            forUp(f, p, KC, 1, () => {
              f.get(sp).set(t)
              f.i32(0).set(j)
              forUp(f, j, w, 1, () => {
                f.get(DST).get(j).i32(elt).mul().add()
                f.get(t)
                ops.load(f)
                ops.store(f)
                f.addLocal(t, CS)
              })
              forUp(f, j, nrConst, 1, () => {
                f.get(DST).get(j).i32(elt).mul().add()
                ops.zero(f)
                ops.store(f)
              })
              f.addConst(DST, NR * elt)
              f.addLocal(sp, RS)
            })
          }
        )
      }
    )
    forUp(f, p, KCP, 1, () => {
      for (let q = 0; q < s.nv; q++) f.get(DST).v128Zero().v128Store(q * 16)
      f.addConst(DST, NR * elt)
    })
    f.get(panel).get(PSTRIDE).add().set(DST)
  })
}

/**
 * gemmp (a, aRs, aCs, bp, kp, c, ldc, m, k, n, workA): C[m×n] = A · B where B
 * is already packed by packB over its full depth (panel j of NR columns at
 * bp + j·kp·NR·elt, kp = depth rounded up to the unroll factor). The tiles
 * go through kernelV (unroll 1) or the packed-only kernel (unroll > 1).
 */
const buildGemmPacked = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape, fns: { packA: number; kernel: number; kernelV?: number }): void => {
  const [A, ARS, ACS, BP, KP, C, LDC, M, K, N, WA] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  const { elt } = ops
  const NR = s.nv * ops.lanes
  const [jc, nc, pc, kc, kcp, ic, mc, jr, ir, accf, cst, bpanel] = Array.from({ length: 12 }, () => f.local(i32))
  const setMin = (dst: number, constant: number, a: number, b: number) => {
    // dst = min(constant, a - b)
    f.i32(constant).set(cst)
    f.get(a).get(b).sub().set(dst)
    f.get(cst).get(dst).get(cst).get(dst).ltS().select().set(dst)
  }
  f.i32(0).set(jc)
  forUp(f, jc, N, s.nc, () => {
    setMin(nc, s.nc, N, jc)
    f.i32(0).set(pc)
    forUp(f, pc, K, s.kc, () => {
      setMin(kc, s.kc, K, pc)
      f.get(kc).i32(s.unroll - 1).add().i32(-s.unroll).and().set(kcp)
      f.get(pc).i32(0).ne().set(accf)
      f.i32(0).set(ic)
      forUp(f, ic, M, s.mc, () => {
        setMin(mc, s.mc, M, ic)
        f.get(A).get(ic).get(ARS).mul().add().get(pc).get(ACS).mul().add()
        f.get(ARS).get(ACS).get(mc).get(kc).get(kcp).get(WA).call(fns.packA)
        f.i32(0).set(jr)
        forUp(f, jr, nc, NR, () => {
          // bpanel = bp + (jc + jr) * kp * elt + pc * NR * elt
          f.get(BP).get(jc).get(jr).add().get(KP).mul().i32(elt).mul().add().get(pc).i32(NR * elt).mul().add().set(bpanel)
          f.i32(0).set(ir)
          forUp(f, ir, mc, s.mr, () => {
            const cTile = () => f.get(C).get(ic).get(ir).add().get(LDC).mul().add().get(jc).get(jr).add().i32(elt).mul().add()
            f.get(WA).get(ir).get(kcp).mul().i32(elt).mul().add()
            if (fns.kernelV !== undefined) {
              // kernelV(wa + ir*kcp*elt, elt, MR, MR*elt, bpanel, NR*elt, c + (ic+ir)*ldc + (jc+jr)*elt, ldc, kcp, accf)
              f.i32(elt).i32(s.mr).i32(s.mr * elt).get(bpanel).i32(NR * elt)
              cTile()
              f.get(LDC).get(kcp).get(accf).call(fns.kernelV)
            } else {
              // kernel(wa + ir*kcp*elt, bpanel, c + (ic+ir)*ldc + (jc+jr)*elt, kcp, ldc, accf)
              f.get(bpanel)
              cTile()
              f.get(kcp).get(LDC).get(accf).call(fns.kernel)
            }
          })
        })
      })
    })
  })
}

/**
 * kernelV (a, ars, h, acs, b, bs, c, ldc, kc, accumulate): the micro-kernel
 * on operands read where they are. Row r of the A tile is at a + r·ars for
 * r < h (rows past h repeat row h-1, so a partial tile reads nothing past
 * A; their results land in C's padding rows), acs bytes from one depth step
 * to the next; B rows of NR elements, bs bytes apart (contiguous columns).
 * Packed operands are just particular strides (ars = elt, acs = MR·elt,
 * bs = NR·elt): gemmp calls it too. Compared with the packed-only kernel
 * (every A broadcast at its own constant offset, loop until A reaches its
 * end) this loop form — one offset, a depth counter — runs ≈ 8 % faster
 * under V8 12.
 */
const buildKernelInPlace = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape, fma: boolean): void => {
  const [A, ARS, H, ACS, B, BS, C, LDC, KC, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  const { acc, bv, av } = tileLocals(f, s)
  const rowOff: Array<number> = [-1]
  for (let r = 1; r < s.mr; r++) {
    // rowOff[r] = min(r, h - 1) · ars
    const l = f.local(i32)
    f.i32(r).get(H).i32(1).sub().i32(r).get(H).ltS().select().get(ARS).mul().set(l)
    rowOff.push(l)
  }
  f.loop(() => {
    for (let j = 0; j < s.nv; j++) f.get(B).v128Load(j * 16, ops.elt).set(bv[j])
    for (let r = 0; r < s.mr; r++) {
      f.get(A)
      if (r > 0) f.get(rowOff[r]).add()
      ops.splatLoad(f, 0)
      f.set(av)
      maddRow(f, ops, s, fma, { acc, bv, av }, r)
    }
    f.addLocal(A, ACS)
    f.addLocal(B, BS)
    f.addConst(KC, -1)
    f.get(KC).brIf(0)
  })
  storeTile(f, ops, s, acc, C, LDC, ACC)
}

/**
 * gemmv (a, ars, acs, b, brs, be, c, ldc, m, k, n, ce): C[m×n] = A · B with
 * nothing packed — for products where packing costs about as much as it
 * saves (a few rows of C, or a small A). A is read in place (any byte
 * strides); B in place too (row stride brs bytes, contiguous columns) except
 * its last partial NR panel, which the caller packs (packB, depth k) at `be`
 * — a partial panel read in place would read past B's rows. Loops: depth
 * blocks of KC, B panels, then register tiles down the rows of C, so a
 * panel's depth block stays in L1 while A streams by (depth blocks of 128,
 * 256, 384 or all of k measured within noise of each other on the MLP's
 * shapes; larger ones lose when B's row stride is a power of two).
 * C may be dense (ldc = n·elt): full panels write only their own columns,
 * and the partial panel goes to `ce` (rows of NR elements), whose valid
 * columns are copied into C at the end. C still needs rows up to m rounded
 * up to MR (a partial register tile writes them).
 */
const buildGemmInPlace = (f: FunctionBuilder, ops: DTypeOps, s: KernelShape, fns: { kernelV: number }): void => {
  const [A, ARS, ACS, B, BRS, BE, C, LDC, M, K, N, CE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
  const { elt } = ops
  const NR = s.nv * ops.lanes
  const KCU = s.kc
  const [pc, kc, jr, ir, accf, cst, bpanel, bs, edge, src, dst, j] = Array.from({ length: 12 }, () => f.local(i32))
  f.get(N).set(edge) // first column of the partial panel (n: none)
  f.i32(0).set(pc)
  forUp(f, pc, K, KCU, () => {
    f.i32(KCU).set(cst)
    f.get(K).get(pc).sub().set(kc)
    f.get(cst).get(kc).get(cst).get(kc).ltS().select().set(kc)
    f.get(pc).i32(0).ne().set(accf)
    f.i32(0).set(jr)
    forUp(f, jr, N, NR, () => {
      f.get(N).get(jr).sub().i32(NR).geS()
      f.if(
        () => {
          f.get(B).get(jr).i32(elt).mul().add().get(pc).get(BRS).mul().add().set(bpanel)
          f.i32(0).set(ir)
          forUp(f, ir, M, s.mr, () => {
            // kernelV(a + ir·ars + pc·acs, ars, m - ir, acs, bpanel, brs, c + ir·ldc + jr·elt, ldc, kc, accf)
            f.get(A).get(ir).get(ARS).mul().add().get(pc).get(ACS).mul().add()
            f.get(ARS).get(M).get(ir).sub().get(ACS)
            f.get(bpanel).get(BRS)
            f.get(C).get(ir).get(LDC).mul().add().get(jr).i32(elt).mul().add()
            f.get(LDC).get(kc).get(accf).call(fns.kernelV)
          })
        },
        () => {
          f.get(jr).set(edge)
          f.get(BE).get(pc).i32(NR * elt).mul().add().set(bpanel)
          f.i32(0).set(ir)
          forUp(f, ir, M, s.mr, () => {
            // kernelV(a + ir·ars + pc·acs, ars, m - ir, acs, bpanel, NR·elt, ce + ir·NR·elt, NR·elt, kc, accf)
            f.get(A).get(ir).get(ARS).mul().add().get(pc).get(ACS).mul().add()
            f.get(ARS).get(M).get(ir).sub().get(ACS)
            f.get(bpanel).i32(NR * elt)
            f.get(CE).get(ir).i32(NR * elt).mul().add()
            f.i32(NR * elt).get(kc).get(accf).call(fns.kernelV)
          })
        }
      )
    })
  })
  // the partial panel's valid columns: ce → C
  f.get(edge).get(N).ltS()
  f.if(() => {
    f.get(CE).set(src)
    f.get(C).get(edge).i32(elt).mul().add().set(dst)
    f.get(N).get(edge).sub().set(edge) // now: its width
    f.i32(0).set(ir)
    forUp(f, ir, M, 1, () => {
      f.i32(0).set(j)
      forUp(f, j, edge, 1, () => {
        f.get(dst).get(j).i32(elt).mul().add()
        f.get(src).get(j).i32(elt).mul().add()
        ops.load(f)
        ops.store(f)
      })
      f.addConst(src, NR * elt)
      f.addLocal(dst, LDC)
    })
  })
}

/** Builds the module bytes for `config`. */
export const buildMatmulModule = (config: KernelConfig): Uint8Array<ArrayBuffer> => {
  const mod = new ModuleBuilder()
  mod.importMemory({ module: "env", name: "memory", initial: 1, maximum: config.maxPages, shared: config.shared })
  for (const [name, ops, shape] of [
    ["f32", f32Ops, config.f32],
    ["f64", f64Ops, config.f64]
  ] as const) {
    const kernel = mod.func(`kernel_${name}`, [i32, i32, i32, i32, i32, i32], [])
    const packA = mod.func(`packA_${name}`, [i32, i32, i32, i32, i32, i32, i32], [])
    const packB = mod.func(`packB_${name}`, [i32, i32, i32, i32, i32, i32, i32, i32], [])
    const gemm = mod.func(`gemmp_${name}`, Array.from({ length: 11 }, () => i32), [])
    const kernelV = mod.func(`kernelV_${name}`, Array.from({ length: 10 }, () => i32), [])
    const gemmv = mod.func(`gemmv_${name}`, Array.from({ length: 12 }, () => i32), [])
    if (shape.kc % shape.unroll !== 0 || shape.nc % (shape.nv * ops.lanes) !== 0 || shape.mc % shape.mr !== 0)
      throw new Error("matmul kernel: kc must be a multiple of unroll, nc of NR and mc of MR")
    buildMicroKernel(kernel.f, ops, shape, config.fma)
    buildPackA(packA.f, ops, shape)
    buildPackB(packB.f, ops, shape)
    buildGemmPacked(gemm.f, ops, shape, { packA: packA.index, kernel: kernel.index, kernelV: shape.unroll === 1 ? kernelV.index : undefined })
    buildKernelInPlace(kernelV.f, ops, shape, config.fma)
    buildGemmInPlace(gemmv.f, ops, shape, { kernelV: kernelV.index })
  }
  return mod.toBytes()
}

/** packB (src, rs, cs, kc, kcp, nc, dst, pstride) — byte addresses / strides; pstride 0 = kcp rows */
export type PackBFn = (src: number, rs: number, cs: number, kc: number, kcp: number, nc: number, dst: number, pstride: number) => void
/** gemmv (a, ars, acs, b, brs, be, c, ldc, m, k, n, ce) — byte addresses / strides */
export type GemmInPlaceFn = (
  a: number,
  ars: number,
  acs: number,
  b: number,
  brs: number,
  be: number,
  c: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  ce: number
) => void
/** gemmp (a, aRs, aCs, bp, kp, c, ldc, m, k, n, workA) — byte addresses / strides */
export type GemmPackedFn = (
  a: number,
  aRs: number,
  aCs: number,
  bp: number,
  kp: number,
  c: number,
  ldc: number,
  m: number,
  k: number,
  n: number,
  workA: number
) => void

export interface MatmulExports {
  readonly packB_f32: PackBFn
  readonly packB_f64: PackBFn
  readonly gemmp_f32: GemmPackedFn
  readonly gemmp_f64: GemmPackedFn
  readonly gemmv_f32: GemmInPlaceFn
  readonly gemmv_f64: GemmInPlaceFn
}
