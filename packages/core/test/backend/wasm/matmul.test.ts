import { availableParallelism } from "node:os"
import { afterAll, describe, expect, it } from "vitest"
import { matmulWasm, setThreads, warmUpThreads, wasmAvailable, wasmMatmulStats } from "../../../src/backend/wasm/index.js"

type FloatArray = Float32Array | Float64Array
type Dtype = "float32" | "float64"

/** Deterministic PRNG so failures are reproducible. */
const rng = (seed: number) => {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

interface Operand {
  readonly data: FloatArray
  readonly offset: number
  readonly rs: number
  readonly cs: number
}

/**
 * A rows×cols operand inside a larger array: `transposed` stores it
 * column-major, `pad` adds unused elements between rows/columns, `offset`
 * leading garbage, and `flip` walks the rows backwards (negative row stride).
 */
const makeOperand = (
  dtype: Dtype,
  rows: number,
  cols: number,
  rand: () => number,
  opts: { transposed?: boolean; offset?: number; pad?: number; flip?: boolean } = {}
): Operand => {
  const { transposed = false, offset = 0, pad = 0, flip = false } = opts
  const Ctor = dtype === "float32" ? Float32Array : Float64Array
  const lead = (transposed ? rows : cols) + pad
  const outer = transposed ? cols : rows
  const data = new Ctor(offset + outer * lead + 3)
  for (let i = 0; i < data.length; i++) data[i] = 1e6 // garbage: must never be read
  let rs = transposed ? 1 : lead
  const cs = transposed ? lead : 1
  let base = offset
  if (flip) {
    base = offset + (rows - 1) * rs
    rs = -rs
  }
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[base + i * rs + j * cs] = rand() * 2 - 1
  return { data, offset: base, rs, cs }
}

const at = (x: Operand, i: number, j: number): number => x.data[x.offset + i * x.rs + j * x.cs]

/** float64 reference and the Σ|a||b| scale of every entry. */
const reference = (a: Operand, b: Operand, m: number, k: number, n: number) => {
  const ref = new Float64Array(m * n)
  const scale = new Float64Array(m * n)
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      let t = 0
      for (let p = 0; p < k; p++) {
        const v = at(a, i, p) * at(b, p, j)
        s += v
        t += Math.abs(v)
      }
      ref[i * n + j] = s
      scale[i * n + j] = t
    }
  return { ref, scale }
}

const tolerance = (dtype: Dtype, k: number) => (dtype === "float32" ? 1e-4 : 1e-12) * Math.sqrt(k)

/** Runs matmulWasm into C at `cOffset` and checks every entry (and that C's padding is untouched). */
const check = (dtype: Dtype, a: Operand, b: Operand, m: number, k: number, n: number, cOffset = 5) => {
  const Ctor = dtype === "float32" ? Float32Array : Float64Array
  const c = new Ctor(cOffset + m * n + 4).fill(-7)
  const ok = matmulWasm(a.data, a.offset, a.rs, a.cs, b.data, b.offset, b.rs, b.cs, c, cOffset, m, k, n)
  expect(ok, `matmulWasm declined ${m}×${k}×${n}`).toBe(true)
  const { ref, scale } = reference(a, b, m, k, n)
  const tol = tolerance(dtype, k)
  let worst = 0
  for (let i = 0; i < m * n; i++) {
    const err = Math.abs(c[cOffset + i] - ref[i]) / Math.max(scale[i], 1e-30)
    if (!(err <= worst)) worst = err // also catches NaN
  }
  expect(worst, `${dtype} ${m}×${k}×${n}: worst relative error`).toBeLessThanOrEqual(tol)
  for (let i = 0; i < cOffset; i++) expect(c[i]).toBe(-7)
  for (let i = cOffset + m * n; i < c.length; i++) expect(c[i]).toBe(-7)
}

const ODD = [1, 3, 17, 33, 65, 127, 130]

