/** The typed error of the local Temporal servers: finding, installing, starting and registering. */

export type TemporalServerErrorCode =
  | 'BINARY_NOT_FOUND'
  | 'INSTALL_FAILED'
  | 'PORT_IN_USE'
  | 'SERVER_EXITED'
  | 'START_TIMEOUT'
  | 'SEARCH_ATTRIBUTE_CONFLICT';

export class TemporalServerError extends Error {
  override readonly name = 'TemporalServerError';

  constructor(
    readonly code: TemporalServerErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type Log = (message: string) => void;
