/**
 * Sigmoid neurons as logic gates (note 000, "单元神经网络"): a neuron
 * σ(w₁x₁ + w₂x₂ + b) with hand-set weights computes OR (20, 20, −10),
 * NAND (−10, −10, 14) and AND (10, 10, −19); one neuron cannot compute XOR,
 * but XOR(a, b) = AND(OR(a, b), NAND(a, b)) — a two-layer network. Then a
 * 2-2-1 sigmoid network learns XOR from its truth table by gradient descent
 * with `grad`.
 *
 * @since 0.1.0
 */
import { grad, NdArray, Random, Tree } from "@gradfx/core"
import { Effect } from "effect"
import { lineChart } from "../plot.js"
import { numbers } from "../runtime.js"

/** A gate: a function of two inputs (numbers or arrays, broadcast) to σ(…). */
export type Gate = (x1: NdArray | number, x2: NdArray | number) => NdArray

/** `logic_gate(w1, w2, b)`: one sigmoid neuron. */
export const logicGate =
  (w1: number, w2: number, b: number): Gate =>
  (x1, x2) =>
    NdArray.sigmoid(NdArray.add(NdArray.add(NdArray.mul(w1, x1), NdArray.mul(w2, x2)), b))

export const orGate = logicGate(20, 20, -10)
export const nandGate = logicGate(-10, -10, 14)
export const andGate = logicGate(10, 10, -19)
/** XOR from three neurons in two layers: AND(OR(a, b), NAND(a, b)). */
export const xorGate: Gate = (a, b) => andGate(orGate(a, b), nandGate(a, b))

/** The four input pairs in the lesson's order: (0,0), (0,1), (1,0), (1,1). */
export const inputs: ReadonlyArray<readonly [number, number]> = [[0, 0], [0, 1], [1, 0], [1, 1]]

/** The gate's output on the four inputs, rounded (the lesson's `test(gate)`), computed on all four at once. */
export const truthTable = (gate: Gate): Array<number> => {
  const a = NdArray.array(inputs.map((p) => p[0]), { dtype: "float64" })
  const b = NdArray.array(inputs.map((p) => p[1]), { dtype: "float64" })
  return numbers(NdArray.round(gate(a, b)))
}

// ---------------------------------------------------------------------------
// Learning XOR

/** A 2-2-1 network: hidden layer `w1` [2, 2] + `b1` [2], output `w2` [2] + `b2` []. */
export interface XorParams {
  readonly w1: NdArray
  readonly b1: NdArray
  readonly w2: NdArray
  readonly b2: NdArray
}

export const initXor = (key: Random.Key): XorParams => {
  const [k1, k2] = Random.split(key, 2)
  return {
    w1: Random.normal(k1, [2, 2], { dtype: "float64" }),
    b1: NdArray.zeros([2], { dtype: "float64" }),
    w2: Random.normal(k2, [2], { dtype: "float64" }),
    b2: NdArray.zeros([], { dtype: "float64" })
  }
}

/** The network on a batch `[n, 2]`: σ(σ(x·W₁ + b₁)·w₂ + b₂), shape `[n]`. */
export const xorNet = (p: XorParams, x: NdArray): NdArray =>
  NdArray.sigmoid(NdArray.add(NdArray.matmul(NdArray.sigmoid(NdArray.add(NdArray.matmul(x, p.w1), p.b1)), p.w2), p.b2))

/** Mean binary cross-entropy, −mean(y log ŷ + (1 − y) log(1 − ŷ)). */
export const xorLoss = (p: XorParams, x: NdArray, y: NdArray): NdArray => {
  const yHat = xorNet(p, x)
  return NdArray.neg(NdArray.mean(NdArray.add(NdArray.mul(y, NdArray.log(yHat)), NdArray.mul(NdArray.sub(1, y), NdArray.log(NdArray.sub(1, yHat))))))
}

export interface LogicGatesConfig {
  readonly seed: number
  readonly iterations: number
  readonly learningRate: number
  /** Log the loss every this many iterations. */
  readonly logEvery: number
}

/**
 * Seed 5: with N(0, 1) weights, 2-2-1 sigmoid networks often stall in XOR's
 * well-known local minimum (one input pair stuck at 0.5; seeds 0, 2, 3, 7–10
 * of 0–11 do at learning rate 1); seeds 1, 4, 5, 6 and 11 solve it.
 */
export const fullConfig: LogicGatesConfig = { seed: 5, iterations: 2000, learningRate: 1, logEvery: 200 }

/**
 * Print the three gates' truth tables and XOR's, then learn XOR.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("logic-gates/run")(function* (config: LogicGatesConfig = fullConfig) {
  const tables = { or: truthTable(orGate), nand: truthTable(nandGate), and: truthTable(andGate), xor: truthTable(xorGate) }
  for (const [name, table] of Object.entries(tables)) {
    yield* Effect.log(`${name.toUpperCase()}:\n${inputs.map(([a, b], i) => `  ${a} , ${b} : ${table[i].toFixed(1)}`).join("\n")}`)
  }

  const x = NdArray.array(inputs.map((p) => [...p]), { dtype: "float64" })
  const y = NdArray.array([0, 1, 1, 0], { dtype: "float64" })
  const lossGrad = grad(xorLoss)
  let params = initXor(Random.key(config.seed))
  const losses: Array<number> = []
  let solvedAt = -1
  for (let i = 0; i < config.iterations; i++) {
    const g = lossGrad(params, x, y)
    params = Tree.map(params, (p: NdArray, gp: NdArray) => NdArray.sub(p, NdArray.mul(config.learningRate, gp)), g)
    if (solvedAt < 0 && numbers(xorNet(params, x)).every((o, k) => o > 0.5 === (k === 1 || k === 2))) {
      solvedAt = i + 1
      yield* Effect.log(`all four outputs on the right side of 0.5 after ${solvedAt} iterations`)
    }
    if (i % config.logEvery === 0 || i === config.iterations - 1) {
      const loss = xorLoss(params, x, y).item()
      losses.push(loss)
      yield* Effect.log(`iteration ${i}: cross-entropy ${loss.toFixed(6)}`)
    }
  }
  const learned = numbers(xorNet(params, x))
  yield* Effect.log(`learned XOR:\n${inputs.map(([a, b], i) => `  ${a} , ${b} : ${learned[i].toFixed(4)} → ${Math.round(learned[i])}`).join("\n")}`)
  return {
    tables,
    learned,
    solvedAt,
    losses,
    params,
    figures: {
      "xor-loss": lineChart({
        title: "2-2-1 network learning XOR",
        series: { "cross-entropy": losses.map((l, i) => [Math.min(i * config.logEvery, config.iterations - 1), l] as const) },
        xTitle: "iteration",
        yTitle: "mean cross-entropy",
        yScale: "log"
      })
    }
  }
})
