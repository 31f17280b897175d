/** Errors of the TLS layer, each with a stable code. */
export class TlsError extends Error {
  constructor(
    readonly code: 'TLS_MATERIAL_MISSING' | 'TLS_MATERIAL_INVALID' | 'TLS_PIN_MALFORMED' | 'TLS_PIN_MISMATCH' | 'TLS_PIN_CONNECT' | 'TLS_PLAIN_REFUSED' | 'TLS_NAME_MISMATCH' | 'TLS_UNTRUSTED',
    message: string,
  ) {
    super(message);
    this.name = 'TlsError';
  }
}
