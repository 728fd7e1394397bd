/**
 * Typed errors raised by `@gradfx/core`. Pure operations throw them
 * synchronously, before any kernel runs; Effect code catches them by `_tag`.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/** A shape, as it appears in error messages. */
export type Shape = ReadonlyArray<number>

export const showShape = (shape: Shape): string => `[${shape.join(", ")}]`

/**
 * Shapes that do not fit the operation: broadcasting, matmul dimensions,
 * reshape sizes, ragged nested arrays.
 *
 * @category errors
 * @since 0.1.0
 */
export class ShapeError extends Data.TaggedError("ShapeError")<{
  readonly op: string
  readonly shapes: ReadonlyArray<Shape>
  readonly hint: string
}> {
  override get message(): string {
    return `${this.op}: ${this.hint} (shapes ${this.shapes.map(showShape).join(", ")})`
  }
}

/**
 * An axis outside `[-ndim, ndim)`, or repeated.
 *
 * @category errors
 * @since 0.1.0
 */
export class AxisError extends Data.TaggedError("AxisError")<{
  readonly op: string
  readonly axis: number | ReadonlyArray<number>
  readonly ndim: number
  readonly hint?: string
}> {
  override get message(): string {
    const axis = typeof this.axis === "number" ? String(this.axis) : `[${this.axis.join(", ")}]`
    return `${this.op}: axis ${axis} is out of bounds for an array of ndim ${this.ndim}; valid axes are ${-this.ndim}..${this.ndim - 1}${this.hint ? ` (${this.hint})` : ""}`
  }
}

/**
 * An unknown dtype, or one the operation does not accept.
 *
 * @category errors
 * @since 0.1.0
 */
export class DTypeError extends Data.TaggedError("DTypeError")<{
  readonly op: string
  readonly dtypes: ReadonlyArray<string>
  readonly hint: string
}> {
  override get message(): string {
    return `${this.op}: ${this.hint} (dtypes ${this.dtypes.join(", ")})`
  }
}

/**
 * A value that is not valid for the operation: a non-finite value where one is
 * required, an index out of range, a bad option.
 *
 * @category errors
 * @since 0.1.0
 */
export class ValueError extends Data.TaggedError("ValueError")<{
  readonly op: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.op}: ${this.hint}`
  }
}

/**
 * Misuse of a transform: `grad` of a non-scalar output, a traced value that
 * escaped its transform, a concrete value requested from a tracer, `vmap`
 * batch sizes that disagree.
 *
 * @category errors
 * @since 0.1.0
 */
export class TransformError extends Data.TaggedError("TransformError")<{
  readonly transform: string
  readonly hint: string
}> {
  override get message(): string {
    return `${this.transform}: ${this.hint}`
  }
}
