import { describe, expect, it } from "vitest"
import { bitsToUniform01, bitsToUniform01Float64, threefry2x32 } from "../../../src/backend/cpu/threefry"

describe("threefry2x32", () => {
  it("matches the Random123 known-answer vectors", () => {
    const kat: Array<[[number, number], [number, number], [number, number]]> = [
      [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
      [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
      [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]]
    ]
    for (const [[k0, k1], [c0, c1], [r0, r1]] of kat) {
      const [y0, y1] = threefry2x32(k0, k1, Uint32Array.of(c0), Uint32Array.of(c1))
      expect([y0[0], y1[0]]).toEqual([r0, r1])
    }
  })

  it("works elementwise on vectors and does not modify its inputs", () => {
    const x0 = Uint32Array.of(0, 0xffffffff, 0x243f6a88)
    const x1 = Uint32Array.of(0, 0xffffffff, 0x85a308d3)
    const [y0, y1] = threefry2x32(0x13198a2e, 0x03707344, x0, x1)
    expect(y0.length).toBe(3)
    expect([y0[2], y1[2]]).toEqual([0xc4923a9c, 0x483df7a0])
    expect(Array.from(x0)).toEqual([0, 0xffffffff, 0x243f6a88])
    // Distinct counters give distinct outputs.
    expect(y0[0]).not.toBe(y0[1])
  })
})

describe("bitsToUniform01", () => {
  it("uses the top 23 bits as a float32 mantissa", () => {
    const viaBits = (bits: number): number => {
      const view = new DataView(new ArrayBuffer(4))
      view.setUint32(0, (bits >>> 9) | 0x3f800000)
      return view.getFloat32(0) - 1
    }
    for (const bits of [0, 1, 511, 512, 0x80000000, 0xdeadbeef, 0xffffffff]) {
      expect(bitsToUniform01(bits)).toBe(viaBits(bits))
    }
    expect(bitsToUniform01(0)).toBe(0)
    expect(bitsToUniform01(0xffffffff)).toBe(1 - 2 ** -23)
    expect(Math.fround(bitsToUniform01(0xffffffff))).toBeLessThan(1)
  })

  it("has a 53-bit float64 variant in [0, 1)", () => {
    expect(bitsToUniform01Float64(0, 0)).toBe(0)
    expect(bitsToUniform01Float64(0xffffffff, 0xffffffff)).toBe(1 - 2 ** -53)
    expect(bitsToUniform01Float64(0x80000000, 0)).toBe(0.5)
    expect(bitsToUniform01Float64(0, 1 << 6)).toBe(2 ** -53)
  })
})
