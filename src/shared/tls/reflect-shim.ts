/**
 * @peculiar/x509 resolves its ASN.1 and crypto helpers through tsyringe, which refuses to load
 * unless the Reflect metadata API (the `reflect-metadata` proposal) exists. The three calls
 * tsyringe makes — defineMetadata, getMetadata, getOwnMetadata — are provided here when no
 * polyfill is installed, backed by a WeakMap; getMetadata follows the prototype chain as the
 * proposal specifies.
 */
type Key = unknown;
const store = new WeakMap<object, Map<string | undefined, Map<Key, unknown>>>();

function own(target: object, property: string | undefined, create: boolean): Map<Key, unknown> | undefined {
  let byProp = store.get(target);
  if (!byProp && create) store.set(target, (byProp = new Map()));
  let map = byProp?.get(property);
  if (!map && create && byProp) byProp.set(property, (map = new Map()));
  return map;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (key: Key, value: unknown, target: object, property?: string) => void own(target, property, true)!.set(key, value);
  R.getOwnMetadata = (key: Key, target: object, property?: string) => own(target, property, false)?.get(key);
  R.getMetadata = (key: Key, target: object, property?: string) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const map = own(t, property, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
}

export {};
