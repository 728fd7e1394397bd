/**
 * Composition: `sequential` (a chain of layers) and `residual` (a block
 * whose output is added to its input, ResNet's y = F(x) + x). A composite is
 * a layer like any other; its params and state are tuples/records of its
 * parts', and shapes flow through `init` from part to part.
 */
import { NdArray, Random } from "@gradfx/core"
import { identity } from "./elementwise.js"
import { LayerError, LayerShapeError, within } from "./errors.js"
import type { AnyLayer, ApplyOptions, Layer, ParamsOf, Shape, StateOf } from "./layer.js"

/** Rethrow an error raised by part `prefix`, with the part's position in its layer name. */
const tagged = <A>(prefix: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw within(prefix, e)
  }
}

/** The params of `sequential(...layers)`: one entry per layer (`null` for layers without parameters). */
export type SequentialParams<Ls extends ReadonlyArray<AnyLayer>> = { -readonly [K in keyof Ls]: ParamsOf<Ls[K]> }
/** The state of `sequential(...layers)`: one entry per layer (`null` for stateless layers). */
export type SequentialState<Ls extends ReadonlyArray<AnyLayer>> = { -readonly [K in keyof Ls]: StateOf<Ls[K]> }

/**
 * Layers applied in turn: `sequential(f, g, h).apply(p, x) = h(g(f(x)))`.
 * `init` threads the per-example shape through the parts (so a `linear`
 * after `flatten` learns its input size) and returns params and state as
 * tuples with one entry per part. A PRNG key given to `apply` is split into
 * one key per part. Errors name the part: `sequential[3].linear`.
 *
 * @example
 * const model = Layers.sequential(
 *   Layers.conv2d({ outChannels: 8, kernelSize: 5 }), Layers.relu(), Layers.maxPool2d({ kernelSize: 2 }),
 *   Layers.flatten(), Layers.linear({ outDim: 100 }), Layers.relu(), Layers.linear({ outDim: 10 }))
 * const { params } = model.init(Random.key(0), [1, 28, 28])
 * const logits = model.apply(params, images) // [N, 1, 28, 28] → [N, 10]
 * const g = grad((p: typeof params) => Loss.softmaxCrossEntropy(model.apply(p, images), labels))(params)
 * @category layers
 * @since 0.1.0
 */
export const sequential = <const Ls extends ReadonlyArray<AnyLayer>>(...layers: Ls): Layer<SequentialParams<Ls>, SequentialState<Ls>> => {
  const name = "sequential"
  layers.forEach((l, i) => {
    if (typeof l !== "object" || l === null || typeof l.init !== "function" || typeof l.apply !== "function") {
      throw new LayerError({ layer: `${name}[${i}]`, hint: "is not a layer (did you pass Layers.relu instead of Layers.relu()?)" })
    }
  })
  const keysFor = (key: Random.Key | undefined): ReadonlyArray<Random.Key | undefined> =>
    key === undefined ? layers.map(() => undefined) : layers.length === 0 ? [] : Random.split(key, layers.length)
  const checkParams = (params: unknown): ReadonlyArray<unknown> => {
    if (!Array.isArray(params) || params.length !== layers.length) {
      throw new LayerError({ layer: name, hint: `params must be an array of ${layers.length} entries (one per layer), as init returns` })
    }
    return params
  }
  const run = (params: unknown, x: NdArray, options: ApplyOptions<any>, withState: boolean): [NdArray, Array<unknown>] => {
    const ps = checkParams(params)
    const keys = keysFor(options.key)
    const states = options.state as ReadonlyArray<unknown> | undefined
    const out: Array<unknown> = []
    let y = x
    layers.forEach((layer, i) => {
      const partOptions = { key: keys[i], training: options.training, state: states?.[i] ?? undefined }
      y = tagged(`${name}[${i}]`, () => {
        if (!withState) return layer.apply(ps[i], y, partOptions)
        const [z, s] = layer.applyWithState(ps[i], y, partOptions)
        out.push(s)
        return z
      })
    })
    return [y, out]
  }
  return {
    name,
    init: (key, inputShape, options = {}) => {
      const keys = keysFor(key)
      let shape: Shape | undefined = inputShape
      const params: Array<unknown> = []
      const state: Array<unknown> = []
      layers.forEach((layer, i) => {
        const r = tagged(`${name}[${i}]`, () => layer.init(keys[i]!, shape, options))
        params.push(r.params)
        state.push(r.state)
        shape = r.outputShape
      })
      return { params: params as SequentialParams<Ls>, state: state as SequentialState<Ls>, outputShape: shape ?? [] }
    },
    apply: (params, x, options = {}) => run(params, x, options, false)[0],
    applyWithState: (params, x, options = {}) => {
      const [y, states] = run(params, x, options, true)
      return [y, states as SequentialState<Ls>]
    }
  }
}

