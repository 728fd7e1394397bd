/**
 * WebAssembly `im2col` / `col2im` (float32 and float64), bit-identical to the
 * JavaScript loops of cpu/conv.ts, which stay the reference and the fallback.
 *
 * Both are strided row copies (adds for col2im) per kernel offset, and the
 * rows are short (8 elements in the MNIST CNN), so the JavaScript loops spend
 * ≈ 2 ns per element on loop overhead; here a row is a few v128 loads and
 * stores. The geometry stays in JavaScript: `windows` gives each kernel
 * offset's in-image rectangle, staged as a table of byte offsets that the
 * kernel walks, so strides, padding and dilation cost nothing extra in wasm.
 *
 * Operands are staged as the buffer range a view spans (one `set`) and
 * addressed through their strides, so any layout works as long as that range
 * is not much larger than the work. What remains is memory traffic: the
 * patches are kh·kw times the image, a few MB for the CNN, more than L2. So
 * the patches move in chunks of ≈ 256 KB (channels, or kernel offsets of one
 * channel, in the channels-major layout; images in the row-major one) that
 * stay in cache between the kernel and the copy: im2col writes a chunk and
 * copies it out, col2im stages a chunk and adds it in. The loops run in the
 * order the patches are laid out (channels-major: c, kernel offset, n;
 * row-major: n, c, kernel offset), so they stream.
 *
 * col2im sums exactly as the JavaScript loop does: each output element starts
 * at +0 and receives its patches' entries in increasing kernel offset (in any
 * loop order, since one output element belongs to one (n, c)), one correctly
 * rounded add at a time — the f32x4 add rounds each lane like
 * `Math.fround(a + b)` on float32 operands.
 */
import { channelsMajorStrides, convOutputSize, windows, type ConvImplementation, type ConvParams } from "../cpu/conv.js"
import { allocateUninit, contiguousStrides, type Buffer, type DType, type View } from "../cpu/types.js"
import { Simd, ValType, type FunctionBuilder, type ModuleBuilder } from "./emitter.js"
import { alignUp, kernelExports, scratch } from "./kernels.js"

const { i32, f32, f64, v128 } = ValType

/** Per kernel offset (i32 × 4): row count (0 for an empty window), row length in bytes, source and destination byte offsets. */
const RECORD = 16

/** `while (i < limit) body()`; the body advances `i`. */
const whileLt = (f: FunctionBuilder, i: number, limit: number, body: () => void): void => {
  f.block(() => {
    f.get(i).get(limit).geS().brIf(0)
    f.loop(() => {
      body()
      f.get(i).get(limit).ltS().brIf(0)
    })
  })
}

/**
 * `switch (index) { case 0 … case n-1; default }` as nested blocks and one
 * br_table; every case (and the default) ends by leaving the whole switch.
 */
const switchOn = (f: FunctionBuilder, index: () => void, cases: ReadonlyArray<() => void>, otherwise: () => void): void => {
  const n = cases.length
  // blocks for cases 0 … k-1 (the innermost holds the br_table), each followed by its case's code
  const nest = (k: number): void => {
    if (k === 0) {
      index()
      f.brTable(
        Array.from({ length: n }, (_, j) => j),
        n
      )
      return
    }
    f.block(() => nest(k - 1))
    cases[k - 1]()
    f.br(n - k + 1)
  }
  f.block(() => {
    f.block(() => nest(n))
    otherwise()
  })
}

/** Rows of up to this many whole v128 run unrolled (the CNN's rows of 8 and 24 float32 are 2 and 6). */
const UNROLLED = 8

type Dt = "f32" | "f64"

const elts: Record<Dt, number> = { f32: 4, f64: 8 }

const load = (f: FunctionBuilder, dt: Dt): FunctionBuilder => (dt === "f32" ? f.f32Load() : f.f64Load())
const store = (f: FunctionBuilder, dt: Dt): FunctionBuilder => (dt === "f32" ? f.f32Store() : f.f64Store())
/** f32.add / f64.add */
const scalarAdd = (f: FunctionBuilder, dt: Dt): FunctionBuilder => f.emit(dt === "f32" ? 0x92 : 0xa0)

