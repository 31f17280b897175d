/** The collector's Ed25519 signature over the canonical JSON of a policy, checked by the agent. */
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, policySignatureValid, signPolicy } from '../../../src/shared/tls/policy-signature.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const publicB64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const policy = { version: 3, agentId: 'ag_0000000000000000000001', lists: { registeredMedia: ['0781:5583:4C530001280621119131'] }, disabledRules: [] };

describe('canonicalJson', () => {
  it('sorts keys at every level and leaves no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 'x' }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":"x","z":1}]},"b":1}');
  });

  it('leaves out undefined members of objects and writes undefined array items as null, as JSON.stringify does', () => {
    const value = { a: undefined, b: [undefined, 1] };
    expect(canonicalJson(value)).toBe('{"b":[null,1]}');
    expect(canonicalJson(value)).toBe(JSON.stringify(value));
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('writes scalars and strings exactly as JSON does', () => {
    expect(canonicalJson('媒体管理台帳 "x"')).toBe(JSON.stringify('媒体管理台帳 "x"'));
    expect(canonicalJson(0)).toBe('0');
    expect(canonicalJson(false)).toBe('false');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
  });

  it('orders keys by code unit, not by locale', () => {
    expect(canonicalJson({ b: 1, B: 2, a: 3, aa: 4 })).toBe('{"B":2,"a":3,"aa":4,"b":1}');
  });
});

describe('policy signature', () => {
  it('accepts the collector signature of the policy whatever the key order', () => {
    const signature = signPolicy(policy, privateKey);
    expect(policySignatureValid(policy, signature, publicB64)).toBe(true);
    expect(policySignatureValid({ disabledRules: [], lists: policy.lists, agentId: 'ag_0000000000000000000001', version: 3 }, signature, publicB64)).toBe(true);
  });

  it('signs "mamori-policy-v1|" + canonical JSON, so a signature over the bare JSON is refused', () => {
    const signature = signPolicy(policy, privateKey);
    expect(sign(null, Buffer.from(`mamori-policy-v1|${canonicalJson(policy)}`), privateKey).toString('base64')).toBe(signature);
    const bare = sign(null, Buffer.from(canonicalJson(policy)), privateKey).toString('base64');
    expect(policySignatureValid(policy, bare, publicB64)).toBe(false);
  });

  it('refuses a changed policy, a missing signature or key, another key and a key that is not Ed25519', () => {
    const signature = signPolicy(policy, privateKey);
    expect(policySignatureValid({ ...policy, version: 4 }, signature, publicB64)).toBe(false);
    expect(policySignatureValid({ ...policy, lists: { registeredMedia: ['0781:5583:4C530001280621119132'] } }, signature, publicB64)).toBe(false);
    expect(policySignatureValid(policy, undefined, publicB64)).toBe(false);
    expect(policySignatureValid(policy, '', publicB64)).toBe(false);
    expect(policySignatureValid(policy, signature, undefined)).toBe(false);
    expect(policySignatureValid(policy, signature, '')).toBe(false);
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(policySignatureValid(policy, signature, other)).toBe(false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ecB64 = ec.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const ecSignature = sign(null, Buffer.from(`mamori-policy-v1|${canonicalJson(policy)}`), ec.privateKey).toString('base64');
    expect(policySignatureValid(policy, ecSignature, ecB64)).toBe(false);
  });

  it('never throws on a key that is not a key', () => {
    expect(policySignatureValid(policy, signPolicy(policy, privateKey), Buffer.from('not a key').toString('base64'))).toBe(false);
  });
});
