/**
 * Section 3: the LeNet-style first convolution layer: a batch of 32 images
 * 1×28×28, 20 filters 5×5, stride 1, no padding (output 32×20×24×24).
 * Forward alone, then forward + backward: the gradients of sum(conv2d(x, w))
 * with respect to both w and x (tfjs: `tf.grads`; jax-js: `grad` with
 * argnums [0, 1]). Milliseconds per call (median).
 *
 * Layouts: gradfx and jax-js take NCHW images and OIHW filters; tfjs takes
 * NHWC images and HWIO filters, so it gets the same values in its own layout
 * (with one channel the image buffers are identical; the filter is transposed
 * once, outside the timing).
 */
import { NdArray, grad, jit } from "@gradfx/core"
import { type JaxArray, type TfTensor, loadJax, settleJax, useTf } from "./competitors.js"
import { type Result, type Timing, Notes, QUICK, cell, isNa, measure, printTable, speedup, uniform32 } from "./harness.js"

const ms = (t: Result<Timing>): Result<number> => (isNa(t) ? t : t.median * 1e3)

export const run = async (): Promise<void> => {
  const [N, C, H, W, O, K] = [32, 1, 28, 28, 20, 5]
  const xData = uniform32(N * C * H * W, 11)
  const wOihw = uniform32(O * C * K * K, 12)
  const wHwio = new Float32Array(O * C * K * K)
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < K; i++)
        for (let j = 0; j < K; j++) wHwio[((i * K + j) * C + c) * O + o] = wOihw[((o * C + c) * K + i) * K + j]
  const opts = { warmup: 3, runs: QUICK ? 5 : 9, minRunSeconds: 0.1 }
  const notes = new Notes()

  const gradfx = (backward: boolean, compiled = false) =>
    measure(() => {
      const x = NdArray.array(xData, { shape: [N, C, H, W] })
      const w = NdArray.array(wOihw, { shape: [O, C, K, K] })
      const maybeJit = <Args extends Array<any>, R>(f: (...args: Args) => R): ((...args: Args) => R) => (compiled ? jit(f) : f)
      if (!backward) {
        const f = maybeJit((x: NdArray, w: NdArray) => NdArray.conv2d(x, w))
        return () => f(x, w)
      }
      const g = maybeJit(grad((x: NdArray, w: NdArray) => NdArray.sum(NdArray.conv2d(x, w)), { argnums: [0, 1] }))
      return () => g(x, w)
    }, opts)

  const tfjs = async (backend: "cpu" | "wasm", backward: boolean) => {
    const tf = await useTf(backend)
    if (isNa(tf)) return tf
    const x = tf.tensor4d(xData, [N, H, W, C])
    const x4 = x
    const w = tf.tensor4d(wHwio, [K, K, C, O])
    try {
      if (!backward) return await measure(() => () => tf.conv2d(x, w, 1, "valid").dispose(), opts)
      const g = tf.grads((x: TfTensor, w: TfTensor) => tf.sum(tf.conv2d(x as typeof x4, w as typeof x4, 1, "valid")))
      return await measure(() => () => g([x, w]).forEach((t) => t.dispose()), opts)
    } finally {
      x.dispose()
      w.dispose()
    }
  }

  const jaxjs = async (backward: boolean) => {
    const jl = await loadJax()
    if (isNa(jl)) return jl
    const { jax, np } = jl
    const x = np.array(xData).reshape([N, C, H, W])
    const w = np.array(wOihw).reshape([O, C, K, K])
    const f = (x: JaxArray, w: JaxArray) => np.sum(jax.lax.conv(x, w, [1, 1], "VALID"))
    const g = jax.grad(f, { argnums: [0, 1] })
    return measure(
      () => backward ? () => settleJax(g(x.ref, w.ref)) : () => settleJax(jax.lax.conv(x.ref, w.ref, [1, 1], "VALID")),
      opts
    )
  }

  const rows: Array<Array<string>> = []
  for (const backward of [false, true]) {
    const g = ms(await gradfx(backward))
    const gj = ms(await gradfx(backward, true))
    const cpu = ms(await tfjs("cpu", backward))
    const wasm = ms(await tfjs("wasm", backward))
    const jax = ms(await jaxjs(backward))
    notes.na("gradfx", g)
    notes.na("tfjs-cpu", cpu)
    notes.na("tfjs-wasm", wasm)
    notes.na("jax-js", jax)
    rows.push([
      backward ? "forward + backward (dx, dw)" : "forward",
      cell(g),
      cell(gj),
      cell(cpu),
      cell(wasm),
      cell(jax),
      speedup(g, cpu),
      speedup(g, wasm),
      speedup(g, jax)
    ])
  }
  notes.add("ms per call (median), lower is better; vs X = X's time / gradfx's (eager) time (above 1× gradfx is faster); gradfx jit = the same function under jit")
  printTable(
    "3. conv2d 32×1×28×28 * 20×1×5×5 (ms)",
    ["case", "gradfx", "gradfx jit", "tfjs-cpu", "tfjs-wasm", "jax-js", "vs cpu", "vs wasm", "vs jax-js"],
    rows,
    notes.all
  )
}