/**
 * `<op>_<dt>_<order>(S, sA, sB, sRow, sCol, D, dA, dB, dRow, dCol, a0, a1, nB, k0, k1, table)`,
 * all i32 (byte addresses and strides). For a in [a0, a1), b in [0, nB) and
 * kernel offset kk in [k0, k1) — nested a, kk, b (`order` "akb") or a, b, kk
 * ("abk") — and each of the `table[kk].rows` rows r, it copies (`op` "copy")
 * or adds ("add") the row of `table[kk].bytes / elt` elements read every
 * `sCol` bytes from `S + a·sA + b·sB + srcOff + r·sRow` to the one written
 * every `dCol` bytes at `D + a·dA + b·dB + dstOff + r·dRow`. Rows with both
 * steps one element move as v128 (unaligned) plus a scalar tail, unrolled
 * per row length (a br_table per window) up to `UNROLLED` vectors.
 */
const buildKernel = (mod: ModuleBuilder, op: "copy" | "add", dt: Dt, order: "akb" | "abk"): void => {
  const elt = elts[dt]
  const { f } = mod.func(`${op}_${dt}_${order}`, new Array<ValType>(16).fill(i32), [])
  const [S, SA, SB, SROW, SCOL, D, DA, DB, DROW, DCOL, A0, A1, NB, K0, K1, TABLE] = Array.from({ length: 16 }, (_, i) => i)
  const [a, b, kk, r, rec, rows, bytes, vecEnd, srcOff, dstOff, src, dst, i, sp, dp, contiguous] = Array.from({ length: 16 }, () => f.local(i32))
  const record = () => {
    f.get(TABLE).get(kk).i32(RECORD).mul().add().set(rec)
    f.get(rec).i32Load(0).set(rows)
    f.get(rec).i32Load(4).set(bytes)
    f.get(rec).i32Load(8).set(srcOff)
    f.get(rec).i32Load(12).set(dstOff)
    f.get(bytes).i32(-16).and().set(vecEnd)
  }
  /** One element: `*dst = *src` (copy) or `*dst = *dst + *src` (add), addresses pushed by the callbacks. */
  const element = (dstAddress: () => void, srcAddress: () => void) => {
    dstAddress()
    if (op === "add") {
      dstAddress()
      load(f, dt)
    }
    srcAddress()
    load(f, dt)
    if (op === "add") scalarAdd(f, dt)
    store(f, dt)
  }
  /** One v128 of the row, `at` bytes (an immediate offset) past the addresses the callbacks push. */
  const vector = (dstBase: () => void, srcBase: () => void, at: number) => {
    dstBase()
    if (op === "add") {
      dstBase()
      f.v128Load(at, 1)
    }
    srcBase()
    f.v128Load(at, 1)
    if (op === "add") f.simd(dt === "f32" ? Simd.f32x4_add : Simd.f64x2_add)
    f.v128Store(at, 1)
  }
  /** The elements past the last whole v128 of a contiguous row. */
  const tail = () => {
    f.get(vecEnd).set(i)
    whileLt(f, i, bytes, () => {
      element(
        () => f.get(dst).get(i).add(),
        () => f.get(src).get(i).add()
      )
      f.addConst(i, elt)
    })
  }
  /** `row()` for each of the window's rows, counting `r` down. */
  const eachRow = (row: () => void) => {
    f.get(rows).set(r)
    f.block(() => {
      f.get(r).eqz().brIf(0)
      f.loop(() => {
        row()
        f.addLocal(src, SROW)
        f.addLocal(dst, DROW)
        f.addConst(r, -1)
        f.get(r).brIf(0)
      })
    })
  }
  const rowsOfWindow = () => {
    f.get(S).get(a).get(SA).mul().add().get(b).get(SB).mul().add().get(srcOff).add().set(src)
    f.get(D).get(a).get(DA).mul().add().get(b).get(DB).mul().add().get(dstOff).add().set(dst)
    f.get(contiguous)
    f.if(
      () =>
        // rows of up to UNROLLED whole vectors run unrolled, with immediate offsets; case 2·vectors (+1 with a tail)
        switchOn(
          f,
          () => f.get(bytes).i32(3).shrU().i32(-2).and().get(bytes).i32(15).and().i32(0).ne().or(),
          Array.from({ length: 2 * (UNROLLED + 1) }, (_, k) => () =>
            eachRow(() => {
              for (let j = 0; j < k >> 1; j++)
                vector(
                  () => f.get(dst),
                  () => f.get(src),
                  16 * j
                )
              if (k & 1) tail()
            })
          ),
          () =>
            eachRow(() => {
              f.i32(0).set(i)
              whileLt(f, i, vecEnd, () => {
                vector(
                  () => f.get(dst).get(i).add(),
                  () => f.get(src).get(i).add(),
                  0
                )
                f.addConst(i, 16)
              })
              tail()
            })
        ),
      () =>
        eachRow(() => {
          f.i32(0).set(i)
          f.get(src).set(sp)
          f.get(dst).set(dp)
          whileLt(f, i, bytes, () => {
            element(
              () => f.get(dp),
              () => f.get(sp)
            )
            f.addLocal(sp, SCOL)
            f.addLocal(dp, DCOL)
            f.addConst(i, elt)
          })
        })
    )
  }
  const overB = (body: () => void) => {
    f.i32(0).set(b)
    whileLt(f, b, NB, () => {
      body()
      f.addConst(b, 1)
    })
  }
  const overK = (body: () => void) => {
    f.get(K0).set(kk)
    whileLt(f, kk, K1, () => {
      body()
      f.addConst(kk, 1)
    })
  }
  f.get(SCOL).i32(elt).eq().get(DCOL).i32(elt).eq().and().set(contiguous)
  f.get(A0).set(a)
  whileLt(f, a, A1, () => {
    if (order === "akb") {
      overK(() => {
        record()
        overB(rowsOfWindow)
      })
    } else {
      overB(() =>
        overK(() => {
          record()
          rowsOfWindow()
        })
      )
    }
    f.addConst(a, 1)
  })
}

