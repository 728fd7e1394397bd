/**
 * Sums over the leading axes of a contiguous float array (a bias gradient:
 * the sum of a [batch, n] array over the batch) as a WebAssembly SIMD loop,
 * bit-identical to cpu/reduce.ts's leading-axis kernel: the same float64
 * accumulator, the rows added one after another in the same order (two
 * columns per f64x2 add; a float32 element widened exactly first), and
 * addition is commutative, so `acc + x` is the JavaScript's `s + v`.
 */
import type { LeadingSumImplementation } from "../cpu/reduce.js"
import { forUp, type FunctionBuilder, Simd, ValType } from "./emitter.js"
import { alignUp, isResident, kernelExports, scratch } from "./kernels.js"

type SumRows = (x: number, rows: number, n: number, acc: number) => void

interface Exports {
  readonly sumRows_f32: SumRows
  readonly sumRows_f64: SumRows
}

/** `sumRows(x, rows, n, acc)`: acc[j] += x[r·n + j] for r in order (acc: n float64, zeroed by the caller). */
const build = (f: FunctionBuilder, f32: boolean): void => {
  const { i32 } = ValType
  const [X, ROWS, N, ACC] = [0, 1, 2, 3]
  const elt = f32 ? 4 : 8
  const r = f.local(i32)
  const j = f.local(i32)
  const pairs = f.local(i32) // columns in whole pairs
  const a = f.local(i32)
  const p = f.local(i32)
  f.get(N).i32(-2).and().set(pairs)
  f.i32(0).set(r)
  forUp(f, r, ROWS, 1, () => {
    f.get(ACC).set(a)
    f.get(X).set(p)
    f.i32(0).set(j)
    forUp(f, j, pairs, 2, () => {
      f.get(a).get(a).v128Load(0, 8)
      if (f32) f.get(p).v128Load64Splat(0).simd(Simd.f64x2_promote_low_f32x4)
      else f.get(p).v128Load(0, 8)
      f.simd(Simd.f64x2_add).v128Store(0, 8)
      f.addConst(a, 16)
      f.addConst(p, 2 * elt)
    })
    // an odd last column
    f.get(pairs).get(N).ne().if(() => {
      f.get(a).get(a).f64Load()
      f.get(p)
      if (f32) f.f32Load().emit(0xbb) // f64.promote_f32
      else f.f64Load()
      f.emit(0xa0).f64Store() // f64.add
    })
    f.get(N).i32(elt).mul().get(X).add().set(X)
  })
}

const exportsOf = (): Exports | undefined =>
  kernelExports<Exports>("sumRows", (mod) => {
    const { i32 } = ValType
    for (const f32 of [true, false]) {
      const { f } = mod.func(f32 ? "sumRows_f32" : "sumRows_f64", [i32, i32, i32, i32], [])
      build(f, f32)
    }
  })

/** Rows of at least this many elements in all go to WebAssembly (below, the JavaScript loop is as fast). */
const MIN_SIZE = 2048

/** The WebAssembly leading-axis sum (installed by the backend selection); declines with undefined. */
export const leadingSumWasm: LeadingSumImplementation = (x, offset, rows, n) => {
  if (rows * n < MIN_SIZE) return undefined
  const kernels = exportsOf()
  if (kernels === undefined) return undefined
  const f32 = x instanceof Float32Array
  const elt = f32 ? 4 : 8
  const inPlace = isResident(x)
  const accBytes = alignUp(n * 8)
  const views = scratch(accBytes + (inPlace ? 0 : alignUp(rows * n * elt)))
  if (views === undefined) return undefined
  const accAt = views.base
  views.f64.fill(0, accAt / 8, accAt / 8 + n)
  let xAt: number
  if (inPlace) xAt = x.byteOffset + offset * elt
  else {
    xAt = views.base + accBytes
    ;(f32 ? views.f32 : views.f64).set(x.subarray(offset, offset + rows * n), xAt / elt)
  }
  ;(f32 ? kernels.sumRows_f32 : kernels.sumRows_f64)(xAt, rows, n, accAt)
  return views.f64.slice(accAt / 8, accAt / 8 + n)
}
