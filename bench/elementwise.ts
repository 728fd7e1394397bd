/**
 * Section 2: memory-bound kernels. `add` of two 4M-element float32 arrays
 * (bytes moved = 3 × 4M × 4: two read, one written) and `sum` of 16M float32
 * to a scalar (bytes = 16M × 4 read). GB/s = bytes / median time.
 */
import { NdArray } from "@gradfx/core"
import { loadJax, useTf } from "./competitors.js"
import { type Result, type Timing, Notes, QUICK, cell, isNa, measure, printTable, speedup, uniform32 } from "./harness.js"

const gbs = (bytes: number, t: Result<Timing>): Result<number> => (isNa(t) ? t : bytes / t.median / 1e9)
const ms = (t: Result<Timing>): Result<number> => (isNa(t) ? t : t.median * 1e3)

interface Case {
  readonly label: string
  readonly bytes: number
  readonly inputs: ReadonlyArray<Float32Array>
  readonly gradfx: (xs: ReadonlyArray<NdArray>) => unknown
  readonly tf: "add" | "sum"
}

export const run = async (): Promise<void> => {
  const M = 1 << 20
  const addN = 4 * M
  const sumN = QUICK ? 4 * M : 16 * M
  const opts = { warmup: 2, runs: QUICK ? 5 : 9, minRunSeconds: 0.1 }
  const cases: ReadonlyArray<Case> = [
    {
      label: `add ${addN / M}M f32`,
      bytes: 3 * addN * 4,
      inputs: [uniform32(addN, 3), uniform32(addN, 4)],
      gradfx: ([x, y]) => NdArray.add(x, y),
      tf: "add"
    },
    {
      label: `sum ${sumN / M}M f32`,
      bytes: sumN * 4,
      inputs: [uniform32(sumN, 5)],
      gradfx: ([x]) => NdArray.sum(x),
      tf: "sum"
    }
  ]
  const notes = new Notes()
  const rows: Array<Array<string>> = []
  for (const c of cases) {
    const g = await measure(() => {
      const xs = c.inputs.map((d) => NdArray.array(d))
      return () => c.gradfx(xs)
    }, opts)
    const tfTime = async (backend: "cpu" | "wasm") => {
      const tf = await useTf(backend)
      if (isNa(tf)) return tf
      const xs = c.inputs.map((d) => tf.tensor1d(d))
      try {
        return await measure(
          () => c.tf === "add" ? () => tf.add(xs[0], xs[1]).dispose() : () => tf.sum(xs[0]).dispose(),
          opts
        )
      } finally {
        xs.forEach((x) => x.dispose())
      }
    }
    const cpu = await tfTime("cpu")
    const wasm = await tfTime("wasm")
    const jl = await loadJax()
    const jax = isNa(jl) ? jl : await measure(() => {
      const xs = c.inputs.map((d) => jl.np.array(d))
      return async () => {
        const out = c.tf === "add" ? jl.np.add(xs[0].ref, xs[1].ref) : jl.np.sum(xs[0].ref)
        await out.blockUntilReady()
        out.dispose()
      }
    }, opts)
    notes.na("gradfx", g)
    notes.na("tfjs-cpu", cpu)
    notes.na("tfjs-wasm", wasm)
    notes.na("jax-js", jax)
    rows.push([
      c.label,
      cell(gbs(c.bytes, g)),
      cell(gbs(c.bytes, cpu)),
      cell(gbs(c.bytes, wasm)),
      cell(gbs(c.bytes, jax)),
      cell(ms(g)),
      speedup(ms(g), ms(cpu)),
      speedup(ms(g), ms(wasm)),
      speedup(ms(g), ms(jax))
    ])
  }
  notes.add("GB/s = bytes read + written / median time (add: 2 inputs read + 1 output written; sum: input read); higher is better")
  notes.add("vs X = X's time / gradfx's time (above 1× gradfx is faster). jax-js times include blockUntilReady (it is lazy)")
  printTable(
    "2. elementwise add and sum reduction (GB/s)",
    ["case", "gradfx", "tfjs-cpu", "tfjs-wasm", "jax-js", "gradfx ms", "vs cpu", "vs wasm", "vs jax-js"],
    rows,
    notes.all
  )
}
