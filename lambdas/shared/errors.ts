/**
 * Named errors shared by the handlers. Each sets `name` so logs, batch failure reports and
 * Step Functions `Retry`/`Catch` can match on it, and carries the underlying `cause`.
 */
import { ERROR_NAMES } from '../../contract';

/** A stream record that is not a valid run request: retrying it will not help. */
export class InvalidRecordError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.invalidRecord;
  }
}

/** A missing or malformed environment variable: a deployment fault, not a fault of the input. */
export class ConfigurationError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = ERROR_NAMES.configuration;
  }
}

/** Returns the value of environment variable `name`, or throws {@link ConfigurationError} if it is unset or empty. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new ConfigurationError(`Environment variable ${name} is not set: the function's configuration must provide it`);
  }
  return value;
}
