/**
 * Typed errors of `@gradfx/data`, plus the two small file helpers that map
 * Node's I/O failures onto them.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import * as fs from "node:fs/promises"

/**
 * A data file or directory could not be read (missing, not a file, no
 * permission, ...). `hint` tells the user how to obtain the data.
 *
 * @since 0.1.0
 */
export class DatasetNotFound extends Data.TaggedError("DatasetNotFound")<{
  readonly path: string
  readonly hint: string
}> {
  /**
   * Human readable description, e.g.
   * `dataset not found: /data/mnist (pass { dir } pointing at the MNIST files)`.
   */
  override get message(): string {
    return `dataset not found: ${this.path}${this.hint ? ` (${this.hint})` : ""}`
  }
}

/**
 * The bytes (or text) of a file do not follow its format. `offset` is the
 * byte position (character position for text formats) where the problem was
 * detected, `expected` and `actual` describe what should have been there and
 * what was found.
 *
 * @since 0.1.0
 */
export class CorruptData extends Data.TaggedError("CorruptData")<{
  readonly file: string
  readonly offset: number
  readonly expected: string
  readonly actual: string
}> {
  /**
   * Human readable description, e.g.
   * `corrupt data in t10k-images-idx3-ubyte at byte 0: expected magic number 0x00000803, found 0x12345678`.
   */
  override get message(): string {
    return `corrupt data in ${this.file} at byte ${this.offset}: expected ${this.expected}, found ${this.actual}`
  }
}

/**
 * A file is well formed but its content does not have the structure the
 * caller asked for (wrong dtype, wrong rank, mismatching counts, unknown
 * column, ...).
 *
 * @since 0.1.0
 */
export class SchemaMismatch extends Data.TaggedError("SchemaMismatch")<{
  readonly file: string
  readonly message: string
}> {}

/**
 * Writing a file failed (`reason` is the underlying system error message).
 *
 * @since 0.1.0
 */
export class WriteFailed extends Data.TaggedError("WriteFailed")<{
  readonly path: string
  readonly reason: string
}> {
  /** Human readable description, e.g. `cannot write /ro/x.npy: EACCES: permission denied`. */
  override get message(): string {
    return `cannot write ${this.path}: ${this.reason}`
  }
}

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * Reads a whole file as bytes. Any failure (missing file, a directory,
 * permissions) becomes a {@link DatasetNotFound} carrying `hint`; for errors
 * other than "file does not exist" the system message is appended to the hint.
 *
 * @since 0.1.0
 */
export const readFileBytes = (path: string, hint = ""): Effect.Effect<Uint8Array, DatasetNotFound> =>
  Effect.tryPromise({
    try: async () => {
      const buf = await fs.readFile(path)
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    },
    catch: (e) =>
      new DatasetNotFound({
        path,
        hint: errorCode(e) === "ENOENT" ? hint : [errorText(e), hint].filter((s) => s !== "").join("; ")
      })
  })

/**
 * Writes bytes (or a UTF-8 string) to a file, replacing it; failures become
 * {@link WriteFailed}.
 *
 * @since 0.1.0
 */
export const writeFileBytes = (path: string, data: Uint8Array | string): Effect.Effect<void, WriteFailed> =>
  Effect.tryPromise({
    try: () => fs.writeFile(path, data),
    catch: (e) => new WriteFailed({ path, reason: errorText(e) })
  })
