import { assert, describe, it } from "@effect/vitest"
import { NdArray, Random, Safetensors, Tree } from "@gradfx/core"
import { Effect, FileSystem, Layer } from "effect"
import * as Checkpoint from "../src/Checkpoint.js"

const [k1, k2] = Random.split(Random.key(42))
const params = {
  w1: Random.normal(k1, [6, 4]),
  b1: NdArray.zeros([4]),
  layers: [{ w: Random.normal(k2, [4, 3], { dtype: "float64" }) }, { w: NdArray.array([1, 2], { dtype: "int32" }) }]
}
const optState = [{ count: NdArray.scalar(7, { dtype: "int32" }), mu: Tree.map(params, (p: NdArray) => NdArray.mul(p, 2)) }, 0.5]

const sameLeaves = (a: unknown, b: unknown) => {
  const [la, da] = Tree.flatten(a)
  const [lb, db] = Tree.flatten(b)
  assert.isTrue(Tree.sameStructure(da, db))
  la.forEach((x, i) => {
    const y = lb[i]
    if (typeof x === "number") assert.strictEqual(x, y)
    else {
      assert.strictEqual(x.dtype, (y as NdArray).dtype)
      assert.deepStrictEqual(Array.from(x.data()), Array.from((y as NdArray).data()))
    }
  })
}

const withMemory = (faults: ReadonlyArray<Checkpoint.Fault> = []) => {
  const memory = Checkpoint.memoryFileSystem({ faults })
  return { memory, layer: Layer.succeed(FileSystem.FileSystem)(memory.fileSystem) }
}

