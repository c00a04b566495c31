/**
 * The workflow with one decision changed and every command kept, for the replay test to catch:
 * a lead considering a purchase gets discovery content instead of evaluation content. Each send is
 * still one `sendContent` activity (the catalogs of the recorded runs are long enough), so
 * Temporal's own replay finds nothing wrong. Bundled on its own, so the change stays in that bundle.
 */
import { CONTENT_FAMILY_FOR_STAGE } from '../../src/machines/config.js';

(CONTENT_FAMILY_FOR_STAGE as Record<keyof typeof CONTENT_FAMILY_FOR_STAGE, string>).consideration =
  'discovery';

export { leadWorkflow } from '../../src/workflows/index.js';
