import { describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/api/auth.js';
import { esc, html, raw } from '../../src/api/dashboard/html.js';
import { cookieOf, DashboardSessions, sessionCookie } from '../../src/api/dashboard/session.js';

/** The dashboard's session tokens and HTML escaping, without a server (test/dashboard.test.ts has the browser). */
const SECRET = 'dashboard-test-secret-0123456789';
const keys = new ApiKeys(['admin-key-0123456789', 'acme|beta:scoped-key-0123456789']);

describe('dashboard sessions', () => {
  it('names the key by its principal, never the key, and keeps its tenants', () => {
    let now = 1_000_000;
    const sessions = new DashboardSessions(keys, SECRET, 60_000, () => now);
    const principal = keys.principalOfKey(' scoped-key-0123456789 ');
    expect(principal?.tenants).toEqual(new Set(['acme', 'beta']));
    const { token, expiresAt } = sessions.issue(principal as NonNullable<typeof principal>);
    expect(expiresAt).toBe(now + 60_000);
    expect(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).not.toContain('scoped-key');
    expect(sessions.verify(token)?.principal).toEqual(principal);
    now += 59_999;
    expect(sessions.verify(token)).not.toBeNull();
    now += 1;
    expect(sessions.verify(token)).toBeNull();
  });

  it('refuses a token signed with another secret, altered, or of a key no longer configured', () => {
    const sessions = new DashboardSessions(keys, SECRET);
    const admin = keys.principalOfKey('admin-key-0123456789');
    if (!admin) throw new Error('no admin key');
    const { token } = sessions.issue(admin);
    expect(new DashboardSessions(keys, `${SECRET}x`).verify(token)).toBeNull();
    const [body, signature] = token.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const longer = Buffer.from(JSON.stringify({ ...payload, exp: payload.exp + 1e9 })).toString('base64url');
    expect(sessions.verify(`${longer}.${signature}`)).toBeNull();
    expect(sessions.verify(`${body}.${signature}x`)).toBeNull();
    expect(sessions.verify(`${token}.extra`)).toBeNull();
    expect(sessions.verify(undefined)).toBeNull();
    // The same secret, but the key was taken out of the configuration.
    expect(new DashboardSessions(new ApiKeys(['other-key-0123456789']), SECRET).verify(token)).toBeNull();
    expect(keys.principalOfKey('not-a-key')).toBeNull();
    expect(() => new DashboardSessions(keys, 'short')).toThrow(RangeError);
  });

  it('refuses a logged-out session, and only that one', () => {
    const sessions = new DashboardSessions(keys, SECRET);
    const admin = keys.principalOfKey('admin-key-0123456789') as NonNullable<
      ReturnType<typeof keys.principalOfKey>
    >;
    const first = sessions.issue(admin).token;
    const second = sessions.issue(admin).token;
    sessions.revoke(sessions.verify(first) as NonNullable<ReturnType<typeof sessions.verify>>);
    expect(sessions.verify(first)).toBeNull();
    expect(sessions.verify(second)).not.toBeNull();
  });

  it('sets the cookie HttpOnly and SameSite=Strict, Secure over https only, and reads it back', () => {
    expect(sessionCookie('abc', 3600, false)).toBe(
      'leadcycle_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict',
    );
    expect(sessionCookie('abc', 3600, true)).toMatch(/; Secure$/);
    expect(sessionCookie('', 0, false)).toContain('Max-Age=0');
    expect(cookieOf('a=1; leadcycle_session=tok.sig; b=2', 'leadcycle_session')).toBe('tok.sig');
    expect(cookieOf('xleadcycle_session=no', 'leadcycle_session')).toBeUndefined();
  });
});

describe('dashboard HTML', () => {
  it('escapes every interpolated value, text and attributes alike, but not markup it was given', () => {
    const value = `<script>alert("x")</script>&'`;
    expect(esc(value)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    const out = html`<p title="${value}">${value}${[value, raw('<b>ok</b>')]}${null}${false}${3}</p>`.markup;
    expect(out).not.toContain('<script>');
    expect(out).toContain('<b>ok</b>');
    expect(out).toBe(`<p title="${esc(value)}">${esc(value)}${esc(value)}<b>ok</b>3</p>`);
  });
});
