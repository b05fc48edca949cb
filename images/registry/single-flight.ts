/**
 * One piece of work per key, shared by everyone who asks for it while it runs: concurrent pulls of
 * one reference download it once; concurrent pulls of two images download their common layer once.
 *
 * Each caller may bring an AbortSignal: a caller that aborts is answered at once with the signal's
 * reason, and the work itself is aborted only when every caller has gone. Events the work emits
 * (progress) reach every caller; one who joins late first gets the latest event of each kind.
 */
export interface SingleFlightOptions<E> {
  signal?: AbortSignal | undefined;
  onEvent?: ((event: E) => void) | undefined;
}

interface Flight<T, E> {
  promise: Promise<T>;
  controller: AbortController;
  listeners: Set<(event: E) => void>;
  latest: Map<string, E>;
  callers: number;
}

export class SingleFlight<T, E = never> {
  readonly #flights = new Map<string, Flight<T, E>>();

  /** kindOf names an event's kind for the replay to late joiners (e.g. its layer digest). */
  constructor(private readonly kindOf: (event: E) => string = () => '') {}

  /** Keys with work in progress. */
  get inFlight(): number {
    return this.#flights.size;
  }

  run(key: string, work: (signal: AbortSignal, emit: (event: E) => void) => Promise<T>, opts: SingleFlightOptions<E> = {}): Promise<T> {
    const { signal, onEvent } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);

    const listener = onEvent ? (event: E): void => onEvent(event) : undefined;
    let flight = this.#flights.get(key);
    if (flight) {
      if (onEvent) for (const event of flight.latest.values()) onEvent(event);
      if (listener) flight.listeners.add(listener);
    } else {
      const started: Flight<T, E> = {
        promise: Promise.resolve() as Promise<unknown> as Promise<T>,
        controller: new AbortController(),
        listeners: new Set(listener ? [listener] : []),
        latest: new Map(),
        callers: 0,
      };
      const emit = (event: E): void => {
        started.latest.set(this.kindOf(event), event);
        for (const l of started.listeners) l(event);
      };
      this.#flights.set(key, started);
      started.promise = work(started.controller.signal, emit).finally(() => {
        if (this.#flights.get(key) === started) this.#flights.delete(key);
      });
      started.promise.catch(() => {}); // handled by each caller below; this only avoids an unhandled rejection
      flight = started;
    }

    const current = flight;
    current.callers++;

    return new Promise<T>((resolve, reject) => {
      let left = false;
      const leave = (): void => {
        if (left) return;
        left = true;
        if (listener) current.listeners.delete(listener);
        current.callers--;
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        leave();
        if (current.callers === 0) {
          // Nobody wants it any more: stop the work, and let the next caller start afresh.
          if (this.#flights.get(key) === current) this.#flights.delete(key);
          current.controller.abort(signal?.reason);
        }
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      current.promise.then(
        (value) => { leave(); resolve(value); },
        (err: unknown) => { leave(); reject(err); },
      );
    });
  }
}
