// Kernels that write every element of their output take it uninitialised
// (`allocateUninit`: no zero-filling; in Node, `Buffer.allocUnsafeSlow` for
// large ones, whose memory may hold anything). With poisoning on, every such
// buffer starts as 0xFF bytes (NaN, −1, 255), so a kernel that leaves an
// element unwritten gives a different answer than with it off. The arrays are
// large (≥ 64 kB, where the unsafe allocation is used) and small, on both
// backends, eagerly and under jit (where the same buffers come from the pool).
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { grad, jit, NdArray as N, type NdArray, setBackend } from "@gradfx/core"
import { allocateUninit, setUninitPoison } from "../../src/backend/cpu/types.js"
import { wasmAvailable } from "../../src/backend/wasm/index.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))
afterEach(() => setUninitPoison(false))

const f32 = { dtype: "float32" as const }
const f64 = { dtype: "float64" as const }

/** Every op family whose kernels take an uninitialised output, on arrays of `rows`×`cols`. */
const battery = (rows: number, cols: number): Array<NdArray> => {
  const n = rows * cols
  const x = N.reshape(N.sin(N.arange(n, undefined, 1, f32)), [rows, cols])
  const y = N.reshape(N.cos(N.arange(n, undefined, 1, f32)), [rows, cols])
  const xd = N.astype(x, "float64")
  const row = N.reshape(N.arange(cols, undefined, 1, f32), [cols])
  const square = N.reshape(N.sin(N.arange(cols * cols, undefined, 1, f64)), [cols, cols])
  const images = N.reshape(N.sin(N.arange(4 * 2 * 20 * 20, undefined, 1, f32)), [4, 2, 20, 20])
  const filters = N.reshape(N.cos(N.arange(3 * 2 * 5 * 5, undefined, 1, f32)), [3, 2, 5, 5])
  return [
    N.exp(x), // unary (SIMD)
    N.add(x, y), // binary, both contiguous
    N.mul(x, 3), // a broadcast scalar
    N.add(x, row), // a broadcast row ("b")
    N.sub(N.transpose(x), N.transpose(y)), // strided operands
    N.add(N.transpose(N.reshape(x, [cols, rows])), N.reshape(y, [rows, cols])), // one strided, one contiguous
    N.astype(N.greater(x, y), "float32"), // a bool result
    N.mul(xd, 0.5), // float64
    N.matmul(x, N.transpose(y)), // float32 product, transposed operand
    N.matmul(N.reshape(xd, [rows, cols]), square), // float64 product
    N.matmul(N.broadcastTo(N.ones([1, 1], f32), [rows, cols]), N.transpose(y)), // a broadcast operand
    N.conv2d(images, filters, { padding: 1 }), // im2col with padding
    ...grad((im: NdArray, w: NdArray) => N.sum(N.square(N.conv2d(im, w))), { argnums: [0, 1] })(images, filters), // col2im
    N.array(Array.from({ length: n }, (_, i) => i % 7), { shape: [rows, cols], dtype: "float32" }) // NdArray.array's copy
  ]
}

const bits = (xs: ReadonlyArray<NdArray>): Array<Array<number>> => xs.map((x) => Array.from(x.data()))

describe.each(["wasm", "js"] as const)("kernels write every element of an uninitialised output (%s backend)", (backend) => {
  for (const [rows, cols] of [
    [257, 130], // 33,410 elements: large (≥ 64 kB in float32)
    [9, 7] // small
  ] as const) {
    it(`${rows}×${cols}: the same bits with poisoned outputs, eagerly and under jit`, () => {
      setBackend(backend)
      const clean = bits(battery(rows, cols))
      expect(clean.flat().every((v) => Number.isFinite(v))).toBe(true)
      setUninitPoison(true)
      expect(bits(battery(rows, cols))).toEqual(clean)
      const compiled = jit(() => battery(rows, cols))
      expect(bits(compiled())).toEqual(clean)
      expect(bits(compiled())).toEqual(clean) // second run: pooled buffers
    })
  }

  it("poisoning is on: a fresh uninitialised buffer reads as NaN", () => {
    setBackend(backend)
    setUninitPoison(true)
    const large = allocateUninit("float32", 1 << 15) as Float32Array
    const small = allocateUninit("float64", 5) as Float64Array
    expect(Number.isNaN(large[0]) && Number.isNaN(large[large.length - 1]) && Number.isNaN(small[4])).toBe(true)
    setUninitPoison(false)
    expect(allocateUninit("float32", 8)[3]).toBe(0) // a small fresh one is a zeroed typed array
  })
})
