#!/usr/bin/env node
/**
 * The `gradfx` executable: runs the command on `process.argv` under
 * `NodeRuntime.runMain` (Ctrl-C / SIGTERM interrupt the run: training writes
 * a checkpoint first). Typed failures print one readable line and exit 1.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import { Cli } from "./index.js"

const program = Cli.run(process.argv.slice(2)).pipe(
  Effect.catchCause((cause) =>
    Effect.sync(() => {
      if (Cause.hasInterruptsOnly(cause)) return
      const error = Cause.squash(cause) as { readonly _tag?: string; readonly message?: string }
      // The CLI module already printed the help and the parse errors.
      if (error?._tag !== "ShowHelp") process.stderr.write(`gradfx: ${error?.message ?? String(error)}\n`)
      process.exitCode = 1
    }).pipe(Effect.andThen(Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : Effect.void))
  ),
  Effect.provide(NodeServices.layer)
)

NodeRuntime.runMain(program, { disableErrorReporting: true })
