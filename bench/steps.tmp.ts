import { NdArray, makeJaxpr } from "@gradfx/core"
import { compileJaxpr } from "../packages/core/src/transforms/jit.js"
import { ArrayValue } from "../packages/core/src/interpreter/ndarray.js"
import * as cpu from "../packages/core/src/backend/cpu/index.js"
import { gradfxParams, gradfxSgdStep, mlpInit, randomBatch, IN, OUT } from "./mlp.js"
const B = Number(process.argv[2] ?? 32)
const { x, y } = randomBatch(B, 3)
const X = NdArray.array(x, { shape: [B, IN] }), Y = NdArray.array(y, { shape: [B, OUT] })
const p = gradfxParams(mlpInit())
const lr = NdArray.scalar(0.1)
const { jaxpr, consts } = makeJaxpr((p: any, x: NdArray, y: NdArray, lr: NdArray) => gradfxSgdStep(p, x, y, lr as any))(p, X, Y, lr)
const prog = compileJaxpr(jaxpr, consts)
const args = [p.w1, p.b1, p.w2, p.b2, X, Y, lr]
const times = new Float64Array(prog.steps.length)
for (let it = 0; it < 2000; it++) {
  const env: any[] = new Array(prog.slotCount)
  consts.forEach((c, i) => (env[i] = c)); prog.inSlots.forEach((s, i) => (env[s] = args[i]))
  prog.steps.forEach((step, k) => {
    const t0 = performance.now()
    const ins = step.inputs.map((s) => env[s])
    if (step.kind === "fused") { const o = step.outAvals[0]; env[step.outputs[0]] = ArrayValue.fromBuffer(cpu.mapNew(step.expr, step.bool, ins, o.shape, o.dtype), o.dtype, o.shape) }
    else { const outs = step.prim.kernel!(ins, step.params, step.outAvals); outs.forEach((o, j) => (env[step.outputs[j]] = o)) }
    if (it >= 500) times[k] += performance.now() - t0
  })
}
const total = times.reduce((a, b) => a + b, 0)
prog.steps.forEach((s, k) => console.log((times[k] / 1500 * 1000).toFixed(1).padStart(7), "µs", s.kind === "fused" ? `fused(${s.size}) ${s.expr.slice(0, 70)}` : s.prim.name, s.outAvals.map(a => a.toString()).join(","), s.inputs.map(i => { const v = (globalThis as any).__env?.[i]; return "" }).join("")))
console.log("total", (total / 1500 * 1000).toFixed(1), "µs")
