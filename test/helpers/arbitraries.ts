// fast-check arbitraries shared by the kernel property tests.

import fc from 'fast-check';

/** Values that make a fold order-sensitive or corner-case: huge and tiny magnitudes, -0, infinities, NaN. */
export const foldValue = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noDefaultInfinity: true, noNaN: true }) },
  { weight: 3, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 2, arbitrary: fc.constantFrom(1e16, -1e16, 1, 0.1, 0.2, 0.3, 2 ** 53, -0, 0, 5e-324) },
  { weight: 1, arbitrary: fc.constantFrom(Infinity, -Infinity, NaN) },
);