/**
 * `fill_<dt>(at, bytes, value)`: every element of `[at, at + bytes)` set to
 * `value` (zeroing the col2im output, padding im2col's); a `fill` of a view
 * of the shared engine memory is several times slower.
 */
const buildFill = (mod: ModuleBuilder, dt: Dt): void => {
  const elt = elts[dt]
  const { f } = mod.func(`fill_${dt}`, [i32, i32, dt === "f32" ? f32 : f64], [])
  const [AT, BYTES, VALUE] = [0, 1, 2]
  const [i, vecEnd, splat] = [f.local(i32), f.local(i32), f.local(v128)]
  f.get(VALUE).simd(dt === "f32" ? Simd.f32x4_splat : Simd.f64x2_splat).set(splat)
  f.get(BYTES).i32(-16).and().set(vecEnd)
  f.i32(0).set(i)
  whileLt(f, i, vecEnd, () => {
    f.get(AT).get(i).add().get(splat).v128Store(0, 1)
    f.addConst(i, 16)
  })
  whileLt(f, i, BYTES, () => {
    f.get(AT).get(i).add().get(VALUE)
    store(f, dt)
    f.addConst(i, elt)
  })
}

type Kernel = (...args: Array<number>) => void

const kernel = (name: string): Kernel | undefined =>
  kernelExports<Record<string, Kernel>>("conv", (mod) => {
    for (const dt of ["f32", "f64"] as const) {
      buildFill(mod, dt)
      for (const op of ["copy", "add"] as const) for (const order of ["akb", "abk"] as const) buildKernel(mod, op, dt, order)
    }
  })?.[name]

const stats = { im2col: 0, col2im: 0 }

