/**
 * SHA-256 certificate fingerprints, the form an administrator reads aloud or pastes into an
 * installer: "AB:CD:…" (what `openssl x509 -fingerprint -sha256` and node's
 * X509Certificate.fingerprint256 print). Pins are accepted with or without colons, with or
 * without a "SHA256:" prefix, in either case.
 */
import { X509Certificate } from 'node:crypto';
import { TlsError } from './errors.js';

/** "sha256:ab:cd…" / "ABCD…" → 64 lower-case hex digits; throws TLS_PIN_MALFORMED. */
export function normalizePin(pin: string): string {
  const hex = pin.trim().replace(/^sha-?256[:=/]?/i, '').replaceAll(':', '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TlsError('TLS_PIN_MALFORMED', `CA pin "${pin.slice(0, 120)}" is not a SHA-256 fingerprint (64 hex digits, colons optional)`);
  return hex;
}

/** 64 hex digits → "AB:CD:…". */
export function formatFingerprint(hex: string): string {
  return normalizePin(hex).toUpperCase().match(/../g)!.join(':');
}

/** The SHA-256 fingerprint of a PEM or DER certificate, normalised (64 lower-case hex digits). */
export function certFingerprint(cert: string | Buffer | X509Certificate): string {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return normalizePin(x.fingerprint256);
}
