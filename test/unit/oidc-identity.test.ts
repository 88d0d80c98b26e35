import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { identityFrom } from '../../src/access/oidc-client.ts';
import type { OidcSettings } from '../../src/access/oidc-settings.ts';

const settings: OidcSettings = {
  name: 'test',
  issuer: 'https://op.example',
  clientId: 'berth',
  clientSecret: 'secret',
  scopes: ['openid'],
  verifyCert: true,
  autoOnboard: true,
  userClaim: '',
  groupsClaim: 'groups',
  adminGroup: '',
  groupFilter: undefined,
  extraRedirectParams: {},
};
const idToken = { iss: 'https://op.example', sub: 'abc', aud: 'berth' };

describe('identity from OIDC claims (Harbor rules)', () => {
  it('takes the username from `name` by default, blanks replaced by underscores', () => {
    const identity = identityFrom(
      settings,
      { ...idToken, name: 'Alice Liddell', preferred_username: 'alice' },
      undefined,
    );
    assert.equal(identity.username, 'Alice_Liddell');
    assert.equal(identity.subject, 'abc');
    assert.equal(identity.issuer, 'https://op.example');
  });

  it('uses oidc_user_claim when set, and falls back to the subject when nothing names the user', () => {
    const claimed = { ...settings, userClaim: 'preferred_username' };
    assert.equal(
      identityFrom(claimed, { ...idToken, name: 'A L', preferred_username: 'alice' }, undefined).username,
      'alice',
    );
    assert.equal(identityFrom(settings, idToken, undefined).username, 'abc');
  });

  it('prefers userinfo for name, email and groups; subject and issuer come from the ID token', () => {
    const identity = identityFrom(
      settings,
      { ...idToken, name: 'token name', email: 'token@example.com', groups: ['from-token'] },
      { sub: 'abc', name: 'info name', email: 'info@example.com', groups: ['from-info'] },
    );
    assert.equal(identity.username, 'info_name');
    assert.equal(identity.email, 'info@example.com');
    assert.deepEqual(identity.groups, ['from-info']);
  });

  it('reads groups from the configured claim, ignoring non-strings, filtered, admin membership noted', () => {
    const identity = identityFrom(
      { ...settings, groupsClaim: 'roles', adminGroup: 'ops-admin', groupFilter: /^ops-/ },
      { ...idToken, roles: ['ops-admin', 'ops-dev', 'sales', 7, 'ops-dev'] },
      undefined,
    );
    assert.deepEqual(identity.groups, ['ops-admin', 'ops-dev']);
    assert.equal(identity.adminGroupMember, true);
  });

  it('has no groups and no admin role without the claim', () => {
    const identity = identityFrom({ ...settings, adminGroup: 'admins' }, idToken, undefined);
    assert.deepEqual(identity.groups, []);
    assert.equal(identity.adminGroupMember, false);
  });
});