/** How many im2col / col2im calls ran in WebAssembly (tests and diagnostics). */
export const convStats = (): { readonly im2col: number; readonly col2im: number } => ({ ...stats })

/**
 * The buffer range `[lo, hi)` that a view of `shape` spans (empty when the
 * shape is). Staging it whole keeps every element at its stride offset.
 */
const span = (offset: number, shape: ReadonlyArray<number>, strides: ReadonlyArray<number>): [number, number] => {
  let lo = offset
  let hi = offset
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return [offset, offset]
    const reach = (shape[d] - 1) * strides[d]
    if (reach < 0) lo += reach
    else hi += reach
  }
  return [lo, hi + 1]
}

/** Staging more than this many times the elements processed costs more than it saves: the JavaScript loop runs instead. */
const MAX_SPAN_RATIO = 4

/** Bytes of patches per chunk: well inside L2, so the chunk is still cached when it is copied out (or added in). */
const CHUNK_BYTES = 256 * 1024

/** Below this many patch elements a JavaScript loop is as fast (a call costs ≈ 2 µs, a JavaScript loop ≈ 1–2 ns per element). */
const MIN_WORK = 2048

/** When to use WebAssembly, and the chunk size (tests take tiny ones to cover the chunking). */
export interface ConvTuning {
  /** Fewer patch elements than this stay in JavaScript. */
  readonly minWork: number
  readonly chunkBytes: number
}

/** Outer indices `[a0, a1)` × kernel offsets `[k0, k1)`: the part of the patches one kernel call handles. */
interface Chunk {
  readonly a0: number
  readonly a1: number
  readonly k0: number
  readonly k1: number
}

/**
 * Chunks of about `chunkBytes` covering `count` outer indices × `K` kernel
 * offsets, `bytesPerWindow` per pair: whole outer indices, or with `splitK`
 * (the channels-major order, where one channel's kernel offsets are
 * contiguous) ranges of kernel offsets when one outer index is larger.
 */
const chunks = (chunkBytes: number, count: number, K: number, bytesPerWindow: number, splitK: boolean): Array<Chunk> => {
  const result: Array<Chunk> = []
  if (splitK && K * bytesPerWindow > chunkBytes) {
    const step = Math.max(1, Math.floor(chunkBytes / bytesPerWindow))
    for (let a = 0; a < count; a++) for (let k0 = 0; k0 < K; k0 += step) result.push({ a0: a, a1: a + 1, k0, k1: Math.min(K, k0 + step) })
  } else {
    const step = Math.max(1, Math.floor(chunkBytes / (K * bytesPerWindow)))
    for (let a0 = 0; a0 < count; a0 += step) result.push({ a0, a1: Math.min(count, a0 + step), k0: 0, k1: K })
  }
  return result
}

/** A fresh output (or a pooled one while a compiled program runs); every element is then written. */
const output = (dtype: "float32" | "float64", size: number): Float32Array | Float64Array => allocateUninit(dtype, size) as Float32Array | Float64Array

/**
 * `im2col` for float32 / float64 views of any layout (see `span`); undefined
 * for other dtypes, an empty input or output, fewer than `minWork` patch
 * elements, or without WebAssembly. The patches leave chunk by chunk (see
 * `chunks`), each contiguous in the output.
 */
