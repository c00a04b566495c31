import { allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import {
  ImportCommandSchema,
  LeadCommandSchema,
  MergeCommandSchema,
  RecordedCommandSchema,
} from '../machines/index.js';
import { LeadRun } from './lead-run.js';
import {
  commandUpdate,
  configUpdate,
  factSignal,
  importUpdate,
  type LeadWorkflowInput,
  mergeUpdate,
  stateQuery,
} from './messages.js';

export { CARRIED_UPDATE_IDS, CONTINUE_AS_NEW_AT, JOURNAL_BATCH, JOURNAL_MAX_AGE_DAYS } from './lead-run.js';

/**
 * One long-running workflow per lead. It holds the machine's snapshot (through the shared lead
 * driver), turns commands, facts and its own deadlines into machine events, and carries out the
 * machine's effects as activities.
 */
export async function leadWorkflow(input: LeadWorkflowInput): Promise<void> {
  const lead = new LeadRun(input);

  setHandler(stateQuery, () => lead.view());
  // Apps' commands; runs recorded before the merge update took the merge's events here too.
  setHandler(commandUpdate, (command) => lead.command(RecordedCommandSchema, command), {
    validator: (command) => lead.validate(LeadCommandSchema, command),
  });
  setHandler(mergeUpdate, (command) => lead.command(MergeCommandSchema, command), {
    validator: (command) => lead.validate(MergeCommandSchema, command),
  });
  // A new update: runs recorded before it never got one.
  setHandler(importUpdate, (command) => lead.command(ImportCommandSchema, command), {
    validator: (command) => lead.validate(ImportCommandSchema, command),
  });
  setHandler(factSignal, (fact) => lead.fact(fact));
  // A config version rolled out to running leads (a new update: runs recorded before it never got one).
  setHandler(configUpdate, (rollout) => lead.reconfigure(rollout), {
    validator: (rollout) => lead.validateConfig(rollout),
  });

  // Every await below stands where there is work to wait for: the commands a run issues, and their
  // order, are what its recorded history replays.
  for (;;) {
    lead.feedDue();
    while (lead.nextEffect()) await lead.carryOutNext();
    const batch = lead.journalDue();
    if (batch) await lead.writeJournal(batch);
    lead.publish();

    if (lead.mustContinueAsNew()) {
      await condition(allHandlersFinished);
      if (lead.driver.pending.length === 0) {
        return continueAsNew<typeof leadWorkflow>(lead.nextRunInput());
      }
      continue;
    }
    await lead.sleep();
  }
}
