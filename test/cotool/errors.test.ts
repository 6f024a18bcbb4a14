import { describe, expect, it } from 'vitest';
import {
  CotoolError,
  type CotoolErrorInit,
  type CotoolFailureKind,
  classifyCotoolError,
  isCotoolNotFound,
  secretScrubber,
} from '../../src/cotool/errors.ts';

const err = (init: Partial<CotoolErrorInit>) =>
  new CotoolError({ kind: 'http', method: 'GET', path: '/api/alerts/COT-1', ...init });

describe('classifyCotoolError: the one classification of Cotool failures', () => {
  const table: [string, Partial<CotoolErrorInit>, CotoolFailureKind][] = [
    ['404', { status: 404 }, 'not_found'],
    ['404 on a write', { method: 'POST', status: 404 }, 'not_found'],
    ['400 on a GET by id (a malformed id)', { status: 400, byId: true }, 'not_found'],
    ['400 on a GET of a list', { status: 400 }, 'invalid'],
    ['400 on a write', { method: 'POST', status: 400, byId: true }, 'invalid'],
    ['422', { method: 'POST', status: 422 }, 'invalid'],
    ['401', { status: 401 }, 'unauthorized'],
    ['403', { status: 403, missingPerms: ['alerts:write'] }, 'forbidden'],
    ['429', { status: 429 }, 'rate_limited'],
    ['500', { status: 500 }, 'upstream'],
    ['503', { status: 503 }, 'upstream'],
    ['409', { status: 409 }, 'upstream'],
    ['timeout', { kind: 'timeout' }, 'timeout'],
    ['network', { kind: 'network', code: 'ECONNREFUSED' }, 'network'],
    ['schema', { kind: 'schema' }, 'schema'],
  ];
  it.each(table)('%s', (_name, init, kind) => {
    expect(classifyCotoolError(err(init))).toBe(kind);
  });

  it('isCotoolNotFound is true only for a Cotool not-found', () => {
    expect(isCotoolNotFound(err({ status: 404 }))).toBe(true);
    expect(isCotoolNotFound(err({ status: 500 }))).toBe(false);
    // A look-alike that is not a CotoolError is not trusted.
    expect(isCotoolNotFound({ isNotFound: () => true })).toBe(false);
    expect(isCotoolNotFound(new Error('404'))).toBe(false);
  });
});

describe('secretScrubber', () => {
  it('removes the API key and any bearer token', () => {
    const scrub = secretScrubber('ctk_live_0123456789abcdef');
    const out = scrub('key ctk_live_0123456789abcdef and Authorization: Bearer other.token-1; done');
    expect(out).not.toContain('ctk_live_0123456789abcdef');
    expect(out).not.toContain('other.token-1');
    expect(out).toContain('Bearer [redacted]');
    expect(out).toContain('done');
  });
});
