import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { concatenate, pad } from "../../../src/backend/cpu/shape"
import type { DType } from "../../../src/backend/cpu/types"
import { arbLayoutOrContiguous, arbShape, at, DTYPES, fromValues, indices, makeView, mismatch, store, values } from "./helpers"

describe("pad", () => {
  it("matches the naive padding", () => {
    fc.assert(
      fc.property(
        arbShape(0, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            layout: arbLayoutOrContiguous(shape.length, true),
            low: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }),
            high: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: shape.length, maxLength: shape.length }),
            value: fc.constantFrom(0, -Infinity, 1.5),
            dtype: fc.constantFrom(...DTYPES),
            seed: fc.integer()
          })
        ),
        ({ shape, layout, low, high, value, dtype, seed }) => {
          const x = makeView(shape, dtype, layout, values(dtype, seed, "special"))
          const outShape = shape.map((s, d) => s + low[d] + high[d])
          const expected = indices(outShape).map((o) => {
            const i = o.map((v, d) => v - low[d])
            return i.every((v, d) => v >= 0 && v < shape[d]) ? at(x, i) : value
          })
          expect(mismatch(pad(x, low, high, value), store(dtype, expected))).toBeNull()
        }
      ),
      { numRuns: 200 }
    )
  })

  it("pads a vector", () => {
    expect(Array.from(pad(fromValues([2], "float32", [1, 2]), [1], [2], 9))).toEqual([9, 1, 2, 9, 9])
  })
})

describe("concatenate", () => {
  it("matches the naive concatenation, casting to the output dtype", () => {
    fc.assert(
      fc.property(
        arbShape(1, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            axis: fc.integer({ min: 0, max: shape.length - 1 }),
            parts: fc.array(
              fc.record({
                size: fc.integer({ min: 0, max: 3 }),
                layout: arbLayoutOrContiguous(shape.length, true),
                dtype: fc.constantFrom(...DTYPES)
              }),
              { minLength: 1, maxLength: 4 }
            ),
            outDtype: fc.constantFrom<DType>(...DTYPES),
            seed: fc.integer()
          })
        ),
        ({ shape, axis, parts, outDtype, seed }) => {
          const xs = parts.map((p, i) => {
            const s = [...shape]
            s[axis] = p.size
            return makeView(s, p.dtype, p.layout, values(p.dtype, seed + i, "special"))
          })
          const outShape = [...shape]
          outShape[axis] = parts.reduce((t, p) => t + p.size, 0)
          const expected = indices(outShape).map((o) => {
            let pos = o[axis]
            let i = 0
            while (pos >= parts[i].size) pos -= parts[i++].size
            const idx = [...o]
            idx[axis] = pos
            return at(xs[i], idx)
          })
          expect(mismatch(concatenate(xs, axis, outDtype), store(outDtype, expected))).toBeNull()
        }
      ),
      { numRuns: 200 }
    )
  })
})
