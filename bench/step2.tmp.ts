import { NdArray, jit } from "@gradfx/core"
import { gradfxParams, gradfxSgdStep, mlpInit, randomBatch, IN, OUT } from "./mlp.js"
const B = Number(process.argv[2] ?? 32)
const { x, y } = randomBatch(B, 3)
const X = NdArray.array(x, { shape: [B, IN] }), Y = NdArray.array(y, { shape: [B, OUT] })
let p = gradfxParams(mlpInit())
const jstep = jit((p: any, x: NdArray, y: NdArray, lr: number) => gradfxSgdStep(p, x, y, lr))
for (let i = 0; i < 3000; i++) [p] = jstep(p, X, Y, 0.1)
