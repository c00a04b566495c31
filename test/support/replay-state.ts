/**
 * Workflow interceptor module for replay tests only (bundled with `workflowInterceptorModules`, never
 * into the worker's bundle). Temporal's replay compares commands, not what the workflow decided; this
 * hands out, through sinks that run on replay, what `test/workflows/replay.test.ts` compares with the
 * recording: the input of every activity scheduled, and after every activation the lead's view, read
 * from its `state` query handler (what a caller would be answered at that point).
 */
import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
// Internal: the SDK has no public way for workflow code to call its own query handler. Pinned SDK
// version; if this moves, no view is captured and the replay test fails (it expects one per history).
import { maybeGetActivator } from '@temporalio/workflow/lib/global-attributes.js';
import { stateQuery } from '../../src/workflows/messages.js';

export interface ReplayStateSinks extends Sinks {
  replayState: {
    view(view: unknown): void;
    /** An activity the workflow schedules, with the input it gives it. */
    activity(activityType: string, args: unknown[]): void;
  };
}

const { replayState } = proxySinks<ReplayStateSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity(input, next) {
        replayState.activity(input.activityType, input.args);
        return next(input);
      },
    },
  ],
  internals: [
    {
      concludeActivation(input, next) {
        const handler = maybeGetActivator()?.queryHandlers.get(stateQuery.name)?.handler;
        // A query handler only reads (sinks are not commands): the commands of the activation are unchanged.
        if (handler) replayState.view(handler());
        return next(input);
      },
    },
  ],
});
