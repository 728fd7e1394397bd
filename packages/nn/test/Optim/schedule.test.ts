import { describe, expect, it } from "vitest"
import { OptimizerError, Schedule } from "@gradfx/nn"

describe("Schedule", () => {
  it("constant", () => {
    expect([0, 10, 1e6].map(Schedule.constant(0.3))).toEqual([0.3, 0.3, 0.3])
  })

  it("exponentialDecay: continuous, staircase, delayed start, floor", () => {
    const s = Schedule.exponentialDecay({ initValue: 1, transitionSteps: 10, decayRate: 0.5 })
    expect(s(0)).toBe(1)
    expect(s(10)).toBeCloseTo(0.5, 15)
    expect(s(5)).toBeCloseTo(Math.SQRT1_2, 15)
    const stairs = Schedule.exponentialDecay({ initValue: 1, transitionSteps: 10, decayRate: 0.5, staircase: true })
    expect([0, 9, 10, 19, 20].map(stairs)).toEqual([1, 1, 0.5, 0.5, 0.25])
    const delayed = Schedule.exponentialDecay({ initValue: 2, transitionSteps: 1, decayRate: 0.5, transitionBegin: 3, endValue: 0.3 })
    expect([0, 3, 4, 5, 6, 100].map(delayed)).toEqual([2, 2, 1, 0.5, 0.3, 0.3])
  })

  it("cosineDecay goes from init to alpha·init over decaySteps, then stays", () => {
    const s = Schedule.cosineDecay({ initValue: 2, decaySteps: 100, alpha: 0.1 })
    expect(s(0)).toBeCloseTo(2, 15)
    expect(s(50)).toBeCloseTo(2 * (0.9 * 0.5 + 0.1), 12)
    expect(s(100)).toBeCloseTo(0.2, 12)
    expect(s(500)).toBeCloseTo(0.2, 12)
    expect(s(25)).toBeCloseTo(2 * (0.9 * 0.5 * (1 + Math.cos(Math.PI / 4)) + 0.1), 12)
  })

  it("linear and linearWarmup (then a schedule restarted at 0)", () => {
    const l = Schedule.linear({ initValue: 1, endValue: 0, transitionSteps: 4 })
    expect([0, 1, 2, 4, 9].map(l)).toEqual([1, 0.75, 0.5, 0, 0])
    const w = Schedule.linearWarmup({ peakValue: 1, warmupSteps: 4, after: Schedule.linear({ initValue: 1, endValue: 0.5, transitionSteps: 2 }) })
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(w)).toEqual([0, 0.25, 0.5, 0.75, 1, 0.75, 0.5, 0.5])
    expect(Schedule.linearWarmup({ peakValue: 3, warmupSteps: 2, initValue: 1 })(1)).toBe(2)
    expect(Schedule.linearWarmup({ peakValue: 3, warmupSteps: 2 })(50)).toBe(3)
  })

  it("piecewiseConstant switches at the boundaries", () => {
    const s = Schedule.piecewiseConstant({ boundaries: [10, 20], values: [1, 0.1, 0.01] })
    expect([0, 9, 10, 19, 20, 1000].map(s)).toEqual([1, 1, 0.1, 0.1, 0.01, 0.01])
  })

  it("validates its arguments", () => {
    expect(() => Schedule.piecewiseConstant({ boundaries: [10], values: [1] })).toThrow(OptimizerError)
    expect(() => Schedule.piecewiseConstant({ boundaries: [10, 5], values: [1, 2, 3] })).toThrow(/increasing/)
    expect(() => Schedule.cosineDecay({ initValue: 1, decaySteps: 0 })).toThrow(OptimizerError)
    expect(() => Schedule.exponentialDecay({ initValue: 1, transitionSteps: 1, decayRate: 0 })).toThrow(OptimizerError)
    expect(() => Schedule.constant(Number.NaN)).toThrow(OptimizerError)
  })
})
