/**
 * Typed errors of the layers. Layers validate their input shapes at `init`
 * and at `apply`, before any arithmetic, and name the layer (with its
 * position inside combinators, e.g. `sequential[3].linear`), the shape they
 * expected and the shape they got.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

const showShape = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/**
 * An input of the wrong shape reached a layer (at `init` or `apply`).
 * `expected` is a shape pattern such as `[..., 784]` or `[N, 3, H, W] or [3, H, W]`.
 *
 * @example
 * try { model.apply(params, NdArray.zeros([8, 100])) }
 * catch (e) { if (e instanceof LayerShapeError) console.log(e.layer, e.expected, e.actual) }
 * @category errors
 * @since 0.1.0
 */
export class LayerShapeError extends Data.TaggedError("LayerShapeError")<{
  readonly layer: string
  readonly expected: string
  readonly actual: ReadonlyArray<number>
  readonly hint?: string
}> {
  override get message(): string {
    return `${this.layer}: expected an input of shape ${this.expected}, got ${showShape(this.actual)}${this.hint ? ` (${this.hint})` : ""}`
  }
}

/**
 * A layer was misused: a bad configuration, a missing PRNG key for a
 * stochastic layer in training mode, missing state, a wrong dtype.
 *
 * @category errors
 * @since 0.1.0
 */
export class LayerError extends Data.TaggedError("LayerError")<{
  readonly layer: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.layer}: ${this.hint}`
  }
}

/** Prefix the layer name of an error raised inside a combinator with the part's position. */
export const within = (prefix: string, error: unknown): unknown => {
  if (error instanceof LayerShapeError) return new LayerShapeError({ layer: `${prefix}.${error.layer}`, expected: error.expected, actual: error.actual, hint: error.hint })
  if (error instanceof LayerError) return new LayerError({ layer: `${prefix}.${error.layer}`, hint: error.hint })
  return error
}

export { showShape }
