import type { EngagementKind, LeadcycleConfig, PageRule } from './config.js';
import type { Profile } from './events.js';

/**
 * Rules marketing-ops keep in config (README, "Configuration"): profiles that close a lead or keep it
 * from sales (`profileRules`), and pages that count as a kind of engagement (`pageRules`). Pure
 * functions of the config and the facts: the machine's guards and actions call them.
 */

/** What a profile rule does when it matches: close the lead, or keep it nurtured and away from sales. */
export const PROFILE_RULE_ACTIONS = ['disqualify', 'never_mql'] as const;
export type ProfileRuleAction = (typeof PROFILE_RULE_ACTIONS)[number];

/** The profile rules, in the order they are tried: the first match decides. */
export const PROFILE_RULES = ['competitorDomains', 'disqualifyingJobFunctions', 'freeMailDomains'] as const;
export type ProfileRuleName = (typeof PROFILE_RULES)[number];

/** A profile rule that matched: what it does, the disqualify reason and note, and why in words. */
export interface ProfileRuleHit {
  rule: ProfileRuleName;
  action: ProfileRuleAction;
  /** A `DISQUALIFY_REASONS` value (src/machines/events.ts). */
  reason: 'competitor' | 'student' | 'job_seeker' | 'not_a_persona';
  note: string;
  why: string;
}

const normalise = (s: string) => s.trim().toLowerCase();

/** The domain of an email address, lower-cased; undefined without one. */
export function emailDomain(email: string | undefined): string | undefined {
  const at = email?.lastIndexOf('@') ?? -1;
  return email !== undefined && at >= 0 ? normalise(email.slice(at + 1)) : undefined;
}

/** `rival.com` covers `rival.com` and its subdomains (`eu.rival.com`), not `notrival.com`. */
function domainIn(domain: string, domains: readonly string[]): string | undefined {
  return domains.find((d) => domain === d || domain.endsWith(`.${d}`));
}

/** Job functions that are a disqualify reason of their own; any other is `not_a_persona`. */
const REASON_OF_JOB_FUNCTION: Record<string, ProfileRuleHit['reason']> = {
  student: 'student',
  job_seeker: 'job_seeker',
};

/** Every profile rule the profile breaks, in `PROFILE_RULES` order. */
export function profileRuleHits(profile: Profile, config: LeadcycleConfig): ProfileRuleHit[] {
  const { competitorDomains, disqualifyingJobFunctions, freeMailDomains } = config.profileRules;
  const hits: ProfileRuleHit[] = [];
  const domain = emailDomain(profile.email);
  const competitor = domain && domainIn(domain, competitorDomains.domains);
  if (domain && competitor) {
    hits.push({
      rule: 'competitorDomains',
      action: competitorDomains.action,
      reason: 'competitor',
      note: `domain ${domain}`,
      why: `email domain ${domain} is a competitor's (profileRules.competitorDomains)`,
    });
  }
  const jobFunction = profile.jobFunction === undefined ? undefined : normalise(profile.jobFunction);
  if (jobFunction && disqualifyingJobFunctions.jobFunctions.includes(jobFunction)) {
    hits.push({
      rule: 'disqualifyingJobFunctions',
      action: disqualifyingJobFunctions.action,
      reason: REASON_OF_JOB_FUNCTION[jobFunction] ?? 'not_a_persona',
      note: `job function ${jobFunction}`,
      why: `job function ${jobFunction} is not a buyer's (profileRules.disqualifyingJobFunctions)`,
    });
  }
  const freeMail = domain && domainIn(domain, freeMailDomains.domains);
  if (domain && freeMail) {
    hits.push({
      rule: 'freeMailDomains',
      action: freeMailDomains.action,
      reason: 'not_a_persona',
      note: `free mail domain ${domain}`,
      why: `email domain ${domain} is a free-mail domain (profileRules.freeMailDomains)`,
    });
  }
  return hits;
}

/** The first rule that disqualifies this profile, if any. */
export function disqualifyingRule(profile: Profile, config: LeadcycleConfig): ProfileRuleHit | undefined {
  return profileRuleHits(profile, config).find((hit) => hit.action === 'disqualify');
}

/** Glob to a whole-path, case-insensitive pattern: `*` is any run of characters, `/` included. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/** A visit's page as rules see it: the path of a full URL, without query string or fragment. */
export function pagePath(page: string): string {
  const trimmed = page.trim();
  let path = trimmed;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      path = new URL(trimmed).pathname;
    } catch {
      path = trimmed;
    }
  }
  return path.replace(/[?#].*$/s, '') || '/';
}

/** The engagement kind a visited page scores as: the first page rule that matches, else a page view. */
export function pageKinds(rules: readonly PageRule[]): (page: string | undefined) => EngagementKind {
  const compiled = rules.map((rule) => ({ re: globToRegExp(rule.pattern), kind: rule.kind }));
  return (page) => {
    if (page === undefined) return 'page_view';
    const path = pagePath(page);
    return compiled.find(({ re }) => re.test(path))?.kind ?? 'page_view';
  };
}
