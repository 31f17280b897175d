/** Small normalisers shared by the Linux and Windows readers of the inventory. */

/** Values firmware and drivers print when a field is not filled in (SMBIOS placeholders). */
const PLACEHOLDERS = new Set(['', '-', 'none', 'n/a', 'na', 'unknown', 'not specified', 'not available', 'default string', 'to be filled by o.e.m.', 'system serial number', 'system product name', 'system manufacturer', 'chassis serial number', 'o.e.m.', 'oem', '0', '00000000', '0123456789', 'invalid', 'not applicable', 'no asset information', 'no asset tag']);

/** A trimmed string, or null for empty and placeholder values. */
export function clean(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const s = String(value).replace(/\s+/g, ' ').trim();
  if (PLACEHOLDERS.has(s.toLowerCase())) return null;
  return s.slice(0, 256);
}

/** A non-negative integer, or null. */
export function int(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/** MAC address as lower-case xx:xx:xx:xx:xx:xx; null for none or all zeros. */
export function mac(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const hex = value.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length !== 12 || /^0+$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** An ISO time from a date text, or null when it is not one. */
export function iso(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const t = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(t) && t > 0 ? new Date(t).toISOString() : null;
}
