import { assert, describe, it } from "@effect/vitest"
import { NdArray } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { numbers } from "../runtime.js"
import { forwardPass, run, weights, xIn } from "./feedforward.js"

/** The lesson's printed outputs (NumPy, 8 decimals). */
const lessonBatch = [
  [0.72780576, 0.26927918, 0.00291506],
  [0.62054212, 0.37682531, 0.00263257],
  [0.69267581, 0.30361576, 0.00370844],
  [0.36618794, 0.63016955, 0.00364252],
  [0.57199769, 0.4251982, 0.00280411],
  [0.38373781, 0.61163804, 0.00462415],
  [0.52510443, 0.4725011, 0.00239447]
]

const closeTo8 = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>) =>
  expected.forEach((e, i) => assert.isBelow(Math.abs(actual[i] - e), 5e-9, `element ${i}: ${actual[i]} vs ${e}`))

describe("feedforward", () => {
  it("reproduces z₂, a₂ and the output for x_in to 8 decimals", () => {
    const a = forwardPass(weights, xIn)
    assert.strictEqual(a.yOut.dtype, "float64")
    closeTo8(numbers(a.z2), [0.8, 0.7, -2.1, 3.8])
    closeTo8(numbers(a.a2), [0.68997448, 0.66818777, 0.10909682, 0.97811873])
    closeTo8(numbers(a.yOut), [0.72780576, 0.26927918, 0.00291506])
  })

  it.effect("batch as one matrix and vmap over rows give the lesson's table", () =>
    Effect.gen(function* () {
      const r = yield* run()
      assert.deepStrictEqual(r.batch.shape, [7, 3])
      closeTo8(numbers(r.batch), lessonBatch.flat())
      closeTo8(numbers(r.vmapped), lessonBatch.flat())
      assert.isBelow(r.maxDifference, 1e-15)
      // each row is a probability distribution
      numbers(NdArray.sum(r.batch, { axis: 1 })).forEach((s) => assert.approximately(s, 1, 1e-12))
      const svg = yield* Effect.promise(() => renderSvg(r.figures["batch-probabilities"]))
      assert.include(svg, "<svg")
    }))
})
