/**
 * A builder prepared once: on SQLite a statement compiled once per connection (building and
 * preparing a statement per call cost more than running it: a CPU profile at 160 jobs/s showed ~8%
 * in drizzle and better-sqlite3's prepare); on Postgres a named statement, parsed once per
 * connection. Postgres wants the name; SQLite takes none.
 */
interface Preparable<P> {
  prepare(): P;
}

export function prepared<P>(builder: Preparable<P>, name: string): P {
  return (builder.prepare as unknown as (name: string) => P).call(builder, name);
}
