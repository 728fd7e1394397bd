import { NdArray, jit, makeJaxpr } from "@gradfx/core"
import { gradfxParams, gradfxSgdStep, mlpInit, randomBatch, IN, OUT } from "./mlp.js"
const B = Number(process.argv[2] ?? 32)
const init = mlpInit()
const { x, y } = randomBatch(B, 3)
const X = NdArray.array(x, { shape: [B, IN] }), Y = NdArray.array(y, { shape: [B, OUT] })
let p = gradfxParams(init)
const jstep = jit((p: any, x: NdArray, y: NdArray, lr: number) => gradfxSgdStep(p, x, y, lr))
const time = (name: string, fn: () => void, n = 300) => {
  for (let i = 0; i < 50; i++) fn()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) fn()
  const ms = (performance.now() - t0) / n
  console.log(name, ms.toFixed(3), "ms/step", (ms * 50000 / B / 1000).toFixed(2), "s/epoch")
}
time("eager", () => { [p] = gradfxSgdStep(p, X, Y, 0.1) })
time("jit", () => { [p] = jstep(p, X, Y, 0.1) })
if (process.argv[3]) console.log(makeJaxpr((p: any, x: NdArray, y: NdArray) => gradfxSgdStep(p, x, y, 0.1))(p, X, Y).toString())
