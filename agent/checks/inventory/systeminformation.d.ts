/**
 * The part of systeminformation (npm, MIT) the Linux inventory calls: each function resolves to
 * plain JSON data (node_modules/systeminformation/lib/index.d.ts has the full typings). Declared
 * here so the agent type-checks where the package is not installed yet; the call then fails at
 * run time and the inventory is unknown with the reason.
 */
declare module 'systeminformation' {
  const si: Record<string, (() => Promise<unknown>) | unknown>;
  export default si;
}
