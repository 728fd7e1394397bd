import { NdArray, grad, jit } from "@gradfx/core"
const x = NdArray.array(new Float32Array(32 * 784).map(() => Math.random()), { shape: [32, 1, 28, 28] })
const w = NdArray.array(new Float32Array(500).map(() => Math.random()), { shape: [20, 1, 5, 5] })
const g = grad((x: NdArray, w: NdArray) => NdArray.sum(NdArray.conv2d(x, w)), { argnums: [0, 1] })
const jg = jit(g)
const time = (name: string, f: () => unknown) => { for (let i = 0; i < 20; i++) f(); const ts: number[] = []; for (let r = 0; r < 9; r++) { const t0 = performance.now(); for (let i = 0; i < 20; i++) f(); ts.push((performance.now() - t0) / 20) } ts.sort((a, b) => a - b); console.log(name, ts[4].toFixed(2), "ms") }
time("fwd", () => NdArray.conv2d(x, w))
time("fwd+bwd", () => g(x, w))
time("jit fwd+bwd", () => jg(x, w))
