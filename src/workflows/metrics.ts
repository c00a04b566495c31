import { metricMeter } from '@temporalio/workflow';
import type { Effect, Rejection } from '../machines/index.js';

/**
 * The lead workflow's domain metrics, exported by the worker's Prometheus endpoint
 * (LEADCYCLE_METRICS_ADDRESS). The SDK drops them while a history replays, so each counts once.
 * Leads per stage is not here: that is a count over all leads, which visibility answers (the API's /metrics).
 */
const stageChanges = metricMeter.createCounter(
  'leadcycle_stage_changes',
  'changes',
  'lifecycle stage changes',
);
const emailsSent = metricMeter.createCounter('leadcycle_emails_sent', 'emails', 'marketing emails sent');
const emailsDeferred = metricMeter.createCounter(
  'leadcycle_emails_deferred',
  'emails',
  'nurture sends pushed later by the email cap',
);
const slaBreaches = metricMeter.createCounter(
  'leadcycle_sla_breaches',
  'breaches',
  'sales SLAs that ran out',
);
const rejectedCommands = metricMeter.createCounter(
  'leadcycle_commands_rejected',
  'commands',
  'commands the machine refused',
);

export function countEffects(effects: readonly Effect[]): void {
  for (const effect of effects) {
    if (effect.type === 'stage.changed') {
      stageChanges.add(1, { from: effect.from ?? 'none', to: effect.to });
      if (effect.reason === 'sales_sla_expired') slaBreaches.add(1, { outcome: 'returned_to_nurture' });
    } else if (effect.type === 'content.send') {
      emailsSent.add(1, { kind: effect.kind });
    } else if (effect.type === 'sales.handoff' && effect.escalation) {
      slaBreaches.add(1, { outcome: 'escalated' });
    }
  }
}

export const countDeferral = () => emailsDeferred.add(1);

export const countRejection = (rejection: Rejection) =>
  rejectedCommands.add(1, { event: rejection.event, code: rejection.code, stage: rejection.stage });
