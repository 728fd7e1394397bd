import { assert, describe, it } from "@effect/vitest"
import { checkGrads, NdArray, Random } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { andGate, initXor, nandGate, orGate, run, truthTable, xorGate, xorLoss } from "./logic-gates.js"

describe("logic-gates", () => {
  it("hand-set neurons print the lesson's truth tables", () => {
    assert.deepStrictEqual(truthTable(orGate), [0, 1, 1, 1])
    assert.deepStrictEqual(truthTable(nandGate), [1, 1, 1, 0])
    assert.deepStrictEqual(truthTable(andGate), [0, 0, 0, 1])
    assert.deepStrictEqual(truthTable(xorGate), [0, 1, 1, 0])
    // the values behind the rounding: OR(0, 0) = σ(−10) ≈ 4.5e-5, while AND(1, 1) is only σ(1) ≈ 0.731
    assert.approximately(orGate(0, 0).item(), 1 / (1 + Math.exp(10)), 1e-9)
    assert.approximately(andGate(1, 1).item(), 1 / (1 + Math.exp(-1)), 1e-6)
  })

  it("the XOR loss has correct gradients", () => {
    const x = NdArray.array([[0, 0], [0, 1], [1, 0], [1, 1]], { dtype: "float64" })
    const y = NdArray.array([0, 1, 1, 0], { dtype: "float64" })
    checkGrads((p: ReturnType<typeof initXor>) => xorLoss(p, x, y), [initXor(Random.key(3))], { order: 1 })
  })

  it.effect("a 2-2-1 network learns XOR with grad", () =>
    Effect.gen(function* () {
      const r = yield* run({ seed: 5, iterations: 400, learningRate: 1, logEvery: 100 })
      assert.deepStrictEqual(r.tables.xor, [0, 1, 1, 0])
      assert.isAbove(r.solvedAt, 0)
      assert.isBelow(r.learned[0], 0.5)
      assert.isAbove(r.learned[1], 0.5)
      assert.isAbove(r.learned[2], 0.5)
      assert.isBelow(r.learned[3], 0.5)
      assert.isBelow(r.losses[r.losses.length - 1], r.losses[0] / 2)
      assert.include(yield* Effect.promise(() => renderSvg(r.figures["xor-loss"])), "<svg")
    }))
})
