/**
 * Fair share between owners: decaying usage, HTCondor's user priority.
 * Each owner's accumulated usage (cpu-seconds) halves every `halfLifeSeconds`
 * (HTCondor's PRIORITY_HALFLIFE, one day by default), so yesterday's burst
 * counts half as much as today's; the owner with the least usage goes first.
 *
 * Invariants:
 * - Decay is exact under any sequence of calls: each owner keeps one value
 *   and the time it refers to, and the value at any time t is that value
 *   times 2^(-(t - at) / halfLife). Usage is therefore the sum over charges
 *   c_i * 2^(-(t - t_i) / halfLife), whatever order charges arrive in (a
 *   charge dated before the stored time is decayed to it instead of moving
 *   the time back).
 * - Usage is never negative; charges must be finite and >= 0.
 * - The state is plain JSON (`toJSON` / `fromJSON`), so the AP can persist
 *   it; `fromJSON` validates, since what comes back from disk is untrusted.
 *
 * Pure: time is passed in as epoch seconds.
 */
import { HtcError } from '../errors.ts';

export const DEFAULT_HALF_LIFE_SECONDS = 86_400;

/** The persisted form. */
export interface FairShareState {
  readonly halfLifeSeconds: number;
  readonly owners: readonly { readonly owner: string; readonly usage: number; readonly at: number }[];
}

interface Account {
  usage: number;
  at: number;
}

function checkTime(now: number): void {
  if (!Number.isFinite(now)) throw new HtcError('INTERNAL', `fair share: time must be a finite number of seconds, not ${now}`);
}

export class FairShare {
  readonly halfLifeSeconds: number;
  private readonly accounts = new Map<string, Account>();

  constructor(options: { halfLifeSeconds?: number } = {}) {
    const halfLife = options.halfLifeSeconds ?? DEFAULT_HALF_LIFE_SECONDS;
    if (!Number.isFinite(halfLife) || halfLife <= 0) {
      throw new HtcError('INTERNAL', `fair share: the half-life must be a positive number of seconds, not ${halfLife}`);
    }
    this.halfLifeSeconds = halfLife;
  }

  /** 2^(-dt / halfLife): what one unit of usage is worth dt seconds later. */
  private decay(dt: number): number {
    return Math.pow(2, -dt / this.halfLifeSeconds);
  }

  /** Adds `cpuSeconds` of use by `owner` at time `now`. */
  charge(owner: string, cpuSeconds: number, now: number): void {
    checkTime(now);
    if (!Number.isFinite(cpuSeconds) || cpuSeconds < 0) {
      throw new HtcError('INTERNAL', `fair share: a charge must be a non-negative number of cpu-seconds, not ${cpuSeconds}`);
    }
    const account = this.accounts.get(owner);
    if (account === undefined) {
      this.accounts.set(owner, { usage: cpuSeconds, at: now });
    } else if (now >= account.at) {
      account.usage = account.usage * this.decay(now - account.at) + cpuSeconds;
      account.at = now;
    } else {
      account.usage += cpuSeconds * this.decay(account.at - now);
    }
  }

  /** The owner's decayed usage at `now` (0 for an owner never charged). */
  usage(owner: string, now: number): number {
    checkTime(now);
    const account = this.accounts.get(owner);
    return account === undefined ? 0 : account.usage * this.decay(now - account.at);
  }

  /** `owners` (deduplicated), least usage first; ties by name (code-unit order, stable across locales). */
  order(owners: Iterable<string>, now: number): string[] {
    const usage = new Map<string, number>();
    for (const owner of owners) if (!usage.has(owner)) usage.set(owner, this.usage(owner, now));
    return [...usage.keys()].sort((a, b) => usage.get(a)! - usage.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every owner ever charged. */
  owners(): string[] {
    return [...this.accounts.keys()];
  }

  toJSON(): FairShareState {
    return {
      halfLifeSeconds: this.halfLifeSeconds,
      owners: [...this.accounts].map(([owner, a]) => ({ owner, usage: a.usage, at: a.at })),
    };
  }

  /**
   * The state `toJSON` wrote. `halfLifeSeconds` overrides the stored one
   * (configuration wins over history: the stored values stay exact, only
   * their future decay changes).
   */
  static fromJSON(data: unknown, options: { halfLifeSeconds?: number } = {}): FairShare {
    const bad = (why: string): HtcError => new HtcError('STORE_INCOMPATIBLE', `fair share state: ${why}`);
    if (typeof data !== 'object' || data === null) throw bad('not an object');
    const { halfLifeSeconds, owners } = data as { halfLifeSeconds?: unknown; owners?: unknown };
    if (typeof halfLifeSeconds !== 'number') throw bad('halfLifeSeconds is not a number');
    if (!Array.isArray(owners)) throw bad('owners is not a list');
    const share = new FairShare({ halfLifeSeconds: options.halfLifeSeconds ?? halfLifeSeconds });
    for (const item of owners as unknown[]) {
      if (typeof item !== 'object' || item === null) throw bad('an owner entry is not an object');
      const { owner, usage, at } = item as { owner?: unknown; usage?: unknown; at?: unknown };
      if (typeof owner !== 'string') throw bad('an owner is not a string');
      if (typeof usage !== 'number' || !Number.isFinite(usage) || usage < 0) throw bad(`usage of ${JSON.stringify(owner)} is not a non-negative number`);
      if (typeof at !== 'number' || !Number.isFinite(at)) throw bad(`time of ${JSON.stringify(owner)} is not a number`);
      if (share.accounts.has(owner)) throw bad(`${JSON.stringify(owner)} appears twice`);
      share.accounts.set(owner, { usage, at });
    }
    return share;
  }
}
