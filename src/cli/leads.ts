/** `capture`, `send`, `track`, `show`, `merge`, `list`: driving leads through the LeadClient. */
import { Argument, type Command, Option } from 'commander';
import { z } from 'zod';
import {
  connectTemporal,
  LeadClient,
  type LeadRef,
  type LeadTimeline,
  loadLeadIds,
  parseCommand,
  useLeadIds,
} from '../client/index.js';
import { loadConfigFile } from '../config-file.js';
import { ConfigVersions } from '../config-versions.js';
import {
  BUYING_STAGES,
  BuyingStageSchema,
  ENGAGEMENT_KINDS,
  EngagementKindSchema,
  FORM_KINDS,
  FormKindSchema,
  type LeadFact,
  type LeadView,
  STAGES,
  StageSchema,
  TEMPERATURES,
  TemperatureSchema,
  type Touch,
  TouchSchema,
} from '../machines/index.js';
import { readSettings } from '../settings.js';
import { TemporalConnectionError } from '../temporal/connection.js';
import { integer, parseJson, parseOptions, tenantOption } from './options.js';
import { type Output, table } from './output.js';

/** A client of the deployment: its lead ids, its task queue, new leads on the config store's newest version. */
export async function withClient<T>(fn: (client: LeadClient) => Promise<T>): Promise<T> {
  // The deployment's lead ids: the CLI names leads as the API and the worker do.
  useLeadIds((await loadLeadIds(process.env, { create: false })).ids);
  const temporal = await connectTemporal().catch((err: Error) => {
    // A bad setting (a profile, a TLS file) is the user's to fix, not a server to start.
    if (err instanceof TemporalConnectionError) throw err;
    throw new Error(`${err.message} (start it with \`leadcycle start\`)`);
  });
  try {
    const config = await loadConfigFile();
    const taskQueue = readSettings().LEADCYCLE_TASK_QUEUE;
    const configSource = ConfigVersions.fromSettings();
    return await fn(
      new LeadClient(temporal.client, { config, configSource, ...(taskQueue ? { taskQueue } : {}) }),
    );
  } finally {
    await temporal.close();
  }
}

/** A lead on the command line: an email, or any other string as an external id (a CRM id, a cookie). */
export function leadRef(lead: string, tenant: string): LeadRef {
  return lead.includes('@') ? { tenant, email: lead } : { tenant, externalId: lead };
}

/** A touch on one line, its fields in the schema's order: `source google, channel web, campaign brand`. */
const touchText = (touch: Touch): string =>
  (Object.keys(TouchSchema.shape) as (keyof Touch)[])
    .flatMap((k) => (touch[k] === undefined ? [] : [`${k} ${touch[k]}`]))
    .join(', ');

function describeLead(view: LeadView): string {
  const fields = {
    lead: view.leadKey,
    stage: view.stage,
    consent: view.consent,
    score: view.score,
    fit: `${view.fitScore}%${view.persona ? ` (${view.persona})` : ''}`,
    temperature: view.temperature,
    'buying stage': view.buyingStage,
    owner: view.owner ?? 'marketing',
    'in stage since': view.stageEnteredAt,
    reason: view.reason ?? '-',
    'first touch': view.touches ? touchText(view.touches.first) : '-',
    'last touch': view.touches ? touchText(view.touches.last) : '-',
  };
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  const lines = Object.entries(fields).map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  const next = view.next.map(
    (d) => `  ${d.event.padEnd(14)} ${d.at}${d.deferredByCap ? '  (deferred by the email cap)' : ''}`,
  );
  return [...lines, next.length ? `waiting for\n${next.join('\n')}` : 'waiting for   commands only'].join(
    '\n',
  );
}