/**
 * The params of `residual(body, { shortcut })`.
 *
 * @category layers
 * @since 0.1.0
 */
export interface ResidualParams<B, S> {
  readonly body: B
  readonly shortcut: S
}

/**
 * A residual block (He et al. 2016): y = body(x) + shortcut(x), the shortcut
 * being the identity unless given (a projection, e.g. a 1×1 `conv2d` with
 * stride when the body changes the shape). `init` checks that both branches
 * produce the same shape. Params and state are `{ body, shortcut }`.
 *
 * @example
 * const block = Layers.residual(Layers.sequential(
 *   Layers.conv2d({ outChannels: 16, kernelSize: 3, padding: "same" }), Layers.relu(),
 *   Layers.conv2d({ outChannels: 16, kernelSize: 3, padding: "same" })))
 * const { params } = block.init(key, [16, 8, 8])
 * const down = Layers.residual(body, { shortcut: Layers.conv2d({ outChannels: 32, kernelSize: 1, stride: 2 }) })
 * @category layers
 * @since 0.1.0
 */
export const residual = <B extends AnyLayer, S extends AnyLayer = Layer<null, null>>(
  body: B,
  options: { readonly shortcut?: S } = {}
): Layer<ResidualParams<ParamsOf<B>, ParamsOf<S>>, ResidualParams<StateOf<B>, StateOf<S>>> => {
  const name = "residual"
  const shortcut: AnyLayer = options.shortcut ?? identity()
  const run = (params: ResidualParams<any, any>, x: NdArray, o: ApplyOptions<any>, withState: boolean) => {
    const [kb, ks] = o.key === undefined ? [undefined, undefined] : Random.split(o.key, 2)
    const state = o.state as ResidualParams<unknown, unknown> | undefined
    const bodyOptions = { key: kb, training: o.training, state: state?.body ?? undefined }
    const shortcutOptions = { key: ks, training: o.training, state: state?.shortcut ?? undefined }
    const [fx, sb] = tagged(`${name}.body`, () => (withState ? body.applyWithState(params.body, x, bodyOptions) : [body.apply(params.body, x, bodyOptions), null]))
    const [sx, ss] = tagged(`${name}.shortcut`, () => (withState ? shortcut.applyWithState(params.shortcut, x, shortcutOptions) : [shortcut.apply(params.shortcut, x, shortcutOptions), null]))
    if (fx.ndim !== sx.ndim || fx.shape.some((d, i) => d !== sx.shape[i])) {
      throw new LayerShapeError({ layer: name, expected: `a body output equal to the shortcut's [${sx.shape.join(", ")}]`, actual: fx.shape })
    }
    return [NdArray.add(fx, sx), { body: sb, shortcut: ss }] as const
  }
  return {
    name,
    init: (key, inputShape, initOptions = {}) => {
      const [kb, ks] = Random.split(key, 2)
      const b = tagged(`${name}.body`, () => body.init(kb, inputShape, initOptions))
      const s = tagged(`${name}.shortcut`, () => shortcut.init(ks, inputShape, initOptions))
      if (b.outputShape.length !== s.outputShape.length || b.outputShape.some((d, i) => d !== s.outputShape[i])) {
        throw new LayerShapeError({
          layer: name,
          expected: `a body output equal to the shortcut's [${s.outputShape.join(", ")}]`,
          actual: b.outputShape,
          hint: "give a projection shortcut, e.g. { shortcut: Layers.conv2d({ outChannels, kernelSize: 1, stride }) }"
        })
      }
      return { params: { body: b.params, shortcut: s.params }, state: { body: b.state, shortcut: s.state }, outputShape: b.outputShape }
    },
    apply: (params, x, o = {}) => run(params, x, o, false)[0],
    applyWithState: (params, x, o = {}) => run(params, x, o, true) as any
  }
}
