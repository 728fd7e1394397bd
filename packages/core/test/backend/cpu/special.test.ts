import { describe, expect, it } from "vitest"
import { erf, erfc } from "../../../src/backend/cpu/special"

/** erf via the all-positive series 2/√π · e^{-x²} · Σ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)), accurate for |x| ≤ 3. */
const erfSeries = (x: number): number => {
  let term = x
  let sum = x
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1)
    sum += term
    if (Math.abs(term) < 1e-18 * Math.abs(sum)) break
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300)

describe("erf", () => {
  it("matches known values", () => {
    const known: Array<[number, number]> = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [-3, -0.9999779095030014],
      [1e-10, 1.1283791670955126e-10],
      [0.1, 0.1124629160182849],
      [1.1, 0.8802050695740817],
      [2.5, 0.999593047982555],
      [4, 0.9999999845827421]
    ]
    for (const [x, v] of known) expect(relErr(erf(x), v), `erf(${x})`).toBeLessThan(2e-16 * 4)
  })

  it("is accurate to ~1e-15 across every interval", () => {
    for (let i = -3000; i <= 3000; i++) {
      const x = i / 1000 + 1e-4
      expect(relErr(erf(x), erfSeries(x)), `erf(${x})`).toBeLessThan(2e-15)
    }
  })

  it("is odd, saturates and handles special values", () => {
    for (const x of [0.3, 0.9, 1.7, 3.3, 5.9]) expect(erf(-x)).toBe(-erf(x))
    expect(erf(0)).toBe(0)
    expect(erf(6)).toBe(1)
    expect(erf(-30)).toBe(-1)
    expect(erf(Infinity)).toBe(1)
    expect(erf(-Infinity)).toBe(-1)
    expect(erf(NaN)).toBeNaN()
  })

  it("has accurate central differences (float64 gradient checks)", () => {
    const h = 1e-5
    for (const x of [-2.2, -0.8, 0, 0.4, 0.9, 1.3, 2.9, 4.5]) {
      const numeric = (erf(x + h) - erf(x - h)) / (2 * h)
      const exact = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x)
      expect(Math.abs(numeric - exact)).toBeLessThan(1e-9)
    }
  })
})

describe("erfc", () => {
  it("matches known values, including the far tail", () => {
    const known: Array<[number, number]> = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047266],
      [5, 1.5374597944280349e-12],
      [10, 2.088487583762545e-45],
      [-1, 1.8427007929497148]
    ]
    for (const [x, v] of known) expect(relErr(erfc(x), v), `erfc(${x})`).toBeLessThan(1e-15)
    expect(erfc(Infinity)).toBe(0)
    expect(erfc(-Infinity)).toBe(2)
    expect(erfc(NaN)).toBeNaN()
  })

  it("is 1 - erf", () => {
    for (let i = -400; i <= 400; i++) {
      const x = i / 100 + 1e-3
      expect(Math.abs(erfc(x) - (1 - erf(x)))).toBeLessThan(3e-16)
    }
  })
})