/** The lead's workflow as operators find it: its id, current run and page in the Temporal UI. */
async function runOf(client: LeadClient, ref: LeadRef) {
  const { workflowId } = await client.locate(ref);
  const { runId } = await client.temporal.workflow.getHandle(workflowId).describe();
  const base = readSettings().LEADCYCLE_TEMPORAL_UI_URL.replace(/\/+$/, '');
  const namespace = encodeURIComponent(client.temporal.options.namespace);
  const uiUrl = `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
  return { workflowId, runId, uiUrl };
}

const describeRun = (run: { workflowId: string; uiUrl: string }) =>
  `workflow id   ${run.workflowId}\nTemporal UI   ${run.uiUrl}`;

/** One line per entry: when, what, and its details. */
export function describeTimeline(timeline: LeadTimeline): string {
  const lines = timeline.entries.map((e) => {
    const what = (() => {
      switch (e.kind) {
        case 'stage':
          return `${e.from ?? '(new)'} -> ${e.to}  (${e.cause}${e.reason ? `: ${e.reason}` : ''})`;
        case 'email':
          return `${e.email} ${e.item.id} (${e.family})  ${e.outcome}${e.skipped ? `: ${e.skipped}` : ''}`;
        case 'handoff':
          return e.type === 'sales.do_not_contact'
            ? 'do not contact, told to the CRM'
            : `${e.escalation ? 'escalated' : 'to sales'}, score ${e.score}, ${e.temperature}, SLA until ${e.slaDeadline}`;
        case 'consent':
          return `${e.consent}${e.doNotContact ? ', do not contact' : ''}  (${e.source})`;
        case 'config':
          return `version ${JSON.stringify(e.version)}`;
      }
    })();
    return `  ${e.at}  ${e.kind.padEnd(7)}  ${what}`;
  });
  const head = timeline.complete ? 'timeline' : 'timeline (its oldest runs are past retention)';
  return [head, ...(lines.length ? lines : ['  (nothing yet)'])].join('\n');
}

const TenantSchema = z.object({ tenant: z.string() });

const CaptureOptionsSchema = TenantSchema.extend({
  form: FormKindSchema,
  consent: z.boolean(),
  profile: z.string().optional(),
}).strict();
/** `--profile`: more profile fields, as a JSON object (the command's schema checks the fields). */
const ProfileFieldsSchema = z.object({ profile: z.record(z.string(), z.unknown()) });
const ShowOptionsSchema = TenantSchema.extend({ timeline: z.boolean().optional() }).strict();
const SendOptionsSchema = TenantSchema.extend({ start: z.boolean().optional() }).strict();
const TrackOptionsSchema = TenantSchema.extend({ contentStage: BuyingStageSchema.optional() }).strict();
const ListOptionsSchema = z
  .object({
    stage: StageSchema.optional(),
    temperature: TemperatureSchema.optional(),
    limit: z.number().int().min(1).max(1000),
    cursor: z.string().min(1).optional(),
  })
  .strict();

export function addLeadCommands(program: Command, out: Output): void {
  const printLead = (view: LeadView) => out.print(view, () => describeLead(view));

  program
    .command('capture')
    .description('capture a lead from a form (starts its workflow if new)')
    .argument('<email>', "the lead's email")
    .addOption(tenantOption())
    .addOption(new Option('--form <kind>', 'form kind').choices(FORM_KINDS).default('contact'))
    .option('--consent', 'the form carried an explicit marketing opt-in', false)
    .option(
      '--profile <json>',
      'more profile fields as JSON, e.g. \'{"companySize":200,"jobFunction":"it"}\'',
    )
    .action(async (email: string, options: unknown) => {
      const { tenant, form, consent, profile } = parseOptions(CaptureOptionsSchema, options);
      const fields = profile
        ? parseOptions(ProfileFieldsSchema, { profile: parseJson(profile, '--profile') }).profile
        : {};
      const input = { type: 'form.submitted', form, consent, profile: { ...fields, email } };
      printLead(await withClient((c) => c.capture(leadRef(email, tenant), parseCommand(input))));
    });

  program
    .command('send')
    .description('apply a command to a lead, e.g. \'{"type":"sales.accepted","owner":"rep-1"}\'')
    .argument('<lead>', 'email or external id')
    .argument('<command>', 'the command as JSON (see README: Events)')
    .addOption(tenantOption())
    .option('--start', 'start the lead if it does not exist yet')
    .action(async (lead: string, commandJson: string, options: unknown) => {
      const { tenant, start } = parseOptions(SendOptionsSchema, options);
      const input = parseJson(commandJson, '<command>');
      const ref = leadRef(lead, tenant);
      printLead(
        await withClient((c) => {
          const command = parseCommand(input);
          return start ? c.capture(ref, command) : c.send(ref, command);
        }),
      );
    });

  program
    .command('track')
    .description('record an engagement (a signal: no answer, no update budget spent)')
    .argument('<lead>', 'email or external id')
    .addArgument(new Argument('<kind>', 'engagement kind').choices(ENGAGEMENT_KINDS))
    .addOption(tenantOption())
    .addOption(new Option('--content-stage <stage>', 'buying stage of the content').choices(BUYING_STAGES))
    .action(async (lead: string, kindArgument: string, options: unknown) => {
      const { tenant, contentStage } = parseOptions(TrackOptionsSchema, options);
      const kind = parseOptions(EngagementKindSchema, kindArgument);
      const fact: LeadFact = { type: 'engagement', kind, ...(contentStage ? { contentStage } : {}) };
      await withClient((c) => c.track(leadRef(lead, tenant), fact));
      out.print({ tracked: fact }, () => `tracked ${kind} for ${lead}`);
    });

  program
    .command('show')
    .description("show a lead's stage, why, its scores and what it waits for")
    .argument('<lead>', 'email or external id')
    .addOption(tenantOption())
    .option('--timeline', 'also list its stage changes, emails, handoffs, consent and config versions')
    .action(async (lead: string, options: unknown) => {
      const { tenant, timeline } = parseOptions(ShowOptionsSchema, options);
      const ref = leadRef(lead, tenant);
      const [view, run, events] = await withClient(
        async (c) =>
          [await c.get(ref), await runOf(c, ref), timeline ? await c.timeline(ref) : undefined] as const,
      );
      const shown = { ...view, ...run, ...(events ? { timeline: events } : {}) };
      out.print(shown, () =>
        [describeLead(view), describeRun(run), ...(events ? [describeTimeline(events)] : [])].join('\n'),
      );
    });

  program
    .command('merge')
    .description('merge two records of one person: the survivor keeps both facts, the other closes as merged')
    .argument('<survivor>', 'email or external id of the lead that carries on')
    .argument('<absorbed>', 'email or external id of the lead merged into it')
    .addOption(tenantOption())
    .action(async (survivor: string, absorbed: string, options: unknown) => {
      const { tenant } = parseOptions(TenantSchema.strict(), options);
      printLead(await withClient((c) => c.merge(leadRef(survivor, tenant), leadRef(absorbed, tenant))));
    });

  program
    .command('list')
    .description('list leads by stage and temperature (Temporal visibility)')
    .addOption(new Option('--stage <stage>', 'only this stage').choices(STAGES))
    .addOption(new Option('--temperature <temperature>').choices(TEMPERATURES))
    .option('--limit <n>', 'at most this many on the page (1 to 1000)', integer, 100)
    .option('--cursor <cursor>', 'the page after the one that printed this cursor (same filters)')
    .action(async (options: unknown) => {
      const filter = parseOptions(ListOptionsSchema, options);
      const listing = out.progress('listing leads…');
      const page = await withClient((c) => c.listPage(filter));
      listing.done();
      out.print(page, () =>
        page.nextCursor ? `${table(page.leads)}\nmore: --cursor ${page.nextCursor}` : table(page.leads),
      );
    });
}
