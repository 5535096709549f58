// parse_decimal against JavaScript's Number(): the same double, bit for bit, for every decimal literal.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseStatus } from '../../src/wasm/abi.js';
import { loadTestKernels } from '../helpers/wasm.js';
import { DECIMAL } from '../reference/csv.js';

const enc = new TextEncoder();

for (const build of ['debug', 'release'] as const) {
  describe(`parse_decimal (${build})`, () => {
    const { k, arena } = loadTestKernels(build);
    const status = arena.alloc(8);
    // the text sits at the very end of its own region's bytes so a read past `len` would see a digit
    const buf = arena.alloc(1 << 16);

    function parse(text: string): { value: number; status: number } {
      const bytes = enc.encode(text);
      const at = buf + 4096 - bytes.length;
      arena.u8.fill(0x37, buf, buf + 8192); // '7' everywhere around the text
      arena.u8.set(bytes, at);
      const value = k.parse_decimal(at, bytes.length, status);
      return { value, status: arena.u32[status >>> 2]! };
    }

    /** Significant digits of a decimal literal's mantissa (leading zeros excluded). */
    function significantDigits(text: string): number {
      const mantissa = text.replace(/^[+-]/, '').replace(/[eE].*$/, '').replace('.', '');
      return mantissa.replace(/^0+/, '').length;
    }

    function check(text: string): void {
      const r = parse(text);
      if (!DECIMAL.test(text)) {
        expect(r.status, text).toBe(ParseStatus.Invalid);
        return;
      }
      if (r.status === ParseStatus.Slow) {
        // only a truncated mantissa may be undecidable
        expect(significantDigits(text), text).toBeGreaterThan(19);
        return;
      }
      expect(r.status, text).toBe(ParseStatus.Ok);
      expect(Object.is(r.value, Number(text)), `${text}: got ${r.value}, Number() gives ${Number(text)}`).toBe(true);
    }

    it('reads every form of the grammar and rejects everything else', () => {
      for (const t of ['-12', '+3.5', '1e3', '.5', '1.', '1E-7', '0', '-0', '+0', '-.5e-3', '00012', '1.e5', '0.000']) {
        expect(parse(t).status, t).toBe(ParseStatus.Ok);
        check(t);
      }
      expect(Object.is(parse('-0').value, -0)).toBe(true);
      expect(Object.is(parse('-0e999').value, -0)).toBe(true);
      for (const t of [
        '', '.', '+', '-', 'e5', '.e5', '1e', '1e+', '1e-', '0x10', 'NaN', 'Infinity', '-Infinity', '1_000',
        ' 1', '1 ', '\t1', '1\n', '1.2.3', '1e2e3', '++1', '+-1', '1,5', '١', '1e5.5', 'abc', '0b1', '1f',
      ]) {
        expect(parse(t).status, JSON.stringify(t)).toBe(ParseStatus.Invalid);
      }
    });

    it('rounds the hard cases like Number()', () => {
      const hard = [
        '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308', '1.797693134862315807937e308',
        '1.7976931348623158079e308', '1.79769313486231580793728971405301e308', '2e308', '1e309', '-1e400',
        '5e-324', '4.9406564584124654e-324', '2.4703282292062327e-324', '2.4703282292062328e-324', '2.47e-324',
        '2e-324', '3e-324', '1e-400', '2.2250738585072011e-308', '2.2250738585072012e-308', '2.2250738585072014e-308',
        '2.225073858507201136057409796709131975934819546351645648e-308', '4.4501477170144023e-308',
        '9007199254740992', '9007199254740993', '9007199254740994', '9007199254740995', '18014398509481993',
        '0.1', '0.2', '0.3', '0.30000000000000004', '1e22', '1e23', '8.98846567431158e307', '123456789012345678',
        '1.00000000000000011102230246251565404236316680908203125', '1.00000000000000011102230246251565404236316680908203124',
        '1.00000000000000011102230246251565404236316680908203126', '7.038531e-26', '3.4028235677973366e38',
        '2.5e-324', '9.5e-323', '1.448997445238699', '4503599627370496.5', '4503599627370497.5', '0.500000000000000166533453693773481063544750213623046875',
        '1' + '0'.repeat(400), '0.' + '0'.repeat(400) + '1', '1' + '0'.repeat(30) + 'e-30', '9'.repeat(25), '1'.repeat(19), '1'.repeat(20),
        '18446744073709551615', '18446744073709551616', '10000000000000000000000', '1e-342', '1e-343', '9.9e-343',
        '1e-5000000000', '1e5000000000', '1e99999999999999999999',
      ];
      for (const t of hard) check(t);
      expect(parse('1.7976931348623159e308').value).toBe(Infinity);
      expect(parse('2.4703282292062328e-324').value).toBe(5e-324);
      expect(parse('2.4703282292062327e-324').value).toBe(0);
    });

    it('agrees with Number() on random doubles printed by String(x) (17 digits: Eisel-Lemire)', () => {
      fc.assert(
        fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
          check(String(x));
          check(x.toExponential(16));
          check(x.toPrecision(21));
        }),
        { numRuns: 5_000 },
      );
    });

    it('agrees with Number() on random doubles from their bits', () => {
      const bits = new BigUint64Array(1);
      const f = new Float64Array(bits.buffer);
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (b) => {
          bits[0] = b;
          const x = f[0]!;
          if (!Number.isFinite(x)) return;
          check(String(x));
          check(x.toExponential(20));
        }),
        { numRuns: 5_000 },
      );
    });

    it('agrees with Number() on random decimal texts (long mantissas, wide exponents, halfway points)', () => {
      const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
      const literal = fc
        .tuple(
          fc.constantFrom('', '+', '-'),
          digits(0, 30),
          fc.option(digits(0, 30), { nil: undefined }),
          fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 420 })), { nil: undefined }),
        )
        .map(([s, i, f, e]) => `${s}${i}${f === undefined ? '' : `.${f}`}${e === undefined ? '' : `${e[0]}${e[1]}${e[2]}`}`);
      fc.assert(fc.property(literal, check), { numRuns: 10_000 });
      // the exact midpoint between two neighbouring doubles: must round half to even
      const bits = new BigUint64Array(2);
      const f = new Float64Array(bits.buffer);
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: 0x7fe0_0000_0000_0000n }), (b) => {
          bits[0] = b;
          bits[1] = b + 1n;
          const mid = (exactDecimal(f[0]!) + exactDecimal(f[1]!)) / 2n;
          check(toDecimalText(mid));
        }),
        { numRuns: 1_000 },
      );
    });

    it('says Invalid for everything outside the grammar', () => {
      const junk = fc.stringMatching(/^[-+0-9.eE _xXaInNf\t]{0,12}$/);
      fc.assert(fc.property(junk, check), { numRuns: 5_000 });
    });

    it('never reads outside [ptr, ptr + len)', () => {
      // a text cut from a longer literal parses as the cut text, whatever follows it in memory
      for (const t of ['1234', '1.5e10', '-0.000123', '9'.repeat(40)]) {
        for (let len = 0; len <= t.length; len++) check(t.slice(0, len));
      }
    });
  });
}

/** An exact scaled decimal: value = n / 10^SCALE. Enough digits for any double's midpoint. */
const SCALE = 1100n;
function exactDecimal(x: number): bigint {
  const bits = new BigUint64Array(new Float64Array([x]).buffer)[0]!;
  const exp = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = exp === 0 ? frac : frac | (1n << 52n);
  const e = (exp === 0 ? 1 : exp) - 1075;
  // m * 2^e * 10^SCALE, computed exactly (the division is exact because 10^SCALE has the needed 2s)
  return e >= 0 ? (m << BigInt(e)) * 10n ** SCALE : (m * 10n ** SCALE) >> BigInt(-e);
}
function toDecimalText(n: bigint): string {
  const s = n.toString().padStart(Number(SCALE) + 1, '0');
  const int = s.slice(0, s.length - Number(SCALE));
  const frac = s.slice(s.length - Number(SCALE)).replace(/0+$/, '');
  return frac === '' ? int : `${int}.${frac}`;
}
