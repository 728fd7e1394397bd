/**
 * @gradfx/cli: the `gradfx` command (train / eval / predict on MNIST) and
 * the pieces it is made of.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
export * as Mnist from "./Mnist.js"
export * as Plot from "./Plot.js"
