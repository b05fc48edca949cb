/** Thrown inside a transaction by a caller's step to roll it back with a reason that is not a failed write. */
export class DbConflict extends Error {
  override name = 'DbConflict';
}
