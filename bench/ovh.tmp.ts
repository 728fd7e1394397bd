import { NdArray, grad, jit, valueAndGrad } from "@gradfx/core"
const x = NdArray.array(Float32Array.from({ length: 10 }, (_, i) => i / 10))
const f = (x: NdArray) => NdArray.sum(NdArray.mul(NdArray.sin(x), x))
const g = grad(f)
const jg = jit(grad(f))
const time = (name: string, fn: () => unknown, n = 20000) => {
  for (let i = 0; i < n; i++) fn()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) fn()
  console.log(name, ((performance.now() - t0) * 1000 / n).toFixed(2), "µs")
}
console.log(g(x).toString(), jg(x).toString())
time("f", () => f(x).data())
time("grad", () => g(x).data())
time("jit grad", () => jg(x).data())
import { makeJaxpr } from "@gradfx/core"
console.log(makeJaxpr(grad(f))(x).toString())
