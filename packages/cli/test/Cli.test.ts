/**
 * End-to-end tests of the `gradfx` executable, run as child processes the
 * way a user runs it (`node --import tsx packages/cli/src/main.ts …`), on
 * small subsets of MNIST.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Safetensors } from "@gradfx/core"
import { Checkpoint } from "@gradfx/nn"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))

interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const start = (args: ReadonlyArray<string>, script = "packages/cli/src/main.ts"): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: root,
    env: { ...process.env, CI: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })

const finish = (child: ChildProcess, onOutput?: (stdout: string, stderr: string) => void): Promise<Finished> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (d) => {
      stdout += d
      onOutput?.(stdout, stderr)
    })
    child.stderr!.on("data", (d) => {
      stderr += d
      onOutput?.(stdout, stderr)
    })
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

const gradfx = (...args: Array<string>) => finish(start(args))

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "gradfx-cli-"))

const paramsOf = (dir: string) => {
  const file = Safetensors.decodeSafetensors(fs.readFileSync(path.join(dir, "checkpoint.safetensors")))
  return Object.fromEntries(Object.entries(file.tensors).map(([k, t]) => [k, Array.from(t.data)]))
}

describe("gradfx CLI", () => {
  it("train mnist on a 2000-image subset: prints the test accuracy, writes a checkpoint and plots; eval and predict use it", async () => {
    const dir = tmp()
    const run = await gradfx("train", "mnist", "--limit", "2000", "--epochs", "1", "--checkpoint-dir", dir, "--progress", "plain")
    assert.strictEqual(run.code, 0, run.stderr)
    const accuracy = /test accuracy: ([\d.]+)% \((\d+)\/2000\)/.exec(run.stdout)
    assert.isNotNull(accuracy, run.stdout)
    assert.isAbove(Number(accuracy![1]), 60) // one epoch on 2000 images
    assert.match(run.stderr, /epoch 1\/1 .*validation loss/)
    assert.match(run.stdout, /MNIST accuracy \(by epoch\)/)
    for (const f of ["checkpoint.safetensors", "checkpoint.json", "loss.svg", "accuracy.svg"]) {
      assert.isTrue(fs.existsSync(path.join(dir, f)), f)
    }
    assert.match(fs.readFileSync(path.join(dir, "loss.svg"), "utf8"), /^<svg/)
    const names = Object.keys(Safetensors.decodeSafetensors(fs.readFileSync(path.join(dir, "checkpoint.safetensors"))).tensors)
    assert.includeMembers(names, ["params.0.w", "params.0.b", "params.2.w", "params.2.b"])
    assert.isTrue(names.some((n) => n.startsWith("opt_state.")))

    const evaluated = await gradfx("eval", "--checkpoint-dir", dir, "--limit", "2000")
    assert.strictEqual(evaluated.code, 0, evaluated.stderr)
    // the same params on the same 2000 test images: the same accuracy
    assert.include(evaluated.stdout, `test accuracy ${accuracy![1]}% (${accuracy![2]}/2000)`)

    const predicted = await gradfx("predict", "--checkpoint-dir", dir, "--count", "3", "--images")
    assert.strictEqual(predicted.code, 0, predicted.stderr)
    assert.match(predicted.stdout, /test image 0: predicted \d \(p = [\d.]+\), label 7/)
    assert.strictEqual(predicted.stdout.match(/test image \d+:/g)?.length, 3)
    assert.match(predicted.stdout, /[#@%]/) // the digits drawn as text
  })

  it("rejects an invalid configuration with a readable message", async () => {
    const bad = await gradfx("train", "mnist", "--lr=-0.5", "--batch-size", "0", "--checkpoint-dir", tmp())
    assert.strictEqual(bad.code, 1)
    assert.match(bad.stderr, /--lr: expected a value greater than 0/)
    assert.match(bad.stderr, /--batch-size: expected a value greater than or equal to 1/)
    const unknown = await gradfx("train", "mnist", "--epochz", "3")
    assert.notStrictEqual(unknown.code, 0)
    assert.match(unknown.stdout + unknown.stderr, /epochz/)
    const missing = await gradfx("eval", "--checkpoint-dir", path.join(tmp(), "nothing"))
    assert.strictEqual(missing.code, 1)
    assert.match(missing.stderr, /no checkpoint here/)
  })

  it("Ctrl-C finishes the step, writes a loadable checkpoint and exits 130; --resume then ends exactly where an uninterrupted run ends", async () => {
    // 8 short epochs (47 batches each): long enough that the interrupt lands mid-run
    const args = ["train", "mnist", "--limit", "6000", "--validation", "1000", "--epochs", "8", "--progress", "plain"]
    const straight = tmp()
    const interrupted = tmp()
    const full = await gradfx(...args, "--checkpoint-dir", straight)
    assert.strictEqual(full.code, 0, full.stderr)

    const child = start([...args, "--checkpoint-dir", interrupted])
    let sent = false
    const stopped = await finish(child, (_out, err) => {
      if (!sent && err.includes("epoch 1/8")) {
        sent = true
        setTimeout(() => child.kill("SIGINT"), 300)
      }
    })
    assert.strictEqual(stopped.code, 130, stopped.stderr)
    assert.match(stopped.stderr, /interrupted after step \d+ .*checkpoint written to .*resume/)
    const metadata = await Effect.runPromise(Checkpoint.readMetadata(interrupted).pipe(Effect.provide(NodeServices.layer)))
    assert.isAbove(metadata.step, 0)
    assert.isBelow(metadata.step, 8 * 47) // it really stopped early

    const resumed = await gradfx(...args, "--checkpoint-dir", interrupted, "--resume")
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    assert.match(resumed.stderr, /resuming from/)
    assert.deepStrictEqual(paramsOf(interrupted), paramsOf(straight))
    const testLine = (s: string) => /test accuracy: .*\)/.exec(s)?.[0]
    assert.strictEqual(testLine(resumed.stdout), testLine(full.stdout))
  })

  it("a writer killed with SIGKILL in the middle of a large checkpoint write leaves the last good checkpoint", async () => {
    const dir = tmp()
    const child = start([dir, "6000000"], "packages/cli/test/fixtures/checkpoint-writer.ts")
    let killedAfter = 0
    let tmpSeen = ""
    await finish(child, (out) => {
      const saves = out.match(/saved (\d+)/g)?.length ?? 0
      if (saves >= 2 && killedAfter === 0) {
        killedAfter = saves
        // Wait until the next write's temporary file exists, then kill without warning: mid-write.
        const poll = setInterval(() => {
          const partial = fs.readdirSync(dir).find((f) => f.startsWith("checkpoint.safetensors.tmp-"))
          if (partial !== undefined) {
            tmpSeen = partial
            child.kill("SIGKILL")
            clearInterval(poll)
          }
        }, 1)
      }
    })
    assert.match(tmpSeen, /^checkpoint\.safetensors\.tmp-/)
    assert.isAtLeast(killedAfter, 2)
    const file = Safetensors.decodeSafetensors(fs.readFileSync(path.join(dir, "checkpoint.safetensors")))
    const meta = JSON.parse(file.metadata.gradfx) as { step: number }
    assert.isAtLeast(meta.step, killedAfter)
    // not torn: every value is the number of the save that wrote the file
    const w = file.tensors["params.w"].data
    assert.strictEqual(w.length, 6_000_000)
    assert.strictEqual(w[0], meta.step)
    assert.strictEqual(w[w.length - 1], meta.step)
    assert.strictEqual(file.tensors["opt_state.count"].data[0], meta.step)
  })
})
