// Trying again: the page's start-up steps (performer, clock, avatar) and its feed retry with
// backoff from the very first attempt, so a page opened before the server (OBS starts with the
// scene) or across a server restart comes up by itself. The waiting is a function handed in, so
// tests run without timers.

/** Waits `ms`; resolves early (without error) if `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const sleep: Sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });

/**
 * Delays between attempts: `initialMs`, then doubling, capped at `maxMs` (0.5 s, 1, 2, 4, 5, 5, …
 * by default). `reset` after a success starts again from `initialMs`.
 */
export class Backoff {
  private nextMs: number;

  constructor(
    readonly initialMs = 500,
    readonly maxMs = 5000,
  ) {
    this.nextMs = initialMs;
  }

  /** The delay to wait now; the one after it is twice as long, up to `maxMs`. */
  next(): number {
    const ms = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    return ms;
  }

  reset(): void {
    this.nextMs = this.initialMs;
  }
}

export interface RetryOptions {
  backoff?: Backoff;
  sleep?: Sleep;
  /** Told of each failure and how long until the next attempt. */
  onError?: (error: unknown, retryInMs: number) => void;
  /** Stops retrying: the pending wait ends and `retry` rejects with the last error. */
  signal?: AbortSignal;
}

/** Calls `attempt` until it resolves, waiting the backoff's delay after each failure. Rejects only
 * if `signal` aborts. */
export async function retry<T>(attempt: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const backoff = options.backoff ?? new Backoff();
  const wait = options.sleep ?? sleep;
  for (;;) {
    try {
      return await attempt();
    } catch (e) {
      if (options.signal?.aborted) throw e;
      const delay = backoff.next();
      options.onError?.(e, delay);
      await wait(delay, options.signal);
      if (options.signal?.aborted) throw e;
    }
  }
}
