/** The typed error of the local Temporal servers: finding, installing, starting and registering. */
import { LeadcycleError } from '../errors.js';

export type TemporalServerErrorCode =
  | 'binary_not_found'
  | 'install_failed'
  | 'port_in_use'
  | 'server_exited'
  | 'start_timeout'
  | 'search_attribute_conflict';

export class TemporalServerError extends LeadcycleError<TemporalServerErrorCode> {}

export type Log = (message: string) => void;
