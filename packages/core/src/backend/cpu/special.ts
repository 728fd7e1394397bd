/**
 * Special functions in float64: a port of fdlibm's `s_erf.c` (Sun
 * Microsystems, 1993; "Permission to use, copy, modify, and distribute this
 * software is freely granted, provided that this notice is preserved").
 * Accurate to about 1 ulp, so central differences of `erf` are reliable.
 */

// Scratch space to read and write the two 32-bit words of a double.
const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer) // little endian: u32[1] is the high word

const highWord = (x: number): number => {
  f64[0] = x
  return u32[1] | 0
}

/** `x` with its low 32 bits cleared (fdlibm's `SET_LOW_WORD(z, 0)`). */
const clearLowWord = (x: number): number => {
  f64[0] = x
  u32[0] = 0
  return f64[0]
}

const tiny = 1e-300
const erx = 8.45062911510467529297e-1
const efx = 1.28379167095512586316e-1
const efx8 = 1.02703333676410069053e0
// erf on [0, 0.84375]
const pp0 = 1.28379167095512558561e-1
const pp1 = -3.25042107247001499370e-1
const pp2 = -2.84817495755985104766e-2
const pp3 = -5.77027029648944159157e-3
const pp4 = -2.37630166566501626084e-5
const qq1 = 3.97917223959155352819e-1
const qq2 = 6.50222499887672944485e-2
const qq3 = 5.08130628187576562776e-3
const qq4 = 1.32494738004321644526e-4
const qq5 = -3.96022827877536812320e-6
// erf on [0.84375, 1.25]
const pa0 = -2.36211856075265944077e-3
const pa1 = 4.14856118683748331666e-1
const pa2 = -3.72207876035701323847e-1
const pa3 = 3.18346619901161753674e-1
const pa4 = -1.10894694282396677476e-1
const pa5 = 3.54783043256182359371e-2
const pa6 = -2.16637559486879084300e-3
const qa1 = 1.06420880400844228286e-1
const qa2 = 5.40397917702171048937e-1
const qa3 = 7.18286544141962662868e-2
const qa4 = 1.26171219808761642112e-1
const qa5 = 1.36370839120290507362e-2
const qa6 = 1.19844998467991074170e-2
// erfc on [1.25, 1/0.35]
const ra0 = -9.86494403484714822705e-3
const ra1 = -6.93858572707181764372e-1
const ra2 = -1.05586262253232909814e1
const ra3 = -6.23753324503260060396e1
const ra4 = -1.62396669462573470355e2
const ra5 = -1.84605092906711035994e2
const ra6 = -8.12874355063065934246e1
const ra7 = -9.81432934416914548592e0
const sa1 = 1.96512716674392571292e1
const sa2 = 1.37657754143519042600e2
const sa3 = 4.34565877475229228821e2
const sa4 = 6.45387271733267880336e2
const sa5 = 4.29008140027567833386e2
const sa6 = 1.08635005541779435134e2
const sa7 = 6.57024977031928170135e0
const sa8 = -6.04244152148580987438e-2
// erfc on [1/0.35, 28]
const rb0 = -9.86494292470009928597e-3
const rb1 = -7.99283237680523006574e-1
const rb2 = -1.77579549177547519889e1
const rb3 = -1.60636384855821916062e2
const rb4 = -6.37566443368389627722e2
const rb5 = -1.02509513161107724954e3
const rb6 = -4.83519191608651397019e2
const sb1 = 3.03380607434824582924e1
const sb2 = 3.25792512996573918826e2
const sb3 = 1.53672958608443695994e3
const sb4 = 3.19985821950859553908e3
const sb5 = 2.55305040643316442583e3
const sb6 = 4.74528541206955367215e2
const sb7 = -2.24409524465858183362e1

/** erf(x) - erx for 0.84375 <= |x| < 1.25 (as P/Q in fdlibm). */
const erfNearOne = (ax: number): number => {
  const s = ax - 1
  const P = pa0 + s * (pa1 + s * (pa2 + s * (pa3 + s * (pa4 + s * (pa5 + s * pa6)))))
  const Q = 1 + s * (qa1 + s * (qa2 + s * (qa3 + s * (qa4 + s * (qa5 + s * qa6)))))
  return P / Q
}

/** erfc(ax) for 1.25 <= ax < 28, given the high word `ix` of ax and the interval split `split`. */
const erfcTail = (ax: number, ix: number, split: number): number => {
  const s = 1 / (ax * ax)
  let R: number
  let S: number
  if (ix < split) {
    R = ra0 + s * (ra1 + s * (ra2 + s * (ra3 + s * (ra4 + s * (ra5 + s * (ra6 + s * ra7))))))
    S = 1 + s * (sa1 + s * (sa2 + s * (sa3 + s * (sa4 + s * (sa5 + s * (sa6 + s * (sa7 + s * sa8)))))))
  } else {
    R = rb0 + s * (rb1 + s * (rb2 + s * (rb3 + s * (rb4 + s * (rb5 + s * rb6)))))
    S = 1 + s * (sb1 + s * (sb2 + s * (sb3 + s * (sb4 + s * (sb5 + s * (sb6 + s * sb7))))))
  }
  const z = clearLowWord(ax)
  return (Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + R / S)) / ax
}

/** The error function. */
export const erf = (x: number): number => {
  const hx = highWord(x)
  const ix = hx & 0x7fffffff
  if (ix >= 0x7ff00000) return x !== x ? x : x > 0 ? 1 : -1 // NaN, ±Inf
  if (ix < 0x3feb0000) {
    // |x| < 0.84375
    if (ix < 0x3e300000) return x + efx * x // |x| < 2**-28 (efx8 trick only avoids a spurious underflow flag in C)
    const z = x * x
    const r = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)))
    const s = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))))
    return x + x * (r / s)
  }
  if (ix < 0x3ff40000) {
    // 0.84375 <= |x| < 1.25
    const pq = erfNearOne(Math.abs(x))
    return hx >= 0 ? erx + pq : -erx - pq
  }
  if (ix >= 0x40180000) return hx >= 0 ? 1 - tiny : tiny - 1 // |x| >= 6
  const r = erfcTail(Math.abs(x), ix, 0x4006db6e)
  return hx >= 0 ? 1 - r : r - 1
}

/** The complementary error function `1 - erf(x)`, accurate for large x. */
export const erfc = (x: number): number => {
  const hx = highWord(x)
  const ix = hx & 0x7fffffff
  if (ix >= 0x7ff00000) return x !== x ? x : x > 0 ? 0 : 2 // NaN, ±Inf
  if (ix < 0x3feb0000) {
    // |x| < 0.84375
    if (ix < 0x3c700000) return 1 - x // |x| < 2**-56
    const z = x * x
    const r = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)))
    const s = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))))
    const y = r / s
    if (hx < 0x3fd00000) return 1 - (x + x * y) // x < 1/4
    return 0.5 - (x * y + (x - 0.5))
  }
  if (ix < 0x3ff40000) {
    // 0.84375 <= |x| < 1.25
    const pq = erfNearOne(Math.abs(x))
    return hx >= 0 ? 1 - erx - pq : 1 + (erx + pq)
  }
  if (ix < 0x403c0000) {
    // |x| < 28
    if (hx < 0 && ix >= 0x40180000) return 2 - tiny // x < -6
    const r = erfcTail(Math.abs(x), ix, 0x4006db6d)
    return hx > 0 ? r : 2 - r
  }
  return hx > 0 ? tiny * tiny : 2 - tiny
}
