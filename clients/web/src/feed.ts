// Keeping one pose feed open for the page's lifetime: connect, wait for the feed to end, close it,
// connect again, with backoff between failed attempts from the very first one.

import { Backoff, type Sleep, sleep as realSleep } from "./retry";
import type { PoseFeed } from "./transport";

export interface FeedEvents {
  /** Before each attempt. The previous feed, if any, is closed by then, so no frame of it can
   * arrive any more: every frame after this comes from the attempt being made (a new sequence
   * space; the page resets its newest-frame state here). */
  connecting(): void;
  connected(feed: PoseFeed): void;
  /** An attempt failed; the next is in `retryInMs`. */
  failed(error: unknown, retryInMs: number): void;
  /** A connected feed ended; the next attempt is in `retryInMs`. */
  ended(feed: PoseFeed, retryInMs: number): void;
}

export interface KeepOptions {
  backoff?: Backoff;
  sleep?: Sleep;
  /** Ends the loop: the current feed is closed and `keepConnected` resolves. */
  signal?: AbortSignal;
}

/**
 * Runs until `signal` aborts. Guarantees: at most one feed is open at a time (a feed is closed
 * before the next attempt); attempts that fail wait 0.5 s, 1, 2, 4, then 5 s (the default
 * `Backoff`); a feed that connected resets the backoff, and after it ends the next attempt is
 * 0.5 s later, so a server that accepts and drops at once is not hammered.
 */
export async function keepConnected(
  connect: () => Promise<PoseFeed>,
  events: FeedEvents,
  options: KeepOptions = {},
): Promise<void> {
  const backoff = options.backoff ?? new Backoff();
  const wait = options.sleep ?? realSleep;
  const { signal } = options;
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener("abort", () => resolve());
  });
  while (!signal?.aborted) {
    events.connecting();
    let feed: PoseFeed;
    try {
      feed = await connect();
    } catch (e) {
      const delay = backoff.next();
      events.failed(e, delay);
      await wait(delay, signal);
      continue;
    }
    if (signal?.aborted) {
      feed.close();
      break;
    }
    backoff.reset();
    events.connected(feed);
    await Promise.race([feed.closed, aborted]);
    feed.close();
    if (signal?.aborted) break;
    const delay = backoff.next();
    events.ended(feed, delay);
    await wait(delay, signal);
  }
}
