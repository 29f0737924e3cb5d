/**
 * Identities: parsing `user@domain` with clear errors, the canonical form.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HtcError } from '../errors.ts';
import { formatIdentity, makeIdentity, parseIdentity, sameIdentity } from './identity.ts';

function refused(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseIdentity(text),
    (error: unknown) => error instanceof HtcError && error.code === 'IDENTITY_INVALID' && pattern.test(error.message),
  );
}

describe('identity', () => {
  it('parses and formats user@domain', () => {
    const id = parseIdentity('alice@ap.example.org');
    assert.deepEqual(id, { user: 'alice', domain: 'ap.example.org' });
    assert.equal(formatIdentity(id), 'alice@ap.example.org');
  });
  it('domain is canonical lower case, user keeps its case', () => {
    const id = parseIdentity('Alice@AP.Example.ORG');
    assert.equal(formatIdentity(id), 'Alice@ap.example.org');
    assert.ok(sameIdentity(id, makeIdentity('Alice', 'ap.example.org')));
    assert.ok(!sameIdentity(id, makeIdentity('alice', 'ap.example.org')));
  });
  it('accepts usual Unix names and host names', () => {
    for (const text of ['a@b', 'j.doe_2-x@host-1', 'MACHINE$@dom_ain.local', 'u@vm']) {
      assert.equal(formatIdentity(parseIdentity(text)), text.replace(/@.*/, (d) => d.toLowerCase()));
    }
  });
  it('refuses malformed identities with a message saying what is wrong', () => {
    refused('alice', /no '@'/);
    refused('a@b@c', /more than one '@'/);
    refused('@host', /no user/);
    refused('alice@', /no domain/);
    refused('al ice@host', /user name/);
    refused('-x@host', /user name/);
    refused('alice@host..org', /domain/);
    refused('alice@-host', /domain/);
    refused('alice@ho st', /domain/);
    refused('alice\n@host', /user name/);
    refused(`${'u'.repeat(65)}@host`, /longer than 64/);
  });
});
