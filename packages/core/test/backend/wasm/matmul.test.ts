import { availableParallelism } from "node:os"
import { afterAll, describe, expect, it } from "vitest"
import { matmulWasm, setInPlaceProducts, setThreads, warmUpThreads, wasmAvailable, wasmMatmulStats } from "../../../src/backend/wasm/index.js"
import { residentAlloc, residentFree } from "../../../src/backend/wasm/kernels.js"
import { buildMatmulModule, defaultShapes, roundUp, type MatmulExports } from "../../../src/backend/wasm/matmulKernel.js"

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

/** A rows×cols operand with any strides (0 = broadcast, negative = flipped) over its own array; unused elements hold garbage. */
const stridedOperand = (dtype: Dtype, rows: number, cols: number, rs: number, cs: number, rand: () => number): Operand => {
  const Ctor = dtype === "float32" ? Float32Array : Float64Array
  const lo = Math.min(0, (rows - 1) * rs) + Math.min(0, (cols - 1) * cs)
  const hi = Math.max(0, (rows - 1) * rs) + Math.max(0, (cols - 1) * cs)
  const data = new Ctor(hi - lo + 5).fill(1e6)
  const offset = 2 - lo
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[offset + i * rs + j * cs] = rand() * 2 - 1
  return { data, offset, rs, cs }
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

/** The matmul module on a memory of its own (`pages` 64 kB pages, not shared, plain multiply-adds), outside the engine. */
const standaloneModule = (pages: number): { readonly memory: { readonly buffer: ArrayBuffer }; readonly ex: MatmulExports } => {
  type W = { Memory: new (d: { initial: number; maximum: number }) => { buffer: ArrayBuffer }; Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: unknown } }
  const W = (globalThis as unknown as { WebAssembly: W }).WebAssembly
  const memory = new W.Memory({ initial: pages, maximum: pages })
  const bytes = buildMatmulModule({ ...defaultShapes, fma: false, shared: false, maxPages: pages })
  return { memory, ex: new W.Instance(new W.Module(bytes), { env: { memory } }).exports as MatmulExports }
}

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
        for (const packed of [false, true]) {
          it(`${dtype}: odd shapes, transposed operands, offsets${packed ? " (always packed)" : ""}`, () => {
            setThreads(threads)
            setInPlaceProducts(!packed)
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
            setInPlaceProducts(true)
          })
        }

        it(`${dtype}: small products read in place (gemmv): partial panels and tiles, strides, threads by rows / by columns`, () => {
          setThreads(threads)
          const rand = rng(31 + threads)
          // [m, k, n, A transposed, A flipped, B flipped, B row padding]
          const shapes: Array<[number, number, number, boolean, boolean, boolean, number]> = [
            [32, 784, 100, false, false, false, 0], // the MLP's forward product (threaded)
            [784, 32, 100, true, false, false, 0], // its weight gradient Xᵀ·dZ (threaded, by rows)
            [8, 1000, 301, false, false, false, 0], // threaded by columns, partial last panel
            [4, 700, 1100, true, false, true, 3], // by columns, transposed A, flipped B
            [1, 2300, 1000, false, false, false, 0], // a single row
            [31, 97, 13, false, true, false, 0], // flipped A, partial tile and panel
            [64, 50, 7, true, false, false, 5], // narrower than one panel: only the packed partial panel
            [17, 65, 96, false, false, true, 0], // full panels only (96 = 8·12 = 16·6)
            [2, 300, 30, true, true, false, 1],
            [100, 33, 10, true, false, false, 0] // small A, many rows
          ]
          const before = wasmMatmulStats().inPlace
          for (const [m, k, n, tA, flipA, flipB, pad] of shapes) {
            const a = makeOperand(dtype, m, k, rand, { transposed: tA, flip: flipA, offset: 2 })
            const b = makeOperand(dtype, k, n, rand, { flip: flipB, pad, offset: 1 })
            check(dtype, a, b, m, k, n)
          }
          // broadcast rows of A (row stride 0)
          check(dtype, { ...makeOperand(dtype, 1, 40, rand), rs: 0 }, makeOperand(dtype, 40, 29, rand), 9, 40, 29)
          // all but the float64 784×32ᵀ (a transposed A of 200 kB is packed) went through gemmv
          expect(wasmMatmulStats().inPlace - before).toBe(shapes.length + (dtype === "float64" ? 0 : 1))
        })

        it(`${dtype}: broadcast and strided operands, read as they are (zero, negative and non-unit strides on either axis)`, () => {
          setThreads(threads)
          const rand = rng(91 + threads)
          // [m, k, n, A's row and column strides, B's] (strides relative to a dense layout: "d" = dense)
          const cases: Array<[number, number, number, [number, number], [number, number]]> = [
            [20, 2000, 25, [0, 0], [1, 2000]], // a conv's weight gradient: a broadcast cotangent of ones · transposed patches
            [25, 20, 2000, [1, 25], [0, 0]], // its input gradient: transposed weights · the broadcast cotangent
            [20, 25, 2000, [25, 1], [2000 * 2, 2]], // every other row and column of B (gathered)
            [40, 60, 50, [0, 1], [50, 0]], // rows of A and columns of B broadcast
            [33, 70, 90, [-70, 1], [3, 70 * 3]], // flipped A; B transposed with gaps
            [130, 300, 257, [600, 2], [0, 1]] // large: threaded; B's rows broadcast
          ]
          for (const packed of [false, true]) {
            setInPlaceProducts(!packed)
            for (const [m, k, n, [ars, acs], [brs, bcs]] of cases) {
              check(dtype, stridedOperand(dtype, m, k, ars, acs, rand), stridedOperand(dtype, k, n, brs, bcs, rand), m, k, n)
            }
          }
          setInPlaceProducts(true)
        })

        it(`${dtype}: resident operands and C (both paths)`, () => {
          setThreads(threads)
          const rand = rng(77 + threads)
          for (const [m, k, n] of [
            [5, 40, 23],
            [32, 784, 100],
            [300, 64, 130]
          ] as const) {
            for (const packed of [false, true]) {
              setInPlaceProducts(!packed)
              const A = residentAlloc(dtype, m * k + 3) as FloatArray | undefined
              const B = residentAlloc(dtype, k * n + 3) as FloatArray | undefined
              const C = residentAlloc(dtype, m * n + 4) as FloatArray | undefined
              if (A === undefined || B === undefined || C === undefined) return // no shared memory here
              const a = makeOperand(dtype, m, k, rand, { offset: 3 })
              const b = makeOperand(dtype, k, n, rand, { offset: 1 })
              A.set(a.data.subarray(0, m * k + 3))
              B.set(b.data.subarray(0, k * n + 3))
              C.fill(-7)
              expect(matmulWasm(A, 3, k, 1, B, 1, n, 1, C, 2, m, k, n)).toBe(true)
              const { ref, scale } = reference(a, b, m, k, n)
              for (let i = 0; i < m * n; i++) expect(Math.abs(C[2 + i] - ref[i])).toBeLessThanOrEqual(tolerance(dtype, k) * scale[i])
              expect([C[0], C[1], C[m * n + 2], C[m * n + 3]]).toEqual([-7, -7, -7, -7])
              for (const x of [A, B, C]) residentFree(x)
            }
          }
          setInPlaceProducts(true)
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
          // deep products shared by rows: B staged and packed in several depth slices (contiguous
          // rows; padded rows copied as one span; a flipped B, staged whole)
          setInPlaceProducts(false)
          for (const [m, k, n, opts] of [
            [300, 700, 200, {}],
            [261, 523, 150, { pad: 5 }],
            [200, 640, 130, { flip: true }]
          ] as const) {
            const a = makeOperand(dtype, m, k, rand, { offset: 2 })
            const b = makeOperand(dtype, k, n, rand, { offset: 1, ...opts })
            check(dtype, a, b, m, k, n)
          }
          setInPlaceProducts(true)
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

  it("gemmv reads nothing outside A and B (operands at either end of the memory)", () => {
    // a partial register tile or a partial B panel read in place would run off the memory (a trap)
    const { memory, ex } = standaloneModule(2)
    const END = 2 * 65536
    for (const elt of [4, 8]) {
      const view = elt === 4 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer)
      const gemmv = elt === 4 ? ex.gemmv_f32 : ex.gemmv_f64
      const packB = elt === 4 ? ex.packB_f32 : ex.packB_f64
      const NR = 3 * (16 / elt)
      const [m, k, n] = [7, 33, 2 * NR + 5]
      const full = n - (n % NR)
      const [BE, C, CE] = [8192, 16384, 20480]
      const run = (a: number, ars: number, b: number) => {
        view.fill(0, C / elt, C / elt + roundUp(m, 3) * roundUp(n, NR))
        packB(b + full * elt, n * elt, elt, k, k, n - full, BE, 0)
        // C dense (row stride n), its partial panel put aside at CE
        gemmv(a, ars, elt, b, n * elt, BE, C, n * elt, m, k, n, CE)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let acc = 0
            for (let p = 0; p < k; p++) acc += view[(a + i * ars + p * elt) / elt] * view[(b + (p * n + j) * elt) / elt]
            expect(view[C / elt + i * n + j]).toBe(acc)
          }
      }
      const fill = (at: number, count: number) => {
        for (let i = 0; i < count; i++) view[at / elt + i] = ((i * 7) % 11) - 5
      }
      // A flipped, its last row at address 0; B at the end of the memory
      fill(0, m * k)
      fill(END - k * n * elt, k * n)
      run((m - 1) * k * elt, -k * elt, END - k * n * elt)
      // A at the end of the memory
      fill(END - m * k * elt, m * k)
      fill(24576, k * n)
      run(END - m * k * elt, k * elt, 24576)
    }
  })

  it("packB with a panel stride: B packed in depth slices and column groups equals B packed whole", () => {
    // the threaded product packs B slice by slice as it is staged, the slices shared out between threads
    const { memory, ex } = standaloneModule(4)
    for (const elt of [4, 8]) {
      const u8 = new Uint8Array(memory.buffer)
      const view = elt === 4 ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer)
      const packB = elt === 4 ? ex.packB_f32 : ex.packB_f64
      const NR = 3 * (16 / elt)
      for (const [k, n, transposed] of [[37, 4 * NR + 5, false], [40, 3 * NR, true], [5, NR - 1, false]] as const) {
        const [B, WHOLE, SLICED] = [1024, 65536, 131072]
        for (let i = 0; i < k * n; i++) view[B / elt + i] = ((i * 7) % 11) - 5 + i / 64
        const [rs, cs] = transposed ? [elt, k * elt] : [n * elt, elt]
        const kp = k + 3 // depth padded (an unrolled kernel's kp)
        const panels = Math.ceil(n / NR)
        const size = panels * kp * NR * elt
        u8.fill(0xff, WHOLE, WHOLE + size)
        u8.fill(0xee, SLICED, SLICED + size)
        packB(B, rs, cs, k, kp, n, WHOLE, 0)
        const slice = 8
        for (let p0 = 0; p0 < k; p0 += slice) {
          const p1 = Math.min(k, p0 + slice)
          // two groups of panels, the second starting at panel 1
          for (const [j0, j1] of [[0, 1], [1, panels]]) {
            if (j0 >= j1) continue
            const cols = Math.min(n, j1 * NR) - j0 * NR
            packB(B + p0 * rs + j0 * NR * cs, rs, cs, p1 - p0, (p1 === k ? kp : p1) - p0, cols, SLICED + (j0 * kp + p0) * NR * elt, kp * NR * elt)
          }
        }
        expect(Array.from(u8.subarray(SLICED, SLICED + size))).toEqual(Array.from(u8.subarray(WHOLE, WHOLE + size)))
      }
    }
  })

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
