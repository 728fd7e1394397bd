import { NdArray, setThreads } from "@gradfx/core"
import { warmUpThreads } from "../packages/core/src/backend/wasm/index.js"
const r = (s: number[]) => NdArray.array(new Float32Array(s[0] * s[1]).map(() => Math.random()), { shape: s })
const cases: Array<[string, NdArray, NdArray]> = [
  ["128x784 @ 784x100", r([128, 784]), r([784, 100])],
  ["784x128(T) @ 128x100", NdArray.transpose(r([128, 784])), r([128, 100])],
  ["32x784 @ 784x100", r([32, 784]), r([784, 100])],
  ["40x500 @ 500x2048", r([40, 500]), r([500, 2048])],
  ["512^3", r([512, 512]), r([512, 512])]
]
const time = (f: () => unknown) => { for (let i = 0; i < 20; i++) f(); const ts: number[] = []; for (let k = 0; k < 9; k++) { const t0 = performance.now(); for (let i = 0; i < 20; i++) f(); ts.push((performance.now() - t0) / 20) } ts.sort((a, b) => a - b); return ts[4] }
for (const th of [1, 2]) {
  setThreads(th); warmUpThreads()
  for (const [name, a, b] of cases) {
    const ms = time(() => NdArray.matmul(a, b))
    const flop = 2 * a.shape[0] * a.shape[1] * b.shape[1]
    console.log(`threads ${th}  ${name.padEnd(22)} ${(ms * 1000).toFixed(0).padStart(6)} µs  ${(flop / ms / 1e6).toFixed(1)} GFLOP/s`)
  }
}
