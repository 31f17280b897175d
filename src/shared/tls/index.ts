export * from './errors.js';
export * from './fingerprint.js';
export * from './material.js';
export * from './pin.js';
export * from './policy-signature.js';
