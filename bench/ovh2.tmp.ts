import { NdArray, grad } from "@gradfx/core"
const x = NdArray.array(Float32Array.from({ length: 10 }, (_, i) => i / 10))
const f = (x: NdArray) => NdArray.sum(NdArray.mul(NdArray.sin(x), x))
const g = grad(f)
for (let i = 0; i < 200000; i++) g(x).data()
