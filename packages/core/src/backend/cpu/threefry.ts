/**
 * The Threefry-2x32 counter-based random bit generator (20 rounds), as in
 * Random123 and JAX's `threefry_2x32`. All arithmetic is on uint32 values
 * held in JS numbers and normalised with `>>> 0`.
 */

const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0

/** Four rounds `x0 += x1; x1 = rotl(x1, r) ^ x0` with rotations `r0..r3`, then a key injection. */
const ROTATIONS = [
  [13, 15, 26, 6],
  [17, 29, 16, 24]
] as const

/** The Threefry-2x32 block function applied to each counter pair `(x0[i], x1[i])` under key `(k0, k1)`. */
export const threefry2x32 = (
  k0: number,
  k1: number,
  x0: Uint32Array,
  x1: Uint32Array
): [Uint32Array, Uint32Array] => {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ 0x1bd11bda) >>> 0]
  const n = x0.length
  const out0 = new Uint32Array(n)
  const out1 = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    let a = (x0[i] + ks[0]) >>> 0
    let b = (x1[i] + ks[1]) >>> 0
    for (let group = 1; group <= 5; group++) {
      const rot = ROTATIONS[(group - 1) & 1]
      for (let j = 0; j < 4; j++) {
        a = (a + b) >>> 0
        b = rotl(b, rot[j]) ^ a
      }
      a = (a + ks[group % 3]) >>> 0
      b = (b + ks[(group + 1) % 3] + group) >>> 0
    }
    out0[i] = a
    out1[i] = b
  }
  return [out0, out1]
}

/**
 * Maps 32 random bits to a float in [0, 1) as JAX does for float32: the top
 * 23 bits become the mantissa of a float in [1, 2), minus 1.
 */
export const bitsToUniform01 = (bits: number): number => (bits >>> 9) * 2 ** -23

/** Maps two 32-bit words to a float64 in [0, 1) with 53 random bits (`hi` supplies the top 27). */
export const bitsToUniform01Float64 = (hi: number, lo: number): number =>
  ((hi >>> 5) * 2 ** 26 + (lo >>> 6)) * 2 ** -53
