/**
 * The first touch an import gives a lead (row.ts touchOf): HubSpot's original source in words and
 * as a channel, its drill-down 1 as the campaign only where it is one, and a mapping's own columns.
 * Pure: no Temporal.
 */
import { describe, expect, it } from 'vitest';
import { PRESETS, parseMapping, translateRow } from '../../src/import/index.js';

const NOW = Date.UTC(2026, 11, 1);
const touchOfRow = (cells: Record<string, string>, mapping = PRESETS.hubspot) => {
  const outcome = translateRow({ Email: 'ada@acme.example', ...cells }, mapping, 'acme', NOW);
  if (!outcome.ok) return { issues: outcome.issues };
  const imported = outcome.captures.find((c) => c.command.type === 'lead.imported')?.command;
  return { touch: imported && 'touch' in imported ? imported.touch : undefined };
};

describe('an imported contact’s first touch', () => {
  it.each([
    ['ORGANIC_SEARCH', 'organic search', 'web'],
    ['Organic search', 'organic search', 'web'],
    ['PAID_SEARCH', 'paid search', 'web'],
    ['EMAIL_MARKETING', 'email marketing', 'web'],
    ['DIRECT_TRAFFIC', 'direct traffic', 'web'],
    ['OTHER_CAMPAIGNS', 'other campaigns', 'web'],
    ['SOCIAL_MEDIA', 'organic social', 'social'],
    ['Organic social', 'organic social', 'social'],
    ['PAID_SOCIAL', 'paid social', 'social'],
    ['REFERRALS', 'referrals', 'referral'],
    ['OFFLINE', 'offline sources', 'other'],
    ['Offline sources', 'offline sources', 'other'],
  ])('HubSpot’s original source %s is source "%s", channel %s', (cell, source, channel) => {
    expect(touchOfRow({ 'Original Source': cell })).toEqual({ touch: { source, channel } });
  });

  it('takes drill-down 1 as the campaign only where HubSpot says it is the utm_campaign', () => {
    expect(
      touchOfRow({ 'Original Source': 'EMAIL_MARKETING', 'Original Source Drill-Down 1': 'spring-launch' }),
    ).toEqual({ touch: { source: 'email marketing', channel: 'web', campaign: 'spring-launch' } });
    expect(
      touchOfRow({ 'Original Source': 'Paid search', 'Original Source Drill-Down 1': 'brand' }).touch,
    ).toMatchObject({ campaign: 'brand' });
    // Elsewhere it is a search term, a domain or how the contact was created: no campaign.
    for (const [source, drill] of [
      ['ORGANIC_SEARCH', 'crm software'],
      ['REFERRALS', 'partner.example'],
      ['OFFLINE', 'IMPORT'],
    ]) {
      expect(
        touchOfRow({ 'Original Source': source as string, 'Original Source Drill-Down 1': drill as string })
          .touch,
      ).not.toHaveProperty('campaign');
    }
  });

  it('takes a campaign as HubSpot users name it: accents, ampersands, brackets, dashes', () => {
    expect(
      touchOfRow({
        'Original Source': 'EMAIL_MARKETING',
        'Original Source Drill-Down 1': 'Café Launch (EMEA) – Partners & Resellers',
      }),
    ).toEqual({
      touch: {
        source: 'email marketing',
        channel: 'web',
        campaign: 'Café Launch (EMEA) – Partners & Resellers',
      },
    });
  });

  it('passes a source it does not list as it is, its channel as other; empty cells give no touch', () => {
    expect(touchOfRow({ 'Original Source': 'AI_REFERRALS' })).toEqual({
      touch: { source: 'AI_REFERRALS', channel: 'other' },
    });
    expect(touchOfRow({ 'Original Source': ' ' })).toEqual({ touch: undefined });
    expect(touchOfRow({})).toEqual({ touch: undefined });
  });

  it('rejects a row whose touch is no marketing label, naming the column', () => {
    expect(
      touchOfRow({ 'Original Source': 'PAID_SEARCH', 'Original Source Drill-Down 1': 'ada@acme.example' }),
    ).toEqual({
      issues: [
        { field: 'Original Source Drill-Down 1', reason: expect.stringContaining('never personal data') },
      ],
    });
  });

  it('reads a mapping’s own touch columns, UTM parameters and channels included', () => {
    const mapping = parseMapping({
      columns: { email: 'Email' },
      touch: {
        columns: { source: 'src', channel: 'via', utm_medium: 'medium', form: 'form' },
        channels: { 'Trade fair': 'trade_show' },
      },
    });
    expect(
      touchOfRow({ src: 'expo', via: 'Trade fair', medium: 'offline', form: 'badge-scan' }, mapping),
    ).toEqual({
      touch: { source: 'expo', channel: 'trade_show', utm_medium: 'offline', form: 'badge-scan' },
    });
    expect(touchOfRow({ via: 'Inbound call' }, mapping)).toEqual({ touch: { channel: 'inbound_call' } });
    expect(() => parseMapping({ columns: { email: 'Email' }, touch: { columns: { medium: 'm' } } })).toThrow(
      /touch\.columns/,
    );
  });

  it('the Mautic preset reads no touch: its export has none', () => {
    expect(PRESETS.mautic.touch.columns).toEqual({});
  });
});
