import { assert, describe, it } from "@effect/vitest"
import { NdArray } from "@gradfx/core"
import { Effect } from "effect"
import { renderSvg } from "../plot.js"
import { activations, derivative, run } from "./activations.js"

describe("activations", () => {
  it.effect("vmap(grad) derivatives equal the analytic ones on the grid", () =>
    Effect.gen(function* () {
      const r = yield* run({ points: 41, range: 4 })
      assert.strictEqual(Object.keys(r.values).length, 10)
      for (const [name, error] of Object.entries(r.maxError)) assert.isBelow(error, 1e-12, name)
      assert.strictEqual(r.offDiagonal, 0)
      assert.isBelow(r.softmaxJacobianError, 1e-15)
      for (const figure of Object.values(r.figures)) assert.include(yield* Effect.promise(() => renderSvg(figure)), "<svg")
    }))

  it("the S-shaped family all have slope 1 at 0 (sigmoid 1/4) and the right limits", () => {
    const zero = NdArray.array([0, -30, 30], { dtype: "float64" })
    for (const [name, f] of Object.entries(activations)) {
      const d = Array.from(derivative(f)(zero).data())
      const expectedSlope = name === "sigmoid" ? 0.25 : name === "relu" ? 0 : name.startsWith("leaky") ? 0.01 : 1
      assert.approximately(d[0], expectedSlope, 1e-15, name)
      const v = Array.from(f(zero).data())
      if (!["relu", "sigmoid"].includes(name) && !name.startsWith("leaky") && !name.startsWith("elu")) {
        // odd, saturating at ±1
        assert.approximately(v[1], -v[2], 1e-15, name)
        assert.isAbove(v[2], 0.96, name)
        assert.isAtMost(v[2], 1, name)
      }
    }
  })

  it("gradients stay finite far out (ELU's inner where keeps expm1 bounded)", () => {
    const far = NdArray.array([-1000, 1000], { dtype: "float64" })
    for (const [name, f] of Object.entries(activations)) {
      for (const v of Array.from(derivative(f)(far).data())) assert.isTrue(Number.isFinite(v), name)
    }
  })
})
