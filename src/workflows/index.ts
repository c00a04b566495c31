/** The workflow bundle's entry: every workflow the worker registers. */
export { leadWorkflow } from './lead-workflow.js';
