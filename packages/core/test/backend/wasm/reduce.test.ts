// The WebAssembly sum over leading axes (a bias gradient) against the
// JavaScript loop, bit for bit: odd and even row lengths, ±0, NaN, ±∞,
// subnormals and magnitudes that make the order of the additions matter, both
// float dtypes, heap inputs (staged) and compiled programs' intermediates
// (read in place).
import * as fc from "fast-check"
import { afterAll, describe, expect, it } from "vitest"
import { jit, NdArray as N, type NdArray, setBackend } from "@gradfx/core"
import { wasmAvailable } from "../../../src/backend/wasm/index.js"

afterAll(() => setBackend(wasmAvailable() ? "wasm" : "js"))

const specials = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e-40, -1e-45, 1e-310, 1e30, -1e30, 3.1, 1e16, -1e16, 0.1]

const bits = (x: NdArray): Array<number> => Array.from(x.data())
const same = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

describe.runIf(wasmAvailable())("sum over leading axes in WebAssembly", () => {
  it("gives the JavaScript loop's bits (random shapes, both dtypes, heap and in-place inputs)", () =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 130 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom("float32" as const, "float64" as const),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (rows, n, lead, dtype, seed) => {
          let s = seed || 1
          const rand = () => {
            s = (s * 1103515245 + 12345) % 2 ** 31
            return s / 2 ** 31
          }
          const shape = lead === 1 ? [rows * 32, n] : lead === 2 ? [rows, 32, n] : [2, rows, 16, n]
          const size = shape.reduce((a, b) => a * b, 1)
          const values = Array.from({ length: size }, () => (rand() < 0.05 ? specials[Math.floor(rand() * specials.length)] : (rand() - 0.5) * 10 ** Math.floor(rand() * 12 - 6)))
          const x = N.array(values, { dtype, shape })
          const axes = Array.from({ length: shape.length - 1 }, (_, i) => i)
          const sumLeading = (v: NdArray) => N.sum(v, { axis: axes })
          setBackend("js")
          const expected = bits(sumLeading(x))
          const expectedJit = bits(jit((v: NdArray) => sumLeading(N.mul(v, 1)))(x))
          setBackend("wasm")
          const eager = bits(sumLeading(x))
          const inPlace = bits(jit((v: NdArray) => sumLeading(N.mul(v, 1)))(x)) // the product is resident in the run
          return same(eager, expected) && same(inPlace, expectedJit) && same(expected, expectedJit)
        }
      ),
      { numRuns: 60 }
    ))
})