describe("Checkpoint", () => {
  it.effect("round-trips params, optimiser state and metadata exactly", () => {
    const { memory, layer } = withMemory()
    return Effect.gen(function*() {
      const metadata = { step: 120, epoch: 2, batch: 5, seed: 3, config: { lr: 0.1 }, metrics: [{ loss: 0.25 }] }
      // a temporary file left by a writer that crashed mid-write is cleaned up
      memory.files.set("run/checkpoint.safetensors.tmp-999-dead", new Uint8Array(10))
      yield* Checkpoint.save("run", { params, optState, metadata })
      assert.isTrue(yield* Checkpoint.exists("run"))
      assert.isFalse(yield* Checkpoint.exists("elsewhere"))
      const loaded = yield* Checkpoint.load("run", { params, optState })
      sameLeaves(loaded.params, params)
      sameLeaves(loaded.optState, optState)
      assert.deepStrictEqual(loaded.metadata, metadata)
      assert.deepStrictEqual(yield* Checkpoint.readMetadata("run"), metadata)
      // the sidecar is readable JSON
      const sidecar = JSON.parse(new TextDecoder().decode(memory.files.get("run/checkpoint.json")!))
      assert.strictEqual(sidecar.step, 120)
      // no temporary files are left behind
      assert.deepStrictEqual([...memory.files.keys()].sort(), ["run/checkpoint.json", "run/checkpoint.safetensors"])
    }).pipe(Effect.provide(layer))
  })

  it("stores plain safetensors named after pytree paths (readable by other tools)", () => {
    const bytes = Checkpoint.encode({ params, optState, metadata: { step: 1, epoch: 0 } })
    const file = Safetensors.decodeSafetensors(bytes)
    assert.deepStrictEqual(Object.keys(file.tensors).sort(), [
      "opt_state.0.count",
      "opt_state.0.mu.b1",
      "opt_state.0.mu.layers.0.w",
      "opt_state.0.mu.layers.1.w",
      "opt_state.0.mu.w1",
      "opt_state.1",
      "params.b1",
      "params.layers.0.w",
      "params.layers.1.w",
      "params.w1"
    ])
    assert.deepStrictEqual(file.tensors["params.w1"].shape, [6, 4])
    assert.strictEqual(file.tensors["params.layers.0.w"].dtype, "float64")
    assert.strictEqual(file.metadata.format, "pt")
    assert.strictEqual(JSON.parse(file.metadata.gradfx).step, 1)
  })

  it.effect("loading into a model of another shape fails with CheckpointMismatch naming the tensor and both shapes", () => {
    const { layer } = withMemory()
    return Effect.gen(function*() {
      yield* Checkpoint.save("run", { params, optState, metadata: { step: 1, epoch: 0 } })
      const wider = { ...params, w1: NdArray.zeros([6, 5]) }
      const error = yield* Effect.flip(Checkpoint.load("run", { params: wider, optState }))
      assert.strictEqual(error._tag, "CheckpointMismatch")
      if (error._tag === "CheckpointMismatch") {
        assert.strictEqual(error.tensor, "params.w1")
        assert.strictEqual(error.expected, "float32[6, 5]")
        assert.strictEqual(error.actual, "float32[6, 4]")
        assert.match(error.message, /params\.w1/)
      }
      const extraLayer = { ...params, w2: NdArray.zeros([2]) }
      const missing = yield* Effect.flip(Checkpoint.load("run", { params: extraLayer, optState }))
      assert.deepInclude(missing, { tensor: "params.w2", actual: "missing" })
      const { b1: _, ...fewer } = params
      const extra = yield* Effect.flip(Checkpoint.load("run", { params: fewer, optState }))
      assert.deepInclude(extra, { tensor: "params.b1", expected: "no such tensor" })
      const f64 = { ...params, b1: NdArray.zeros([4], { dtype: "float64" }) }
      const dtype = yield* Effect.flip(Checkpoint.load("run", { params: f64, optState }))
      assert.deepInclude(dtype, { tensor: "params.b1", expected: "float64[4]", actual: "float32[4]" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failure between write and rename leaves the previous checkpoint intact", () => {
    const healthy = withMemory()
    return Effect.gen(function*() {
      yield* Checkpoint.save("run", { params, optState, metadata: { step: 1, epoch: 0 } })
      const before = healthy.memory.files.get("run/checkpoint.safetensors")!.slice()
      // same files, but every rename onto the checkpoint now fails (a crash before the rename)
      const broken = Checkpoint.memoryFileSystem({ faults: [{ operation: "rename", path: /checkpoint\.safetensors$/ }] })
      for (const [k, v] of healthy.memory.files) broken.files.set(k, v)
      const newer = { params: Tree.map(params, (p: NdArray) => NdArray.add(p, 1)), optState, metadata: { step: 2, epoch: 1 } }
      const error = yield* Effect.flip(
        Checkpoint.save("run", newer).pipe(Effect.provideService(FileSystem.FileSystem, broken.fileSystem))
      )
      assert.strictEqual(error._tag, "CheckpointError")
      assert.deepStrictEqual(broken.files.get("run/checkpoint.safetensors"), before)
      assert.deepStrictEqual([...broken.files.keys()].sort(), ["run/checkpoint.json", "run/checkpoint.safetensors"])
      const loaded = yield* Checkpoint.load("run", { params, optState }).pipe(
        Effect.provideService(FileSystem.FileSystem, broken.fileSystem)
      )
      assert.strictEqual(loaded.metadata.step, 1)
      sameLeaves(loaded.params, params)
      // a failing write (disk full) behaves the same
      const full = Checkpoint.memoryFileSystem({ faults: [{ operation: "write", path: /tmp/ }] })
      for (const [k, v] of healthy.memory.files) full.files.set(k, v)
      yield* Effect.flip(Checkpoint.save("run", newer).pipe(Effect.provideService(FileSystem.FileSystem, full.fileSystem)))
      assert.deepStrictEqual(full.files.get("run/checkpoint.safetensors"), before)
    }).pipe(Effect.provide(healthy.layer))
  })

  it.effect("a missing or damaged checkpoint is a CheckpointError", () => {
    const { memory, layer } = withMemory()
    return Effect.gen(function*() {
      const none = yield* Effect.flip(Checkpoint.load("nothing", { params, optState }))
      assert.deepInclude(none, { _tag: "CheckpointError", reason: "no checkpoint here" })
      memory.files.set("bad/checkpoint.safetensors", new Uint8Array([1, 2, 3]))
      const bad = yield* Effect.flip(Checkpoint.load("bad", { params, optState }))
      assert.strictEqual(bad._tag, "CheckpointError")
      memory.files.set("foreign/checkpoint.safetensors", Safetensors.encodeSafetensors({ x: { dtype: "uint8", shape: [1], data: Uint8Array.of(1) } }))
      const foreign = yield* Effect.flip(Checkpoint.readMetadata("foreign"))
      assert.match(foreign.reason, /not a gradfx checkpoint/)
    }).pipe(Effect.provide(layer))
  })
})
