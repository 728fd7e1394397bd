import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Plot from "../src/Plot.js"

const chart: Plot.Chart = { title: "MNIST loss", yLabel: "loss", series: { train: [0.9, 0.5, 0.3], validation: [0.8, 0.6, NaN] } }

describe("Plot", () => {
  it("the Vega-Lite spec holds one row per finite value", () => {
    const spec = Plot.vegaLiteSpec(chart) as { data: { values: Array<{ epoch: number; value: number; series: string }> } }
    assert.strictEqual(spec.data.values.length, 5)
    assert.deepStrictEqual(spec.data.values[0], { epoch: 1, value: 0.9, series: "train" })
  })

  it("the built-in SVG draws a polyline per series and a legend", () => {
    const svg = Plot.simpleSvg(chart)
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    assert.strictEqual(svg.match(/<polyline/g)?.length, 2)
    assert.include(svg, ">validation</text>")
    assert.include(svg, "MNIST loss")
  })

  it.effect("renderSvg gives an SVG document (vega when installed, else the built-in renderer)", () =>
    Effect.gen(function*() {
      const { svg, renderer } = yield* Plot.renderSvg(chart)
      assert.include(["vega", "builtin"], renderer)
      assert.match(svg.trimStart(), /^<svg/)
    }))

  it("the terminal chart puts the maximum on the top row and the minimum on the bottom row", () => {
    const text = Plot.terminalChart({ title: "loss", yLabel: "loss", series: { train: [3, 2, 1] } }, { height: 5, columnWidth: 2 })
    const lines = text.split("\n")
    assert.strictEqual(lines.length, 1 + 5 + 1)
    assert.match(lines[0], /loss \(by epoch\) +● train/)
    assert.strictEqual(lines[1], "3 ┤●     ")
    assert.strictEqual(lines[5], "1 ┤    ● ")
    assert.match(lines[6], /└──────$/)
  })
})