const im2colWasm = ({ minWork, chunkBytes }: ConvTuning, x: View, p: ConvParams, padValue: number, channelsMajor: boolean): Buffer | undefined => {
  if (x.dtype !== "float32" && x.dtype !== "float64") return undefined
  const [N, C, H, W] = x.shape
  const OH = convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom)
  const OW = convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
  const K = p.kh * p.kw
  const size = N * C * K * OH * OW
  const [lo, hi] = span(x.offset, x.shape, x.strides)
  if (size === 0 || size < minWork || hi === lo || hi - lo > MAX_SPAN_RATIO * size) return undefined
  const dt = x.dtype === "float32" ? "f32" : "f64"
  const run = kernel(`copy_${dt}_${channelsMajor ? "akb" : "abk"}`)
  const fill = kernel(`fill_${dt}`)
  if (run === undefined || fill === undefined) return undefined
  const elt = elts[dt]
  const [sN, sC, sH, sW] = x.strides
  const os = channelsMajor ? channelsMajorStrides(N, C, p.kh, p.kw, OH, OW) : contiguousStrides([N, C, p.kh, p.kw, OH, OW])
  // the outer loop: c (channels-major) or n; the patches of one outer index and kernel offset are a contiguous
  // slab of `perWindow` elements, and so are those of a range of kernel offsets (channels-major) or outer indices
  const [countA, sA, dA, countB, sB, dB] = channelsMajor ? [C, sC, os[1], N, sN, os[0]] : [N, sN, os[0], C, sC, os[1]]
  const perWindow = size / (countA * K)
  const parts = chunks(chunkBytes, countA, K, perWindow * elt, channelsMajor)
  const largest = parts.reduce((most, c) => Math.max(most, (c.a1 - c.a0) * (c.k1 - c.k0)), 0) * perWindow
  const inRel = alignUp(K * RECORD)
  const outRel = inRel + alignUp((hi - lo) * elt)
  const views = scratch(outRel + alignUp(largest * elt))
  if (views === undefined) return undefined
  const [tableAt, inAt, outAt] = [views.base, views.base + inRel, views.base + outRel]
  const view = dt === "f32" ? views.f32 : views.f64
  view.set(x.buffer.subarray(lo, hi), inAt / elt)
  const table = new Int32Array(view.buffer, tableAt, K * 4)
  let full = true
  windows(H, W, OH, OW, p).forEach((w, kk) => {
    full &&= w.ohCount === OH && w.owCount === OW
    table[4 * kk] = w.ohCount === 0 || w.owCount === 0 ? 0 : w.ohCount
    table[4 * kk + 1] = w.owCount * elt
    table[4 * kk + 2] = (w.ih0 * sH + w.iw0 * sW) * elt
    table[4 * kk + 3] = (kk * os[3] + w.oh0 * OW + w.ow0) * elt
  })
  const out = output(x.dtype, size)
  const X = inAt + (x.offset - lo) * elt
  for (const { a0, a1, k0, k1 } of parts) {
    const start = a0 * dA + k0 * os[3]
    const n = (a1 - a0) * (k1 - k0) * perWindow
    // Positions outside the image keep what is there first: padValue (+0 for a zero of either sign, as allocate gives).
    if (!full) fill(outAt, n * elt, padValue !== 0 ? padValue : 0)
    run(X, sA * elt, sB * elt, p.strideH * sH * elt, p.strideW * sW * elt, outAt - start * elt, dA * elt, dB * elt, OW * elt, elt, a0, a1, countB, k0, k1, tableAt)
    out.set(view.subarray(outAt / elt, outAt / elt + n), start)
  }
  stats.im2col++
  return out
}

/**
 * `col2im` for float32 / float64 patches of any layout (see `span`) summed
 * into the same dtype; undefined otherwise (a mixed-dtype sum rounds
 * differently), for empty operands, fewer than `minWork` patch elements, or
 * without WebAssembly. The patches come in chunk by chunk along their outer
 * dim (c for the channels-major layout of `conv2d`, else n) when those
 * chunks are compact in memory, else in one piece.
 */
