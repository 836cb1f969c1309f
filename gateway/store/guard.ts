import { asStoreError, storeFaultOf, type StoreFault } from './errors.js';
import type { TaskStore } from './types.js';

/** How the store has been doing, for readiness answers. */
export interface StoreHealth {
  /** Why writes are failing right now (the last write failed with an outage and none succeeded since); undefined when healthy. */
  problem(): string | undefined;
}

export type GuardedStore = TaskStore & StoreHealth;

/** Methods that write: a full disk fails these while reads still work, so only they decide health. */
const WRITES = new Set([
  'insertPending',
  'markNotAccepted',
  'applyEvents',
  'expireFinished',
  'markConfirmed',
  'claimUnconfirmed',
  'unclaim',
  'create',
  'begin',
  'markEnqueued',
  'apply',
  'redeliver',
]);

/**
 * Every method of the store and of its `deliveries` rejects with StoreUnavailableError or
 * StorageFullError when the database is out of reach or full — whatever the driver said, and
 * whether it threw synchronously (better-sqlite3) or rejected (pg) — so that callers decide on one
 * pair of types: the HTTP layer answers 503/507, the recorder holds its batch and tries again.
 * A Proxy rather than a hand-written delegate per method: the two interfaces have twenty-odd
 * methods, and a method added later is guarded without anyone remembering to.
 */
export function guardStore(store: TaskStore, onFault: (fault: StoreFault, err: unknown) => void = () => {}): GuardedStore {
  let failingWrites: string | undefined;

  const observe = <T>(write: boolean, run: () => Promise<T>): Promise<T> => {
    let promise: Promise<T>;
    try {
      promise = run();
    } catch (err) {
      promise = Promise.reject(err);
    }
    return promise.then(
      (value) => {
        if (write) failingWrites = undefined;
        return value;
      },
      (err: unknown) => {
        const fault = storeFaultOf(err);
        const mapped = asStoreError(err);
        if (fault) {
          if (write) failingWrites = (mapped as Error).message;
          onFault(fault, err);
        }
        throw mapped;
      },
    );
  };

  const wrap = <T extends object>(target: T, extra: Record<PropertyKey, unknown>): T =>
    new Proxy(target, {
      get(object, key) {
        if (Object.hasOwn(extra, key)) return extra[key as string];
        const value: unknown = Reflect.get(object, key, object);
        if (typeof value !== 'function' || key === 'constructor') return value;
        const method = value as (...args: unknown[]) => Promise<unknown>;
        const write = typeof key === 'string' && WRITES.has(key);
        return (...args: unknown[]) => observe(write, () => method.apply(object, args));
      },
    });

  const deliveries = wrap(store.deliveries, {});
  return wrap(store, { deliveries, problem: () => failingWrites }) as GuardedStore;
}