describe("wasm matmul", () => {
  afterAll(() => setThreads(1))

  it("is available in Node 22", () => {
    expect(wasmAvailable()).toBe(true)
  })

  for (const threads of [1, 2]) {
    describe(`${threads} thread(s)`, () => {
      const expected = Math.min(threads, availableParallelism())
      it("starts the pool", () => {
        setThreads(threads)
        expect(warmUpThreads()).toBe(expected)
      })

      for (const dtype of ["float32", "float64"] as const) {
        it(`${dtype}: odd shapes, transposed operands, offsets`, () => {
          setThreads(threads)
          const rand = rng(threads * 1000 + (dtype === "float32" ? 1 : 2))
          let cases = 0
          for (const m of ODD)
            for (const k of ODD)
              for (const n of ODD) {
                if (m * k * n < 512) continue // declined, see below
                // a deterministic subset of the 343 combinations, always keeping the 1s
                if (!(m === 1 || n === 1 || k === 1) && rand() > 0.12) continue
                const tA = rand() < 0.5
                const tB = rand() < 0.5
                const a = makeOperand(dtype, m, k, rand, { transposed: tA, offset: Math.floor(rand() * 9) })
                const b = makeOperand(dtype, k, n, rand, { transposed: tB, offset: Math.floor(rand() * 9) })
                check(dtype, a, b, m, k, n, Math.floor(rand() * 5))
                cases++
              }
          expect(cases).toBeGreaterThan(40)
        })

        it(`${dtype}: large products (threaded by rows / by columns)`, () => {
          setThreads(threads)
          const rand = rng(7 + threads)
          for (const [m, k, n, tA, tB] of [
            [257, 130, 300, false, false],
            [300, 257, 129, true, false],
            [130, 300, 257, false, true],
            [3, 400, 1000, true, true],
            [1000, 300, 3, false, false],
            [1, 1024, 1024, false, true],
            [1024, 1024, 1, false, false],
            [96, 1030, 64, false, false],
            [5, 64, 1100, false, false]
          ] as const) {
            const a = makeOperand(dtype, m, k, rand, { transposed: tA, offset: 3 })
            const b = makeOperand(dtype, k, n, rand, { transposed: tB, offset: 1 })
            check(dtype, a, b, m, k, n)
          }
        })
      }

      it("strided, sparse and flipped views", () => {
        setThreads(threads)
        const rand = rng(99)
        for (const dtype of ["float32", "float64"] as const) {
          // padded rows/columns (dense enough to copy as one span)
          check(dtype, makeOperand(dtype, 40, 50, rand, { pad: 3 }), makeOperand(dtype, 50, 60, rand, { transposed: true, pad: 2 }), 40, 50, 60)
          // sparse views: copied row by row / column by column
          check(dtype, makeOperand(dtype, 20, 30, rand, { pad: 9000 }), makeOperand(dtype, 30, 24, rand, { transposed: true, pad: 9000 }), 20, 30, 24)
          // negative row stride
          check(dtype, makeOperand(dtype, 70, 33, rand, { flip: true, offset: 2 }), makeOperand(dtype, 33, 65, rand, { flip: true }), 70, 33, 65)
          // neither stride 1 and sparse: element gather
          const k = 21
          const Ctor = dtype === "float32" ? Float32Array : Float64Array
          const big = new Ctor(400_000)
          for (let i = 0; i < big.length; i++) big[i] = rand()
          const a: Operand = { data: big, offset: 7, rs: 5000, cs: 3 * 5000 }
          const b = makeOperand(dtype, k, 40, rand)
          check(dtype, a, b, 17, k, 40)
          // broadcast (stride 0) rows of A
          check(dtype, { data: big, offset: 11, rs: 0, cs: 2 }, makeOperand(dtype, 64, 33, rand), 12, 64, 33)
        }
      })

      it("grows memory while the pool is running", () => {
        setThreads(threads)
        const rand = rng(5)
        check("float32", makeOperand("float32", 64, 300, rand), makeOperand("float32", 300, 64, rand), 64, 300, 64)
        check("float64", makeOperand("float64", 700, 500, rand), makeOperand("float64", 500, 600, rand), 700, 500, 600)
      })

      it(expected > 1 ? "used the workers, and no job had to be redone" : "did not use workers", () => {
        // one long product (tens of ms) so the worker surely gets blocks even on a busy machine
        setThreads(threads)
        const rand = rng(11)
        check("float32", makeOperand("float32", 600, 600, rand), makeOperand("float32", 600, 600, rand), 600, 600, 600)
        const s = wasmMatmulStats()
        if (expected > 1) {
          expect(s.threaded).toBeGreaterThan(5)
          expect(s.workerBlocks).toBeGreaterThan(0)
        }
        expect(s.redone).toBe(0)
      })
    })
  }

  it("mixed dtypes compute in C's precision", () => {
    const rand = rng(3)
    const a = makeOperand("float64", 30, 40, rand)
    const b = makeOperand("float32", 40, 50, rand)
    const c = new Float32Array(30 * 50)
    expect(matmulWasm(a.data, a.offset, a.rs, a.cs, b.data, b.offset, b.rs, b.cs, c, 0, 30, 40, 50)).toBe(true)
    const { ref, scale } = reference(a, b, 30, 40, 50)
    for (let i = 0; i < c.length; i++) expect(Math.abs(c[i] - ref[i])).toBeLessThanOrEqual(1e-4 * Math.sqrt(40) * scale[i] + 1e-6)
  })

  it("C may alias an input", () => {
    const n = 48
    const rand = rng(11)
    const a = makeOperand("float64", n, n, rand)
    const b = makeOperand("float64", n, n, rand)
    const { ref } = reference(a, b, n, n, n)
    expect(matmulWasm(a.data, 0, n, 1, b.data, 0, n, 1, a.data, 0, n, n, n)).toBe(true)
    for (let i = 0; i < n * n; i++) expect(a.data[i]).toBeCloseTo(ref[i], 10)
  })

  it("declines tiny or invalid products and handles empty ones", () => {
    const x = new Float32Array(100).fill(1)
    const c = new Float32Array(100).fill(3)
    expect(matmulWasm(x, 0, 2, 1, x, 0, 2, 1, c, 0, 2, 2, 2)).toBe(false) // too small
    expect(matmulWasm(x, 50, 9, 1, x, 0, 9, 1, c, 0, 9, 9, 9)).toBe(false) // A out of bounds
    expect(matmulWasm(x, 0, 8, 1, x, 0, 0, 1, c, 0, 8, 8, 16)).toBe(false) // C out of bounds
    expect(matmulWasm(x, 0, 1, 1, x, 0, 1, 1, c, 0, 0, 5, 5)).toBe(true) // m = 0
    expect(c[0]).toBe(3)
    expect(matmulWasm(x, 0, 0, 1, x, 0, 4, 1, c, 10, 4, 0, 4)).toBe(true) // k = 0 → zeros
    expect(Array.from(c.subarray(10, 26))).toEqual(new Array(16).fill(0))
    expect(c[9]).toBe(3)
    expect(c[26]).toBe(3)
    expect(matmulWasm(x, 0, 10, 1, x, 0, 10, 1, new Int32Array(100) as unknown as Float32Array, 0, 9, 9, 9)).toBe(false)
  })
})