const col2imWasm = ({ minWork, chunkBytes }: ConvTuning, cols: View, N: number, C: number, H: number, W: number, p: ConvParams, outDtype: DType): Buffer | undefined => {
  if ((outDtype !== "float32" && outDtype !== "float64") || cols.dtype !== outDtype) return undefined
  const OH = convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom)
  const OW = convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
  const K = p.kh * p.kw
  const size = N * C * H * W
  const colsSize = N * C * K * OH * OW
  if (size === 0 || colsSize === 0 || colsSize < minWork) return undefined
  const dt = outDtype === "float32" ? "f32" : "f64"
  const cs = cols.strides
  const channelsOuter = Math.abs(cs[1]) > Math.abs(cs[0])
  const run = kernel(`add_${dt}_${channelsOuter ? "akb" : "abk"}`)
  const fill = kernel(`fill_${dt}`)
  if (run === undefined || fill === undefined) return undefined
  const elt = elts[dt]
  const [countA, sA, dA, countB, sB, dB] = channelsOuter ? [C, cs[1], H * W, N, cs[0], C * H * W] : [N, cs[0], C * H * W, C, cs[1], H * W]
  /** The buffer range of a chunk's patches: the union of its kernel offsets' ranges. */
  const spanOf = ({ a0, a1, k0, k1 }: Chunk): [number, number] => {
    let [lo, hi] = [Infinity, -Infinity]
    for (let kk = k0; kk < k1; kk++) {
      const at = cols.offset + a0 * sA + Math.floor(kk / p.kw) * cs[2] + (kk % p.kw) * cs[3]
      const [l, h] = span(at, [a1 - a0, countB, OH, OW], [sA, sB, cs[4], cs[5]])
      lo = Math.min(lo, l)
      hi = Math.max(hi, h)
    }
    return [lo, hi]
  }
  const staged = (spans: Array<[number, number]>) => spans.reduce((total, [lo, hi]) => total + hi - lo, 0)
  let parts = chunks(chunkBytes, countA, K, (colsSize / (countA * K)) * elt, channelsOuter)
  let spans = parts.map(spanOf)
  if (staged(spans) > MAX_SPAN_RATIO * colsSize) {
    parts = [{ a0: 0, a1: countA, k0: 0, k1: K }]
    spans = parts.map(spanOf)
    if (staged(spans) > MAX_SPAN_RATIO * colsSize) return undefined
  }
  const inRel = alignUp(K * RECORD)
  const outRel = inRel + alignUp(spans.reduce((most, [lo, hi]) => Math.max(most, hi - lo), 0) * elt)
  const views = scratch(outRel + alignUp(size * elt))
  if (views === undefined) return undefined
  const [tableAt, inAt, outAt] = [views.base, views.base + inRel, views.base + outRel]
  const view = dt === "f32" ? views.f32 : views.f64
  const table = new Int32Array(view.buffer, tableAt, K * 4)
  windows(H, W, OH, OW, p).forEach((w, kk) => {
    const ki = Math.floor(kk / p.kw)
    const kj = kk % p.kw
    table[4 * kk] = w.ohCount === 0 || w.owCount === 0 ? 0 : w.ohCount
    table[4 * kk + 1] = w.owCount * elt
    table[4 * kk + 2] = (ki * cs[2] + kj * cs[3] + w.oh0 * cs[4] + w.ow0 * cs[5]) * elt
    table[4 * kk + 3] = (w.ih0 * W + w.iw0) * elt
  })
  fill(outAt, size * elt, 0)
  parts.forEach(({ a0, a1, k0, k1 }, j) => {
    const [lo, hi] = spans[j]
    view.set(cols.buffer.subarray(lo, hi), inAt / elt)
    run(inAt + (cols.offset - lo) * elt, sA * elt, sB * elt, cs[4] * elt, cs[5] * elt, outAt, dA * elt, dB * elt, p.strideH * W * elt, p.strideW * elt, a0, a1, countB, k0, k1, tableAt)
  })
  const out = output(outDtype, size)
  out.set(view.subarray(outAt / elt, outAt / elt + size))
  stats.col2im++
  return out
}

/** The kernels, tuned (tests run every size here, in tiny chunks). */
export const convKernels = (tuning: ConvTuning): ConvImplementation => ({
  im2col: (x, p, padValue, channelsMajor) => im2colWasm(tuning, x, p, padValue, channelsMajor),
  col2im: (cols, N, C, H, W, p, outDtype) => col2imWasm(tuning, cols, N, C, H, W, p, outDtype)
})

/** What the wasm backend installs (see `setConvImplementation`). */
export const convWasm: ConvImplementation = convKernels({ minWork: MIN_WORK, chunkBytes: CHUNK_BYTES })
