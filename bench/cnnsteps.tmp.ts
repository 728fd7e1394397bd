import { NdArray, makeJaxpr } from "@gradfx/core"
import { compileJaxpr } from "../packages/core/src/transforms/jit.js"
import { ArrayValue } from "../packages/core/src/interpreter/ndarray.js"
import * as cpu from "../packages/core/src/backend/cpu/index.js"
import { gradfxStep, init } from "./cnn.js"
const w = init()
const p = { c1: NdArray.array(w.c1, { shape: [20, 1, 5, 5] }), b1: NdArray.zeros([20]), c2: NdArray.array(w.c2, { shape: [40, 20, 5, 5] }), b2: NdArray.zeros([40]), d1: NdArray.array(w.d1, { shape: [640, 100] }), e1: NdArray.zeros([100]), d2: NdArray.array(w.d2, { shape: [100, 10] }), e2: NdArray.zeros([10]) }
const X = NdArray.array(new Float32Array(32 * 784).map(() => Math.random()), { shape: [32, 1, 28, 28] })
const Y = NdArray.oneHot(NdArray.array(new Int32Array(32).map((_, i) => i % 10)), 10)
const { jaxpr, consts } = makeJaxpr(gradfxStep)(p as any, X, Y)
const prog = compileJaxpr(jaxpr, consts)
const args = [p.c1, p.b1, p.c2, p.b2, p.d1, p.e1, p.d2, p.e2, X, Y]
const times = new Float64Array(prog.steps.length)
const desc: string[] = []
const N = 30
for (let it = 0; it < N + 5; it++) {
  const env: any[] = new Array(prog.slotCount)
  consts.forEach((c, i) => (env[i] = c)); prog.inSlots.forEach((s, i) => (env[s] = args[i]))
  prog.steps.forEach((step, k) => {
    const t0 = performance.now()
    const ins = step.inputs.map((s) => env[s])
    if (it === 0) desc[k] = ins.map((a: any) => `[${a.shape}]/(${a.strides})`).join(" ")
    if (step.kind === "fused") { const o = step.outAvals[0]; env[step.outputs[0]] = ArrayValue.fromBuffer(cpu.mapNew(step.expr, step.bool, ins, o.shape, o.dtype), o.dtype, o.shape) }
    else { const outs = step.prim.kernel!(ins, step.params, step.outAvals); outs.forEach((o, j) => (env[step.outputs[j]] = o)) }
    if (it >= 5) times[k] += performance.now() - t0
  })
}
const total = times.reduce((a, b) => a + b, 0)
const rows = prog.steps.map((s, k) => [times[k] / N * 1000, `${s.kind === "fused" ? `fused(${s.size}) ${s.expr.slice(0, 200)}` : s.prim.name} ${s.outAvals.map((a) => a.toString()).join(",")} <- ${desc[k]}`] as const)
rows.slice().sort((a, b) => b[0] - a[0]).slice(0, 25).forEach(([t, d]) => console.log(t.toFixed(0).padStart(7), "µs", d))
console.log("total", (total / N).toFixed(2), "ms", prog.steps.length, "steps")
