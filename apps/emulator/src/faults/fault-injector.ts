import { randomHex } from '../util/ids.js';
import { Throttle } from './throttle.js';

/** What a matching request suffers. */
export type FaultAction =
  /** Answer with this status and error code (OSS XML or VOD JSON, per the service). */
  | { kind: 'fail'; status: number; code: string; message?: string }
  /** Reset the connection (TCP RST) before reading the body. */
  | { kind: 'reset' }
  /** Read `afterBytes` of the request body, then destroy the socket. */
  | { kind: 'cut'; afterBytes: number }
  /** Wait `ms` before handling the request. */
  | { kind: 'delay'; ms: number };

export interface FaultRuleInput {
  /** 'oss' or 'vod'; omitted = either. */
  service?: 'oss' | 'vod';
  /** Operation name as in the request log ('UploadPart', 'CreateUploadVideo', …); omitted = any. */
  operation?: string;
  /** Only requests on this object key; omitted = any. */
  key?: string;
  /** How many matching requests suffer it; omitted = every one until reset. */
  count?: number;
  action: FaultAction;
}

export interface FaultRule extends FaultRuleInput {
  id: string;
  /** Matching requests still to affect (null = unlimited). */
  remaining: number | null;
  /** Requests affected so far. */
  hits: number;
}

export interface MatchedFaults {
  delay?: number;
  /** At most one of fail / reset / cut per request: the earliest-added matching rule. */
  action?: Exclude<FaultAction, { kind: 'delay' }>;
}

/** Holds the injected faults; the request pipeline asks `match()` once per authenticated request. */
export class FaultInjector {
  #rules: FaultRule[] = [];
  #throttle: Throttle | undefined;

  add(input: FaultRuleInput): FaultRule {
    validateAction(input.action);
    if (input.count !== undefined && (!Number.isInteger(input.count) || input.count < 1)) {
      throw new RangeError('count must be a positive integer');
    }
    const rule: FaultRule = { ...input, id: randomHex(6), remaining: input.count ?? null, hits: 0 };
    this.#rules.push(rule);
    return rule;
  }

  remove(id: string): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length !== before;
  }

  list(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r }));
  }

  get throttle(): Throttle | undefined {
    return this.#throttle;
  }

  setThrottle(bytesPerSecond: number | null): void {
    this.#throttle = bytesPerSecond === null ? undefined : new Throttle(bytesPerSecond);
  }

  /** Removes every rule and the throttle. */
  reset(): void {
    this.#rules = [];
    this.#throttle = undefined;
  }

  /** Finds (and consumes one use of) the faults that apply to this request. */
  match(service: 'oss' | 'vod', operation: string, key: string | undefined): MatchedFaults {
    if (this.#rules.length === 0) return {};
    const out: MatchedFaults = {};
    for (const rule of this.#rules) {
      if (rule.service !== undefined && rule.service !== service) continue;
      if (rule.operation !== undefined && rule.operation !== operation) continue;
      if (rule.key !== undefined && rule.key !== key) continue;
      if (rule.action.kind === 'delay') {
        if (out.delay !== undefined) continue;
        out.delay = rule.action.ms;
      } else {
        if (out.action !== undefined) continue;
        out.action = rule.action;
      }
      rule.hits++;
      if (rule.remaining !== null) rule.remaining--;
    }
    this.#rules = this.#rules.filter((r) => r.remaining === null || r.remaining > 0);
    return out;
  }
}

function validateAction(a: FaultAction): void {
  switch (a?.kind) {
    case 'fail':
      if (!Number.isInteger(a.status) || a.status < 400 || a.status > 599) {
        throw new RangeError('fail.status must be 400..599');
      }
      if (typeof a.code !== 'string' || a.code.length === 0) throw new RangeError('fail.code is required');
      return;
    case 'reset':
      return;
    case 'cut':
      if (!Number.isInteger(a.afterBytes) || a.afterBytes < 0)
        throw new RangeError('cut.afterBytes must be >= 0');
      return;
    case 'delay':
      if (!(a.ms >= 0)) throw new RangeError('delay.ms must be >= 0');
      return;
    default:
      throw new RangeError('action.kind must be fail | reset | cut | delay');
  }
}
